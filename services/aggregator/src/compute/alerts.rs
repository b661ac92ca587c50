//! The lagging rules of DOMAIN.md, evaluated on one day. Project rules use
//! the projects' dated events on that day; indicator and schedule rules use
//! the latest period that has ended by then.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use citydash_proto::v1::{self, AlertCode, AlertColor, ProjectStage, TaskStatus, Verdict};
use citydash_sector::domain::{self, add_months, in_statistics_on, stage_on};

use super::facts::{projects_of, qualifies, started_on};
use super::{Settings, indicators, total};
use crate::model::CityModel;

/// Chinese name of an alert code.
pub fn code_zh(code: AlertCode) -> &'static str {
    match code {
        AlertCode::FundedNotStarted => "资金已下达未开工",
        AlertCode::NotStartedOnTime => "未按期开工",
        AlertCode::StartedNotInStats => "已开工未入库",
        AlertCode::BehindSchedule => "进度滞后",
        AlertCode::IndicatorBehind => "指标落后时序进度",
        AlertCode::TaskOverdue => "任务逾期",
        AlertCode::Unspecified => "未知",
    }
}

/// English name of an alert code.
pub fn code_en(code: AlertCode) -> &'static str {
    match code {
        AlertCode::FundedNotStarted => "funded, not started",
        AlertCode::NotStartedOnTime => "not started on time",
        AlertCode::StartedNotInStats => "started, not in the statistics",
        AlertCode::BehindSchedule => "behind its monthly plan",
        AlertCode::IndicatorBehind => "indicator behind time progress",
        AlertCode::TaskOverdue => "task overdue",
        AlertCode::Unspecified => "unknown",
    }
}

/// The latest period whose last day is on or before `on`.
pub fn period_ended_by(on: NaiveDate) -> v1::Period {
    let this = domain::period_of(on);
    if domain::period_end(&this) == on {
        this
    } else {
        domain::previous_period(&this)
    }
}

struct Subject<'a> {
    sector: i32,
    region: &'a str,
    unit: &'a str,
    code: &'a str,
    name: &'a str,
}

/// What a list shows of an alert beyond its code and colour: since when it
/// holds at any colour, since when it is red (DOMAIN.md, Settled points),
/// and its Chinese and English detail.
struct Details {
    since: NaiveDate,
    red_since: Option<NaiveDate>,
    zh: String,
    en: String,
}

