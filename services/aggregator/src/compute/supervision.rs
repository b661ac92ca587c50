//! The half-monthly supervision report (督查通报, DOMAIN.md): on the 15th and
//! the last day of each month, per responsible unit its open alerts by code,
//! how many are new since the previous report and how many were cleared.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use citydash_proto::v1::{self, AlertColor};
use citydash_sector::domain::{self, month_end};

use super::{Settings, alerts, reporting};
use crate::model::CityModel;

/// Whether a report is taken on `d` (the 15th or a month's last day).
pub fn is_report_day(d: NaiveDate) -> bool {
    d.day() == 15 || d == month_end(d.year(), d.month())
}

/// The report day before `d`.
pub fn previous_report_day(d: NaiveDate) -> NaiveDate {
    if d.day() > 15 {
        d.with_day(15).unwrap_or(d)
    } else {
        let first = d.with_day(1).unwrap_or(d);
        first.pred_opt().unwrap_or(first)
    }
}

/// The latest report day on or before `d`.
pub fn report_day_on_or_before(d: NaiveDate) -> NaiveDate {
    if is_report_day(d) { d } else { previous_report_day(d) }
}

/// What identifies an alert across reports.
fn identity(a: &v1::Alert) -> (i32, i32, String, String) {
    (a.code, a.sector, a.region_code.clone(), a.subject_code.clone())
}

/// The report of day `date`, compared with the open alerts of `previous`
/// (the previous report's alerts; none for the first report).
pub fn report(
    model: &CityModel,
    settings: &Settings,
    date: NaiveDate,
    previous: Option<(NaiveDate, &[v1::Alert])>,
) -> v1::SupervisionReport {
    let open = alerts::on_day(model, settings, date);
    let before: BTreeSet<_> = previous
        .map(|(_, alerts)| alerts.iter().map(identity).collect())
        .unwrap_or_default();
    let now: BTreeSet<_> = open.iter().map(identity).collect();
    let mut units: BTreeMap<String, v1::UnitStanding> = BTreeMap::new();
    let unit = |units: &mut BTreeMap<String, v1::UnitStanding>, name: &str| {
        units.entry(name.to_owned()).or_insert_with(|| v1::UnitStanding {
            responsible_unit: name.to_owned(),
            ..Default::default()
        });
    };
    for a in &open {
        unit(&mut units, &a.responsible_unit);
        let u = units.get_mut(&a.responsible_unit).expect("just inserted");
        *u.open_by_code.entry(a.code).or_default() += 1;
        u.open += 1;
        if a.color == AlertColor::Red as i32 {
            u.red += 1;
        }
        if previous.is_some() && !before.contains(&identity(a)) {
            u.new_since_last += 1;
        }
    }
    if let Some((_, prev)) = previous {
        for a in prev.iter().filter(|a| !now.contains(&identity(a))) {
            unit(&mut units, &a.responsible_unit);
            if let Some(u) = units.get_mut(&a.responsible_unit) {
                u.cleared_since_last += 1;
            }
        }
    }
    let mut units: Vec<v1::UnitStanding> = units.into_values().collect();
    units.sort_by(|a, b| (b.open, b.red, &a.responsible_unit).cmp(&(a.open, a.red, &b.responsible_unit)));
    let counts: Vec<i32> = units.iter().map(|u| u.open).collect();
    for u in &mut units {
        u.rank = counts.iter().filter(|c| **c > u.open).count() as i32 + 1;
    }
    let reporting_period = settings.reporting.settled_month(model.catalogs.keys().copied(), date);
    v1::SupervisionReport {
        date: Some(domain::from_date(date)),
        previous_date: previous.map(|(d, _)| domain::from_date(d)),
        units,
        alerts: open,
        taken_time: None,
        reporting_period: Some(reporting_period),
        reporting: reporting::reporting(model, settings, &reporting_period, date, None, None).agencies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn report_days_are_the_15th_and_the_last_day() {
        assert!(is_report_day(d(2026, 6, 15)));
        assert!(is_report_day(d(2026, 6, 30)));
        assert!(is_report_day(d(2026, 2, 28)));
        assert!(!is_report_day(d(2026, 6, 29)));
        assert_eq!(previous_report_day(d(2026, 6, 30)), d(2026, 6, 15));
        assert_eq!(previous_report_day(d(2026, 6, 15)), d(2026, 5, 31));
        assert_eq!(previous_report_day(d(2026, 1, 15)), d(2025, 12, 31));
        assert_eq!(report_day_on_or_before(d(2026, 6, 20)), d(2026, 6, 15));
        assert_eq!(report_day_on_or_before(d(2026, 6, 10)), d(2026, 5, 31));
    }
}
