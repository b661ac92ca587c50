//! The city-wide view: the read model, each feed's state ([`FeedBook`]) and
//! the published overview of the current period. It holds the aggregator's
//! central invariant, one writer:
//!
//! - feed consumers hand batches in ([`View::apply`]: queued for the model
//!   first, then stored with the feed's position in one transaction);
//! - only the [`Writer`] takes them into the model, moving the positions the
//!   view shows in the same critical section, and recomputes the overview
//!   (off the async workers, paced so that it never takes more than half a
//!   core from the feeds and readers);
//! - readers only read: the published overview, or a computation over the
//!   model run on a blocking thread ([`View::compute`]).
//!
//! A batch whose commit fails, or succeeds with its answer lost, is replayed
//! by its feed (it resumes after the stored position): stored again,
//! idempotently, and skipped by the writer, which already shows it.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use chrono::Datelike;
use citydash_proto::v1;
use citydash_runtime::Error;
use citydash_sector::store::StoreError;
use prost::Message as _;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::clock::Clock;
use crate::compute::projects::ProjectSums;
use crate::compute::{self, Settings};
use crate::feedbook::FeedBook;
use crate::model::CityModel;
use crate::readstore::{ReadStore, Rebuilt};

/// Seconds from a change being written to the view showing it, per
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

/// An overview and its encoding as the single field 1 of a response
/// message: `GetOverviewResponse` and `WatchOverviewResponse` both carry the
/// overview as field 1, so one encoding serves every screen.
#[derive(Debug, Clone)]
pub struct Published {
    /// The overview.
    pub overview: Arc<v1::Overview>,
    /// `GetOverviewResponse { overview }` (= `WatchOverviewResponse`) encoded.
    pub encoded: Bytes,
}

impl Published {
    /// Encodes `overview` once.
    pub fn new(overview: Arc<v1::Overview>) -> Self {
        let mut buf = Vec::with_capacity(overview.encoded_len() + 8);
        prost::encoding::message::encode(1, overview.as_ref(), &mut buf);
        Self {
            overview,
            encoded: Bytes::from(buf),
        }
    }
}

/// What the feed consumers hand to the writer, in arrival order.
enum Input {
    /// A source's catalog (already stored).
    Catalog(i32, v1::GetCatalogResponse),
    /// A batch of one feed's changes (stored behind it).
    Changes(i32, Arc<[v1::Change]>),
    /// A sector read again from 0: its records leave the model first.
    Reset(i32),
}

/// The shared state of one aggregator process.
pub struct View<R> {
    store: R,
    settings: Settings,
    clock: Clock,
    model: RwLock<CityModel>,
    feeds: Mutex<FeedBook>,
    /// What the writer takes next.
    inbox: Mutex<Vec<Input>>,
    /// Wakes the writer: input arrived or a feed's status changed.
    dirty: Notify,
    /// The overview of the current period, published by the writer.
    current: watch::Sender<Published>,
    /// Set at shutdown so that overview streams end.
    closing: watch::Sender<bool>,
}

/// The one writer of the model. It exists once per view (made by
/// [`View::load`]) and is owned by the task that runs it.
pub struct Writer<R> {
    view: Arc<View<R>>,
    /// The projects' sums for the period last published.
    sums: Option<ProjectSums>,
    /// Projects changed in the model since those sums.
    touched: HashSet<(i32, String)>,
}

