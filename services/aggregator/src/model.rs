//! The aggregator's read model in memory: every record of every feed, indexed
//! the way the formulas read them. It is rebuilt from the persisted copy at
//! start-up and kept current by the feed consumers; computations only read it.

use std::collections::{BTreeMap, HashMap};

use citydash_proto::v1::{self, record::Record};
use citydash_sector::units::Units;
use prost::{Message, Name};

/// One month of a project's progress, as the formulas read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthProgress {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: i32,
    /// Investment completed in the month, yuan.
    pub invested_yuan: i64,
    /// Funds that arrived in the month, yuan.
    pub funds_arrived_yuan: i64,
    /// When the report's first version was pushed, unix seconds: its
    /// timeliness (及时率) is judged by it.
    pub first_pushed: i64,
}

/// When a record's first version was pushed, unix seconds, from its meta:
/// the create time, or for a record stored before create times were kept,
/// the time of the version at hand (a later correction can only make it
/// later, never on time when it was not). 0 without meta.
pub fn first_pushed(meta: Option<&v1::RecordMeta>) -> i64 {
    meta.and_then(|m| m.create_time.filter(|t| t.seconds > 0).or(m.update_time))
        .map_or(0, |t| t.seconds)
}

/// Every record the aggregator has applied, indexed for the formulas.
#[derive(Debug, Default, Clone)]
pub struct CityModel {
    /// Projects by (sector, code).
    pub projects: BTreeMap<(i32, String), v1::Project>,
    /// Monthly progress by sector and project code: only the figures the
    /// formulas read, in period order. (At 100,000 projects × 24 months a
    /// map of whole reports took most of the aggregator's memory.) A fast
    /// hash: summing a period afresh looks up every project here.
    pub progress: HashMap<i32, HashMap<String, Vec<MonthProgress>, foldhash::fast::RandomState>>,
    /// The latest (year, month) of any progress report.
    pub progress_latest: Option<(i32, i32)>,
    /// Indicator values by (indicator, region, year, month). Indicator codes
    /// carry their sector's prefix, so they are unique city-wide.
    pub values: BTreeMap<(String, String, i32, i32), v1::IndicatorValue>,
    /// Annual targets by (indicator, region, year).
    pub targets: BTreeMap<(String, String, i32), v1::AnnualTarget>,
    /// Sector entities by (full type name, key).
    pub entities: BTreeMap<(String, String), prost_types::Any>,
    /// Each source's catalog, by sector.
    pub catalogs: BTreeMap<i32, v1::GetCatalogResponse>,
    /// The responsible units registered on the city engine: every view shows
    /// a unit's current name for the code its records store.
    pub units: Units,
    /// How many changes were skipped as unusable (an amount out of bounds).
    pub skipped: u64,
}

impl CityModel {
    /// Applies one change of `sector`'s feed: the record replaces whatever
    /// was stored under its key. A record with an amount outside the bounds
    /// a push may carry (stored before the bound, or edited by hand) is
    /// reported and takes its key out of the view: the sums never see it.
    pub fn apply(&mut self, sector: i32, change: &v1::Change) {
        let Some(record) = change.record.as_ref().and_then(|r| r.record.as_ref()) else {
            return;
        };
        if let Some((field, value)) = citydash_sector::validate::amount_out_of_bounds(record) {
            tracing::error!(
                sector,
                key = %change.key,
                sequence = change.sequence,
                field,
                value,
                "record skipped: an amount is outside 0..=10^15"
            );
            self.forget(sector, &change.key, record);
            self.skipped += 1;
            return;
        }
        match record {
            Record::Project(p) => {
                self.projects.insert((sector, p.code.clone()), p.clone());
            }
            Record::Progress(r) => {
                let p = r.period.unwrap_or_default();
                let month = MonthProgress {
                    year: p.year,
                    month: p.month,
                    invested_yuan: r.investment_completed_yuan,
                    funds_arrived_yuan: r.funds_arrived_yuan,
                    first_pushed: first_pushed(r.meta.as_ref()),
                };
                let months = self
                    .progress
                    .entry(sector)
                    .or_default()
                    .entry(r.project_code.clone())
                    .or_default();
                match months.binary_search_by_key(&(p.year, p.month), |m| (m.year, m.month)) {
                    Ok(at) => months[at] = month,
                    Err(at) => months.insert(at, month),
                }
                self.progress_latest = self.progress_latest.max(Some((p.year, p.month)));
            }
            Record::IndicatorValue(v) => {
                let p = v.period.unwrap_or_default();
                self.values.insert(
                    (v.indicator_code.clone(), v.region_code.clone(), p.year, p.month),
                    v.clone(),
                );
            }
            Record::Target(t) => {
                self.targets
                    .insert((t.indicator_code.clone(), t.region_code.clone(), t.year), t.clone());
            }
            Record::Entity(any) => {
                let name = any.type_url.rsplit('/').next().unwrap_or_default().to_owned();
                if name == v1::ResponsibleUnit::full_name()
                    && let Ok(unit) = v1::ResponsibleUnit::decode(any.value.as_slice())
                {
                    self.units.insert(unit);
                }
                self.entities.insert((name, change.key.clone()), any.clone());
            }
        }
    }

