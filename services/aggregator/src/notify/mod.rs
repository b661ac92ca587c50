//! Notifications (DOMAIN.md "Notifications"): the units' destinations, and
//! the two loops that tell them. The scan derives every event that holds
//! today from the model (`compute::notices`, stable ids) once every feed is
//! current, and queues it for each destination of its unit in the outbox,
//! insert-if-absent: derived again after a restart or by another replica,
//! an event is queued once. The sender claims due rows with a lease and
//! sends each in its own task with a timeout, so a hanging receiver holds
//! up only itself; every attempt is recorded, a failure is retried with
//! doubling waits up to a cap, forever, and a destination failing 3 times
//! in a row is shown as failing until it accepts again.

pub mod outbox;
pub mod send;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use citydash_proto::v1::{self, DestinationKind};
use citydash_runtime::paging::Page;
use citydash_runtime::{Error, Identity, Principal};
use citydash_sector::Engine;
use citydash_sector::store::Store;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::compute::notices;
use crate::lease::Lease;
use crate::readstore::ReadStore;
use crate::view::View;
use outbox::{Attempt, FAILING_AFTER, Outbox, PENDING, Queued, StoredDestination};
use send::Sender;

/// How long a claimed delivery is held beyond the request's timeout.
pub const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// Destinations a unit may have.
pub const MAX_DESTINATIONS: usize = 10;

/// How often and how patiently the notifier works.
#[derive(Debug, Clone, Copy)]
pub struct NotifyOptions {
    /// How often events are derived and queued.
    pub scan: Duration,
    /// How often due deliveries are claimed.
    pub poll: Duration,
    /// How long one request may take.
    pub timeout: Duration,
    /// The wait after a first failure; it doubles with each failure after.
    pub retry_base: Duration,
    /// The longest wait between two attempts.
    pub retry_cap: Duration,
    /// Deliveries in flight at once.
    pub in_flight: usize,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        Self {
            scan: Duration::from_secs(5),
            poll: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
            retry_base: Duration::from_secs(2),
            retry_cap: Duration::from_secs(600),
            in_flight: 32,
        }
    }
}

