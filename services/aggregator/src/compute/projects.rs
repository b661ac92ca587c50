//! City-wide figures from projects (DOMAIN.md): fixed-asset investment
//! counted and uncounted (应统未统), start and resumption rates, investment
//! promotion rates, and the project funnel. Every project is evaluated on the
//! period's last day from its dated events.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use citydash_proto::v1::{self, ProjectStage};
use citydash_sector::domain::{self, in_statistics_on, is_started, stage_on};

use super::{as_of, rate};
use crate::model::CityModel;

/// Planned total investment from which a project counts in fixed-asset investment.
pub const QUALIFYING_YUAN: i64 = 5_000_000;

/// Whether a project counts in the fixed-asset investment statistics.
pub fn qualifies(p: &v1::Project) -> bool {
    p.planned_total_investment_yuan >= QUALIFYING_YUAN
}

/// Projects of one sector (all when `None`), with their sector: a range of
/// the map, so a sector's projects cost what they are, not the whole city.
pub fn projects_of(model: &CityModel, sector: Option<i32>) -> impl Iterator<Item = (i32, &v1::Project)> {
    let range = match sector {
        Some(s) => model
            .projects
            .range((s, String::new())..(s.saturating_add(1), String::new())),
        None => model.projects.range::<(i32, String), _>(..),
    };
    range.map(|((s, _), p)| (*s, p))
}

/// Investment figures of several disjoint groups of projects added up: the
/// sums add, the rates are recomputed from the added counts.
pub fn sum_investment<'a>(parts: impl IntoIterator<Item = &'a v1::InvestmentFigures>) -> v1::InvestmentFigures {
    let mut f = v1::InvestmentFigures::default();
    let (mut start, mut resumption) = ((0, 0), (0, 0));
    for p in parts {
        f.counted_yuan += p.counted_yuan;
        f.uncounted_yuan += p.uncounted_yuan;
        f.counted_projects += p.counted_projects;
        f.uncounted_projects += p.uncounted_projects;
        let (s, r) = (p.start_rate.unwrap_or_default(), p.resumption_rate.unwrap_or_default());
        start = (start.0 + s.numerator, start.1 + s.denominator);
        resumption = (resumption.0 + r.numerator, resumption.1 + r.denominator);
    }
    f.start_rate = Some(rate(start.0, start.1));
    f.resumption_rate = Some(rate(resumption.0, resumption.1));
    f
}

/// The first day a project started, if it had by `on`.
pub fn started_on(p: &v1::Project, on: NaiveDate) -> Option<NaiveDate> {
    domain::first_reached(p, ProjectStage::Started, on)
}

/// Investment figures of one sector (or all) for a period.
pub fn investment(model: &CityModel, sector: Option<i32>, period: &v1::Period) -> v1::InvestmentFigures {
    let end = as_of(period);
    let year_start = NaiveDate::from_ymd_opt(period.year, 1, 1).unwrap_or(end);
    let before_year = year_start.pred_opt().unwrap_or(year_start);
    let mut f = v1::InvestmentFigures::default();
    let (mut due, mut started_due, mut continuing, mut resumed) = (0i64, 0i64, 0i64, 0i64);
    for (s, p) in projects_of(model, sector) {
        let stage = stage_on(p, end);
        if qualifies(p) {
            let invested = model.invested(s, &p.code, period.year, period.month);
            if in_statistics_on(p, end) {
                f.counted_yuan += invested;
                f.counted_projects += 1;
            } else if is_started(stage) {
                f.uncounted_yuan += invested;
                f.uncounted_projects += 1;
            }
        }
        let first_start = started_on(p, end);
        let continues = first_start.is_some_and(|d| d < year_start)
            && !matches!(
                stage_on(p, before_year),
                ProjectStage::Completed | ProjectStage::InProduction
            );
        if continues {
            continuing += 1;
            if matches!(
                stage,
                ProjectStage::Started | ProjectStage::Completed | ProjectStage::InProduction
            ) {
                resumed += 1;
            }
        } else if let Some(planned) = p.planned_start_date.as_ref().and_then(domain::to_date)
            && planned.year() == period.year
            && planned <= end
            && first_start.is_none_or(|d| d >= year_start)
        {
            due += 1;
            if is_started(stage) {
                started_due += 1;
            }
        }
    }
    f.start_rate = Some(rate(started_due, due));
    f.resumption_rate = Some(rate(resumed, continuing));
    f
}

/// Investment-promotion figures over projects with a contract signed by the period end.
pub fn promotion(model: &CityModel, period: &v1::Period) -> v1::PromotionFigures {
    let end = as_of(period);
    let mut f = v1::PromotionFigures::default();
    let (mut started, mut fulfilled) = (0i64, 0i64);
    for (s, p) in projects_of(model, None) {
        let Some(contract) = &p.promotion else { continue };
        let signed = contract.signed_date.as_ref().and_then(domain::to_date);
        if signed.is_none_or(|d| d > end) {
            continue;
        }
        f.signed += 1;
        let arrived = model.funds_arrived(s, &p.code, period.year, period.month);
        f.funds_arrived_yuan += arrived;
        f.contracted_yuan += contract.contracted_investment_yuan;
        if is_started(stage_on(p, end)) {
            started += 1;
            if arrived > 0 {
                fulfilled += 1;
            }
        }
    }
    let signed = i64::from(f.signed);
    f.start_rate = Some(rate(started, signed));
    f.fulfilment_rate = Some(rate(fulfilled, signed));
    f.funds_arrival_rate = Some(rate(f.funds_arrived_yuan, f.contracted_yuan));
    f
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
