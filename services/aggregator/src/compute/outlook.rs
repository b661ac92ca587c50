//! The year-end outlook (DOMAIN.md, "Year-end outlook (全年落点) and the
//! pace required"): for a cumulative figure with target T, actual A for
//! months 1..m and last year's cumulative values P_m and P_12, what remains,
//! what each remaining month must bring, the growth that takes over last
//! year's remaining months beside the growth so far, and where the year
//! lands at last year's seasonal pace and at a straight pace. Exact integer
//! arithmetic (i128) up to the rates; one verdict band, configurable.

use citydash_proto::v1::{self, OutlookVerdict};

use super::{saturate, wide_rate};

/// The outlook band: a required growth at most this many percentage points
/// above the growth so far is a stretch, more is at risk (DOMAIN.md: 5pp).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutlookBand {
    /// The stretch band, in percentage points.
    pub stretch_pp: f64,
}

impl Default for OutlookBand {
    fn default() -> Self {
        Self { stretch_pp: 5.0 }
    }
}

/// What one figure's year looks like from month `m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs {
    /// T, the annual target.
    pub target: i64,
    /// A, the actual of months 1..m.
    pub actual: i64,
    /// m, 1..=12.
    pub month: i32,
    /// P_m, last year's months 1..m.
    pub prev_m: Option<i64>,
    /// P_12, last year's whole year.
    pub prev_12: Option<i64>,
}

/// `n / d` rounded half away from zero (`d` > 0).
fn div_round(n: i128, d: i128) -> i128 {
    if n >= 0 {
        (2 * n + d) / (2 * d)
    } else {
        -((2 * -n + d) / (2 * d))
    }
}

/// `n / d` rounded up (`n` >= 0, `d` > 0).
fn div_ceil(n: i128, d: i128) -> i128 {
    (n + d - 1) / d
}

/// The outlook of `inputs` under `band`.
pub fn outlook(inputs: Inputs, band: OutlookBand) -> v1::Outlook {
    let Inputs {
        target,
        actual,
        month,
        prev_m,
        prev_12,
    } = inputs;
    let m = i128::from(month.clamp(1, 12));
    let (t, a) = (i128::from(target), i128::from(actual));
    let remaining = t - a;
    let met = remaining <= 0;
    let months_left = 12 - m;
    let required_monthly = (!met && months_left > 0).then(|| saturate(div_ceil(remaining, months_left)));
    let growth_so_far = prev_m
        .filter(|p| *p != 0)
        .map(|p| (a - i128::from(p)) as f64 / p as f64);
    let required_growth = match (prev_m, prev_12) {
        (Some(pm), Some(p12)) if !met && months_left > 0 && p12 != pm => {
            let last_rest = i128::from(p12) - i128::from(pm);
            Some((remaining - last_rest) as f64 / last_rest as f64)
        }
        _ => None,
    };
    let seasonal_landing = match (prev_m, prev_12) {
        (Some(pm), Some(p12)) if pm != 0 => Some(saturate(div_round(a * i128::from(p12), i128::from(pm)))),
        _ => None,
    };
    let linear_landing = saturate(div_round(a * 12, m));
    let verdict = if met {
        OutlookVerdict::OnTrack
    } else if months_left == 0 {
        OutlookVerdict::AtRisk
    } else {
        match (required_growth, growth_so_far) {
            // Judged at micro-point precision, as the gap verdict is.
            (Some(req), Some(ytd)) => match ((req - ytd) * 100.0 * 1e6).round() / 1e6 {
                d if d <= 0.0 => OutlookVerdict::OnTrack,
                d if d <= band.stretch_pp => OutlookVerdict::Stretch,
                _ => OutlookVerdict::AtRisk,
            },
            _ => OutlookVerdict::NotApplicable,
        }
    };
    v1::Outlook {
        remaining: saturate(remaining),
        met,
        required_monthly,
        required_growth,
        growth_so_far,
        seasonal_landing,
        seasonal_share: seasonal_landing.map(|e| wide_rate(e.into(), t)),
        linear_landing,
        linear_share: Some(wide_rate(linear_landing.into(), t)),
        verdict: verdict as i32,
        planned_remaining: None,
        plan_coverage: None,
    }
}

/// What the plans of the year cover of what remains: `planned` (months
/// m+1..12 of the projects in the statistics database) against R.
pub fn with_plans(mut outlook: v1::Outlook, planned: i64) -> v1::Outlook {
    outlook.planned_remaining = Some(planned);
    outlook.plan_coverage = Some(wide_rate(planned.into(), outlook.remaining.max(0).into()));
    outlook
}

