//! Following the sectors' change feeds. Each source (a sector service over
//! gRPC, or the city engine in this process) gets its own task: fetch the
//! catalog, watch changes after the last stored sequence, apply them in
//! batches, and on any failure mark the feed stale and reconnect with
//! exponential backoff. One slow or dead sector never holds up the others.

use std::sync::Arc;
use std::time::Duration;

use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use citydash_runtime::auth::{AuthedChannel, ServiceToken, authed};
use citydash_sector::store::Store;
use citydash_sector::{Engine, FeedItem};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use tonic::Status;
use tonic::transport::{Channel, Endpoint};
use tracing::Instrument as _;

use crate::readstore::ReadStore;
use crate::state::Aggregator;

/// Deadline of a catalog call and of opening a stream.
const CALL_DEADLINE: Duration = Duration::from_secs(5);
/// How often a quiet feed sends a heartbeat; a feed silent for three of
/// these is marked stale (slow or stuck) although still connected.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// Most changes applied in one transaction.
const BATCH: usize = 1000;

/// Where a feed comes from.
pub trait FeedSource: Send + Sync + 'static {
    /// The sector it serves.
    fn sector(&self) -> v1::Sector;
    /// A name for logs.
    fn describe(&self) -> String;
    /// The source's catalog.
    fn catalog(&self) -> BoxFuture<'_, Result<v1::GetCatalogResponse, Status>>;
    /// Every change after `after`, backlog first, then live, with heartbeats
    /// on a quiet feed.
    fn watch(&self, after: i64) -> BoxFuture<'_, Result<BoxStream<'static, Result<FeedItem, Status>>, Status>>;
}

/// A sector service reached over gRPC, showing the aggregator's service
/// token (issued to it by the operator: it holds no key to mint one).
pub struct GrpcSource {
    sector: v1::Sector,
    url: String,
    channel: Channel,
    token: Option<ServiceToken>,
}

impl GrpcSource {
    /// A lazily connecting source for `sector` at `url` (`http://host:port`,
    /// or `https://` with `tls`), showing `token` when there is one.
    pub fn new(
        sector: v1::Sector,
        url: &str,
        token: Option<ServiceToken>,
        tls: Option<tonic::transport::ClientTlsConfig>,
    ) -> anyhow::Result<Self> {
        let mut endpoint = Endpoint::from_shared(url.to_owned())?;
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls)?;
        }
        let channel = endpoint
            .connect_timeout(CALL_DEADLINE)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true)
            .connect_lazy();
        Ok(Self {
            sector,
            url: url.to_owned(),
            channel,
            token,
        })
    }

    /// A client showing the service token as of now (its file is read
    /// again, so a rotated token is used from the next connection).
    pub fn client(&self) -> Result<SectorServiceClient<AuthedChannel>, Status> {
        let token = self
            .token
            .as_ref()
            .map(ServiceToken::current)
            .transpose()
            .map_err(Status::unavailable)?;
        let channel = authed(self.channel.clone(), token.as_deref()).map_err(Status::internal)?;
        Ok(SectorServiceClient::new(channel))
    }
}

impl FeedSource for GrpcSource {
    fn sector(&self) -> v1::Sector {
        self.sector
    }

    fn describe(&self) -> String {
        self.url.clone()
    }

    fn catalog(&self) -> BoxFuture<'_, Result<v1::GetCatalogResponse, Status>> {
        let span = tracing::info_span!("feed.catalog", otel.kind = "client", sector = self.sector as i32);
        async move {
            let mut request = tonic::Request::new(v1::GetCatalogRequest {});
            request.set_timeout(CALL_DEADLINE);
            let reply = self.client()?.get_catalog(request).await?;
            Ok(reply.into_inner())
        }
        .instrument(span)
        .boxed()
    }

    fn watch(&self, after: i64) -> BoxFuture<'_, Result<BoxStream<'static, Result<FeedItem, Status>>, Status>> {
        async move {
            let request = v1::WatchChangesRequest {
                after_sequence: after,
                heartbeat_seconds: HEARTBEAT.as_secs() as i32,
            };
            let stream = tokio::time::timeout(CALL_DEADLINE, self.client()?.watch_changes(request))
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
        let catalog = self.engine.info().catalog_response();
        async move { Ok(catalog) }.boxed()
    }

    fn watch(&self, after: i64) -> BoxFuture<'_, Result<BoxStream<'static, Result<FeedItem, Status>>, Status>> {
        let rx = self.engine.watch(after, Some(HEARTBEAT));
        async move {
            let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(|item| item.map_err(Status::from));
            Ok(stream.boxed())
        }
        .boxed()
    }
}

/// Follows one source until the process stops.
pub async fn follow<R: ReadStore>(agg: Arc<Aggregator<R>>, source: Arc<dyn FeedSource>) {
    let sector = source.sector() as i32;
    const FIRST: Duration = Duration::from_millis(100);
    let mut backoff = FIRST;
    loop {
        let mut connected = false;
        match session(&agg, source.as_ref(), &mut connected).await {
            Ok(()) => tracing::info!(sector, source = %source.describe(), "change feed ended"),
            Err(err) => tracing::warn!(sector, source = %source.describe(), error = %err, "change feed failed"),
        }
        agg.feed_disconnected(sector);
        // A feed that was up starts over quickly; one that cannot connect backs off.
        backoff = if connected {
            FIRST
        } else {
            (backoff * 2).min(Duration::from_secs(5))
        };
        tokio::time::sleep(backoff).await;
    }
}

/// One connection: catalog, then changes until the stream ends or fails.
async fn session<R: ReadStore>(
    agg: &Arc<Aggregator<R>>,
    source: &dyn FeedSource,
    connected: &mut bool,
) -> Result<(), Status> {
    let sector = source.sector() as i32;
    let catalog = tokio::time::timeout(CALL_DEADLINE, source.catalog())
        .await
        .map_err(|_| Status::deadline_exceeded("catalog call timed out"))??;
    agg.set_catalog(sector, catalog).await.map_err(Status::from)?;
    let after = agg.stored_position(sector);
    let mut stream = source.watch(after).await?;
    agg.feed_connected(sector);
    *connected = true;
    tracing::info!(sector, after, source = %source.describe(), "following change feed");
    while let Some(first) = stream.next().await {
        agg.feed_heard(sector);
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
        if !batch.is_empty() {
            agg.apply(sector, batch).await.map_err(Status::from)?;
        }
        // A heartbeat says the sector had nothing more to send: once the
        // changes up to its sequence are applied, this feed is caught up.
        if let Some(last) = heartbeat
            && agg.position(sector) >= last
        {
            agg.feed_caught_up(sector);
        }
    }
    Ok(())
}
