//! Reading what clerks actually type: full-width digits and punctuation,
//! amounts with thousands separators or in 万元/亿元, dates as text in several
//! shapes or as Excel serial numbers, periods as 2026-06 or 2026年6月,
//! percentages, yes/no in Chinese. Money becomes exact integer yuan.

use chrono::{Datelike, NaiveDate};

/// Full-width digits, letters and punctuation to their ASCII forms, and
/// thousands separators removed where they sit between digits.
pub fn normalize(text: &str) -> String {
    let mapped: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            '。' => '.',
            '、' => ',',
            _ => c,
        })
        .collect();
    mapped.trim().to_owned()
}

/// A decimal number as (integer digits, fraction digits, negative).
fn decimal(text: &str) -> Option<(String, String, bool)> {
    let t = text.replace([',', ' ', '_'], "");
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
    let ok = !int.is_empty() && int.chars().all(|c| c.is_ascii_digit()) && frac.chars().all(|c| c.is_ascii_digit());
    ok.then(|| (int.to_owned(), frac.to_owned(), neg))
}

/// An exact amount of yuan: `1,234,567`, `123.45万元`, `1.2亿`, `5000000元`.
/// Fractions of a yuan are refused (money is whole yuan).
pub fn money(text: &str) -> Result<i64, String> {
    let t = normalize(text);
    let (number, scale) = if let Some(n) = t.strip_suffix("亿元").or_else(|| t.strip_suffix('亿')) {
        (n, 8)
    } else if let Some(n) = t.strip_suffix("万元").or_else(|| t.strip_suffix('万')) {
        (n, 4)
    } else {
        (t.strip_suffix('元').unwrap_or(&t), 0)
    };
    let (int, frac, neg) = decimal(number.trim()).ok_or_else(|| format!("「{text}」不是金额"))?;
    if frac.len() > scale && frac[scale..].chars().any(|c| c != '0') {
        return Err(format!("「{text}」含不足1元的零头，金额须为整元"));
    }
    let mut digits = int;
    let mut frac = frac;
    frac.truncate(scale);
    digits.push_str(&frac);
    for _ in frac.len()..scale {
        digits.push('0');
    }
    let value: i64 = digits.parse().map_err(|_| format!("「{text}」超出范围"))?;
    Ok(if neg { -value } else { value })
}

/// A whole number: `12,000`, `８５００`, `12000亩` (a trailing unit is ignored).
pub fn integer(text: &str) -> Result<i64, String> {
    let t = normalize(text);
    let digits_end = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == ',' || *c == '-' || *c == '.'))
        .map_or(t.len(), |(i, _)| i);
    let (int, frac, neg) = decimal(&t[..digits_end]).ok_or_else(|| format!("「{text}」不是数字"))?;
    if frac.chars().any(|c| c != '0') {
        return Err(format!("「{text}」不是整数"));
    }
    let value: i64 = int.parse().map_err(|_| format!("「{text}」超出范围"))?;
    Ok(if neg { -value } else { value })
}

/// A percentage as basis points: `5.2%`, `5.2`, `-1.35%` → 520, 520, -135.
pub fn basis_points(text: &str) -> Result<i32, String> {
    let t = normalize(text);
    let t = t.strip_suffix('%').unwrap_or(&t).trim();
    let (int, frac, neg) = decimal(t).ok_or_else(|| format!("「{text}」不是百分比"))?;
    let mut frac = frac;
    if frac.len() > 2 && frac[2..].chars().any(|c| c != '0') {
        return Err(format!("「{text}」的小数超过两位"));
    }
    frac.truncate(2);
    while frac.len() < 2 {
        frac.push('0');
    }
    let bp: i32 = format!("{int}{frac}")
        .parse()
        .map_err(|_| format!("「{text}」超出范围"))?;
    Ok(if neg { -bp } else { bp })
}

/// Excel's day 0 (serial numbers count days from 1899-12-30).
fn excel_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1899, 12, 30).expect("date")
}

/// A date: `2026-03-15`, `2026/3/15`, `2026.3.15`, `2026年3月15日`, `20260315`,
/// or an Excel serial number (`46096`).
pub fn date(text: &str) -> Result<NaiveDate, String> {
    let t = normalize(text);
    if let Ok(serial) = t.parse::<f64>()
        && t.len() <= 6
        && (1.0..200_000.0).contains(&serial)
    {
        return excel_epoch()
            .checked_add_days(chrono::Days::new(serial as u64))
            .ok_or_else(|| format!("「{text}」不是日期"));
    }
    let cleaned = t.replace(['年', '月', '/', '.'], "-").replace('日', "");
    for format in ["%Y-%m-%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(&cleaned, format) {
            return Ok(d);
        }
    }
    Err(format!("「{text}」不是日期（请写作 2026-03-15）"))
}