    /// Takes every record of `sector` out of the view (its source was
    /// replaced or restored: the feed is read again from 0). A sector's
    /// indicator values and targets are those of its catalog's codes, its
    /// entities those of its catalog's types; its catalog stays until the
    /// source's own replaces it.
    pub fn remove_sector(&mut self, sector: i32) {
        self.projects.retain(|(s, _), _| *s != sector);
        self.progress.remove(&sector);
        self.progress_latest = self
            .progress
            .values()
            .flat_map(HashMap::values)
            .flatten()
            .map(|m| (m.year, m.month))
            .max();
        let Some(catalog) = self.catalogs.get(&sector) else {
            return;
        };
        let codes: std::collections::HashSet<&str> = catalog.indicators.iter().map(|d| d.code.as_str()).collect();
        let types: std::collections::HashSet<&str> = catalog.entity_types.iter().map(String::as_str).collect();
        self.values.retain(|(code, ..), _| !codes.contains(code.as_str()));
        self.targets.retain(|(code, ..), _| !codes.contains(code.as_str()));
        self.entities.retain(|(name, _), _| !types.contains(name.as_str()));
        if types.contains(v1::ResponsibleUnit::full_name().as_str()) {
            self.units = Units::default();
        }
    }

    /// Takes the record stored under `key` out of the view: its new
    /// version `record` cannot be used.
    fn forget(&mut self, sector: i32, key: &str, record: &Record) {
        match record {
            Record::Project(p) => {
                self.projects.remove(&(sector, p.code.clone()));
            }
            Record::Progress(r) => {
                let p = r.period.unwrap_or_default();
                if let Some(months) = self.progress.get_mut(&sector).and_then(|m| m.get_mut(&r.project_code)) {
                    months.retain(|m| (m.year, m.month) != (p.year, p.month));
                }
            }
            Record::IndicatorValue(v) => {
                let p = v.period.unwrap_or_default();
                self.values
                    .remove(&(v.indicator_code.clone(), v.region_code.clone(), p.year, p.month));
            }
            Record::Target(t) => {
                self.targets
                    .remove(&(t.indicator_code.clone(), t.region_code.clone(), t.year));
            }
            Record::Entity(any) => {
                let name = any.type_url.rsplit('/').next().unwrap_or_default().to_owned();
                self.entities.remove(&(name, key.to_owned()));
            }
        }
    }

    /// Every entity of type `M`, decoded, in key order.
    pub fn entities_of<M: Message + Name + Default>(&self) -> Vec<M> {
        let name = M::full_name();
        self.entities
            .range((name.clone(), String::new())..)
            .take_while(|((n, _), _)| *n == name)
            .filter_map(|(_, any)| M::decode(any.value.as_slice()).ok())
            .collect()
    }

    /// A catalog entry by code, with the sector that owns it.
    pub fn definition(&self, code: &str) -> Option<(i32, &v1::IndicatorDefinition)> {
        self.catalogs
            .iter()
            .find_map(|(s, c)| c.indicators.iter().find(|d| d.code == code).map(|d| (*s, d)))
    }

    /// The agency of a sector, from its catalog.
    pub fn agency(&self, sector: i32) -> &str {
        self.catalogs.get(&sector).map_or("", |c| c.agency_zh.as_str())
    }

    /// The agency of a sector as a unit code (its name where it is not
    /// registered): who owes the sector's reports.
    pub fn agency_unit(&self, sector: i32) -> String {
        let agency = self.agency(sector);
        self.units
            .find(agency)
            .map_or_else(|| agency.to_owned(), |u| u.code.clone())
    }

    /// The value of an indicator for a region and month.
    pub fn value(&self, code: &str, region: &str, year: i32, month: i32) -> Option<&v1::IndicatorValue> {
        self.values.get(&(code.to_owned(), region.to_owned(), year, month))
    }

    /// The months reported for a project, in period order.
    pub fn months(&self, sector: i32, code: &str) -> &[MonthProgress] {
        self.progress
            .get(&sector)
            .and_then(|p| p.get(code))
            .map_or(&[], Vec::as_slice)
    }

    /// Investment a project completed in months 1..=`to_month` of `year`.
    pub fn invested(&self, sector: i32, code: &str, year: i32, to_month: i32) -> i64 {
        let months = self
            .months(sector, code)
            .iter()
            .filter(|m| m.year == year && m.month >= 1 && m.month <= to_month)
            .map(|m| m.invested_yuan);
        crate::compute::total(months)
    }

    /// Funds that arrived for a project in every month up to (year, month).
    pub fn funds_arrived(&self, sector: i32, code: &str, year: i32, month: i32) -> i64 {
        let months = self
            .months(sector, code)
            .iter()
            .take_while(|m| (m.year, m.month) <= (year, month))
            .map(|m| m.funds_arrived_yuan);
        crate::compute::total(months)
    }

    /// The latest period not after `not_after` (year, month) that has any
    /// indicator value or progress report. Pushes cannot be dated after the
    /// city's month, so data beyond it is only what was stored before that
    /// rule; only then are the progress months scanned.
    pub fn latest_period(&self, not_after: (i32, i32)) -> Option<v1::Period> {
        let progress = match self.progress_latest {
            Some(latest) if latest > not_after => self
                .progress
                .values()
                .flat_map(HashMap::values)
                .flatten()
                .map(|m| (m.year, m.month))
                .filter(|p| *p <= not_after)
                .max(),
            latest => latest,
        };
        self.values
            .keys()
            .map(|(_, _, y, m)| (*y, *m))
            .filter(|p| *p <= not_after)
            .max()
            .max(progress)
            .map(|(year, month)| v1::Period { year, month })
    }
}
