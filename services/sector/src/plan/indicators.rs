//! Planning `ReportIndicators`: a value of a known indicator for a region
//! and month, and its plausibility findings against the values before it.

use std::collections::{BTreeSet, HashMap};

use citydash_proto::v1;
use citydash_runtime::{Error, Violations};
use prost::Message;

use super::staging::*;
use crate::domain::{self};
use crate::mask;
use crate::plausibility;
use crate::records::{self, INDICATOR_VALUE};
use crate::store::Index;
use crate::validate::Item;

/// Plans `ReportIndicators`.
pub struct ReportIndicators<'r>(pub &'r [v1::IndicatorValue]);

/// The month `back` months before `p`.
pub(super) fn months_before(p: &v1::Period, back: i32) -> v1::Period {
    let total = p.year * 12 + (p.month - 1) - back;
    v1::Period {
        year: total.div_euclid(12),
        month: total.rem_euclid(12) + 1,
    }
}

/// How many months before a value the plausibility checks read: the same
/// month last year, the earlier months of the year, and the 12 months whose
/// own monthly figures (each a difference of two cumulative values) make the
/// history of `growth_outlier`.
pub(super) const VALUE_HISTORY_MONTHS: i32 = 13;

impl Planner for ReportIndicators<'_> {
    fn keys(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter_map(|v| v.period.as_ref().map(|p| (v, p)))
            .filter(|(_, p)| domain::period_is_valid(p))
            .flat_map(|(v, p)| {
                (0..=VALUE_HISTORY_MONTHS).map(move |back| {
                    (
                        INDICATOR_VALUE.to_owned(),
                        records::value_key(&v.indicator_code, &v.region_code, &months_before(p, back)),
                    )
                })
            })
            .collect()
    }

    fn plan(&self, ctx: &Context<'_>, snapshot: &Snapshot) -> Result<Planned, Error> {
        let mut violations = Violations::new();
        mask::check::<v1::IndicatorValue>(ctx.mask, &[], &mut violations);
        let mut indicators = BTreeSet::new();
        let mut staging = Staging::new(snapshot);
        let mut results = Vec::with_capacity(self.0.len());
        let mut seen = HashMap::new();
        for (i, v) in self.0.iter().enumerate() {
            let mut item = Item::new(&mut violations, "values", i).on(ctx.today);
            known_indicator(&mut item, ctx, &v.indicator_code);
            item.region("region_code", &v.region_code, ctx.regions);
            let period = item.reported_period("period", v.period.as_ref());
            item.non_negative("value", v.value);
            item.known_enum::<v1::ValueStatus>("status", v.status);
            if let Some(bp) = v.official_yoy_growth_bp
                && !(-10_000..=1_000_000).contains(&bp)
            {
                item.add("official_yoy_growth_bp", format!("增速 {bp} 个基点超出合理范围"));
            }
            let Some(period) = period else { continue };
            let key = records::value_key(&v.indicator_code, &v.region_code, &period);
            if duplicate(&mut item, "period", &mut seen, &key, i, "values") {
                continue;
            }
            let index = Index {
                region: v.region_code.clone(),
                unit: String::new(),
                stage: String::new(),
                parent: v.indicator_code.clone(),
                year: period.year,
            };
            let stored = v1::IndicatorValue {
                meta: None,
                // A confirmation belongs to the push that had the finding.
                confirmations: v.confirmations.clone(),
                ..merged(staging.current(INDICATOR_VALUE, &key), v, ctx, &[])?
            };
            let outcome = staging.put_dated(
                INDICATOR_VALUE,
                &key,
                index,
                stored.encode_to_vec(),
                [(period.year, period.month)],
            );
            if let Some(def) = ctx.catalog.iter().find(|d| d.code == v.indicator_code) {
                let findings = value_findings(&staging, def, &stored, &period)?;
                plausibility::require_confirmed(&mut item, &findings, &v.confirmations);
            }
            results.push(result(i, key, outcome));
            indicators.insert(v.indicator_code.clone());
        }
        let mut planned = finish(violations, staging, results)?;
        planned.indicators = indicators;
        Ok(planned)
    }
}