impl<R: ReadStore> View<R> {
    /// Loads the persisted read model of `sectors`' feeds and publishes the
    /// first overview; returns the view and its one writer.
    pub async fn load(
        store: R,
        settings: Settings,
        clock: Clock,
        sectors: &[v1::Sector],
    ) -> Result<(Arc<Self>, Writer<R>), StoreError> {
        let mut model = CityModel::default();
        let mut last: BTreeMap<i32, (i64, Option<prost_types::Timestamp>)> = BTreeMap::new();
        let mut tips: BTreeMap<i32, v1::Change> = BTreeMap::new();
        let mut records = 0usize;
        let loaded = store
            .load(&mut |sector, change| {
                let entry = last.entry(sector).or_insert((0, None));
                if change.sequence > entry.0 {
                    *entry = (change.sequence, change.time);
                    tips.insert(
                        sector,
                        v1::Change {
                            record: None,
                            ..change.clone()
                        },
                    );
                }
                model.apply(sector, &change);
                records += 1;
            })
            .await?;
        model.catalogs.extend(loaded.catalogs);
        // The stored position is the feed's, which may be past its last
        // record (changes that replaced nothing the model keeps).
        for p in &loaded.positions {
            last.entry(p.sector).or_insert((0, None)).0 = p.last_seq;
        }
        let mut feeds = FeedBook::new(sectors, &last, SystemTime::now());
        for p in loaded.positions {
            feeds.set_loaded(p.sector, p.generation, p.rebuilt, tips.remove(&p.sector));
        }
        tracing::info!(records, version = feeds.version(), "read model loaded");
        let view = Arc::new(Self {
            store,
            settings,
            clock,
            model: RwLock::new(model),
            feeds: Mutex::new(feeds),
            inbox: Mutex::new(Vec::new()),
            dirty: Notify::new(),
            current: watch::channel(Published::new(Arc::new(v1::Overview::default()))).0,
            closing: watch::channel(false).0,
        });
        let mut writer = Writer {
            view: Arc::clone(&view),
            sums: None,
            touched: HashSet::new(),
        };
        writer.step();
        Ok((view, writer))
    }

    /// The computation settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The city's calendar.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The read store (supervision reports are kept there).
    pub fn store(&self) -> &R {
        &self.store
    }

    /// The last sequence of a feed the view shows.
    pub fn shown_position(&self, sector: i32) -> i64 {
        lock(&self.feeds).shown(sector)
    }

    /// The last sequence of a feed the read store holds: where the feed
    /// resumes after a reconnect or a restart.
    pub fn stored_position(&self, sector: i32) -> i64 {
        lock(&self.feeds).stored(sector)
    }

    /// Where a feed resumes: its stored position, the generation it is
    /// stored under and the change there, when known.
    pub fn resume(&self, sector: i32) -> (i64, i64, Option<v1::Change>) {
        lock(&self.feeds).resume(sector)
    }

    /// Stores a source's catalog and hands it to the writer, when it is new.
    /// A source whose identity changed (a new database) has the sector
    /// rebuilt from 0 first.
    pub async fn set_catalog(&self, sector: i32, catalog: v1::GetCatalogResponse) -> Result<(), Error> {
        let held = read(&self.model).catalogs.get(&sector).map(|c| c.source_id.clone());
        if let Some(held) = held
            && !held.is_empty()
            && !catalog.source_id.is_empty()
            && held != catalog.source_id
        {
            let reason = format!(
                "来源数据库已更换（标识 {held} → {}），已从序号 0 重建",
                catalog.source_id
            );
            self.rebuild(sector, reason).await?;
        }
        if read(&self.model).catalogs.get(&sector) == Some(&catalog) {
            return Ok(());
        }
        self.store.save_catalog(sector, &catalog).await?;
        self.hand_in(Input::Catalog(sector, catalog));
        Ok(())
    }

    /// Takes a batch of one feed: queued for the writer first, so the view
    /// does not wait for the read store's commit, then stored with the
    /// feed's position in one transaction. Changes at or below the stored
    /// position are not stored again, and the writer skips those the view
    /// already shows. The view may briefly show a change the read store
    /// has not committed yet, never one its sector has not committed: a
    /// feed sends only committed changes.
    ///
    /// Answers false when another replica rebuilt the sector meanwhile:
    /// nothing was stored, and the caller rebuilds too.
    pub async fn apply(&self, sector: i32, mut changes: Vec<v1::Change>) -> Result<bool, Error> {
        let (stored, generation, _) = self.resume(sector);
        changes.retain(|c| c.sequence > stored);
        let Some(last) = changes.iter().max_by_key(|c| c.sequence).cloned() else {
            return Ok(true);
        };
        let batch: Arc<[v1::Change]> = changes.into();
        let resetting = lock(&self.feeds).resetting(sector);
        if resetting || last.sequence > self.shown_position(sector) {
            self.hand_in(Input::Changes(sector, Arc::clone(&batch)));
        }
        if !self.store.apply(sector, generation, &batch).await? {
            return Ok(false);
        }
        lock(&self.feeds).set_stored_at(sector, &last);
        tracing::debug!(sector, stored = batch.len(), last = last.sequence, "changes persisted");
        Ok(true)
    }

