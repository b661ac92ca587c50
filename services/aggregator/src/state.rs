//! The aggregator's state: the read model, each feed's status, the cached
//! overview of the current period and its subscribers. Feed consumers write
//! through [`Aggregator::apply`] (memory first, then the database); readers
//! take the cached overview or compute from a read lock.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{Datelike, NaiveDate};
use citydash_proto::v1;
use citydash_runtime::Error;
use citydash_sector::domain;
use citydash_sector::store::StoreError;
use tokio::sync::{Notify, watch};

use crate::compute::projects::ProjectSums;
use crate::compute::{self, Settings, supervision};
use crate::fastpath::Published;
use crate::model::CityModel;
use crate::readstore::ReadStore;

/// Seconds from a change being written to the aggregator applying it, per
/// sector (an OTLP metric).
fn feed_lag() -> &'static opentelemetry::metrics::Histogram<f64> {
    static LAG: std::sync::OnceLock<opentelemetry::metrics::Histogram<f64>> = std::sync::OnceLock::new();
    LAG.get_or_init(|| {
        opentelemetry::global::meter("citydash")
            .f64_histogram("citydash.feed.lag")
            .with_unit("s")
            .with_description("Change-feed lag, per sector")
            .build()
    })
}

fn timestamp_now() -> prost_types::Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

pub use citydash_sector::domain::city_today;

/// The shared state of one aggregator process.
pub struct Aggregator<R> {
    store: R,
    settings: Settings,
    model: RwLock<CityModel>,
    feeds: Mutex<BTreeMap<i32, v1::FeedStatus>>,
    /// Per feed, the last sequence taken into memory (queued in `pending`
    /// or in `model`): it decides which changes of a batch the model takes.
    positions: Mutex<BTreeMap<i32, i64>>,
    /// Per feed, the last sequence the read store has committed: a feed
    /// resumes after it, so a batch whose commit failed is sent again.
    stored: Mutex<BTreeMap<i32, i64>>,
    /// Wakes the recomputation task.
    dirty: Notify,
    /// Batches taken from the feeds but not yet in `model`, in arrival
    /// order. A feed consumer only appends here: it never waits for a
    /// computation holding the model.
    pending: Mutex<Vec<(i32, Arc<[v1::Change]>)>>,
    /// The projects' sums for the period last recomputed, and the projects
    /// changed in the model since (recorded by `drain` under the model's
    /// write lock, taken under its read lock, so the two always agree).
    sums: Mutex<Option<ProjectSums>>,
    touched: Mutex<HashSet<(i32, String)>>,
    /// The overview of the current period and its encoding, recomputed
    /// when data or feeds change.
    current: watch::Sender<Published>,
    /// Serializes taking supervision reports.
    reports: tokio::sync::Mutex<()>,
    /// Set at shutdown so that overview streams end.
    closing: watch::Sender<bool>,
    /// When each feed last sent anything (a change or a heartbeat).
    heard: Mutex<BTreeMap<i32, std::time::Instant>>,
    /// Feeds that, since they last connected, have sent a heartbeat after
    /// their backlog: the view holds everything their sector had committed.
    caught_up: Mutex<HashSet<i32>>,
}

