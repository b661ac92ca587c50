//! Load generation for `citydash bench suite`: a closed loop (N callers,
//! each sending its next request when the last one answered: the most a
//! server serves at that concurrency) and an open loop (requests start on a
//! fixed schedule whatever the answers, and latency counts from the
//! scheduled start, so a stall shows as latency instead of hiding as fewer
//! requests). Latencies are kept in HDR histograms, in microseconds.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// A new histogram of microseconds, 1 µs to 10 minutes, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Latency of every answered request, µs.
    pub latency: Histogram<u64>,
    /// Requests that failed.
    pub errors: u64,
    /// Length of the measured window.
    pub elapsed: Duration,
}

impl Measured {
    /// Answered requests per second.
    pub fn rate(&self) -> f64 {
        self.latency.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at quantile `q` (0.5, 0.99 …), in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Runs `call` from `concurrency` callers for `warmup` (not recorded), then
/// for `duration` (recorded).
pub async fn closed<F, Fut, E>(concurrency: usize, warmup: Duration, duration: Duration, call: F) -> Measured
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Send + 'static,
{
    let start = Instant::now();
    let record_from = start + warmup;
    let end = record_from + duration;
    let mut callers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let call = call.clone();
        callers.push(tokio::spawn(async move {
            let mut latency = histogram();
            let mut errors = 0u64;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let ok = call().await.is_ok();
                if sent >= record_from {
                    if ok {
                        let _ = latency.record(micros(sent.elapsed()));
                    } else {
                        errors += 1;
                    }
                }
            }
            (latency, errors)
        }));
    }
    let mut latency = histogram();
    let mut errors = 0;
    for c in callers {
        if let Ok((h, e)) = c.await {
            let _ = latency.add(&h);
            errors += e;
        }
    }
    Measured {
        latency,
        errors,
        elapsed: duration,
    }
}

/// Starts `call` `rate` times a second for `duration`, each on its own
/// task, whatever the answers; latency counts from each request's
/// scheduled start. At most `max_in_flight` run at once: a request that
/// would exceed it counts as an error (the server could not keep up).
pub async fn open<F, Fut, E>(rate: f64, duration: Duration, max_in_flight: usize, call: F) -> Measured
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let start = Instant::now();
    let total = (duration.as_secs_f64() * rate).floor() as u64;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Option<u64>>();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(max_in_flight));
    let mut errors = 0;
    for i in 0..total {
        let scheduled = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            errors += 1;
            continue;
        };
        let fut = call(i);
        let tx = tx.clone();
        tokio::spawn(async move {
            let ok = fut.await.is_ok();
            let _ = tx.send(ok.then(|| micros(scheduled.elapsed())));
            drop(permit);
        });
    }
    drop(tx);
    let mut latency = histogram();
    while let Some(answer) = rx.recv().await {
        match answer {
            Some(us) => {
                let _ = latency.record(us);
            }
            None => errors += 1,
        }
    }
    Measured {
        latency,
        errors,
        elapsed: duration,
    }
}

/// The median of `values` (NaN for none).
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
