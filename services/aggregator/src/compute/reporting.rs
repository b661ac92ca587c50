//! Reporting completeness and timeliness (上报完整率、及时率, DOMAIN.md): for
//! a month, what each agency owes (a progress report per project started at
//! the month's end, a value per indicator of its catalog per region covered),
//! what has arrived (any version for the month) and what arrived on time
//! (its first version pushed by the sector's due day, city time). Pure
//! functions of the model, a period and, for the statuses, today.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use citydash_proto::v1::{self, ProjectStage, ReportingStatus};
use citydash_sector::domain::{self, stage_on};
use citydash_sector::records;

use super::calendar::day_end;
use super::{Settings, as_of, facts, indicators, rate};
use crate::model::{CityModel, first_pushed};

/// One owed report: who owes it, what it is, and when its first version
/// came (`None`: not yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed<'a> {
    /// The sector it is owed to.
    pub sector: i32,
    /// The agency that owes it: a unit code, or the agency's name where it
    /// is not registered.
    pub unit: String,
    /// [`records::PROGRESS`] or [`records::INDICATOR_VALUE`].
    pub kind: &'static str,
    /// The project's or indicator's code.
    pub code: &'a str,
    /// The region of an indicator value; empty for progress.
    pub region: &'a str,
    /// The project's or indicator's name.
    pub name: &'a str,
    /// When its first version was pushed, unix seconds.
    pub first_pushed: Option<i64>,
}

/// Whether project `p` owes a progress report for `period` (it is started at
/// the month's end), and if so when the report's first version came.
pub fn progress_owed(model: &CityModel, sector: i32, p: &v1::Project, period: &v1::Period) -> Option<Option<i64>> {
    if stage_on(p, as_of(period)) != ProjectStage::Started {
        return None;
    }
    let first = model
        .months(sector, &p.code)
        .iter()
        .find(|m| (m.year, m.month) == (period.year, period.month))
        .map(|m| m.first_pushed);
    Some(first)
}

/// The indicator values `sector` owes for `period`: every indicator of its
/// catalog for every region covered, owed by the indicator's responsible
/// unit (the target's, else the sector's agency).
pub fn values_owed<'a>(
    model: &'a CityModel,
    settings: &'a Settings,
    sector: i32,
    period: &v1::Period,
) -> Vec<Owed<'a>> {
    let Some(catalog) = model.catalogs.get(&sector) else {
        return Vec::new();
    };
    let regions = settings.reporting.covered(&settings.regions);
    let mut out = Vec::new();
    let accepts = |r: &str| catalog.regions.is_empty() || catalog.regions.iter().any(|c| c.code == r);
    for def in &catalog.indicators {
        for region in regions.iter().copied().filter(|r| accepts(r)) {
            out.push(Owed {
                sector,
                unit: indicators::responsible_unit_code(model, sector, &def.code, region, period.year),
                kind: records::INDICATOR_VALUE,
                code: &def.code,
                region,
                name: &def.name_zh,
                first_pushed: model
                    .value(&def.code, region, period.year, period.month)
                    .map(|v| first_pushed(v.meta.as_ref())),
            });
        }
    }
    out
}

/// Every report owed for `period`, sector by sector (`only`: one sector).
pub fn owed<'a>(model: &'a CityModel, settings: &'a Settings, period: &v1::Period, only: Option<i32>) -> Vec<Owed<'a>> {
    let mut out = Vec::new();
    for &sector in model.catalogs.keys().filter(|s| only.is_none_or(|o| o == **s)) {
        let agency = model.agency_unit(sector);
        for (_, p) in facts::projects_of(model, Some(sector)) {
            if let Some(first) = progress_owed(model, sector, p, period) {
                out.push(Owed {
                    sector,
                    unit: agency.clone(),
                    kind: records::PROGRESS,
                    code: &p.code,
                    region: "",
                    name: &p.name,
                    first_pushed: first,
                });
            }
        }
        out.extend(values_owed(model, settings, sector, period));
    }
    out
}