impl<R: ReadStore> Aggregator<R> {
    /// Loads the persisted read model and computes the first overview.
    pub async fn load(store: R, settings: Settings, sources: &[v1::Sector]) -> Result<Arc<Self>, StoreError> {
        let mut model = CityModel::default();
        let mut last_times: BTreeMap<i32, (i64, Option<prost_types::Timestamp>)> = BTreeMap::new();
        let mut records = 0usize;
        let loaded = store
            .load(&mut |sector, change| {
                let entry = last_times.entry(sector).or_insert((0, None));
                if change.sequence > entry.0 {
                    *entry = (change.sequence, change.time);
                }
                model.apply(sector, &change);
                records += 1;
            })
            .await?;
        for (sector, catalog) in loaded.catalogs {
            model.catalogs.insert(sector, catalog);
        }
        let positions: BTreeMap<i32, i64> = loaded.positions.into_iter().collect();
        let feeds = sources
            .iter()
            .map(|s| {
                let sector = *s as i32;
                let status = v1::FeedStatus {
                    sector,
                    connected: false,
                    stale: true,
                    stale_since: Some(timestamp_now()),
                    last_change_time: last_times.get(&sector).and_then(|(_, t)| *t),
                    last_sequence: positions.get(&sector).copied().unwrap_or(0),
                };
                (sector, status)
            })
            .collect();
        tracing::info!(records, ?positions, "read model loaded");
        let (current, _) = watch::channel(Published::new(Arc::new(v1::Overview::default())));
        let agg = Arc::new(Self {
            store,
            settings,
            model: RwLock::new(model),
            feeds: Mutex::new(feeds),
            stored: Mutex::new(positions.clone()),
            positions: Mutex::new(positions),
            dirty: Notify::new(),
            pending: Mutex::new(Vec::new()),
            sums: Mutex::new(None),
            touched: Mutex::new(HashSet::new()),
            current,
            reports: tokio::sync::Mutex::new(()),
            closing: watch::channel(false).0,
            heard: Mutex::new(BTreeMap::new()),
            caught_up: Mutex::new(HashSet::new()),
        });
        agg.recompute();
        Ok(agg)
    }

    /// The computation settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The last sequence of a feed taken into the view.
    pub fn position(&self, sector: i32) -> i64 {
        lock(&self.positions).get(&sector).copied().unwrap_or(0)
    }

    /// The last sequence of a feed the read store holds: where the feed
    /// resumes after a reconnect or a restart.
    pub fn stored_position(&self, sector: i32) -> i64 {
        lock(&self.stored).get(&sector).copied().unwrap_or(0)
    }

    /// Stores and uses a source's catalog.
    pub async fn set_catalog(&self, sector: i32, catalog: v1::GetCatalogResponse) -> Result<(), Error> {
        let known = read(&self.model).catalogs.get(&sector) == Some(&catalog);
        if !known {
            self.store.save_catalog(sector, &catalog).await?;
            write(&self.model).catalogs.insert(sector, catalog);
            self.dirty.notify_one();
        }
        Ok(())
    }

