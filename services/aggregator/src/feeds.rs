//! Following the sectors' change feeds. Each source (a sector service over
//! gRPC, or the city engine in this process) gets its own task: fetch the
//! catalog, watch changes after the last stored sequence, apply them in
//! batches, and on any failure mark the feed stale and reconnect with
//! exponential backoff. One slow or dead sector never holds up the others.

use std::sync::Arc;
use std::time::Duration;

use citydash_proto::v1;
use citydash_runtime::error::{reason, reason_of};
use citydash_sector::store::Store;
use citydash_sector::{Engine, FeedItem};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use tonic::Status;
use tracing::Instrument as _;

use crate::readstore::ReadStore;
use crate::sources::{CALL_DEADLINE, SectorLink};
use crate::view::View;
/// How often a quiet feed sends a heartbeat; a feed silent for three of
/// these is marked stale (slow or stuck) although still connected.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// The wait before reconnecting a feed that was up.
pub const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest wait between attempts to reach a source that is down.
pub const LAST_RETRY: Duration = Duration::from_secs(5);
/// Most changes applied in one transaction.
const BATCH: usize = 1000;

/// Where a follower resumes a feed: after which sequence, of which source,
/// holding which change there.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// Changes after this sequence are sent.
    pub after: i64,
    /// The source identity the catalog just named.
    pub source_id: String,
    /// The change the follower holds at `after`, when known.
    pub at: Option<v1::Change>,
}

/// Where a feed comes from.
pub trait FeedSource: Send + Sync + 'static {
    /// The sector it serves.
    fn sector(&self) -> v1::Sector;
    /// A name for logs.
    fn describe(&self) -> String;
    /// The source's catalog.
    fn catalog(&self) -> BoxFuture<'_, Result<v1::GetCatalogResponse, Status>>;
    /// Every change after `from.after`, backlog first, then live, with
    /// heartbeats on a quiet feed; refused with `FEED_DIVERGED` when `from`
    /// does not name this source's changes.
    fn watch(&self, from: Resume) -> BoxFuture<'_, Result<BoxStream<'static, Result<FeedItem, Status>>, Status>>;
}

/// A sector service's feed, read over gRPC.
pub struct GrpcSource(pub Arc<SectorLink>);

impl FeedSource for GrpcSource {
    fn sector(&self) -> v1::Sector {
        self.0.sector()
    }

    fn describe(&self) -> String {
        self.0.url().to_owned()
    }

    fn catalog(&self) -> BoxFuture<'_, Result<v1::GetCatalogResponse, Status>> {
        let span = tracing::info_span!("feed.catalog", otel.kind = "client", sector = self.0.sector() as i32);
        async move {
            let mut request = tonic::Request::new(v1::GetCatalogRequest {});
            request.set_timeout(CALL_DEADLINE);
            let reply = self.0.client()?.get_catalog(request).await?;
            Ok(reply.into_inner())
        }
        .instrument(span)
        .boxed()
    }

    fn watch(&self, from: Resume) -> BoxFuture<'_, Result<BoxStream<'static, Result<FeedItem, Status>>, Status>> {
        async move {
            let request = v1::WatchChangesRequest {
                after_sequence: from.after,
                heartbeat_seconds: HEARTBEAT.as_secs() as i32,
                source_id: from.source_id,
                after_change: from.at,
            };
            let stream = tokio::time::timeout(CALL_DEADLINE, self.0.client()?.watch_changes(request))
                .await
                .map_err(|_| Status::deadline_exceeded("opening the change feed timed out"))??
                .into_inner();
            let changes = stream.map(|item| {
                item.and_then(|r| match (r.change, r.heartbeat) {
                    (Some(change), _) => Ok(FeedItem::Change(Box::new(change))),
                    (None, Some(h)) => Ok(FeedItem::Heartbeat(h.last_sequence)),
                    (None, None) => Err(Status::internal("an empty change-feed message")),
                })
            });
            Ok(changes.boxed())
        }
        .boxed()
    }
}