/// The plausibility findings of indicator value `v` (as it will be stored)
/// of `def` at `period`, against the values stored or staged before it.
pub(super) fn value_findings(
    staging: &Staging<'_>,
    def: &v1::IndicatorDefinition,
    v: &v1::IndicatorValue,
    period: &v1::Period,
) -> Result<Vec<plausibility::Finding>, Error> {
    let at = |p: &v1::Period| -> Result<Option<i64>, Error> {
        match staging.current(INDICATOR_VALUE, &records::value_key(&def.code, &v.region_code, p)) {
            None => Ok(None),
            Some(bytes) => v1::IndicatorValue::decode(bytes)
                .map(|x| Some(x.value))
                .map_err(|e| Error::Internal(format!("stored value: {e}"))),
        }
    };
    let cumulative = def.accumulation == v1::Accumulation::Cumulative as i32;
    let mut findings = Vec::new();
    if cumulative {
        let mut highest: Option<(i32, i64)> = None;
        for m in 1..period.month {
            if let Some(x) = at(&v1::Period {
                year: period.year,
                month: m,
            })? && highest.is_none_or(|(_, h)| x > h)
            {
                highest = Some((m, x));
            }
        }
        if let Some((m, earlier)) = highest
            && v.value < earlier
        {
            findings.push(plausibility::Finding {
                code: plausibility::CUMULATIVE_DECREASED,
                field: "value",
                text: format!(
                    "「{}」{}年1—{}月累计{}{}，低于1—{m}月的{earlier}{}",
                    def.name_zh, period.year, period.month, v.value, def.unit_zh, def.unit_zh
                ),
            });
        }
    }
    let last_year = at(&months_before(period, 12))?;
    if let (Some(bp), Some(prev)) = (v.official_yoy_growth_bp, last_year)
        && prev > 0
    {
        let computed = (v.value as f64 - prev as f64) / prev as f64 * 10_000.0;
        if (f64::from(bp) - computed).abs() > plausibility::OFFICIAL_GROWTH_TOLERANCE_BP {
            findings.push(plausibility::Finding {
                code: plausibility::GROWTH_OUTLIER,
                field: "official_yoy_growth_bp",
                text: format!(
                    "「{}」报送增速{:.1}%，与按上年同期计算的{:.1}%相差超过30个百分点",
                    def.name_zh,
                    f64::from(bp) / 100.0,
                    computed / 100.0
                ),
            });
        }
    }
    // The month's own figure: a level as it is, a cumulative value less the month before.
    let own = |p: &v1::Period, value: Option<i64>| -> Result<Option<f64>, Error> {
        let Some(value) = value else { return Ok(None) };
        if !cumulative || p.month == 1 {
            return Ok(Some(value as f64));
        }
        Ok(at(&months_before(p, 1))?.map(|before| (value - before) as f64))
    };
    let mut history = Vec::with_capacity(12);
    for back in 1..=12 {
        let p = months_before(period, back);
        match own(&p, at(&p)?)? {
            Some(x) => history.push(x),
            None => break,
        }
    }
    if let Some(x) = own(period, Some(v.value))?
        && let Some((median, mad)) = plausibility::is_outlier(x, &history)
    {
        findings.push(plausibility::Finding {
            code: plausibility::GROWTH_OUTLIER,
            field: "value",
            text: format!(
                "「{}」{}年{}月当月值{x:.0}{}，偏离近12个月中位数{median:.0}{}超过{}倍绝对中位差（{mad:.0}）",
                def.name_zh,
                period.year,
                period.month,
                def.unit_zh,
                def.unit_zh,
                plausibility::MAD_LIMIT
            ),
        });
    }
    Ok(findings)
}
