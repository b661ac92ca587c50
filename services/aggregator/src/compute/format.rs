//! Numbers as the meeting papers write them: money in 万元 or 亿元 from
//! exact integer yuan (no float ever touches money), counts in 万 or 亿,
//! percentages with one decimal, and indicator amounts in their catalog
//! unit. `dashboard/src/format.ts` writes them the same way.

/// `value / 10^scale` with `decimals` decimals, rounded half away from zero.
fn scaled(value: i64, scale: u32, decimals: u32) -> String {
    let divisor = 10i128.pow(scale - decimals);
    let v = i128::from(value);
    let rounded = (v.abs() * 2 + divisor) / (2 * divisor);
    let sign = if v < 0 && rounded != 0 { "-" } else { "" };
    let unit = 10i128.pow(decimals);
    if decimals == 0 {
        format!("{sign}{rounded}")
    } else {
        format!(
            "{sign}{}.{:0width$}",
            rounded / unit,
            rounded % unit,
            width = decimals as usize
        )
    }
}

/// Yuan in 万元 with two decimals: `12345678` → `1234.57`.
pub fn wan(yuan: i64) -> String {
    scaled(yuan, 4, 2)
}

/// Yuan in 亿元 with two decimals: `1234567890` → `12.35`.
pub fn yi(yuan: i64) -> String {
    scaled(yuan, 8, 2)
}

/// Money as the speech writes it: 亿元 from one hundred million up, else 万元.
pub fn money_zh(yuan: i64) -> String {
    if yuan.unsigned_abs() >= 100_000_000 {
        format!("{}亿元", yi(yuan))
    } else {
        format!("{}万元", wan(yuan))
    }
}

/// Money in English: millions of yuan with two decimals.
pub fn money_en(yuan: i64) -> String {
    format!("{} million yuan", scaled(yuan, 6, 2))
}

/// A fraction as a percentage with one decimal: `0.4748` → `47.5%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

/// A count as reports write it: `1457000` → `145.7万`, `120000000` →
/// `1.2亿`, `42` → `42` (two decimals at most, no trailing zeros).
pub fn count_zh(value: i64) -> String {
    let trim = |x: String| {
        if x.contains('.') {
            x.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            x
        }
    };
    match value.unsigned_abs() {
        n if n >= 100_000_000 => format!("{}亿", trim(yi(value))),
        n if n >= 10_000 => format!("{}万", trim(wan(value))),
        _ => value.to_string(),
    }
}

/// An indicator amount in its unit: money as [`money_zh`], a count as
/// [`count_zh`] with the unit.
pub fn amount_zh(value: i64, unit: &str, unit_zh: &str) -> String {
    if unit == "yuan" {
        money_zh(value)
    } else {
        format!("{}{unit_zh}", count_zh(value))
    }
}

/// An indicator amount in English.
pub fn amount_en(value: i64, unit: &str) -> String {
    if unit == "yuan" {
        money_en(value)
    } else {
        format!("{value} {}", unit.replace('_', "-"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_exact_and_rounds_half_away_from_zero() {
        assert_eq!(wan(12_345_678), "1234.57");
        assert_eq!(wan(50), "0.01");
        assert_eq!(wan(49), "0.00");
        assert_eq!(wan(-12_345_678), "-1234.57");
        assert_eq!(yi(1_234_567_890), "12.35");
        assert_eq!(money_zh(99_999_999), "10000.00万元");
        assert_eq!(money_zh(100_000_000), "1.00亿元");
        assert_eq!(money_zh(i64::MAX), "92233720368.55亿元");
        assert_eq!(money_en(12_345_678), "12.35 million yuan");
    }

    #[test]
    fn percentages_have_one_decimal() {
        assert_eq!(percent(0.474_807), "47.5%");
        assert_eq!(percent(-0.052), "-5.2%");
        assert_eq!(amount_zh(1_457_000, "person_time", "人次"), "145.7万人次");
        assert_eq!(amount_zh(42_000, "person_time", "人次"), "4.2万人次");
        assert_eq!(amount_zh(40_000, "person_time", "人次"), "4万人次");
        assert_eq!(amount_zh(9_999, "head", "头"), "9999头");
        assert_eq!(amount_zh(123_456_789, "person", "人"), "1.23亿人");
        assert_eq!(count_zh(-15_000), "-1.5万");
    }
}