/// A reporting period: `2026-06`, `2026/6`, `2026年6月`, `2026年1-6月`
/// (cumulative statistics name the last month), `202606`, or a date.
pub fn period(text: &str) -> Result<(i32, i32), String> {
    let t = normalize(text);
    let t = match t.split_once('年') {
        // "2026年1—6月" and "2026年1-6月": the period is the last month.
        Some((y, rest)) => {
            let rest = rest.trim_end_matches("月份").trim_end_matches('月');
            let month = rest.rsplit(['-', '—', '–', '~']).next().unwrap_or(rest);
            format!("{y}-{month}")
        }
        None => t.replace(['/', '.'], "-"),
    };
    let parsed = match t.split_once('-') {
        Some((y, m)) => y.trim().parse::<i32>().ok().zip(m.trim().parse::<i32>().ok()),
        None if t.len() == 6 && t.is_ascii() => t[..4].parse().ok().zip(t[4..].parse().ok()),
        None => None,
    };
    match parsed {
        Some((y, m)) if (1..=12).contains(&m) => Ok((y, m)),
        _ => date(text)
            .map(|d| (d.year(), d.month() as i32))
            .map_err(|_| format!("「{text}」不是月份（请写作 2026-06）")),
    }
}

/// Yes or no: 是/否, Y/N, yes/no, true/false, 1/0, 已入库/未入库.
pub fn yes_no(text: &str) -> Result<bool, String> {
    match normalize(text).to_lowercase().as_str() {
        "是" | "y" | "yes" | "true" | "1" | "已入库" | "入库" => Ok(true),
        "否" | "n" | "no" | "false" | "0" | "未入库" => Ok(false),
        _ => Err(format!("「{text}」请填写“是”或“否”")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messy_amounts_become_exact_yuan() {
        assert_eq!(money("1,234,567"), Ok(1_234_567));
        assert_eq!(money("１２３．４５万元"), Ok(1_234_500));
        assert_eq!(money("1.2亿"), Ok(120_000_000));
        assert_eq!(money("5000000元"), Ok(5_000_000));
        assert_eq!(
            money("0.00015万元").unwrap_err(),
            "「0.00015万元」含不足1元的零头，金额须为整元"
        );
        assert!(money("abc").is_err());
        assert_eq!(integer("12,000亩"), Ok(12_000));
        assert_eq!(integer("８５００"), Ok(8_500));
        assert_eq!(basis_points("5.2%"), Ok(520));
        assert_eq!(basis_points("-1.35"), Ok(-135));
    }

    #[test]
    fn dates_and_periods_in_every_shape() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
        for text in [
            "2026-03-15",
            "2026/3/15",
            "2026.3.15",
            "2026年3月15日",
            "20260315",
            "46096",
            "２０２６－０３－１５",
        ] {
            assert_eq!(date(text), Ok(d), "{text}");
        }
        for text in [
            "2026-06",
            "2026/6",
            "2026年6月",
            "2026年1—6月",
            "2026年1-6月份",
            "202606",
        ] {
            assert_eq!(period(text), Ok((2026, 6)), "{text}");
        }
        assert!(period("2026-13").is_err());
        assert_eq!(yes_no("是"), Ok(true));
        assert_eq!(yes_no("否"), Ok(false));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any whole amount of yuan, written in 万元 with a thousands
        /// separator or in full-width digits, reads back exactly.
        #[test]
        fn amounts_in_wan_read_back_exactly(yuan in 0i64..10_000_000_000_000) {
            let wan = format!("{}.{:04}万元", yuan / 10_000, yuan % 10_000);
            prop_assert_eq!(money(&wan), Ok(yuan));
            let full_width: String = yuan.to_string().chars().map(|c| char::from_u32(c as u32 + 0xfee0).unwrap_or(c)).collect();
            prop_assert_eq!(money(&full_width), Ok(yuan));
            let grouped = yuan.to_string().as_bytes().rchunks(3).rev().map(|c| std::str::from_utf8(c).unwrap_or("")).collect::<Vec<_>>().join(",");
            prop_assert_eq!(money(&grouped), Ok(yuan));
        }

        /// Arbitrary text never panics the readers; it is read or refused.
        #[test]
        fn readers_never_panic(text in ".{0,40}") {
            let _ = money(&text);
            let _ = integer(&text);
            let _ = date(&text);
            let _ = period(&text);
            let _ = basis_points(&text);
            let _ = yes_no(&text);
        }
    }
}
