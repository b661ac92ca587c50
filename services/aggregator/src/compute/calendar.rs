//! The reporting calendar (DOMAIN.md "Reporting calendar"): the day each
//! sector's reports of a month are due, the regions whose values are owed,
//! and the city-time instants a first push is judged against. Settings
//! hold it; [`super::reporting`] reads it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use citydash_proto::v1;
use citydash_sector::domain::{self, CITY_UTC_OFFSET_HOURS, Regions};

/// Days after a month's end by which its reports are due, unless the
/// calendar says otherwise for a sector: the 10th of the next month.
pub const DEFAULT_DUE_DAYS: u32 = 10;
/// The latest due day a calendar may set, in days after the month's end.
pub const MAX_DUE_DAYS: u32 = 90;

/// The reporting calendar: each sector's due day, in days after the end of
/// the month reported (10: the 10th of the next month), and the regions
/// whose indicator values are owed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    due_days: BTreeMap<i32, u32>,
    regions: Vec<String>,
}

impl Calendar {
    /// A calendar from `sector=days` entries separated by commas (for
    /// example `industry=15,city=20`; a sector not named is due after
    /// [`DEFAULT_DUE_DAYS`]) and the region codes covered, comma-separated
    /// (empty: the regions of kind city), each one of `known`.
    pub fn parse(due: &str, regions: &str, known: &Regions) -> Result<Self, String> {
        let mut due_days = BTreeMap::new();
        for entry in due.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, days) = entry
                .split_once('=')
                .ok_or_else(|| format!("reporting due day {entry:?}: expected sector=days"))?;
            let sector = citydash_proto::sectors::named(name.trim()).ok_or_else(|| {
                let known: Vec<&str> = citydash_proto::sectors::service_names().collect();
                format!(
                    "reporting due day {entry:?}: unknown sector (known: {})",
                    known.join(", ")
                )
            })?;
            let days: u32 = days
                .trim()
                .parse()
                .ok()
                .filter(|d| *d <= MAX_DUE_DAYS)
                .ok_or_else(|| format!("reporting due day {entry:?}: days must be 0..={MAX_DUE_DAYS}"))?;
            due_days.insert(sector.sector as i32, days);
        }
        let regions = regions
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| {
                if known.contains(r) {
                    Ok(r.to_owned())
                } else {
                    Err(format!("reporting region {r:?} is not a configured region"))
                }
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { due_days, regions })
    }

    /// The regions whose indicator values are owed: the configured ones,
    /// else those of kind city among `all`.
    pub fn covered<'a>(&'a self, all: &'a Regions) -> Vec<&'a str> {
        if self.regions.is_empty() {
            all.all()
                .iter()
                .filter(|r| r.kind == v1::RegionKind::City as i32)
                .map(|r| r.code.as_str())
                .collect()
        } else {
            self.regions.iter().map(String::as_str).collect()
        }
    }

    /// The day `sector`'s reports of `period` are due.
    pub fn due_date(&self, sector: i32, period: &v1::Period) -> NaiveDate {
        let days = self.due_days.get(&sector).copied().unwrap_or(DEFAULT_DUE_DAYS);
        domain::period_end(period) + chrono::Duration::days(i64::from(days))
    }

    /// The first instant (unix seconds) after the due day, city time: a
    /// first push before it is on time.
    pub fn deadline(&self, sector: i32, period: &v1::Period) -> i64 {
        day_end(self.due_date(sector, period))
    }

    /// The latest month whose due day has passed (is before `today`) for
    /// every sector of the model: the month a report taken on `today` asks
    /// after.
    pub fn settled_month(&self, sectors: impl Iterator<Item = i32> + Clone, today: NaiveDate) -> v1::Period {
        let mut period = domain::period_of(today);
        for _ in 0..=(MAX_DUE_DAYS / 28 + 2) {
            if sectors.clone().all(|s| self.due_date(s, &period) < today) {
                break;
            }
            period = domain::previous_period(&period);
        }
        period
    }
}

/// The first instant (unix seconds) after city day `d`.
pub fn day_end(d: NaiveDate) -> i64 {
    (d + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .map_or(i64::MAX, |t| t.and_utc().timestamp() - CITY_UTC_OFFSET_HOURS * 3600)
}
