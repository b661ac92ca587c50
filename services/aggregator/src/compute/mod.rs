//! The formulas of DOMAIN.md, as pure functions of the read model and a
//! period (or a day). Nothing here does I/O; the same inputs give the same
//! view, which is what lets a restarted aggregator be compared with a fresh
//! rebuild.

pub mod alerts;
pub mod brief;
pub mod calendar;
pub mod facts;
pub mod format;
pub mod indicators;
pub mod notices;
pub mod numbers;
pub mod orders;
pub mod outlook;
pub mod overview;
pub mod projects;
pub mod ranking;
pub mod reporting;
pub mod supervision;
#[cfg(test)]
mod testdata;
pub mod whatif;

pub use numbers::{rate, saturate, total, wide_rate};

use chrono::NaiveDate;
use citydash_proto::v1::{self, Verdict};
use citydash_sector::domain::{self, Regions};

/// The verdict bands, in percentage points of gap (DOMAIN.md defaults: yellow
/// at -10pp or below, red at -30pp or below).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    /// A gap at or below this is yellow.
    pub yellow_pp: f64,
    /// A gap at or below this is red.
    pub red_pp: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Self {
            yellow_pp: -10.0,
            red_pp: -30.0,
        }
    }
}

impl Bands {
    /// The verdict of a gap; not applicable without one.
    pub fn verdict(&self, gap_pp: Option<f64>) -> Verdict {
        // A gap of exactly -10pp must not read as -9.999999999 through float
        // noise: judge it at micro-point precision.
        match gap_pp.map(|g| (g * 1e6).round() / 1e6) {
            None => Verdict::NotApplicable,
            Some(g) if g <= self.red_pp => Verdict::Red,
            Some(g) if g <= self.yellow_pp => Verdict::Yellow,
            Some(_) => Verdict::Green,
        }
    }
}

/// Everything a computation needs besides the model. The default is
/// DOMAIN.md's bands and the default regions.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Verdict bands.
    pub bands: Bands,
    /// The year-end outlook's stretch band.
    pub outlook: outlook::OutlookBand,
    /// The deployment's regions (the city, its districts, peer counties).
    pub regions: Regions,
    /// The reporting calendar: due days and the regions whose values are owed.
    pub reporting: calendar::Calendar,
}

impl Settings {
    /// The code of the city itself (the first region of kind city).
    pub fn city_region(&self) -> &str {
        self.regions
            .all()
            .iter()
            .find(|r| r.kind == v1::RegionKind::City as i32)
            .map_or("city", |r| r.code.as_str())
    }

    /// The kind of a region.
    pub fn region_kind(&self, code: &str) -> v1::RegionKind {
        self.regions
            .all()
            .iter()
            .find(|r| r.code == code)
            .and_then(|r| v1::RegionKind::try_from(r.kind).ok())
            .unwrap_or(v1::RegionKind::Unspecified)
    }
}

/// The last day of a period: every figure of the period is evaluated on it.
pub fn as_of(period: &v1::Period) -> NaiveDate {
    domain::period_end(period)
}

/// The sectors in display order (`citydash_proto::sectors`).
pub fn sectors() -> impl Iterator<Item = v1::Sector> {
    citydash_proto::sectors::SECTORS.iter().map(|s| s.sector)
}

/// A sector's place in display order: the sectors, then the city level.
pub fn sector_rank(sector: i32) -> usize {
    citydash_proto::sectors::SECTORS
        .iter()
        .position(|s| s.sector as i32 == sector)
        .unwrap_or(citydash_proto::sectors::SECTORS.len())
}

/// Chinese name of a sector.
pub fn sector_zh(sector: i32) -> &'static str {
    citydash_proto::sectors::of(sector).map_or("未知", |s| s.name_zh)
}

/// English name of a sector.
pub fn sector_en(sector: i32) -> &'static str {
    citydash_proto::sectors::of(sector).map_or("Unknown", |s| s.name_en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_bands_follow_the_supervision_rules() {
        let b = Bands::default();
        assert_eq!(b.verdict(Some(5.0)), Verdict::Green);
        assert_eq!(b.verdict(Some(-9.99)), Verdict::Green);
        assert_eq!(b.verdict(Some(-10.0)), Verdict::Yellow);
        assert_eq!(b.verdict(Some(-29.9)), Verdict::Yellow);
        assert_eq!(b.verdict(Some(-30.0)), Verdict::Red);
        assert_eq!(b.verdict(None), Verdict::NotApplicable);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn severity(v: Verdict) -> u8 {
        match v {
            Verdict::Green => 0,
            Verdict::Yellow => 1,
            Verdict::Red => 2,
            _ => 3,
        }
    }

    proptest! {
        /// A larger gap is never judged worse.
        #[test]
        fn the_verdict_is_monotonic_in_the_gap(a in -200.0f64..200.0, b in -200.0f64..200.0) {
            let bands = Bands::default();
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(severity(bands.verdict(Some(low))) >= severity(bands.verdict(Some(high))));
        }

        /// Money formats exactly: the 万元 text times 10,000 is the yuan,
        /// to the rounding of two decimals.
        #[test]
        fn wan_is_exact(yuan in -1_000_000_000_000i64..1_000_000_000_000) {
            let text = format::wan(yuan);
            let (int, frac) = text.trim_start_matches('-').split_once('.').expect("two decimals");
            let hundredths: i128 = format!("{int}{frac}").parse().expect("digits");
            let back = hundredths * 100 * if yuan < 0 { -1 } else { 1 };
            prop_assert!((back - i128::from(yuan)).abs() <= 50, "{} -> {}", yuan, text);
        }
    }

    /// Sums at the extremes never wrap or panic (issue 22, item 2): exact
    /// while they fit, the nearest i64 beyond.
    #[test]
    fn sums_at_the_extremes_saturate_and_never_wrap() {
        let bound = citydash_sector::validate::MAX_AMOUNT;
        assert_eq!(total(std::iter::repeat_n(bound, 9_000)), 9_000 * bound);
        assert_eq!(total(std::iter::repeat_n(bound, 10_000)), i64::MAX);
        assert_eq!(total([i64::MAX, i64::MAX]), i64::MAX);
        assert_eq!(total([i64::MIN, -1]), i64::MIN);
        let mut all = projects::Contribution::default();
        let huge = projects::Contribution {
            counted_yuan: i64::MAX.into(),
            funds_arrived_yuan: i64::MAX.into(),
            contracted_yuan: i64::MAX.into(),
            signed: 1,
            ..Default::default()
        };
        all += &huge;
        all += &huge;
        let inv = all.investment();
        assert_eq!(inv.counted_yuan, i64::MAX);
        let promotion = all.promotion();
        assert_eq!(promotion.funds_arrival_rate.and_then(|r| r.value), Some(1.0));
        all -= &huge;
        assert_eq!(all.counted_yuan, i128::from(i64::MAX), "taking one out is exact");
        for extreme in [i64::MIN, i64::MAX] {
            assert!(!format::money_zh(extreme).is_empty());
            assert!(!format::money_en(extreme).is_empty());
        }
    }
}