/// The year of cumulative indicator `def` for `region` up to `period`, for
/// a trend chart (see `GetTrendResponse`). Reads only months 1..m of the
/// year: a June trend is June's whatever arrives later.
pub fn trend(
    model: &crate::model::CityModel,
    def: &v1::IndicatorDefinition,
    region: &str,
    period: &v1::Period,
) -> v1::GetTrendResponse {
    let (year, m) = (period.year, period.month.clamp(1, 12));
    let value = |y: i32, k: i32| model.value(&def.code, region, y, k).map(|v| v.value);
    let point = |k: i32, value: Option<i64>| v1::TrendPoint { month: k, value };
    let target = model
        .targets
        .get(&(def.code.clone(), region.to_owned(), year))
        .map(|t| t.value);
    let actual_m = value(year, m);
    let prev_m = value(year - 1, m).filter(|p| *p != 0);
    let projected = match actual_m {
        Some(a) => (m..=12)
            .map(|k| {
                let seasonal = prev_m
                    .zip(value(year - 1, k))
                    .map(|(pm, pk)| div_round(i128::from(a) * i128::from(pk), i128::from(pm)));
                let linear = div_round(i128::from(a) * i128::from(k), i128::from(m));
                point(k, Some(saturate(seasonal.unwrap_or(linear))))
            })
            .collect(),
        None => Vec::new(),
    };
    v1::GetTrendResponse {
        definition: Some(def.clone()),
        region_code: region.to_owned(),
        period: Some(*period),
        target,
        actual: (1..=m).map(|k| point(k, value(year, k))).collect(),
        last_year: (1..=12).map(|k| point(k, value(year - 1, k))).collect(),
        time_progress: target
            .map(|t| {
                (1..=12)
                    .map(|k| point(k, Some(saturate(div_round(i128::from(t) * i128::from(k), 12)))))
                    .collect()
            })
            .unwrap_or_default(),
        projected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// DOMAIN.md's worked example.
    #[test]
    fn the_worked_example() {
        let o = outlook(
            Inputs {
                target: 1_000_000_000,
                actual: 400_000_000,
                month: 6,
                prev_m: Some(380_000_000),
                prev_12: Some(900_000_000),
            },
            OutlookBand::default(),
        );
        assert_eq!(o.remaining, 600_000_000);
        assert!(!o.met);
        assert_eq!(o.required_monthly, Some(100_000_000));
        assert!(close(o.required_growth.unwrap(), 600.0 / 520.0 - 1.0));
        assert!(close(o.growth_so_far.unwrap(), 400.0 / 380.0 - 1.0));
        assert_eq!(o.verdict, OutlookVerdict::AtRisk as i32);
        assert_eq!(o.seasonal_landing, Some(947_368_421));
        assert!(close(o.seasonal_share.unwrap().value.unwrap(), 0.947_368_421));
        assert_eq!(o.linear_landing, 800_000_000);
        assert!(close(o.linear_share.unwrap().value.unwrap(), 0.8));
    }

    #[test]
    fn the_edges() {
        let base = Inputs {
            target: 1_000,
            actual: 600,
            month: 6,
            prev_m: Some(500),
            prev_12: Some(1_000),
        };
        // Met: nothing required, on track.
        let met = outlook(Inputs { actual: 1_200, ..base }, OutlookBand::default());
        assert!(met.met && met.required_monthly.is_none() && met.required_growth.is_none());
        assert_eq!((met.remaining, met.verdict), (-200, OutlookVerdict::OnTrack as i32));
        // December: no month left; unmet is at risk.
        let december = outlook(Inputs { month: 12, ..base }, OutlookBand::default());
        assert_eq!(december.required_monthly, None);
        assert_eq!(december.verdict, OutlookVerdict::AtRisk as i32);
        assert_eq!(december.linear_landing, 600);
        // Last year missing: growth and the seasonal landing not applicable.
        let no_last_year = outlook(
            Inputs {
                prev_m: None,
                prev_12: None,
                ..base
            },
            OutlookBand::default(),
        );
        assert_eq!((no_last_year.required_growth, no_last_year.growth_so_far), (None, None));
        assert_eq!(no_last_year.seasonal_landing, None);
        assert!(no_last_year.seasonal_share.is_none());
        assert_eq!(no_last_year.verdict, OutlookVerdict::NotApplicable as i32);
        assert_eq!(no_last_year.required_monthly, Some(67), "400 over 6 months, rounded up");
        // P_12 = P_m: last year's remaining months brought nothing.
        let flat = outlook(
            Inputs {
                prev_12: Some(500),
                ..base
            },
            OutlookBand::default(),
        );
        assert_eq!(flat.required_growth, None);
        assert_eq!(flat.verdict, OutlookVerdict::NotApplicable as i32);
        assert_eq!(flat.seasonal_landing, Some(600));
        // Negative growth so far; a required growth within the band is a stretch.
        let down = outlook(
            Inputs {
                actual: 450,
                prev_m: Some(500),
                prev_12: Some(1_050),
                ..base
            },
            OutlookBand::default(),
        );
        assert!(close(down.growth_so_far.unwrap(), -0.1));
        assert!(close(down.required_growth.unwrap(), 550.0 / 550.0 - 1.0));
        assert_eq!(
            down.verdict,
            OutlookVerdict::AtRisk as i32,
            "0% required beside -10%: 10pp"
        );
        let stretch = outlook(
            Inputs {
                actual: 600,
                prev_m: Some(600),
                prev_12: Some(980),
                ..base
            },
            OutlookBand::default(),
        );
        // g_req = 400/380 - 1 = 5.26%, g_ytd = 0: 5.26pp is past the 5pp band.
        assert_eq!(stretch.verdict, OutlookVerdict::AtRisk as i32);
        let band = OutlookBand { stretch_pp: 6.0 };
        assert_eq!(
            outlook(
                Inputs {
                    prev_12: Some(980),
                    prev_m: Some(600),
                    ..base
                },
                band
            )
            .verdict,
            OutlookVerdict::Stretch as i32
        );
        let coverage = with_plans(outlook(base, OutlookBand::default()), 300);
        assert_eq!(coverage.planned_remaining, Some(300));
        assert!(close(coverage.plan_coverage.unwrap().value.unwrap(), 0.75));
    }
}
