//! City-wide figures from projects (DOMAIN.md): fixed-asset investment
//! counted and uncounted (应统未统), start and resumption rates, investment
//! promotion rates, and the project funnel. Every project is evaluated on the
//! period's last day from its dated events.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use citydash_proto::v1::{self, ProjectStage};
use citydash_sector::domain::{self, in_statistics_on, is_started, stage_on};

use super::{Settings, alerts, as_of, rate, reporting, saturate, wide_rate};
use crate::model::CityModel;

pub use super::facts::{FIXED_ASSET_INVESTMENT, QUALIFYING_YUAN, planned_after, projects_of, qualifies, started_on};

/// What one project adds to the city's sums for a period: its investment
/// and investment-promotion counts and amounts, and its open alerts on the
/// period's last day. Every field is an exact integer, so sums over
/// projects are exact; amounts are i128, so no city's sum can overflow
/// (they are narrowed, saturating, only for the view). A project that changes can be taken out of a sum
/// and put back without evaluating the others ([`ProjectSums`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Contribution {
    /// Projects (1 for one project).
    pub projects: i64,
    /// Investment completed this year by projects in the statistics database.
    pub counted_yuan: i128,
    /// Investment completed this year by started projects not in it (应统未统).
    pub uncounted_yuan: i128,
    /// Qualifying projects in the statistics database.
    pub counted_projects: i64,
    /// Qualifying started projects not in it.
    pub uncounted_projects: i64,
    /// New projects due to start this year by the period end.
    pub due: i64,
    /// Of those, started.
    pub started_due: i64,
    /// Projects continuing from earlier years.
    pub continuing: i64,
    /// Of those, working again.
    pub resumed: i64,
    /// Promotion contracts signed by the period end.
    pub signed: i64,
    /// Funds arrived for signed projects, to the period end.
    pub funds_arrived_yuan: i128,
    /// Contracted investment of signed projects.
    pub contracted_yuan: i128,
    /// Signed projects that have started.
    pub promotion_started: i64,
    /// Signed, started projects with funds arrived.
    pub fulfilled: i64,
    /// Open red alerts of the project.
    pub red_alerts: i64,
    /// Open yellow alerts of the project.
    pub yellow_alerts: i64,
    /// Progress reports owed for the period (the project is started at its end).
    pub reports_owed: i64,
    /// Of those, received.
    pub reports_received: i64,
    /// Of those, first pushed by the due day.
    pub reports_on_time: i64,
}

impl Contribution {
    /// The contribution of project `p` of `sector` to `period`.
    pub fn of(model: &CityModel, settings: &Settings, sector: i32, p: &v1::Project, period: &v1::Period) -> Self {
        let end = as_of(period);
        let year_start = NaiveDate::from_ymd_opt(period.year, 1, 1).unwrap_or(end);
        let before_year = year_start.pred_opt().unwrap_or(year_start);
        let mut c = Self {
            projects: 1,
            ..Self::default()
        };
        let stage = stage_on(p, end);
        let invested = || model.invested(sector, &p.code, period.year, period.month);
        if qualifies(p) {
            if in_statistics_on(p, end) {
                c.counted_yuan = invested().into();
                c.counted_projects = 1;
            } else if is_started(stage) {
                c.uncounted_yuan = invested().into();
                c.uncounted_projects = 1;
            }
        }
        let first_start = started_on(p, end);
        let continues = first_start.is_some_and(|d| d < year_start)
            && !matches!(
                stage_on(p, before_year),
                ProjectStage::Completed | ProjectStage::InProduction
            );
        if continues {
            c.continuing = 1;
            c.resumed = i64::from(matches!(
                stage,
                ProjectStage::Started | ProjectStage::Completed | ProjectStage::InProduction
            ));
        } else if let Some(planned) = p.planned_start_date.as_ref().and_then(domain::to_date)
            && planned.year() == period.year
            && planned <= end
            && first_start.is_none_or(|d| d >= year_start)
        {
            c.due = 1;
            c.started_due = i64::from(is_started(stage));
        }
        if let Some(contract) = &p.promotion
            && contract
                .signed_date
                .as_ref()
                .and_then(domain::to_date)
                .is_some_and(|d| d <= end)
        {
            let arrived = model.funds_arrived(sector, &p.code, period.year, period.month);
            c.signed = 1;
            c.funds_arrived_yuan = arrived.into();
            c.contracted_yuan = contract.contracted_investment_yuan.into();
            if is_started(stage) {
                c.promotion_started = 1;
                c.fulfilled = i64::from(arrived > 0);
            }
        }
        let (red, yellow) = alerts::project_colours(model, settings, sector, p, end);
        c.red_alerts = red;
        c.yellow_alerts = yellow;
        if let Some(first) = reporting::progress_owed(model, sector, p, period) {
            let mut t = reporting::Tally::default();
            t.count(first, settings.reporting.deadline(sector, period));
            (c.reports_owed, c.reports_received, c.reports_on_time) = (t.expected, t.received, t.on_time);
        }
        c
    }

