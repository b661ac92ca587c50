//! The limits the suite sets beside its figures that take more than a
//! server of their own: fan-out's echo stream (the same payload to as many
//! streams, the echo server's CPU per delivery) and catch-up's drain (the
//! same feeds read from sequence 0, nothing kept).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use citydash_runtime::auth::AuthedChannel;
use tokio_stream::StreamExt as _;

use super::echo;
use super::procs::Proc;

/// Streams per connection in both fan-out measurements (citydash's
/// `WatchOverview` and the echo's stream).
pub const STREAMS_PER_CONNECTION: usize = 10;

/// The messages a set of open streams receive after their first one (the
/// state on subscribing); the streams close when this is dropped.
#[derive(Default)]
pub struct Deliveries {
    received: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Deliveries {
    /// Counts what `stream` receives from its second message on.
    pub fn follow<S, T, E>(&mut self, mut stream: S)
    where
        S: futures::Stream<Item = Result<T, E>> + Send + Unpin + 'static,
    {
        let received = Arc::clone(&self.received);
        self.tasks.push(tokio::spawn(async move {
            let _ = stream.next().await;
            while let Some(Ok(_)) = stream.next().await {
                received.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    /// The messages counted so far.
    pub fn count(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

impl Drop for Deliveries {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The limit beside fan-out: the echo server streaming a payload the size of
/// the overview to `subscribers` streams on as many connections as
/// the suite's fan-out opens, on the same ticks (20, 100 ms apart); µs of its CPU per
/// delivery, less what the ticks cost without subscribers.
pub async fn fanout(payload_bytes: usize, subscribers: usize, cpus: Option<&str>) -> anyhow::Result<f64> {
    const TICKS: usize = 20;
    let echo = Proc::start(
        "echo-stream",
        &[
            "bench".to_owned(),
            "echo-server".to_owned(),
            "--payload-bytes".to_owned(),
            payload_bytes.to_string(),
        ],
        cpus,
    )
    .await?;
    let connect = || async {
        anyhow::Ok(
            tonic::transport::Endpoint::from_shared(format!("http://{}", echo.addr))?
                .connect()
                .await?,
        )
    };
    let ticker = connect().await?;
    let tick_all = async || -> anyhow::Result<()> {
        for _ in 0..TICKS {
            echo::tick(ticker.clone()).await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    };
    let before = echo.cpu_ns();
    tick_all().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let alone = echo.cpu_ns() - before;

    let mut deliveries = Deliveries::default();
    for c in 0..subscribers.div_ceil(STREAMS_PER_CONNECTION) {
        let channel = connect().await?;
        for _ in 0..STREAMS_PER_CONNECTION.min(subscribers - c * STREAMS_PER_CONNECTION) {
            deliveries.follow(echo::subscribe(channel.clone()).await?);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = echo.cpu_ns();
    tick_all().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let with = echo.cpu_ns() - before;
    let delivered = deliveries.count();
    anyhow::ensure!(delivered > 0, "the echo stream delivered nothing");
    Ok(with.saturating_sub(alone) as f64 / 1000.0 / delivered as f64)
}

/// The limit beside catch-up: every sector's feed (`feeds`, by service
/// name) drained from sequence 0 to `tips` at once, one stream each as the aggregator opens them, each
/// message decoded and dropped. What catch-up does beyond this is the
/// aggregator's own work: applying, storing and computing.
pub async fn drain(feeds: Vec<(String, AuthedChannel)>, tips: &[i64]) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let drains = feeds.into_iter().zip(tips).map(|((name, channel), &tip)| async move {
        if tip == 0 {
            return anyhow::Ok(());
        }
        let mut client = SectorServiceClient::new(channel);
        let mut feed = client
            .watch_changes(v1::WatchChangesRequest {
                after_sequence: 0,
                ..Default::default()
            })
            .await?
            .into_inner();
        while let Some(message) = feed.message().await? {
            if message.change.is_some_and(|c| c.sequence >= tip) {
                return Ok(());
            }
        }
        anyhow::bail!("{name} ended its feed before sequence {tip}")
    });
    futures::future::try_join_all(drains).await?;
    Ok(started.elapsed())
}