impl NotifyOptions {
    /// The wait after the `attempts`-th failed attempt (1 for the first).
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        self.retry_base.saturating_mul(1 << doublings).min(self.retry_cap)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn timestamp_ms(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// A destination as answers show it: the address redacted, no secret.
fn shown(d: &StoredDestination) -> v1::Destination {
    v1::Destination {
        id: d.id.clone(),
        unit_code: d.unit_code.clone(),
        kind: d.kind,
        url: send::redact(&d.url),
        secret: String::new(),
        secret_set: !d.secret.is_empty(),
        failing: d.consecutive_failures >= FAILING_AFTER,
        consecutive_failures: d.consecutive_failures,
        failing_since: (d.failing_since > 0).then(|| timestamp_ms(d.failing_since * 1000)),
        last_error: d.last_error.clone(),
    }
}

/// The notifier of one aggregator process.
pub struct Notifier<S, R> {
    engine: Engine<S>,
    view: Arc<View<R>>,
    sender: Sender,
    options: NotifyOptions,
    /// This process, as the leases it takes name it.
    owner: String,
    in_flight: Arc<Semaphore>,
}

impl<S: Store, R: ReadStore + Outbox> Notifier<S, R> {
    /// A notifier over the view's store; `engine` audits refused callers.
    pub fn new(engine: Engine<S>, view: Arc<View<R>>, options: NotifyOptions) -> anyhow::Result<Self> {
        let owner = format!("{}-{:x}", std::process::id(), now_ms());
        Ok(Self {
            engine,
            view,
            sender: Sender::new(options.timeout)?,
            options,
            owner,
            in_flight: Arc::new(Semaphore::new(options.in_flight.max(1))),
        })
    }

    fn outbox(&self) -> &R {
        self.view.store()
    }

    async fn admin(&self, identity: &Identity, method: &str) -> Result<Principal, Error> {
        self.engine
            .authorize(identity, method, |p| p.require_admin("查看或设置通知地址"))
            .await
    }

    /// `SetDestinations`: checks every destination, then replaces the unit's.
    pub async fn set_destinations(
        &self,
        identity: &Identity,
        r: v1::SetDestinationsRequest,
    ) -> Result<v1::SetDestinationsResponse, Error> {
        let admin = self.admin(identity, "citydash.v1.SetDestinationsRequest").await?;
        let unit = r.unit_code.trim().to_owned();
        if unit.is_empty() {
            return Err(Error::invalid("unit_code", "必填：已登记的责任单位代码"));
        }
        // The registry as the city engine holds it, read again before an
        // unknown code is refused (a unit registered a moment ago).
        let units = self.engine.units();
        let registered = units.current().get(&unit).is_some()
            || units
                .refresh_now()
                .await
                .map_err(Error::Unavailable)?
                .get(&unit)
                .is_some();
        if !registered {
            return Err(Error::invalid(
                "unit_code",
                format!("「{unit}」不是已登记的责任单位代码"),
            ));
        }
        if r.destinations.len() > MAX_DESTINATIONS {
            return Err(Error::invalid(
                "destinations",
                format!("每个单位至多 {MAX_DESTINATIONS} 个通知地址"),
            ));
        }
        let mut stored: Vec<StoredDestination> = Vec::new();
        for (i, d) in r.destinations.iter().enumerate() {
            let field = |name: &str| format!("destinations[{i}].{name}");
            let kind = DestinationKind::try_from(d.kind).unwrap_or(DestinationKind::Unspecified);
            if kind == DestinationKind::Unspecified {
                return Err(Error::invalid(field("kind"), "必填：钉钉、企业微信或 webhook"));
            }
            send::check_url(&d.url).map_err(|why| Error::invalid(field("url"), why))?;
            let id = {
                let mut h = Sha256::new();
                h.update(unit.as_bytes());
                h.update([0, kind as u8]);
                h.update(d.url.as_bytes());
                hex::encode(&h.finalize()[..6])
            };
            if stored.iter().any(|s| s.id == id) {
                return Err(Error::invalid(field("url"), "与前面的通知地址重复"));
            }
            stored.push(StoredDestination {
                id,
                unit_code: unit.clone(),
                kind: kind as i32,
                url: d.url.clone(),
                secret: d.secret.clone(),
                consecutive_failures: 0,
                failing_since: 0,
                last_error: String::new(),
            });
        }
        self.outbox()
            .set_destinations(&unit, &stored, &admin.name, now_ms() / 1000)
            .await?;
        tracing::info!(admin = %admin.name, unit = %unit, destinations = stored.len(), "notification destinations set");
        let destinations = self
            .outbox()
            .destinations()
            .await?
            .iter()
            .filter(|d| d.unit_code == unit)
            .map(shown)
            .collect();
        Ok(v1::SetDestinationsResponse { destinations })
    }

    /// `ListDestinations`, redacted.
    pub async fn list_destinations(
        &self,
        identity: &Identity,
        r: v1::ListDestinationsRequest,
    ) -> Result<v1::ListDestinationsResponse, Error> {
        self.admin(identity, "citydash.v1.ListDestinationsRequest").await?;
        let destinations = self
            .outbox()
            .destinations()
            .await?
            .iter()
            .filter(|d| r.unit_code.is_empty() || d.unit_code == r.unit_code)
            .map(shown)
            .collect();
        Ok(v1::ListDestinationsResponse { destinations })
    }

    /// `ListDeliveries`: the log, newest first, paged.
    pub async fn deliveries(
        &self,
        identity: &Identity,
        r: v1::ListDeliveriesRequest,
    ) -> Result<v1::ListDeliveriesResponse, Error> {
        self.admin(identity, "citydash.v1.ListDeliveriesRequest").await?;
        if v1::DeliveryState::try_from(r.state).is_err() {
            return Err(Error::invalid("state", format!("未知的投递状态 {}", r.state)));
        }
        let page = Page::parse(r.page_size, &r.page_token)?;
        let offset = page.offset("deliveries")?;
        let kinds: std::collections::BTreeMap<String, i32> = self
            .outbox()
            .destinations()
            .await?
            .into_iter()
            .map(|d| (d.id, d.kind))
            .collect();
        let rows = self
            .outbox()
            .deliveries(&r.unit_code, &r.event_id, r.state, offset as i64, page.size as i64 + 1)
            .await?;
        let more = rows.len() > page.size;
        let deliveries = rows
            .into_iter()
            .take(page.size)
            .map(|(q, attempts)| v1::Delivery {
                kind: kinds.get(&q.destination_id).copied().unwrap_or_default(),
                next_attempt_time: (q.state == PENDING).then(|| timestamp_ms(q.next_attempt_at)),
                create_time: Some(timestamp_ms(q.created_at * 1000)),
                event_id: q.event_id,
                event: q.event,
                unit_code: q.unit_code,
                destination_id: q.destination_id,
                text: q.text,
                state: q.state,
                attempts: attempts
                    .into_iter()
                    .map(|a| v1::DeliveryAttempt {
                        time: Some(timestamp_ms(a.at)),
                        ok: a.ok,
                        http_status: a.http_status,
                        error: a.error,
                    })
                    .collect(),
            })
            .collect::<Vec<_>>();
        let next_page_token =
            citydash_runtime::paging::next_offset_token("deliveries", offset + deliveries.len(), more);
        Ok(v1::ListDeliveriesResponse {
            deliveries,
            next_page_token,
        })
    }

    /// `GetNotificationHealth`: the failing destinations, without addresses.
    pub async fn health(&self) -> Result<v1::GetNotificationHealthResponse, Error> {
        let failing = self
            .outbox()
            .destinations()
            .await?
            .iter()
            .map(shown)
            .filter(|d| d.failing)
            .map(|d| v1::Destination {
                url: String::new(),
                ..d
            })
            .collect();
        Ok(v1::GetNotificationHealthResponse {
            failing,
            pending: self.outbox().pending().await? as i32,
        })
    }

    /// Derives today's events and queues each for its unit's destinations;
    /// nothing while a feed is still catching up (an event derived from half
    /// a model could be false). Returns the rows newly queued.
    pub async fn scan(&self) -> Result<u64, Error> {
        let destinations = self.outbox().destinations().await?;
        if destinations.is_empty() || !self.view.all_feeds_current() {
            return Ok(0);
        }
        let today = self.view.clock().today();
        let found = self
            .view
            .compute(move |m, settings| notices::notices(m, settings, today))
            .await?;
        let now = now_ms();
        let rows: Vec<Queued> = found
            .iter()
            .flat_map(|n| {
                destinations
                    .iter()
                    .filter(|d| d.unit_code == n.unit)
                    .map(move |d| Queued {
                        event_id: n.id.clone(),
                        destination_id: d.id.clone(),
                        event: n.event as i32,
                        unit_code: n.unit.clone(),
                        unit_name: n.unit_name.clone(),
                        text: n.text.clone(),
                        created_at: now / 1000,
                        state: PENDING,
                        attempts: 0,
                        next_attempt_at: now,
                    })
            })
            .collect();
        let added = self.outbox().enqueue(&rows).await?;
        if added > 0 {
            tracing::info!(queued = added, "notifications queued");
        }
        Ok(added)
    }

    /// Claims the due deliveries and sends each in a task of its own.
    /// Returns how many were claimed.
    pub async fn send_due(self: &Arc<Self>) -> Result<usize, Error> {
        let free = self.in_flight.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let now = now_ms();
        // Long enough to send and record; a crashed sender's rows are sent
        // again by anyone once it runs out.
        let lease = now + (self.options.timeout + LEASE_MARGIN).as_millis() as i64;
        let claimed = self.outbox().claim(now, lease, &self.owner, free as i64).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let destinations = self.outbox().destinations().await?;
        let n = claimed.len();
        for row in claimed {
            let Some(destination) = destinations.iter().find(|d| d.id == row.destination_id).cloned() else {
                continue;
            };
            let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
                break;
            };
            let me = Arc::clone(self);
            tokio::spawn(async move {
                let _permit = permit;
                me.deliver(&destination, &row).await;
            });
        }
        Ok(n)
    }

    async fn deliver(&self, destination: &StoredDestination, row: &Queued) {
        let at = now_ms();
        let request = send::request(destination, row, at);
        let outcome = self.sender.send(destination.kind, request).await;
        let attempt = match &outcome {
            Ok(status) => Attempt {
                at,
                ok: true,
                http_status: *status,
                error: String::new(),
            },
            Err((status, error)) => Attempt {
                at,
                ok: false,
                http_status: *status,
                error: error.clone(),
            },
        };
        let retry_at = now_ms() + self.options.backoff(row.attempts + 1).as_millis() as i64;
        match &outcome {
            Ok(_) => tracing::info!(event = %row.event_id, destination = %destination.id, "notification delivered"),
            Err((status, error)) => tracing::warn!(
                event = %row.event_id,
                destination = %destination.id,
                status,
                error = %error,
                attempts = row.attempts + 1,
                "notification not delivered; retried later"
            ),
        }
        if let Err(err) = self.outbox().record(row, &attempt, retry_at).await {
            // The lease runs out and the row is sent again: at least once.
            tracing::error!(event = %row.event_id, error = %err, "recording a notification attempt failed");
        }
    }

    /// Scans and sends until the process ends, while this replica holds
    /// the aggregator's lease (one replica tells the units).
    pub async fn run(self: Arc<Self>, mut lease: Lease) {
        let mut scan = tokio::time::interval(self.options.scan);
        let mut poll = tokio::time::interval(self.options.poll);
        scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            lease.acquired().await;
            tokio::select! {
                _ = scan.tick() => {
                    if let Err(err) = self.scan().await {
                        tracing::warn!(error = %err, "deriving notifications failed");
                    }
                }
                _ = poll.tick() => {
                    if let Err(err) = self.send_due().await {
                        tracing::warn!(error = %err, "claiming notifications failed");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_the_base_up_to_the_cap() {
        let o = NotifyOptions {
            retry_base: Duration::from_secs(2),
            retry_cap: Duration::from_secs(60),
            ..NotifyOptions::default()
        };
        let waits: Vec<u64> = (1..=7).map(|n| o.backoff(n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(o.backoff(1000).as_secs(), 60);
    }
}