/// Counts of owed, received and on-time reports: exact integers, so the
/// overview keeps them per project and adds them up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Reports owed.
    pub expected: i64,
    /// Of those, with any version.
    pub received: i64,
    /// Of those, first pushed by the due day.
    pub on_time: i64,
}

impl Tally {
    /// Counts one owed report first pushed at `first` against `deadline`.
    pub fn count(&mut self, first: Option<i64>, deadline: i64) {
        self.expected += 1;
        if let Some(at) = first {
            self.received += 1;
            self.on_time += i64::from(at < deadline);
        }
    }

    /// Adds another tally.
    pub fn add(&mut self, other: &Tally) {
        self.expected += other.expected;
        self.received += other.received;
        self.on_time += other.on_time;
    }

    /// Takes another tally out.
    pub fn sub(&mut self, other: &Tally) {
        self.expected -= other.expected;
        self.received -= other.received;
        self.on_time -= other.on_time;
    }

    /// The figures, with the due day when there is one.
    pub fn figures(&self, due: Option<NaiveDate>) -> v1::ReportingFigures {
        v1::ReportingFigures {
            completeness: Some(rate(self.received, self.expected)),
            timeliness: Some(rate(self.on_time, self.expected)),
            expected: self.expected as i32,
            received: self.received as i32,
            on_time: self.on_time as i32,
            missing: (self.expected - self.received) as i32,
            due_date: due.map(domain::from_date),
        }
    }

    /// How an agency with this tally stands on `today`, its due day `due`.
    pub fn status(&self, due: NaiveDate, today: NaiveDate) -> ReportingStatus {
        if self.received < self.expected {
            if today > due {
                ReportingStatus::Overdue
            } else {
                ReportingStatus::Pending
            }
        } else if self.on_time < self.expected {
            ReportingStatus::Late
        } else {
            ReportingStatus::OnTime
        }
    }
}

/// The tally of the indicator values `sector` owes for `period` (the
/// overview adds the projects' part it keeps per project).
pub fn values_tally(model: &CityModel, settings: &Settings, sector: i32, period: &v1::Period) -> Tally {
    let deadline = settings.reporting.deadline(sector, period);
    let mut t = Tally::default();
    for o in values_owed(model, settings, sector, period) {
        t.count(o.first_pushed, deadline);
    }
    t
}

/// What `GetReporting` answers before paging: agencies, sectors, the total
/// and every missing item in a stable order.
#[derive(Debug, Clone, Default)]
pub struct Reporting {
    /// Agencies, the overdue first.
    pub agencies: Vec<v1::AgencyReporting>,
    /// Per sector.
    pub sectors: Vec<v1::SectorReporting>,
    /// All together.
    pub total: v1::ReportingFigures,
    /// Overdue agencies.
    pub overdue: i32,
    /// Every missing item, by agency, sector, kind (progress first) and key.
    pub missing: Vec<v1::MissingItem>,
}