/// Where the rules put what they find. The details are made only when a
/// sink keeps them: the overview counts alerts of every project on each
/// recomputation, and formatting (then sorting) them all, or walking back
/// the months for a monthly rule's dates, cost more than evaluating the rules.
trait Sink {
    /// One open alert; `details` gives its dates and texts.
    fn found(&mut self, code: AlertCode, color: AlertColor, s: &Subject<'_>, details: impl FnOnce() -> Details);
}

impl Sink for Vec<v1::Alert> {
    fn found(&mut self, code: AlertCode, color: AlertColor, s: &Subject<'_>, details: impl FnOnce() -> Details) {
        let Details {
            since,
            red_since,
            zh: detail_zh,
            en: detail_en,
        } = details();
        self.push(v1::Alert {
            code: code as i32,
            color: color as i32,
            sector: s.sector,
            region_code: s.region.to_owned(),
            responsible_unit: s.unit.to_owned(),
            responsible_unit_code: s.unit.to_owned(),
            subject_code: s.code.to_owned(),
            subject_name: s.name.to_owned(),
            since: Some(domain::from_date(since)),
            red_since: red_since.map(domain::from_date),
            detail_zh,
            detail_en,
        });
    }
}

/// How many alerts are open, by sector and colour.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AlertCounts(BTreeMap<(i32, i32), i32>);

impl AlertCounts {
    /// Open alerts of `colour` in `sector`, or in every sector when `None`.
    pub fn get(&self, sector: Option<i32>, colour: AlertColor) -> i32 {
        self.0
            .iter()
            .filter(|((s, c), _)| sector.is_none_or(|want| *s == want) && *c == colour as i32)
            .map(|(_, n)| n)
            .sum()
    }
}

impl Sink for AlertCounts {
    fn found(&mut self, _code: AlertCode, color: AlertColor, s: &Subject<'_>, _details: impl FnOnce() -> Details) {
        *self.0.entry((s.sector, color as i32)).or_default() += 1;
    }
}

/// Red and yellow alerts of one subject.
#[derive(Default)]
struct Tally {
    red: i64,
    yellow: i64,
}

impl Sink for Tally {
    fn found(&mut self, _code: AlertCode, color: AlertColor, _s: &Subject<'_>, _details: impl FnOnce() -> Details) {
        match color {
            AlertColor::Red => self.red += 1,
            AlertColor::Yellow => self.yellow += 1,
            _ => {}
        }
    }
}

/// Yellow from `yellow_from`, red from `red_from`, nothing before.
fn colour(on: NaiveDate, yellow_from: NaiveDate, red_from: NaiveDate) -> Option<AlertColor> {
    if on >= red_from {
        Some(AlertColor::Red)
    } else if on >= yellow_from {
        Some(AlertColor::Yellow)
    } else {
        None
    }
}

/// The dates of a rule that turns yellow on `yellow_from` and red on
/// `red_from`: since the first, and the second once it is reached.
fn dated(color: AlertColor, yellow_from: NaiveDate, red_from: NaiveDate, zh: String, en: String) -> Details {
    Details {
        since: yellow_from.min(red_from),
        red_since: (color == AlertColor::Red).then_some(red_from),
        zh,
        en,
    }
}

/// The dates of a monthly rule open at `period` with `color`: the last day
/// of the first month of the run of months, back from `period` within its
/// year, in which the rule held at any colour, and of the run in which it
/// was red. `colour_at(p)` is the rule's colour at an earlier month `p`.
fn monthly(
    period: &v1::Period,
    color: AlertColor,
    colour_at: impl Fn(&v1::Period) -> Option<AlertColor>,
    zh: String,
    en: String,
) -> Details {
    let mut first = period.month;
    let mut first_red = (color == AlertColor::Red).then_some(period.month);
    let mut red_run = first_red.is_some();
    for m in (1..period.month).rev() {
        let Some(c) = colour_at(&v1::Period {
            year: period.year,
            month: m,
        }) else {
            break;
        };
        first = m;
        if red_run && c == AlertColor::Red {
            first_red = Some(m);
        } else {
            red_run = false;
        }
    }
    let end = |month| {
        domain::period_end(&v1::Period {
            year: period.year,
            month,
        })
    };
    Details {
        since: end(first),
        red_since: first_red.map(end),
        zh,
        en,
    }
}

fn days(n: u64, from: NaiveDate) -> NaiveDate {
    from.checked_add_days(Days::new(n)).unwrap_or(NaiveDate::MAX)
}

/// Every open alert on day `on`, red first, then by sector, unit and subject.
pub fn on_day(model: &CityModel, settings: &Settings, on: NaiveDate) -> Vec<v1::Alert> {
    matching(model, settings, on, &AlertFilter::default())
}

/// Which alerts a list asks for; an empty field matches every alert.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AlertFilter {
    /// Only this sector.
    pub sector: Option<i32>,
    /// Only this region, unless empty.
    pub region_code: String,
    /// Only this responsible unit, unless empty.
    pub responsible_unit: String,
    /// Only this colour, unless 0.
    pub color: i32,
    /// Only this code, unless 0.
    pub code: i32,
}

impl AlertFilter {
    fn admits(&self, code: AlertCode, color: AlertColor, s: &Subject<'_>) -> bool {
        self.sector.is_none_or(|want| s.sector == want)
            && (self.region_code.is_empty() || self.region_code == s.region)
            && (self.responsible_unit.is_empty() || self.responsible_unit == s.unit)
            && (self.color == 0 || self.color == color as i32)
            && (self.code == 0 || self.code == code as i32)
    }
}

