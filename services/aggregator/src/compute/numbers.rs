//! Exact sums and rates: every amount the aggregator adds is summed in i128
//! and narrowed, saturating, for the wire, and a rate over a zero
//! denominator has no value (not applicable, DOMAIN.md).

use citydash_proto::v1;

/// A rate; not applicable (no value) when the denominator is 0.
pub fn rate(numerator: i64, denominator: i64) -> v1::Rate {
    wide_rate(numerator.into(), denominator.into())
}

/// A rate of two exact sums: the value from the wide figures, numerator and
/// denominator narrowed (saturating) for the wire.
pub fn wide_rate(numerator: i128, denominator: i128) -> v1::Rate {
    v1::Rate {
        value: (denominator != 0).then(|| numerator as f64 / denominator as f64),
        numerator: saturate(numerator),
        denominator: saturate(denominator),
    }
}

/// A wide sum narrowed for the wire: a total beyond i64 (over 9,223 records
/// each at the push bound of 10^15) reads as the nearest i64, never wraps.
pub fn saturate(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// The sum of `values`, exact in i128 and narrowed by [`saturate`]: every
/// sum of stored amounts in the aggregator is taken this way.
pub fn total(values: impl IntoIterator<Item = i64>) -> i64 {
    saturate(values.into_iter().map(i128::from).sum())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_zero_denominator_is_not_applicable() {
        assert_eq!(rate(5, 0).value, None);
        assert_eq!(rate(0, 0).value, None);
        assert_eq!(rate(1, 4).value, Some(0.25));
    }

    proptest! {
        /// A rate is a finite number exactly when its denominator is not 0.
        #[test]
        fn rates_are_never_nan_or_infinite(n in any::<i64>(), d in any::<i64>()) {
            let r = rate(n, d);
            prop_assert_eq!(r.value.is_some(), d != 0);
            if let Some(v) = r.value {
                prop_assert!(v.is_finite());
            }
        }
    }
}
