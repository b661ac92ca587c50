//! What a project is on a day, as every formula reads it: whether it
//! qualifies for the fixed-asset investment statistics, when it started,
//! what those in the statistics database still plan for the year. The
//! lowest of the project formulas: the alerts, the indicators and the sums
//! all read these, and these read only the model.

use chrono::NaiveDate;
use citydash_proto::v1::{self, ProjectStage};
use citydash_sector::domain::{self, in_statistics_on};

use super::as_of;
use super::numbers::total;
use crate::model::CityModel;

/// Planned total investment from which a project counts in fixed-asset investment.
pub const QUALIFYING_YUAN: i64 = 5_000_000;

/// The city indicator the projects' investment stands behind.
pub const FIXED_ASSET_INVESTMENT: &str = "city.fixed_asset_investment";

/// What the projects in the statistics database at the period's end plan
/// for the rest of its year (months m+1..12 of their plan for the year).
pub fn planned_after(model: &CityModel, period: &v1::Period) -> i64 {
    let end = as_of(period);
    total(
        model
            .projects
            .values()
            .filter(|p| qualifies(p) && in_statistics_on(p, end))
            .flat_map(|p| p.plans.iter().filter(|pl| pl.year == period.year))
            .flat_map(|pl| {
                pl.monthly_plan_yuan
                    .iter()
                    .skip(period.month.clamp(0, 12) as usize)
                    .copied()
            }),
    )
}

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

/// The first day a project started, if it had by `on`.
pub fn started_on(p: &v1::Project, on: NaiveDate) -> Option<NaiveDate> {
    domain::first_reached(p, ProjectStage::Started, on)
}