    /// The progress reports summed here, as a reporting tally.
    pub fn reports(&self) -> reporting::Tally {
        reporting::Tally {
            expected: self.reports_owed,
            received: self.reports_received,
            on_time: self.reports_on_time,
        }
    }

    /// Applies `count` to each count and `amount` to each amount of `self`
    /// and `other` in turn.
    fn each_field(&mut self, other: &Self, count: impl Fn(&mut i64, i64), amount: impl Fn(&mut i128, i128)) {
        let Self {
            projects,
            counted_yuan,
            uncounted_yuan,
            counted_projects,
            uncounted_projects,
            due,
            started_due,
            continuing,
            resumed,
            signed,
            funds_arrived_yuan,
            contracted_yuan,
            promotion_started,
            fulfilled,
            red_alerts,
            yellow_alerts,
            reports_owed,
            reports_received,
            reports_on_time,
        } = self;
        for (mine, theirs) in [
            (projects, other.projects),
            (counted_projects, other.counted_projects),
            (uncounted_projects, other.uncounted_projects),
            (due, other.due),
            (started_due, other.started_due),
            (continuing, other.continuing),
            (resumed, other.resumed),
            (signed, other.signed),
            (promotion_started, other.promotion_started),
            (fulfilled, other.fulfilled),
            (red_alerts, other.red_alerts),
            (yellow_alerts, other.yellow_alerts),
            (reports_owed, other.reports_owed),
            (reports_received, other.reports_received),
            (reports_on_time, other.reports_on_time),
        ] {
            count(mine, theirs);
        }
        for (mine, theirs) in [
            (counted_yuan, other.counted_yuan),
            (uncounted_yuan, other.uncounted_yuan),
            (funds_arrived_yuan, other.funds_arrived_yuan),
            (contracted_yuan, other.contracted_yuan),
        ] {
            amount(mine, theirs);
        }
    }

    /// The investment figures of the projects summed here (DOMAIN.md).
    pub fn investment(&self) -> v1::InvestmentFigures {
        v1::InvestmentFigures {
            counted_yuan: saturate(self.counted_yuan),
            uncounted_yuan: saturate(self.uncounted_yuan),
            counted_projects: self.counted_projects as i32,
            uncounted_projects: self.uncounted_projects as i32,
            start_rate: Some(rate(self.started_due, self.due)),
            resumption_rate: Some(rate(self.resumed, self.continuing)),
        }
    }

    /// The investment-promotion figures of the projects summed here.
    pub fn promotion(&self) -> v1::PromotionFigures {
        v1::PromotionFigures {
            signed: self.signed as i32,
            funds_arrived_yuan: saturate(self.funds_arrived_yuan),
            contracted_yuan: saturate(self.contracted_yuan),
            start_rate: Some(rate(self.promotion_started, self.signed)),
            fulfilment_rate: Some(rate(self.fulfilled, self.signed)),
            funds_arrival_rate: Some(wide_rate(self.funds_arrived_yuan, self.contracted_yuan)),
        }
    }
}

impl std::ops::AddAssign<&Contribution> for Contribution {
    fn add_assign(&mut self, other: &Contribution) {
        self.each_field(other, |a, b| *a += b, |a, b| *a += b);
    }
}

impl std::ops::SubAssign<&Contribution> for Contribution {
    fn sub_assign(&mut self, other: &Contribution) {
        self.each_field(other, |a, b| *a -= b, |a, b| *a -= b);
    }
}

/// Every project's contribution to a period, summed by sector.
pub fn contributions(model: &CityModel, settings: &Settings, period: &v1::Period) -> BTreeMap<i32, Contribution> {
    let mut sums: BTreeMap<i32, Contribution> = BTreeMap::new();
    for (s, p) in projects_of(model, None) {
        *sums.entry(s).or_default() += &Contribution::of(model, settings, s, p, period);
    }
    sums
}

/// The sums of [`contributions`] for one period, kept current project by
/// project: after a change only the projects it touched are evaluated
/// again (their old contribution taken out, the new one put in), so the
/// overview of a city of 100,000 projects costs what changed, not the city.
#[derive(Debug, Clone)]
pub struct ProjectSums {
    period: v1::Period,
    each: HashMap<(i32, String), Contribution, foldhash::fast::RandomState>,
    by_sector: BTreeMap<i32, Contribution>,
}