    /// Reads `sector` again from sequence 0 because its source was replaced
    /// or restored (`reason`, in Chinese): the read store drops its records
    /// under a new generation (or this replica takes the generation another
    /// one already made), the feed resumes from 0, and the writer takes the
    /// sector's records out of the model before it takes the new ones.
    pub async fn rebuild(&self, sector: i32, reason: String) -> Result<(), Error> {
        let (_, seen, _) = self.resume(sector);
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let position = self.store.rebuild(sector, seen, &Rebuilt { at_ms, reason }).await?;
        tracing::warn!(
            sector,
            generation = position.generation,
            reason = position.rebuilt.as_ref().map_or("", |r| r.reason.as_str()),
            "rebuilding a sector from sequence 0"
        );
        lock(&self.feeds).rebuilding(sector, &position);
        self.hand_in(Input::Reset(sector));
        Ok(())
    }

    fn hand_in(&self, input: Input) {
        lock(&self.inbox).push(input);
        self.dirty.notify_one();
    }

    /// Runs a transition of the feed book; a changed status is published.
    fn feed(&self, transition: impl FnOnce(&mut FeedBook) -> bool) {
        if transition(&mut lock(&self.feeds)) {
            self.dirty.notify_one();
        }
    }

    /// A feed's stream is open: it sends its backlog next.
    pub fn feed_connected(&self, sector: i32) {
        self.feed(|b| b.connected(sector, Instant::now()));
    }

    /// A feed sent something.
    pub fn feed_heard(&self, sector: i32) {
        self.feed(|b| b.heard(sector, Instant::now()));
    }

    /// A feed's sector has committed nothing after `last`.
    pub fn feed_heartbeat(&self, sector: i32, last: i64) {
        self.feed(|b| b.heartbeat(sector, last));
    }

    /// A feed's stream ended or failed.
    pub fn feed_disconnected(&self, sector: i32) {
        self.feed(|b| b.disconnected(sector, SystemTime::now()));
    }

    /// Marks silent the connected feeds not heard for longer than `silence`.
    pub fn mark_silent(&self, silence: Duration) {
        self.feed(|b| {
            let marked = b.check_silence(Instant::now(), SystemTime::now(), silence);
            for sector in &marked {
                tracing::warn!(sector, ?silence, "change feed silent: marking it stale");
            }
            !marked.is_empty()
        });
    }

    /// Whether every feed is current.
    pub fn all_feeds_current(&self) -> bool {
        lock(&self.feeds).all_current()
    }

    /// Every feed's status.
    pub fn feeds(&self) -> BTreeMap<i32, v1::FeedStatus> {
        lock(&self.feeds).statuses()
    }

    /// Every feed's status and the data version, read together. Taken under
    /// the model's lock: the writer moves both with the data.
    fn feed_positions(&self) -> (BTreeMap<i32, v1::FeedStatus>, i64) {
        let book = lock(&self.feeds);
        (book.statuses(), book.version())
    }

    /// The current period (DOMAIN.md, Settled points).
    pub fn current_period(&self) -> v1::Period {
        current_period_of(&read(&self.model), &self.clock)
    }

    /// Reads the model here, for what is cheap.
    pub fn read<T>(&self, f: impl FnOnce(&CityModel) -> T) -> T {
        f(&read(&self.model))
    }

    /// Runs a computation over the model on a blocking thread, off the
    /// async workers that serve calls and follow feeds.
    pub async fn compute<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&CityModel, &Settings) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let view = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&read(&view.model), &view.settings))
            .await
            .map_err(|e| Error::Internal(format!("a computation over the view failed: {e}")))
    }

    /// The published overview of the current period.
    pub fn current_overview(&self) -> Arc<v1::Overview> {
        Arc::clone(&self.current.borrow().overview)
    }

    /// The published overview of the current period with its encoding.
    pub fn published(&self) -> Published {
        self.current.borrow().clone()
    }

    /// Subscribes to the published overview.
    pub fn subscribe(&self) -> watch::Receiver<Published> {
        self.current.subscribe()
    }

    /// The overview of `period`: the published one for the current period,
    /// else summed afresh on a blocking thread.
    pub async fn overview(self: &Arc<Self>, period: &v1::Period) -> Result<Arc<v1::Overview>, Error> {
        let cached = self.current_overview();
        if cached.period.as_ref() == Some(period) {
            return Ok(cached);
        }
        let period = *period;
        let view = Arc::clone(self);
        self.compute(move |model, settings| {
            // Feed statuses read under the model's lock: the writer moves
            // both together, so the view's positions are those of its data.
            let (feeds, version) = view.feed_positions();
            let projects = compute::projects::contributions(model, settings, &period);
            Arc::new(compute::overview::overview(
                model, settings, &period, &feeds, version, &projects,
            ))
        })
        .await
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
}