/// The city engine in this process.
pub struct LocalSource<S> {
    engine: Engine<S>,
}

impl<S: Store> LocalSource<S> {
    /// Follows `engine`.
    pub fn new(engine: Engine<S>) -> Self {
        Self { engine }
    }
}

impl<S: Store> FeedSource for LocalSource<S> {
    fn sector(&self) -> v1::Sector {
        self.engine.info().sector
    }

    fn describe(&self) -> String {
        "in-process city engine".to_owned()
    }

    fn catalog(&self) -> BoxFuture<'_, Result<v1::GetCatalogResponse, Status>> {
        let catalog = self.engine.catalog();
        async move { Ok(catalog) }.boxed()
    }

    fn watch(&self, from: Resume) -> BoxFuture<'_, Result<BoxStream<'static, Result<FeedItem, Status>>, Status>> {
        async move {
            self.engine
                .check_resume(from.after, &from.source_id, from.at.as_ref())
                .await?;
            let rx = self.engine.watch(from.after, Some(HEARTBEAT));
            let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(|item| item.map_err(Status::from));
            Ok(stream.boxed())
        }
        .boxed()
    }
}

/// Follows one source until the process stops.
pub async fn follow<R: ReadStore>(view: Arc<View<R>>, source: Arc<dyn FeedSource>) {
    let sector = source.sector() as i32;
    let mut backoff = FIRST_RETRY;
    loop {
        let mut connected = false;
        match session(&view, source.as_ref(), &mut connected).await {
            Ok(()) => tracing::info!(sector, source = %source.describe(), "change feed ended"),
            Err(err) => tracing::warn!(sector, source = %source.describe(), error = %err, "change feed failed"),
        }
        view.feed_disconnected(sector);
        // A feed that was up starts over quickly; one that cannot connect backs off.
        backoff = if connected {
            FIRST_RETRY
        } else {
            (backoff * 2).min(LAST_RETRY)
        };
        tokio::time::sleep(backoff).await;
    }
}

/// One connection: catalog, then changes until the stream ends or fails.
async fn session<R: ReadStore>(
    view: &Arc<View<R>>,
    source: &dyn FeedSource,
    connected: &mut bool,
) -> Result<(), Status> {
    let sector = source.sector() as i32;
    let catalog = tokio::time::timeout(CALL_DEADLINE, source.catalog())
        .await
        .map_err(|_| Status::deadline_exceeded("catalog call timed out"))??;
    let source_id = catalog.source_id.clone();
    view.set_catalog(sector, catalog).await.map_err(Status::from)?;
    let (after, _, at) = view.resume(sector);
    let mut stream = match source.watch(Resume { after, source_id, at }).await {
        Ok(stream) => stream,
        Err(status) if reason_of(&status).as_deref() == Some(reason::FEED_DIVERGED) => {
            // The position names nothing the source has now: read it again.
            view.rebuild(sector, status.message().to_owned())
                .await
                .map_err(Status::from)?;
            *connected = true;
            return Err(status);
        }
        Err(status) => return Err(status),
    };
    view.feed_connected(sector);
    *connected = true;
    tracing::info!(sector, after, source = %source.describe(), "following change feed");
    while let Some(first) = stream.next().await {
        view.feed_heard(sector);
        let mut batch = Vec::new();
        let mut heartbeat = None;
        match first? {
            FeedItem::Change(c) => batch.push(*c),
            FeedItem::Heartbeat(last) => heartbeat = Some(last),
        }
        while batch.len() < BATCH {
            match stream.next().now_or_never() {
                Some(Some(item)) => match item? {
                    FeedItem::Change(c) => batch.push(*c),
                    FeedItem::Heartbeat(last) => heartbeat = Some(last),
                },
                _ => break,
            }
        }
        if !batch.is_empty() && !view.apply(sector, batch).await.map_err(Status::from)? {
            // Another replica rebuilt the sector: take its generation, from 0.
            view.rebuild(sector, "另一副本已从序号 0 重建该领域".to_owned())
                .await
                .map_err(Status::from)?;
            return Err(Status::aborted("the sector was rebuilt by another replica"));
        }
        // A heartbeat says the sector had nothing more to send: once the
        // view shows the changes up to its sequence, this feed is current.
        if let Some(last) = heartbeat {
            let stored = view.stored_position(sector);
            if last < stored {
                let reason =
                    format!("来源的最新序号 {last} 小于已读取的 {stored}（数据库恢复自更早的备份？），已从序号 0 重建");
                view.rebuild(sector, reason).await.map_err(Status::from)?;
                return Err(Status::failed_precondition("the source's sequence went back"));
            }
            view.feed_heartbeat(sector, last);
        }
    }
    Ok(())
}