/// The alerts of [`on_day`] that `filter` admits, in the same order. Only
/// those are made (a city of 100,000 projects has over 100,000 open alerts;
/// a unit's list has a handful), and a sector filter skips the other
/// sectors' projects altogether.
pub fn matching(model: &CityModel, settings: &Settings, on: NaiveDate, filter: &AlertFilter) -> Vec<v1::Alert> {
    // A unit asked for by name, short name or alias is its code.
    let resolved;
    let filter = match model.units.find(&filter.responsible_unit) {
        Some(u) if u.code != filter.responsible_unit => {
            resolved = AlertFilter {
                responsible_unit: u.code.clone(),
                ..filter.clone()
            };
            &resolved
        }
        _ => filter,
    };
    let mut out = Matching {
        filter,
        alerts: Vec::new(),
    };
    let period = period_ended_by(on);
    for (sector, p) in projects_of(model, filter.sector) {
        project_alerts(model, sector, p, on, &period, settings, &mut out);
    }
    registers(model, settings, &period, on, &mut out);
    let mut alerts = out.alerts;
    // Every list shows a unit's registered name; its code stays beside it.
    for a in &mut alerts {
        a.responsible_unit = model.units.name(&a.responsible_unit_code).to_owned();
    }
    // A total order (the region last: an indicator's alerts differ only by
    // it), so that pages of one list never overlap.
    alerts.sort_by(|a, b| {
        (
            b.color,
            a.sector,
            &a.responsible_unit,
            a.code,
            &a.subject_code,
            &a.region_code,
        )
            .cmp(&(
                a.color,
                b.sector,
                &b.responsible_unit,
                b.code,
                &b.subject_code,
                &b.region_code,
            ))
    });
    alerts
}

/// Makes the alerts a filter admits.
struct Matching<'a> {
    filter: &'a AlertFilter,
    alerts: Vec<v1::Alert>,
}

impl Sink for Matching<'_> {
    fn found(&mut self, code: AlertCode, color: AlertColor, s: &Subject<'_>, details: impl FnOnce() -> Details) {
        if self.filter.admits(code, color, s) {
            self.alerts.found(code, color, s, details);
        }
    }
}

/// Red and yellow alerts open for project `p` of `sector` on day `on`,
/// counted without making them (the overview's sums, `projects::Contribution`).
pub fn project_colours(
    model: &CityModel,
    settings: &Settings,
    sector: i32,
    p: &v1::Project,
    on: NaiveDate,
) -> (i64, i64) {
    let mut tally = Tally::default();
    project_alerts(model, sector, p, on, &period_ended_by(on), settings, &mut tally);
    (tally.red, tally.yellow)
}

/// The alerts of indicators and of welfare tasks (everything but projects)
/// open on day `on`, counted by sector and colour.
pub fn register_counts(model: &CityModel, settings: &Settings, on: NaiveDate) -> AlertCounts {
    let mut counts = AlertCounts::default();
    registers(model, settings, &period_ended_by(on), on, &mut counts);
    counts
}

/// The rules of indicators and of welfare tasks.
fn registers(model: &CityModel, settings: &Settings, period: &v1::Period, on: NaiveDate, out: &mut impl Sink) {
    indicator_alerts(model, settings, period, out);
    task_alerts(model, on, out);
}