impl<R: ReadStore> Writer<R> {
    /// Takes everything handed in into the model, in arrival order, moving
    /// each feed's shown position with its data, then publishes the
    /// overview of the current period if it changed. The current period's
    /// project sums are kept from one step to the next and only the
    /// projects changed since are evaluated again.
    pub fn step(&mut self) {
        let view = Arc::clone(&self.view);
        let inputs = std::mem::take(&mut *lock(&view.inbox));
        if !inputs.is_empty() {
            let mut model = write(&view.model);
            let mut feeds = lock(&view.feeds);
            for input in inputs {
                match input {
                    Input::Catalog(sector, catalog) => {
                        model.catalogs.insert(sector, catalog);
                    }
                    Input::Reset(sector) => {
                        model.remove_sector(sector);
                        feeds.reset_shown(sector);
                        // The kept sums held the sector's projects: summed afresh.
                        self.sums = None;
                    }
                    Input::Changes(sector, changes) => {
                        let shown = feeds.shown(sector);
                        let mut last: Option<&v1::Change> = None;
                        for c in changes.iter().filter(|c| c.sequence > shown) {
                            model.apply(sector, c);
                            if let Some(code) = project_of(c) {
                                self.touched.insert((sector, code.to_owned()));
                            }
                            if last.is_none_or(|l| c.sequence > l.sequence) {
                                last = Some(c);
                            }
                        }
                        if let Some(last) = last {
                            feeds.show(sector, last.sequence, last.time);
                            record_lag(sector, last.time);
                        }
                    }
                }
            }
        }
        let next = self.overview();
        view.current.send_if_modified(|current| {
            if *current.overview == next {
                false
            } else {
                *current = Published::new(Arc::new(next));
                true
            }
        });
    }

    /// The overview of the current period from the kept sums.
    fn overview(&mut self) -> v1::Overview {
        let view = Arc::clone(&self.view);
        let model = read(&view.model);
        let (feeds, version) = view.feed_positions();
        let period = current_period_of(&model, &view.clock);
        let settings = &view.settings;
        let sums = match &mut self.sums {
            Some(sums) if *sums.period() == period => {
                for (sector, code) in self.touched.drain() {
                    sums.refresh(&model, settings, sector, &code);
                }
                sums
            }
            slot => {
                self.touched.clear();
                slot.insert(ProjectSums::new(&model, settings, &period))
            }
        };
        compute::overview::overview(&model, settings, &period, &feeds, version, sums.by_sector())
    }

    /// Steps whenever input arrives or a feed changes, coalescing bursts,
    /// on a blocking thread; after a step that took long (a large city) it
    /// rests at least as long before the next.
    pub async fn run(mut self) {
        let mut took = Duration::ZERO;
        loop {
            self.view.dirty.notified().await;
            tokio::time::sleep(Duration::from_millis(2).max(took)).await;
            let started = Instant::now();
            let stepped = tokio::task::spawn_blocking(move || {
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.step())).is_err() {
                    tracing::error!("a step of the view's writer panicked");
                }
                self
            })
            .await;
            self = match stepped {
                Ok(writer) => writer,
                Err(err) => {
                    tracing::error!(error = %err, "the view's writer stopped");
                    return;
                }
            };
            took = started.elapsed();
            tracing::debug!(took_ms = took.as_secs_f64() * 1000.0, "view updated");
        }
    }
}

fn record_lag(sector: i32, time: Option<prost_types::Timestamp>) {
    let Some(t) = time else { return };
    let lag = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|now| now.as_secs_f64() - (t.seconds as f64 + f64::from(t.nanos) / 1e9))
        .unwrap_or(0.0);
    feed_lag().record(
        lag.max(0.0),
        &[opentelemetry::KeyValue::new("sector", i64::from(sector))],
    );
}