/// Marks feeds silent for `silence` stale, looking every second.
pub async fn run_silence_check<R: ReadStore>(view: Arc<View<R>>, silence: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        view.mark_silent(silence);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tokio::time::Instant;

    use super::*;
    use crate::memstore::MemoryReadStore;

    const A: i32 = v1::Sector::Agriculture as i32;

    /// What a scripted source does when watched.
    #[derive(Clone, Copy)]
    enum Script {
        /// Refuses every connection.
        Refuse,
        /// Sends one heartbeat, then nothing, forever.
        HeartbeatThenSilence,
    }

    struct Scripted {
        script: Script,
        attempts: Mutex<Vec<Instant>>,
    }

    impl FeedSource for Scripted {
        fn sector(&self) -> v1::Sector {
            v1::Sector::Agriculture
        }

        fn describe(&self) -> String {
            "scripted".to_owned()
        }

        fn catalog(&self) -> BoxFuture<'_, Result<v1::GetCatalogResponse, Status>> {
            async { Ok(v1::GetCatalogResponse::default()) }.boxed()
        }

        fn watch(&self, _from: Resume) -> BoxFuture<'_, Result<BoxStream<'static, Result<FeedItem, Status>>, Status>> {
            self.attempts.lock().expect("attempts").push(Instant::now());
            let script = self.script;
            async move {
                match script {
                    Script::Refuse => Err(Status::unavailable("down")),
                    Script::HeartbeatThenSilence => Ok(futures::stream::iter([Ok(FeedItem::Heartbeat(0))])
                        .chain(futures::stream::pending())
                        .boxed()),
                }
            }
            .boxed()
        }
    }

    async fn following(script: Script) -> (Arc<View<MemoryReadStore>>, Arc<Scripted>) {
        let (view, _writer) = crate::memstore::agriculture_view().await;
        let source = Arc::new(Scripted {
            script,
            attempts: Mutex::new(Vec::new()),
        });
        tokio::spawn(follow(Arc::clone(&view), Arc::clone(&source) as Arc<dyn FeedSource>));
        tokio::spawn(run_silence_check(Arc::clone(&view), HEARTBEAT * 3));
        (view, source)
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_that_is_down_is_retried_with_doubling_waits_up_to_the_cap() {
        let (view, source) = following(Script::Refuse).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        let attempts = source.attempts.lock().expect("attempts").clone();
        let waits: Vec<u128> = attempts.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
        assert_eq!(&waits[..7], &[200, 400, 800, 1600, 3200, 5000, 5000]);
        assert!(matches!(
            view.feeds()[&A],
            v1::FeedStatus {
                connected: false,
                stale: true,
                ..
            }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_connected_feed_that_falls_silent_is_marked_stale_but_stays_connected() {
        let (view, source) = following(Script::HeartbeatThenSilence).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!view.feeds()[&A].stale);
        assert!(view.all_feeds_current(), "an empty sector's heartbeat makes it current");
        tokio::time::sleep(HEARTBEAT * 3 + Duration::from_secs(2)).await;
        let status = view.feeds()[&A].clone();
        assert!(status.connected && status.stale && status.stale_since.is_some());
        assert!(!view.all_feeds_current(), "no report from a silent feed");
        assert_eq!(
            source.attempts.lock().expect("attempts").len(),
            1,
            "silence is not a disconnect"
        );
    }
}