/// The reporting of `period` judged on `today`; `unit` (a code) and
/// `sector` narrow it to one agency or sector.
pub fn reporting(
    model: &CityModel,
    settings: &Settings,
    period: &v1::Period,
    today: NaiveDate,
    unit: Option<&str>,
    sector: Option<i32>,
) -> Reporting {
    let mut by_agency: BTreeMap<(String, i32), Tally> = BTreeMap::new();
    let mut by_sector: BTreeMap<i32, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    let mut missing = Vec::new();
    // A report computed for a day gone by sees only what had come by its end.
    let cutoff = day_end(today);
    for mut o in owed(model, settings, period, sector) {
        if unit.is_some_and(|u| u != o.unit) {
            continue;
        }
        o.first_pushed = o.first_pushed.filter(|t| *t < cutoff);
        let deadline = settings.reporting.deadline(o.sector, period);
        by_agency
            .entry((o.unit.clone(), o.sector))
            .or_default()
            .count(o.first_pushed, deadline);
        by_sector.entry(o.sector).or_default().count(o.first_pushed, deadline);
        total.count(o.first_pushed, deadline);
        if o.first_pushed.is_none() {
            let key = if o.kind == records::PROGRESS {
                records::progress_key(o.code, period)
            } else {
                records::value_key(o.code, o.region, period)
            };
            missing.push(v1::MissingItem {
                unit_code: o.unit,
                sector: o.sector,
                kind: o.kind.to_owned(),
                code: o.code.to_owned(),
                region_code: o.region.to_owned(),
                name_zh: o.name.to_owned(),
                key,
            });
        }
    }
    let mut agencies: Vec<v1::AgencyReporting> = by_agency
        .into_iter()
        .map(|((code, sector), t)| {
            let due = settings.reporting.due_date(sector, period);
            v1::AgencyReporting {
                unit_name_zh: model.units.name(&code).to_owned(),
                unit_code: code,
                sector,
                figures: Some(t.figures(Some(due))),
                status: t.status(due, today) as i32,
            }
        })
        .collect();
    agencies.sort_by_key(|a| {
        let missing = a.figures.as_ref().map_or(0, |f| f.missing);
        (
            status_rank(a.status),
            -missing,
            super::sector_rank(a.sector),
            a.unit_code.clone(),
        )
    });
    // By agency and sector, a project's progress before indicator values.
    missing.sort_by(|a, b| {
        let order = |i: &v1::MissingItem| (super::sector_rank(i.sector), i.kind != records::PROGRESS);
        (&a.unit_code, order(a), &a.key).cmp(&(&b.unit_code, order(b), &b.key))
    });
    let overdue = agencies
        .iter()
        .filter(|a| a.status == ReportingStatus::Overdue as i32)
        .count() as i32;
    Reporting {
        agencies,
        sectors: by_sector
            .into_iter()
            .map(|(s, t)| v1::SectorReporting {
                sector: s,
                figures: Some(t.figures(Some(settings.reporting.due_date(s, period)))),
            })
            .collect(),
        total: total.figures(None),
        overdue,
        missing,
    }
}