/// The current period of `model` (DOMAIN.md, Settled points): the latest
/// month with any indicator value or progress that is not after the city's
/// current month, else the last month that has ended.
fn current_period_of(model: &CityModel, clock: &Clock) -> v1::Period {
    let today = clock.today();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memstore::MemoryReadStore;

    const A: i32 = v1::Sector::Agriculture as i32;

    fn project(sequence: i64, code: &str) -> v1::Change {
        let project = v1::Project {
            code: code.to_owned(),
            name: code.to_owned(),
            region_code: "city".to_owned(),
            planned_total_investment_yuan: 1_000_000,
            ..Default::default()
        };
        v1::Change {
            sequence,
            sector: A,
            record: Some(v1::Record {
                record: Some(v1::record::Record::Project(project)),
            }),
            record_type: String::new(),
            key: code.to_owned(),
            time: None,
        }
    }

    fn codes<R: ReadStore>(view: &View<R>) -> Vec<String> {
        view.read(|m| m.projects.keys().map(|(_, c)| c.clone()).collect())
    }

    #[tokio::test]
    async fn only_the_writer_changes_the_model_and_it_moves_the_shown_position_with_the_data() {
        let store = MemoryReadStore::default();
        let (view, mut writer) = View::load(
            store.clone(),
            Settings::default(),
            Clock::System,
            &[v1::Sector::Agriculture],
        )
        .await
        .expect("load");
        let version = view.current_overview().data_version;
        view.apply(A, vec![project(1, "A"), project(2, "B")])
            .await
            .expect("apply");
        assert_eq!(view.stored_position(A), 2, "stored behind the queue");
        assert!(codes(&view).is_empty(), "a reader never takes the queue");
        assert_eq!((view.shown_position(A), view.feeds()[&A].last_sequence), (0, 0));

        writer.step();
        assert_eq!(codes(&view), ["A", "B"]);
        assert_eq!(view.shown_position(A), 2);
        assert_eq!(
            view.current_overview().data_version,
            version + 2,
            "published with its positions"
        );

        // A replay of what is shown is stored again and skipped by the writer.
        view.apply(A, vec![project(2, "B"), project(3, "C")])
            .await
            .expect("overlap");
        writer.step();
        assert_eq!(codes(&view), ["A", "B", "C"]);
        let (reloaded, _) = View::load(store, Settings::default(), Clock::System, &[v1::Sector::Agriculture])
            .await
            .expect("reload");
        assert_eq!((codes(&reloaded), reloaded.stored_position(A)), (codes(&view), 3));
    }

    #[tokio::test]
    async fn a_rebuild_empties_the_sector_and_a_replica_behind_it_stores_nothing_until_it_follows() {
        let store = MemoryReadStore::default();
        let load = || {
            View::load(
                store.clone(),
                Settings::default(),
                Clock::System,
                &[v1::Sector::Agriculture],
            )
        };
        let ((a, mut wa), (b, mut wb)) = (load().await.expect("a"), load().await.expect("b"));
        for (view, writer) in [(&a, &mut wa), (&b, &mut wb)] {
            assert!(
                view.apply(A, vec![project(1, "A"), project(2, "B")])
                    .await
                    .expect("apply")
            );
            writer.step();
        }
        a.rebuild(A, "来源已恢复".to_owned()).await.expect("rebuild");
        assert_eq!(a.stored_position(A), 0, "read again from 0");
        wa.step();
        assert!(codes(&a).is_empty(), "the sector's records left the model");
        assert_eq!(a.shown_position(A), 0);
        assert!(
            !b.apply(A, vec![project(3, "C")]).await.expect("apply"),
            "a replica still on the old generation stores nothing"
        );
        b.rebuild(A, "另一副本已重建".to_owned()).await.expect("adopt");
        wb.step();
        assert!(codes(&b).is_empty());
        for (view, writer) in [(&a, &mut wa), (&b, &mut wb)] {
            assert!(view.apply(A, vec![project(1, "X")]).await.expect("apply"));
            writer.step();
            assert_eq!(codes(view), ["X"]);
        }
        let (reloaded, _) = load().await.expect("reload");
        assert_eq!(codes(&reloaded), ["X"]);
        let feed = &reloaded.feeds()[&A];
        assert!(feed.rebuilt_time.is_some());
        assert_eq!(
            feed.rebuild_reason_zh, "来源已恢复",
            "the first rebuild's reason, not the adoption's"
        );
    }

    #[tokio::test]
    async fn a_feed_is_current_once_the_writer_shows_what_its_heartbeat_named() {
        let (view, mut writer) = crate::memstore::agriculture_view().await;
        view.feed_connected(A);
        view.apply(A, vec![project(1, "A")]).await.expect("apply");
        view.feed_heartbeat(A, 1);
        assert!(!view.all_feeds_current(), "stored and queued, not yet shown");
        writer.step();
        assert!(view.all_feeds_current());
    }
}