    /// Applies a batch of one feed: queued for the model first (taken
    /// before anyone next reads it, see `drain`), so the view does not wait
    /// for the read store's commit, then stored with the feed's position in
    /// one transaction. Changes at or below the position in memory are not
    /// queued again, and changes at or below the stored position are not
    /// stored again. The feed resumes after the stored position, so when a
    /// commit fails, or succeeds with its answer lost (a connection cut after
    /// COMMIT), the feed replays the batch: it is stored (idempotently) and
    /// the model, which already has it, skips it. The view may briefly show a
    /// change the read store has not committed yet, never one its sector has
    /// not committed: a feed sends only committed changes.
    pub async fn apply(&self, sector: i32, mut changes: Vec<v1::Change>) -> Result<(), Error> {
        let stored = self.stored_position(sector);
        changes.retain(|c| c.sequence > stored);
        let Some(last) = changes.iter().max_by_key(|c| c.sequence) else {
            return Ok(());
        };
        let (last_seq, last_time) = (last.sequence, last.time);
        let batch: Arc<[v1::Change]> = changes.into();
        let shown = self.position(sector);
        if last_seq > shown {
            let fresh: Arc<[v1::Change]> = if batch.iter().all(|c| c.sequence > shown) {
                Arc::clone(&batch)
            } else {
                batch.iter().filter(|c| c.sequence > shown).cloned().collect()
            };
            lock(&self.positions).insert(sector, last_seq);
            lock(&self.pending).push((sector, fresh));
            self.dirty.notify_one();
            if let Some(t) = last_time {
                let lag = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|now| now.as_secs_f64() - (t.seconds as f64 + f64::from(t.nanos) / 1e9))
                    .unwrap_or(0.0);
                feed_lag().record(
                    lag.max(0.0),
                    &[opentelemetry::KeyValue::new("sector", i64::from(sector))],
                );
            }
        }
        self.store.apply(sector, &batch).await?;
        lock(&self.stored).insert(sector, last_seq);
        tracing::debug!(sector, stored = batch.len(), last_seq, "changes persisted");
        Ok(())
    }

    /// Notes that a feed sent something; a feed marked slow is current again.
    pub fn feed_heard(&self, sector: i32) {
        lock(&self.heard).insert(sector, std::time::Instant::now());
        let mut feeds = lock(&self.feeds);
        if let Some(f) = feeds.get_mut(&sector)
            && f.connected
            && f.stale
        {
            f.stale = false;
            f.stale_since = None;
            drop(feeds);
            self.dirty.notify_one();
        }
    }

    /// Marks connected feeds that have been silent for `silence` stale: a
    /// slow or stuck sector, not only a disconnected one, makes the view say so.
    pub fn mark_silent(&self, silence: Duration) {
        let heard = lock(&self.heard).clone();
        let mut changed = false;
        for (sector, f) in lock(&self.feeds).iter_mut() {
            let silent = heard.get(sector).is_none_or(|t| t.elapsed() > silence);
            if f.connected && !f.stale && silent {
                tracing::warn!(sector, ?silence, "change feed silent: marking it stale");
                f.stale = true;
                f.stale_since = Some(timestamp_now());
                changed = true;
            }
        }
        if changed {
            self.dirty.notify_one();
        }
    }

    /// Checks for silent feeds every second.
    pub async fn run_silence_check(self: Arc<Self>, silence: Duration) {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            self.mark_silent(silence);
        }
    }

    /// Marks a feed connected.
    pub fn feed_connected(&self, sector: i32) {
        lock(&self.heard).insert(sector, std::time::Instant::now());
        lock(&self.caught_up).remove(&sector);
        if let Some(f) = lock(&self.feeds).get_mut(&sector) {
            f.connected = true;
            f.stale = false;
            f.stale_since = None;
        }
        self.dirty.notify_one();
    }

    /// Notes that a feed has sent everything its sector had committed.
    pub fn feed_caught_up(&self, sector: i32) {
        lock(&self.caught_up).insert(sector);
    }

    /// Whether every feed is connected, current and caught up: only then
    /// does the view hold all the data a snapshot must be taken from.
    pub fn all_feeds_caught_up(&self) -> bool {
        let caught_up = lock(&self.caught_up);
        lock(&self.feeds)
            .values()
            .all(|f| f.connected && !f.stale && caught_up.contains(&f.sector))
    }

    /// Marks a feed disconnected: the view is stale for it from now on.
    pub fn feed_disconnected(&self, sector: i32) {
        lock(&self.caught_up).remove(&sector);
        if let Some(f) = lock(&self.feeds).get_mut(&sector)
            && !f.stale
        {
            f.connected = false;
            f.stale = true;
            f.stale_since = Some(timestamp_now());
        }
        self.dirty.notify_one();
    }

    /// Every feed's status.
    pub fn feeds(&self) -> BTreeMap<i32, v1::FeedStatus> {
        lock(&self.feeds).clone()
    }

    /// The current period: the latest with any indicator value or progress,
    /// else the last month that has ended.
    pub fn current_period(&self) -> v1::Period {
        self.with_model(current_period_of)
    }

    /// Reads the model.
    pub fn with_model<T>(&self, f: impl FnOnce(&CityModel) -> T) -> T {
        self.drain();
        f(&read(&self.model))
    }

    /// Applies the batches waiting in `pending` to the model, in the order
    /// they arrived, and moves each feed's shown position
    /// with them: what the view says it has read is what it computes from.
    fn drain(&self) {
        if lock(&self.pending).is_empty() {
            return;
        }
        let mut model = write(&self.model);
        let batches = std::mem::take(&mut *lock(&self.pending));
        let mut feeds = lock(&self.feeds);
        let mut touched = lock(&self.touched);
        for (sector, changes) in batches {
            for c in changes.iter() {
                model.apply(sector, c);
                if let Some(code) = project_of(c) {
                    touched.insert((sector, code.to_owned()));
                }
            }
            if let (Some(f), Some(last)) = (feeds.get_mut(&sector), changes.last()) {
                f.last_sequence = last.sequence;
                f.last_change_time = last.time.or(f.last_change_time);
            }
        }
    }

    /// The cached overview of the current period.
    pub fn current_overview(&self) -> Arc<v1::Overview> {
        Arc::clone(&self.current.borrow().overview)
    }

    /// The cached overview of the current period with its encoding.
    pub fn published(&self) -> Published {
        self.current.borrow().clone()
    }

    /// Ends every overview stream; called at shutdown.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves when the process shuts down.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }

    /// Subscribes to the current overview.
    pub fn subscribe(&self) -> watch::Receiver<Published> {
        self.current.subscribe()
    }

    /// The overview of `period`: from the cache for the current period, else computed.
    pub fn overview(&self, period: &v1::Period) -> Arc<v1::Overview> {
        let cached = self.current_overview();
        if cached.period.as_ref() == Some(period) {
            return cached;
        }
        Arc::new(self.compute_overview(period))
    }

    /// The overview of `period`. The projects' sums of the current period
    /// are kept from one computation to the next and only the projects
    /// changed since are evaluated again; another period is summed afresh.
    fn compute_overview(&self, period: &v1::Period) -> v1::Overview {
        self.drain();
        // Feed positions read under the model's lock: a drain moves both
        // together, so the view's positions are those of its data.
        let model = read(&self.model);
        let feeds = self.feeds();
        let version = feeds.values().map(|f| f.last_sequence).sum();
        let mut sums = lock(&self.sums);
        if *period != current_period_of(&model) && sums.as_ref().is_none_or(|s| s.period() != period) {
            drop(sums);
            let projects = compute::projects::contributions(&model, &self.settings, period);
            return compute::overview::overview(&model, &self.settings, period, &feeds, version, &projects);
        }
        let touched = std::mem::take(&mut *lock(&self.touched));
        let sums = match sums.as_mut() {
            Some(s) if s.period() == period => {
                for (sector, code) in &touched {
                    s.refresh(&model, &self.settings, *sector, code);
                }
                s
            }
            _ => sums.insert(ProjectSums::new(&model, &self.settings, period)),
        };
        compute::overview::overview(&model, &self.settings, period, &feeds, version, sums.by_sector())
    }

    /// Recomputes the current overview now and publishes it if it changed.
    pub fn recompute(&self) {
        let period = self.current_period();
        let next = self.compute_overview(&period);
        self.current.send_if_modified(|current| {
            if *current.overview == next {
                false
            } else {
                *current = Published::new(Arc::new(next));
                true
            }
        });
    }

    /// Recomputes whenever data or a feed changes, coalescing bursts. The
    /// computation runs off the async workers, and after one that took long
    /// (a large city) the task rests at least as long before the next: the
    /// overview never takes more than half a core from the feeds and readers.
    pub async fn run_recompute(self: Arc<Self>) {
        let mut took = Duration::ZERO;
        loop {
            self.dirty.notified().await;
            tokio::time::sleep(Duration::from_millis(2).max(took)).await;
            let agg = Arc::clone(&self);
            let started = std::time::Instant::now();
            if tokio::task::spawn_blocking(move || agg.recompute()).await.is_err() {
                tracing::error!("the overview computation panicked");
            }
            took = started.elapsed();
            tracing::debug!(took_ms = took.as_secs_f64() * 1000.0, "overview recomputed");
        }
    }

    /// The supervision report of `date` (a report day, not after today):
    /// the stored one, else computed for this answer and not stored. Reads
    /// never write: only the schedule ([`Aggregator::take_report`]) stores.
    pub async fn supervision_report(&self, date: NaiveDate) -> Result<v1::SupervisionReport, Error> {
        if !supervision::is_report_day(date) {
            return Err(Error::invalid(
                "date",
                format!("{date} 不是每月15日或月末（督查通报日）"),
            ));
        }
        if date > city_today() {
            return Err(Error::invalid("date", format!("{date} 晚于今天")));
        }
        match self.store.report(&date.to_string()).await? {
            Some(report) => Ok(report),
            None => self.compute_report(date).await,
        }
    }

    /// The report of `date` from the model, against the previous report
    /// (stored, else computed as of its day).
    async fn compute_report(&self, date: NaiveDate) -> Result<v1::SupervisionReport, Error> {
        let previous_day = supervision::previous_report_day(date);
        let previous_alerts = match self.store.report(&previous_day.to_string()).await? {
            Some(r) => r.alerts,
            None => self.with_model(|m| compute::alerts::on_day(m, &self.settings, previous_day)),
        };
        Ok(self.with_model(|m| {
            supervision::report(
                m,
                &self.settings,
                date,
                Some((previous_day, previous_alerts.as_slice())),
            )
        }))
    }

    /// Takes and stores the report of `date` once (another replica or an
    /// earlier tick may have taken it): what the schedule calls.
    async fn take_report(&self, date: NaiveDate) -> Result<v1::SupervisionReport, Error> {
        let key = date.to_string();
        let _guard = self.reports.lock().await;
        if let Some(report) = self.store.report(&key).await? {
            return Ok(report);
        }
        let mut report = self.compute_report(date).await?;
        report.taken_time = Some(timestamp_now());
        Ok(self.store.save_report(&key, &report).await?)
    }

    /// Days of the stored supervision reports, newest first.
    pub async fn report_dates(&self) -> Result<Vec<v1::Date>, Error> {
        Ok(self
            .store
            .report_dates()
            .await?
            .iter()
            .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(domain::from_date)
            .collect())
    }

    /// Takes each report on its day, checking every minute. A report is
    /// stored for good, so it waits until every feed is caught up: an
    /// aggregator started (or a sector reconnected) on a report day does not
    /// snapshot a view that is still catching up. A report day that passes
    /// without that is not stored: asked for, it is computed as of its day.
    pub async fn run_report_schedule(self: Arc<Self>) {
        let mut waiting_since: Option<NaiveDate> = None;
        loop {
            let today = city_today();
            if supervision::is_report_day(today) {
                if !self.all_feeds_caught_up() {
                    if waiting_since != Some(today) {
                        waiting_since = Some(today);
                        tracing::info!(%today, "the supervision report waits for every feed to catch up");
                    }
                } else if let Err(err) = self.take_report(today).await {
                    tracing::warn!(error = %err, "taking the supervision report failed");
                }
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    }
}

/// The current period of `model` (DOMAIN.md, Settled points): the latest
/// month with any indicator value or progress that is not after the city's
/// current month, else the last month that has ended.
fn current_period_of(model: &CityModel) -> v1::Period {
    let today = city_today();
    model
        .latest_period((today.year(), today.month() as i32))
        .unwrap_or_else(|| compute::alerts::period_ended_by(today))
}

/// The project whose sums a change moves: a project record or one of its
/// progress reports.
fn project_of(change: &v1::Change) -> Option<&str> {
    match change.record.as_ref()?.record.as_ref()? {
        v1::record::Record::Project(p) => Some(&p.code),
        v1::record::Record::Progress(r) => Some(&r.project_code),
        _ => None,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}