/// Overdue first, then pending, late, on time.
fn status_rank(status: i32) -> u8 {
    match ReportingStatus::try_from(status).unwrap_or(ReportingStatus::Unspecified) {
        ReportingStatus::Overdue => 0,
        ReportingStatus::Pending => 1,
        ReportingStatus::Late => 2,
        ReportingStatus::OnTime => 3,
        ReportingStatus::Unspecified => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::super::calendar::Calendar;
    use super::*;
    use citydash_proto::v1::{project_event::Event, record::Record};
    use citydash_sector::domain::{CITY_UTC_OFFSET_HOURS, Regions};

    const JUNE: v1::Period = v1::Period { year: 2026, month: 6 };

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    /// Unix seconds of a city-time instant in 2026.
    fn at(m: u32, day: u32, hour: u32) -> i64 {
        d(m, day).and_hms_opt(hour, 0, 0).unwrap().and_utc().timestamp() - CITY_UTC_OFFSET_HOURS * 3600
    }

    fn meta(first: i64) -> Option<v1::RecordMeta> {
        Some(v1::RecordMeta {
            version: 2,
            create_time: Some(prost_types::Timestamp {
                seconds: first,
                nanos: 0,
            }),
            update_time: Some(prost_types::Timestamp {
                seconds: first + 86_400 * 30,
                nanos: 0,
            }),
            ..Default::default()
        })
    }

    fn apply(model: &mut CityModel, sector: v1::Sector, r: Record) {
        let change = v1::Change {
            record: Some(v1::Record { record: Some(r) }),
            ..Default::default()
        };
        model.apply(sector as i32, &change);
    }

    fn catalog(model: &mut CityModel, sector: v1::Sector, agency: &str, codes: &[&str]) {
        model.catalogs.insert(
            sector as i32,
            v1::GetCatalogResponse {
                sector: sector as i32,
                agency_zh: agency.to_owned(),
                indicators: codes
                    .iter()
                    .map(|c| v1::IndicatorDefinition {
                        code: (*c).to_owned(),
                        name_zh: format!("{c}名"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            },
        );
    }

    fn project(model: &mut CityModel, sector: v1::Sector, code: &str, stage: ProjectStage, on: (u32, u32)) {
        let date = Some(domain::from_date(d(on.0, on.1)));
        apply(
            model,
            sector,
            Record::Project(v1::Project {
                code: code.to_owned(),
                name: format!("{code}项目"),
                events: vec![v1::ProjectEvent {
                    date,
                    event: Some(Event::Stage(stage as i32)),
                }],
                ..Default::default()
            }),
        );
    }

    fn progress(model: &mut CityModel, sector: v1::Sector, code: &str, first: i64) {
        apply(
            model,
            sector,
            Record::Progress(v1::ProgressReport {
                project_code: code.to_owned(),
                period: Some(JUNE),
                investment_completed_yuan: 1,
                meta: meta(first),
                ..Default::default()
            }),
        );
    }

    fn value(model: &mut CityModel, sector: v1::Sector, code: &str, first: i64) {
        apply(
            model,
            sector,
            Record::IndicatorValue(v1::IndicatorValue {
                indicator_code: code.to_owned(),
                region_code: "city".to_owned(),
                period: Some(JUNE),
                value: 1,
                meta: meta(first),
                ..Default::default()
            }),
        );
    }

    /// Agriculture reports everything on time; industry everything, one
    /// item after the 10 July due day; tourism nothing.
    fn city() -> CityModel {
        use v1::Sector::{Agriculture, Industry, Tourism};
        let mut m = CityModel::default();
        catalog(&mut m, Agriculture, "市农业农村局", &["agri.a"]);
        catalog(&mut m, Industry, "市工信局", &["industry.a", "industry.b"]);
        catalog(&mut m, Tourism, "市文旅局", &["tourism.a"]);
        project(&mut m, Agriculture, "A1", ProjectStage::Started, (3, 1));
        project(&mut m, Agriculture, "A2", ProjectStage::Funded, (3, 1)); // owes nothing
        project(&mut m, Agriculture, "A3", ProjectStage::Started, (7, 1)); // started after June
        project(&mut m, Industry, "I1", ProjectStage::Started, (6, 30));
        project(&mut m, Industry, "I2", ProjectStage::Completed, (5, 1)); // owes nothing
        project(&mut m, Tourism, "T1", ProjectStage::Started, (1, 5));
        progress(&mut m, Agriculture, "A1", at(7, 3, 9));
        value(&mut m, Agriculture, "agri.a", at(7, 10, 23));
        progress(&mut m, Industry, "I1", at(7, 9, 9));
        value(&mut m, Industry, "industry.a", at(7, 10, 12));
        value(&mut m, Industry, "industry.b", at(7, 11, 0)); // the first second after the due day
        m
    }

    fn find(r: &Reporting, unit: &str) -> v1::AgencyReporting {
        r.agencies.iter().find(|a| a.unit_code == unit).cloned().unwrap()
    }

    #[test]
    fn the_rates_and_statuses_follow_the_calendar() {
        let m = city();
        let settings = Settings::default();
        let r = reporting(&m, &settings, &JUNE, d(7, 15), None, None);
        let agri = find(&r, "市农业农村局");
        let f = agri.figures.unwrap();
        assert_eq!((f.expected, f.received, f.on_time, f.missing), (2, 2, 2, 0));
        assert_eq!(agri.status, ReportingStatus::OnTime as i32);
        assert_eq!(f.due_date, Some(domain::from_date(d(7, 10))));
        let industry = find(&r, "市工信局");
        let f = industry.figures.unwrap();
        assert_eq!((f.expected, f.received, f.on_time), (3, 3, 2));
        assert_eq!(industry.status, ReportingStatus::Late as i32);
        assert_eq!(f.timeliness.unwrap().value, Some(2.0 / 3.0));
        let tourism = find(&r, "市文旅局");
        assert_eq!(tourism.status, ReportingStatus::Overdue as i32);
        assert_eq!(tourism.figures.unwrap().completeness.unwrap().value, Some(0.0));
        assert_eq!(r.overdue, 1);
        assert_eq!(r.agencies[0].unit_code, "市文旅局", "the overdue first");
        assert_eq!((r.total.expected, r.total.received, r.total.on_time), (7, 5, 4));
        let keys: Vec<&str> = r.missing.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["T1/2026-06", "tourism.a/city/2026-06"]);
    }

    #[test]
    fn before_the_due_day_missing_is_pending_and_a_late_push_is_never_on_time() {
        let mut m = city();
        let settings = Settings::default();
        let before = reporting(&m, &settings, &JUNE, d(7, 10), None, None);
        assert_eq!(find(&before, "市文旅局").status, ReportingStatus::Pending as i32);
        assert_eq!(before.overdue, 0);
        progress(&mut m, v1::Sector::Tourism, "T1", at(7, 20, 9));
        value(&mut m, v1::Sector::Tourism, "tourism.a", at(7, 20, 9));
        let after = reporting(&m, &settings, &JUNE, d(7, 21), None, None);
        let tourism = find(&after, "市文旅局");
        assert_eq!(tourism.status, ReportingStatus::Late as i32);
        assert_eq!(tourism.figures.unwrap().on_time, 0);
        // A report taken for a day before those pushes does not see them.
        let then = reporting(&m, &settings, &JUNE, d(7, 15), None, None);
        assert_eq!(find(&then, "市文旅局").status, ReportingStatus::Overdue as i32);
    }

    #[test]
    fn a_month_with_nothing_owed_has_no_rates() {
        let m = CityModel::default();
        let r = reporting(&m, &Settings::default(), &JUNE, d(7, 15), None, None);
        assert!(r.agencies.is_empty());
        assert_eq!(r.total.completeness.unwrap().value, None);
        assert_eq!(r.total.timeliness.unwrap().value, None);
    }

    #[test]
    fn due_days_are_set_per_sector_in_days_after_the_month() {
        let regions = Regions::default();
        let c = Calendar::parse("industry=15, city=0", "", &regions).unwrap();
        assert_eq!(c.due_date(v1::Sector::Agriculture as i32, &JUNE), d(7, 10));
        assert_eq!(c.due_date(v1::Sector::Industry as i32, &JUNE), d(7, 15));
        assert_eq!(c.due_date(v1::Sector::City as i32, &JUNE), d(6, 30));
        assert_eq!(c.deadline(v1::Sector::Agriculture as i32, &JUNE), at(7, 11, 0));
        assert!(Calendar::parse("farming=10", "", &regions).is_err());
        assert!(Calendar::parse("industry=91", "", &regions).is_err());
        assert!(Calendar::parse("industry", "", &regions).is_err());
        assert!(Calendar::parse("", "nowhere", &regions).is_err());
        let sectors = [1, 2, 3, 4, 5];
        assert_eq!(c.settled_month(sectors.iter().copied(), d(7, 16)), JUNE);
        assert_eq!(
            c.settled_month(sectors.iter().copied(), d(7, 15)),
            v1::Period { year: 2026, month: 5 }
        );
    }

    #[test]
    fn the_overview_keeps_the_same_tally_per_project() {
        let m = city();
        let settings = Settings::default();
        let sums = super::super::projects::contributions(&m, &settings, &JUNE);
        for s in [v1::Sector::Agriculture, v1::Sector::Industry, v1::Sector::Tourism] {
            let s = s as i32;
            let mut t = sums.get(&s).copied().unwrap_or_default().reports();
            t.add(&values_tally(&m, &settings, s, &JUNE));
            let full = reporting(&m, &settings, &JUNE, d(12, 31), None, Some(s));
            let f = full.sectors[0].figures.unwrap();
            assert_eq!(
                (t.expected, t.received, t.on_time),
                (f.expected.into(), f.received.into(), f.on_time.into())
            );
        }
    }
}
