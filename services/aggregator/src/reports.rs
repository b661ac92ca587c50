//! The half-monthly supervision report (DOMAIN.md): computed from the view
//! for any report day, stored for good only by the schedule, once per day
//! across restarts and replicas, and only from a view that holds every
//! feed's backlog. Reads never store.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use citydash_proto::v1;
use citydash_runtime::Error;
use citydash_sector::domain;

use crate::compute::{self, supervision};
use crate::lease::Lease;
use crate::readstore::ReadStore;
use crate::view::View;

/// How often the schedule looks at the calendar.
pub const SCHEDULE_TICK: Duration = Duration::from_secs(60);
/// How often a report day's schedule looks again while a feed catches up.
const FEEDS_TICK: Duration = Duration::from_secs(1);

/// The supervision reports of one view.
pub struct Reports<R> {
    view: Arc<View<R>>,
    /// Serializes taking a report in this process.
    taking: tokio::sync::Mutex<()>,
}

impl<R: ReadStore> Reports<R> {
    /// The reports of `view`.
    pub fn new(view: Arc<View<R>>) -> Arc<Self> {
        Arc::new(Self {
            view,
            taking: tokio::sync::Mutex::new(()),
        })
    }

    /// The report of `date` (a report day, not after today): the stored
    /// one, else computed for this answer and not stored; with the
    /// supervision orders of its window counted as they are now.
    pub async fn report(&self, date: NaiveDate) -> Result<v1::SupervisionReport, Error> {
        if !supervision::is_report_day(date) {
            return Err(Error::invalid(
                "date",
                format!("{date} 不是每月15日或月末（督查通报日）"),
            ));
        }
        if date > self.view.clock().today() {
            return Err(Error::invalid("date", format!("{date} 晚于今天")));
        }
        let mut report = match self.view.store().report(&date.to_string()).await? {
            Some(report) => report,
            None => self.compute(date).await?,
        };
        // The orders as they are now: a stored report is taken before its
        // own snapshot opens orders.
        let orders = self.view.read(|m| m.entities_of::<v1::SupervisionOrder>());
        compute::orders::add_to_report(&mut report, &orders);
        Ok(report)
    }

    /// The latest report day on or before today.
    pub fn latest_day(&self) -> NaiveDate {
        supervision::report_day_on_or_before(self.view.clock().today())
    }

    /// The report of `date` from the view, against the previous report
    /// (stored, else computed as of its day).
    async fn compute(&self, date: NaiveDate) -> Result<v1::SupervisionReport, Error> {
        let previous_day = supervision::previous_report_day(date);
        let previous = self.view.store().report(&previous_day.to_string()).await?;
        self.view
            .compute(move |model, settings| {
                let previous_alerts = match previous {
                    Some(r) => r.alerts,
                    None => compute::alerts::on_day(model, settings, previous_day),
                };
                supervision::report(model, settings, date, Some((previous_day, previous_alerts.as_slice())))
            })
            .await
    }

    /// Takes and stores the report of `date` (a report day, checked by the
    /// caller) once: another replica or an earlier tick may have taken it,
    /// and then that one is the answer.
    pub async fn take(&self, date: NaiveDate) -> Result<v1::SupervisionReport, Error> {
        let key = date.to_string();
        let _guard = self.taking.lock().await;
        if let Some(report) = self.view.store().report(&key).await? {
            return Ok(report);
        }
        let mut report = self.compute(date).await?;
        report.taken_time = Some(std::time::SystemTime::now().into());
        Ok(self.view.store().save_report(&key, &report).await?)
    }

    /// Days of the stored reports, newest first.
    pub async fn dates(&self) -> Result<Vec<v1::Date>, Error> {
        Ok(self
            .view
            .store()
            .report_dates()
            .await?
            .iter()
            .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(domain::from_date)
            .collect())
    }

