//! An indicator judged against its target and time (DOMAIN.md "Formulas"):
//! completion c = A/T, time progress t = m/12, gap g = c − t, the seasonal
//! baseline s = A_prev(1..m)/A_prev(1..12), year-on-year growth, the verdict,
//! and for a cumulative indicator with a target its year-end outlook.

use citydash_proto::v1::{self, Accumulation};

use super::{Settings, outlook, rate};
use crate::model::CityModel;

/// The responsible unit of an indicator for a region and year (DOMAIN.md,
/// Settled points): the one its annual target names, else the owning
/// sector's agency (its unit code when registered, its name when not).
pub fn responsible_unit_code(model: &CityModel, sector: i32, code: &str, region: &str, year: i32) -> String {
    model
        .targets
        .get(&(code.to_owned(), region.to_owned(), year))
        .map(|t| t.responsible_unit.clone())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| model.agency_unit(sector))
}

/// The status of indicator `def` (owned by `sector`) for `region` in `period`.
pub fn status(
    model: &CityModel,
    settings: &Settings,
    sector: i32,
    def: &v1::IndicatorDefinition,
    region: &str,
    period: &v1::Period,
) -> v1::IndicatorStatus {
    let (y, m) = (period.year, period.month);
    let current = model.value(&def.code, region, y, m);
    let actual = current.map(|v| v.value);
    let prev = model.value(&def.code, region, y - 1, m).map(|v| v.value);
    let prev_full_year = model.value(&def.code, region, y - 1, 12).map(|v| v.value);
    let target_record = model.targets.get(&(def.code.clone(), region.to_owned(), y));
    let target = target_record.map(|t| t.value);
    let time_progress = f64::from(m) / 12.0;

    let completion = match (actual, target) {
        (Some(a), Some(t)) => rate(a, t),
        // Without an actual value the rate is not applicable, target or not.
        (_, t) => v1::Rate {
            value: None,
            numerator: 0,
            denominator: t.unwrap_or(0),
        },
    };
    let gap_pp = completion.value.map(|c| (c - time_progress) * 100.0);
    let cumulative = def.accumulation == Accumulation::Cumulative as i32;
    let seasonal_baseline = match (prev, prev_full_year) {
        (Some(p), Some(full)) if cumulative => rate(p, full),
        _ => rate(0, 0),
    };
    let seasonal_gap_pp = match (completion.value, seasonal_baseline.value) {
        (Some(c), Some(s)) => Some((c - s) * 100.0),
        _ => None,
    };
    let yoy_growth = match (actual, prev) {
        (Some(a), Some(p)) => rate(a.saturating_sub(p), p),
        _ => rate(0, 0),
    };
    let verdict = settings.bands.verdict(gap_pp);
    let responsible_unit_code = responsible_unit_code(model, sector, &def.code, region, y);
    let responsible_unit = model.units.name(&responsible_unit_code).to_owned();
    let outlook = match (actual, target) {
        (Some(actual), Some(target)) if cumulative => Some(outlook::outlook(
            outlook::Inputs {
                target,
                actual,
                month: m,
                prev_m: prev,
                prev_12: prev_full_year,
            },
            settings.outlook,
        )),
        _ => None,
    };
    v1::IndicatorStatus {
        definition: Some(def.clone()),
        region_code: region.to_owned(),
        actual,
        status: current.map_or(0, |v| v.status),
        target,
        actual_prev: prev,
        completion: Some(completion),
        time_progress,
        gap_pp,
        seasonal_baseline: Some(seasonal_baseline),
        seasonal_gap_pp,
        yoy_growth: Some(yoy_growth),
        official_yoy_growth: current
            .and_then(|v| v.official_yoy_growth_bp)
            .map(|bp| f64::from(bp) / 10_000.0),
        verdict: verdict as i32,
        ahead: gap_pp.is_some_and(|g| g >= 0.0),
        responsible_unit,
        responsible_unit_code,
        outlook,
    }
}

/// The statuses of every indicator of `sector`'s catalog for `region`.
pub fn of_sector(
    model: &CityModel,
    settings: &Settings,
    sector: i32,
    region: &str,
    period: &v1::Period,
) -> Vec<v1::IndicatorStatus> {
    model
        .catalogs
        .get(&sector)
        .map(|c| {
            c.indicators
                .iter()
                .map(|def| status(model, settings, sector, def, region, period))
                .collect()
        })
        .unwrap_or_default()
}

/// The outlook of every cumulative indicator with a target, for the city:
/// the city's own first, then each sector's; fixed-asset investment with
/// what the projects in the statistics database plan for the rest of the
/// year (its plan coverage).
pub fn outlooks(model: &CityModel, settings: &Settings, period: &v1::Period) -> Vec<v1::IndicatorStatus> {
    let city = settings.city_region();
    let sectors = std::iter::once(v1::Sector::City as i32).chain(super::sectors().map(|s| s as i32));
    sectors
        .flat_map(|s| of_sector(model, settings, s, city, period))
        .filter_map(|mut status| {
            let o = status.outlook.take()?;
            let fai = status
                .definition
                .as_ref()
                .is_some_and(|d| d.code == super::facts::FIXED_ASSET_INVESTMENT);
            status.outlook = Some(if fai {
                outlook::with_plans(o, super::facts::planned_after(model, period))
            } else {
                o
            });
            Some(status)
        })
        .collect()
}
