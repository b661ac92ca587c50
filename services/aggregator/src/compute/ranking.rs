//! The city against its peer counties (DOMAIN.md "Regions"): every indicator
//! with values for more than one of them, ranked by cumulative amount and by
//! year-on-year growth (the official rate where pushed, else the computed
//! one). Equal values share a rank; a region without a value for the period
//! is listed as not yet published (未公布) and not ranked.

use citydash_proto::v1::{self, RegionKind};

use super::Settings;
use crate::model::CityModel;

/// Competition ranks ("1, 1, 3") of `values`, best first by `better`; 0
/// for a region without a value, and for every region when fewer than two
/// have one (a ranking of one is no ranking: DOMAIN.md, Settled points).
fn ranks(values: &[Option<f64>], higher_is_better: bool) -> Vec<i32> {
    if values.iter().flatten().count() < 2 {
        return vec![0; values.len()];
    }
    values
        .iter()
        .map(|v| match v {
            None => 0,
            Some(x) => {
                let better = values
                    .iter()
                    .flatten()
                    .filter(|o| if higher_is_better { *o > x } else { *o < x })
                    .count();
                better as i32 + 1
            }
        })
        .collect()
}

/// The rankings of a period, one per indicator with values for more than one region.
pub fn rankings(model: &CityModel, settings: &Settings, period: &v1::Period, only: &str) -> Vec<v1::IndicatorRanking> {
    let regions: Vec<&v1::Region> = settings
        .regions
        .all()
        .iter()
        .filter(|r| r.kind == RegionKind::City as i32 || r.kind == RegionKind::PeerCounty as i32)
        .collect();
    let mut out = Vec::new();
    for catalog in model.catalogs.values() {
        for def in &catalog.indicators {
            if !only.is_empty() && def.code != only {
                continue;
            }
            let current: Vec<Option<&v1::IndicatorValue>> = regions
                .iter()
                .map(|r| model.value(&def.code, &r.code, period.year, period.month))
                .collect();
            if current.iter().flatten().count() < 2 {
                continue;
            }
            let amounts: Vec<Option<f64>> = current.iter().map(|v| v.map(|v| v.value as f64)).collect();
            let growth: Vec<Option<f64>> = regions
                .iter()
                .zip(&current)
                .map(|(r, v)| {
                    let v = (*v)?;
                    if let Some(bp) = v.official_yoy_growth_bp {
                        return Some(f64::from(bp) / 10_000.0);
                    }
                    let prev = model.value(&def.code, &r.code, period.year - 1, period.month)?.value;
                    (prev != 0).then(|| (v.value - prev) as f64 / prev as f64)
                })
                .collect();
            let amount_ranks = ranks(&amounts, def.higher_is_better);
            let growth_ranks = ranks(&growth, def.higher_is_better);
            let mut places: Vec<v1::RegionPlace> = regions
                .iter()
                .enumerate()
                .map(|(i, r)| v1::RegionPlace {
                    region_code: r.code.clone(),
                    region_name_zh: r.name_zh.clone(),
                    published: current[i].is_some(),
                    amount: current[i].map_or(0, |v| v.value),
                    amount_rank: amount_ranks[i],
                    yoy_growth: growth[i],
                    growth_rank: growth_ranks[i],
                })
                .collect();
            places.sort_by_key(|p| (!p.published, p.amount_rank));
            out.push(v1::IndicatorRanking {
                definition: Some(def.clone()),
                places,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_a_rank_and_missing_ones_are_unranked() {
        assert_eq!(ranks(&[Some(5.0), Some(7.0), Some(5.0), None], true), [2, 1, 2, 0]);
        assert_eq!(ranks(&[Some(5.0), Some(7.0), Some(5.0)], false), [1, 3, 1]);
        assert_eq!(
            ranks(&[Some(-0.038), None, None], true),
            [0, 0, 0],
            "one growth figure ranks nothing"
        );
    }
}
