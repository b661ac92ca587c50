//! Entering the statistics database: readiness and what-if (入库推演,
//! DOMAIN.md). A started qualifying project outside the database is ready
//! when every document of its checklist (its sector's catalog) is present;
//! the what-if adds to investment counted the investment of the ready
//! projects, then of all of them, and judges each case against the city's
//! fixed-asset investment target. A projection: nothing here reaches the
//! counted figures.

use citydash_proto::v1;
use citydash_sector::domain::{in_statistics_on, is_started, stage_on};
use citydash_sector::readiness::Checklists;

use super::projects::{FIXED_ASSET_INVESTMENT, contributions, qualifies, started_on};
use super::{Settings, as_of, saturate, wide_rate};
use crate::model::CityModel;

/// The what-if of `period`.
pub fn what_if(model: &CityModel, settings: &Settings, period: &v1::Period) -> v1::GetStatisticsWhatIfResponse {
    let end = as_of(period);
    let counted: i128 = contributions(model, settings, period)
        .values()
        .map(|c| c.counted_yuan)
        .sum();
    let target = model
        .targets
        .get(&(
            FIXED_ASSET_INVESTMENT.to_owned(),
            settings.city_region().to_owned(),
            period.year,
        ))
        .map(|t| t.value);
    // Each sector's checklists, read from its catalog once.
    let mut checklists = std::collections::BTreeMap::new();
    let mut projects: Vec<v1::WhatIfProject> = model
        .projects
        .iter()
        .filter(|(_, p)| qualifies(p) && is_started(stage_on(p, end)) && !in_statistics_on(p, end))
        .map(|((sector, code), p)| {
            let checklists = checklists.entry(*sector).or_insert_with(|| {
                model
                    .catalogs
                    .get(sector)
                    .map(|c| Checklists::from_catalog(&c.readiness_checklists))
                    .unwrap_or_default()
            });
            let missing: Vec<v1::ReadinessDocument> = checklists.missing(p).into_iter().cloned().collect();
            let waiting = started_on(p, end).map_or(0, |d| (end - d).num_days());
            v1::WhatIfProject {
                sector: *sector,
                code: code.clone(),
                name: p.name.clone(),
                region_code: p.region_code.clone(),
                responsible_unit: model.units.name(&p.responsible_unit).to_owned(),
                responsible_unit_code: p.responsible_unit.clone(),
                invested_yuan: model.invested(*sector, code, period.year, period.month),
                ready: missing.is_empty(),
                missing,
                waiting_days: i32::try_from(waiting).unwrap_or(i32::MAX),
            }
        })
        .collect();
    projects.sort_by(|a, b| {
        b.invested_yuan
            .cmp(&a.invested_yuan)
            .then_with(|| (a.sector, &a.code).cmp(&(b.sector, &b.code)))
    });
    let case = |adds: &mut dyn Iterator<Item = &v1::WhatIfProject>| {
        let (mut n, mut added) = (0i32, 0i128);
        for p in adds {
            n += 1;
            added += i128::from(p.invested_yuan);
        }
        let total = counted + added;
        let completion = match target {
            Some(t) => wide_rate(total, t.into()),
            None => wide_rate(total, 0),
        };
        let gap_pp = completion.value.map(|c| (c - f64::from(period.month) / 12.0) * 100.0);
        v1::WhatIfCase {
            counted_yuan: saturate(total),
            added_projects: n,
            added_yuan: saturate(added),
            completion: Some(completion),
            gap_pp,
            verdict: settings.bands.verdict(gap_pp) as i32,
        }
    };
    v1::GetStatisticsWhatIfResponse {
        period: Some(*period),
        projection: true,
        target_yuan: target,
        now: Some(case(&mut std::iter::empty())),
        with_ready: Some(case(&mut projects.iter().filter(|p| p.ready))),
        with_all: Some(case(&mut projects.iter())),
        projects,
    }
}