impl ProjectSums {
    /// Every project of `model` evaluated for `period`.
    pub fn new(model: &CityModel, settings: &Settings, period: &v1::Period) -> Self {
        let mut sums = Self {
            period: *period,
            each: HashMap::with_capacity_and_hasher(model.projects.len(), Default::default()),
            by_sector: BTreeMap::new(),
        };
        for ((s, code), p) in &model.projects {
            let c = Contribution::of(model, settings, *s, p, period);
            *sums.by_sector.entry(*s).or_default() += &c;
            sums.each.insert((*s, code.clone()), c);
        }
        sums
    }

    /// The period the sums are for.
    pub fn period(&self) -> &v1::Period {
        &self.period
    }

    /// The sums by sector.
    pub fn by_sector(&self) -> &BTreeMap<i32, Contribution> {
        &self.by_sector
    }

    /// Evaluates project `code` of `sector` again: its record or its
    /// progress changed (or it is gone).
    pub fn refresh(&mut self, model: &CityModel, settings: &Settings, sector: i32, code: &str) {
        let key = (sector, code.to_owned());
        if let Some(old) = self.each.remove(&key) {
            *self.by_sector.entry(sector).or_default() -= &old;
        }
        if let Some(p) = model.projects.get(&key) {
            let c = Contribution::of(model, settings, sector, p, &self.period);
            *self.by_sector.entry(sector).or_default() += &c;
            self.each.insert(key, c);
        }
    }
}

/// The forward stages in order; suspended counts as started.
const FORWARD: [ProjectStage; 6] = [
    ProjectStage::Reserve,
    ProjectStage::Declared,
    ProjectStage::Funded,
    ProjectStage::Started,
    ProjectStage::Completed,
    ProjectStage::InProduction,
];

fn forward_rank(stage: ProjectStage) -> usize {
    match stage {
        ProjectStage::Suspended => 3,
        s => FORWARD.iter().position(|f| *f == s).unwrap_or(0),
    }
}

/// The funnel rows, one per sector and region with projects.
pub fn funnel(model: &CityModel, period: &v1::Period, sector: Option<i32>, region: &str) -> Vec<v1::FunnelRow> {
    let end = as_of(period);
    let mut rows: BTreeMap<(i32, String), v1::FunnelRow> = BTreeMap::new();
    for (s, p) in projects_of(model, sector) {
        if !region.is_empty() && p.region_code != region {
            continue;
        }
        let row = rows.entry((s, p.region_code.clone())).or_insert_with(|| v1::FunnelRow {
            sector: s,
            region_code: p.region_code.clone(),
            in_stage: FORWARD
                .iter()
                .chain([&ProjectStage::Suspended])
                .map(|st| (*st as i32, 0))
                .collect(),
            reached: FORWARD.iter().map(|st| (*st as i32, 0)).collect(),
            ..Default::default()
        });
        let stage = stage_on(p, end);
        *row.in_stage.entry(stage as i32).or_default() += 1;
        for st in &FORWARD[..=forward_rank(stage)] {
            *row.reached.entry(*st as i32).or_default() += 1;
        }
        if in_statistics_on(p, end) {
            row.in_statistics_database += 1;
        }
        row.total += 1;
    }
    rows.into_values().collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::compute::testdata;

    proptest! {
        /// Sums kept current project by project equal the sums taken
        /// afresh, whatever changes arrive in whatever order: new projects,
        /// revisions of a project (another stage, size, sector), progress.
        #[test]
        fn sums_kept_current_equal_sums_taken_afresh(
            first in testdata::projects(20),
            later in proptest::collection::vec((0..30usize, testdata::spec()), 0..30),
            month in 1..=12i32,
        ) {
            let settings = Settings::default();
            let period = v1::Period { year: 2026, month };
            let mut model = testdata::model(&first);
            let mut sums = ProjectSums::new(&model, &settings, &period);
            for chunk in later.chunks(3) {
                let mut touched = Vec::new();
                for (i, spec) in chunk {
                    for (sector, change) in testdata::changes(*i, spec) {
                        model.apply(sector, &change);
                        touched.push((sector, format!("P{i}")));
                    }
                }
                for (sector, code) in &touched {
                    sums.refresh(&model, &settings, *sector, code);
                }
                prop_assert_eq!(sums.by_sector(), &contributions(&model, &settings, &period));
            }
        }
    }
}