fn project_alerts(
    model: &CityModel,
    sector: i32,
    p: &v1::Project,
    on: NaiveDate,
    period: &v1::Period,
    settings: &Settings,
    out: &mut impl Sink,
) {
    let s = Subject {
        sector,
        region: &p.region_code,
        unit: &p.responsible_unit,
        code: &p.code,
        name: &p.name,
    };
    let stage = stage_on(p, on);
    let started = started_on(p, on);
    if stage == ProjectStage::Funded
        && let Some(funded) = domain::first_reached(p, ProjectStage::Funded, on)
        && let Some(c) = colour(on, days(30, funded), days(90, funded))
    {
        let n = (on - funded).num_days();
        out.found(AlertCode::FundedNotStarted, c, &s, || {
            dated(
                c,
                days(30, funded),
                days(90, funded),
                format!("资金已于{funded}下达，{n}天未开工"),
                format!("funds allocated on {funded}, not started {n} days later"),
            )
        });
    }
    if started.is_none()
        && let Some(planned) = p.planned_start_date.as_ref().and_then(domain::to_date)
        && let Some(c) = colour(on, days(1, planned), add_months(planned, 3))
    {
        out.found(AlertCode::NotStartedOnTime, c, &s, || {
            dated(
                c,
                days(1, planned),
                add_months(planned, 3),
                format!("计划{planned}开工，至今未开工"),
                format!("planned to start on {planned}, not started"),
            )
        });
    }
    if let Some(start) = started
        && qualifies(p)
        && !in_statistics_on(p, on)
        && let Some(c) = colour(on, add_months(start, 1), add_months(start, 2))
    {
        out.found(AlertCode::StartedNotInStats, c, &s, || {
            dated(
                c,
                add_months(start, 1),
                add_months(start, 2),
                format!("{start}开工，尚未入库"),
                format!("started on {start}, not yet in the statistics database"),
            )
        });
    }
    // A project not started is judged by the start rules, not its plan.
    if started.is_some()
        && let Some(c) = schedule_colour(model, settings, sector, p, period)
    {
        out.found(AlertCode::BehindSchedule, c, &s, || {
            let plan = p.plans.iter().find(|pl| pl.year == period.year);
            let due = plan.map_or(0, |pl| {
                total(pl.monthly_plan_yuan.iter().take(period.month as usize).copied())
            });
            let done = model.invested(sector, &p.code, period.year, period.month);
            let gap = schedule_gap(model, sector, p, period).unwrap_or(0.0);
            monthly(
                period,
                c,
                |at| {
                    started_on(p, domain::period_end(at)).and_then(|_| schedule_colour(model, settings, sector, p, at))
                },
                format!(
                    "1—{}月完成投资{}，计划{}，落后{:.1}个百分点",
                    period.month,
                    super::format::money_zh(done),
                    super::format::money_zh(due),
                    -gap
                ),
                format!(
                    "completed {} by month {} against a plan of {}, {:.1} points behind",
                    super::format::money_en(done),
                    period.month,
                    super::format::money_en(due),
                    -gap
                ),
            )
        });
    }
}

/// How far a project's cumulative investment is from its monthly plan at
/// `period`, in points of the year's plan; `None` without a plan for the year.
fn schedule_gap(model: &CityModel, sector: i32, p: &v1::Project, period: &v1::Period) -> Option<f64> {
    let plan = p.plans.iter().find(|pl| pl.year == period.year)?;
    let planned = total(plan.monthly_plan_yuan.iter().copied());
    if planned <= 0 {
        return None;
    }
    let due = total(plan.monthly_plan_yuan.iter().take(period.month as usize).copied());
    let done = model.invested(sector, &p.code, period.year, period.month);
    Some((done as f64 - due as f64) / planned as f64 * 100.0)
}

/// The colour of `behind_schedule` for a project at `period`, if behind.
fn schedule_colour(
    model: &CityModel,
    settings: &Settings,
    sector: i32,
    p: &v1::Project,
    period: &v1::Period,
) -> Option<AlertColor> {
    let gap = schedule_gap(model, sector, p, period)?;
    verdict_colour(settings.bands.verdict(Some(gap)))
}

fn verdict_colour(v: Verdict) -> Option<AlertColor> {
    match v {
        Verdict::Yellow => Some(AlertColor::Yellow),
        Verdict::Red => Some(AlertColor::Red),
        _ => None,
    }
}

fn indicator_alerts(model: &CityModel, settings: &Settings, period: &v1::Period, out: &mut impl Sink) {
    for ((code, region, year), _) in model.targets.iter() {
        if *year != period.year || settings.region_kind(region) == v1::RegionKind::PeerCounty {
            continue;
        }
        let Some((sector, def)) = model.definition(code) else {
            continue;
        };
        let st = indicators::status(model, settings, sector, def, region, period);
        let Some(c) = verdict_colour(Verdict::try_from(st.verdict).unwrap_or(Verdict::Unspecified)) else {
            continue;
        };
        let s = Subject {
            sector,
            region,
            unit: &st.responsible_unit_code,
            code,
            name: &def.name_zh,
        };
        let c_pct = st.completion.as_ref().and_then(|r| r.value).unwrap_or(0.0) * 100.0;
        let gap = -st.gap_pp.unwrap_or(0.0);
        out.found(AlertCode::IndicatorBehind, c, &s, || {
            monthly(
                period,
                c,
                |at| {
                    let earlier = indicators::status(model, settings, sector, def, region, at);
                    verdict_colour(Verdict::try_from(earlier.verdict).unwrap_or(Verdict::Unspecified))
                },
                format!(
                    "1—{}月完成全年目标的{c_pct:.1}%，落后时序进度{gap:.1}个百分点",
                    period.month
                ),
                format!(
                    "{c_pct:.1}% of the annual target by month {}, {gap:.1} points behind time",
                    period.month
                ),
            )
        });
    }
}