    /// Takes each report on its day, looking every [`SCHEDULE_TICK`], and
    /// hands it to `then` (the supervision orders), every tick of the day:
    /// what `then` does must be idempotent. It waits until every feed is
    /// current: an aggregator started (or a sector reconnected) on a report
    /// day does not snapshot a view that is still catching up. A report day
    /// that passes without that is not stored: asked for, it is computed as
    /// of its day. Only the replica that holds `lease` takes reports; the
    /// others wait for it, and look at once when it comes to them.
    pub async fn run_schedule<F, Fut>(self: Arc<Self>, mut lease: Lease, then: F)
    where
        F: Fn(v1::SupervisionReport) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut waiting_since: Option<NaiveDate> = None;
        loop {
            // A replica that takes the lease over looks at once.
            lease.acquired().await;
            let today = self.view.clock().today();
            if supervision::is_report_day(today) {
                if !self.view.all_feeds_current() {
                    if waiting_since != Some(today) {
                        waiting_since = Some(today);
                        tracing::info!(%today, "the supervision report waits for every feed to catch up");
                    }
                    // Taken as soon as the feeds are current.
                    tokio::time::sleep(FEEDS_TICK).await;
                    continue;
                } else {
                    match self.take(today).await {
                        Ok(report) => then(report).await,
                        Err(err) => tracing::warn!(error = %err, "taking the supervision report failed"),
                    }
                }
            }
            tokio::time::sleep(SCHEDULE_TICK).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::compute::Settings;
    use crate::memstore::MemoryReadStore;

    const A: i32 = v1::Sector::Agriculture as i32;

    #[tokio::test(start_paused = true)]
    async fn the_report_of_a_day_is_taken_once_and_only_when_every_feed_is_current() {
        let eve = NaiveDate::from_ymd_opt(2026, 6, 14)
            .and_then(|d| d.and_hms_opt(23, 58, 30))
            .expect("a time");
        let store = MemoryReadStore::default();
        let (view, mut writer) = View::load(
            store.clone(),
            Settings::default(),
            Clock::starting_at(eve),
            &[v1::Sector::Agriculture],
        )
        .await
        .expect("load");
        let reports = Reports::new(Arc::clone(&view));
        let handed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&handed);
        tokio::spawn(Arc::clone(&reports).run_schedule(Lease::always(), move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::future::ready(())
        }));

        // The 15th comes while the feed is still catching up: nothing is stored.
        tokio::time::sleep(SCHEDULE_TICK * 3).await;
        assert_eq!(
            view.clock().today(),
            NaiveDate::from_ymd_opt(2026, 6, 15).expect("a date")
        );
        assert!(reports.dates().await.expect("dates").is_empty());
        let asked = reports.report(view.clock().today()).await.expect("computed on demand");
        assert!(asked.taken_time.is_none(), "an answer computed for a read");
        assert!(reports.dates().await.expect("dates").is_empty(), "reads never store");
        assert_eq!(
            handed.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "nothing taken, nothing handed on"
        );

        view.feed_connected(A);
        view.feed_heartbeat(A, 0);
        writer.step();
        tokio::time::sleep(SCHEDULE_TICK * 3).await;
        let dates = reports.dates().await.expect("dates");
        assert_eq!(dates, vec![domain::from_date(view.clock().today())]);
        let taken = reports.report(view.clock().today()).await.expect("stored");
        assert!(taken.taken_time.is_some());
        tokio::time::sleep(SCHEDULE_TICK * 3).await;
        assert_eq!(
            reports.report(view.clock().today()).await.expect("stored"),
            taken,
            "taken once"
        );
        assert!(
            handed.load(std::sync::atomic::Ordering::SeqCst) >= 2,
            "handed on every tick of the day"
        );

        // Not a report day, and not a day after today.
        assert!(
            reports
                .report(NaiveDate::from_ymd_opt(2026, 6, 14).expect("a date"))
                .await
                .is_err()
        );
        assert!(
            reports
                .report(NaiveDate::from_ymd_opt(2026, 6, 30).expect("a date"))
                .await
                .is_err()
        );
    }
}