fn task_alerts(model: &CityModel, on: NaiveDate, out: &mut impl Sink) {
    for t in model.entities_of::<v1::WelfareTask>() {
        let Some(deadline) = t.deadline.as_ref().and_then(domain::to_date) else {
            continue;
        };
        let done_by = t.done_date.as_ref().and_then(domain::to_date);
        let done = t.status == TaskStatus::Done as i32 && done_by.is_some_and(|d| d <= on);
        if done {
            continue;
        }
        let Some(c) = colour(on, days(1, deadline), days(30, deadline)) else {
            continue;
        };
        let s = Subject {
            sector: v1::Sector::Welfare as i32,
            region: &t.region_code,
            unit: &t.responsible_unit,
            code: &t.code,
            name: &t.title,
        };
        let late = (on - deadline).num_days();
        out.found(AlertCode::TaskOverdue, c, &s, || {
            dated(
                c,
                days(1, deadline),
                days(30, deadline),
                format!("期限{deadline}，已逾期{late}天"),
                format!("due on {deadline}, {late} days overdue"),
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::testdata;

    #[test]
    fn the_period_ended_by_a_day() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(period_ended_by(d(2026, 6, 30)), v1::Period { year: 2026, month: 6 });
        assert_eq!(period_ended_by(d(2026, 6, 15)), v1::Period { year: 2026, month: 5 });
        assert_eq!(period_ended_by(d(2026, 1, 15)), v1::Period { year: 2025, month: 12 });
    }

    proptest::proptest! {
        /// The overview's counts (each project's, plus the registers') are
        /// those of the listed alerts, for any mix of projects: funded and
        /// waiting, late, started outside the statistics, behind their plan.
        #[test]
        fn counts_agree_with_the_list(projects in testdata::projects(30), day in 1..=365u64) {
            let model = testdata::model(&projects);
            let settings = Settings::default();
            let on = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Days::new(day);
            let listed = on_day(&model, &settings, on);
            let registers = register_counts(&model, &settings, on);
            for sector in [None, Some(1), Some(2), Some(3), Some(4)] {
                let (mut red, mut yellow) = (0, 0);
                for (s, p) in projects_of(&model, sector) {
                    let (r, y) = project_colours(&model, &settings, s, p, on);
                    red += r;
                    yellow += y;
                }
                for (colour, projects) in [(AlertColor::Red, red), (AlertColor::Yellow, yellow)] {
                    let want = listed
                        .iter()
                        .filter(|a| sector.is_none_or(|s| a.sector == s) && a.color == colour as i32)
                        .count() as i64;
                    proptest::prop_assert_eq!(projects + i64::from(registers.get(sector, colour)), want);
                }
            }
        }

        /// A filtered list is the full list with the filter applied, in the
        /// same order.
        #[test]
        fn a_filtered_list_is_the_list_filtered(
            projects in testdata::projects(30),
            day in 1..=365u64,
            sector in proptest::option::of(1..=4i32),
            unit in proptest::option::of(0..3usize),
            color in proptest::sample::select(vec![0, AlertColor::Red as i32, AlertColor::Yellow as i32]),
            code in proptest::sample::select(vec![0, AlertCode::BehindSchedule as i32, AlertCode::NotStartedOnTime as i32]),
        ) {
            let model = testdata::model(&projects);
            let settings = Settings::default();
            let on = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Days::new(day);
            let filter = AlertFilter {
                sector,
                region_code: String::new(),
                responsible_unit: unit.map(|u| format!("unit {u}")).unwrap_or_default(),
                color,
                code,
            };
            let want: Vec<v1::Alert> = on_day(&model, &settings, on)
                .into_iter()
                .filter(|a| sector.is_none_or(|s| a.sector == s))
                .filter(|a| filter.responsible_unit.is_empty() || a.responsible_unit == filter.responsible_unit)
                .filter(|a| color == 0 || a.color == color)
                .filter(|a| code == 0 || a.code == code)
                .collect();
            proptest::prop_assert_eq!(matching(&model, &settings, on, &filter), want);
        }
    }
}
