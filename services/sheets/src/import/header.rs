//! Reading a sheet's header row the way clerks write it: a column is found
//! whatever unit its header names (`（万元）`, `(万元)`, `【万元】`, ` 万元`),
//! whatever month it is headed for (`本月`, `当月`, `6月`, `本期`), with or
//! without a trailing `额`, in any spacing. A header for months 1 to N
//! (`1—6月`) means a cumulative figure: it matches only cumulative columns,
//! never a monthly one, so a cumulative sheet can never be read as months.

use super::kinds::{Column, Kind};
use super::values;

/// A header with what varies between clerks taken away: brackets and what
/// they hold, units, spaces, month prefixes (a range becomes `累计`), a
/// trailing `额`; ASCII in lower case. Two headers name the same column
/// when their canonical forms are equal.
pub fn canonical(header: &str) -> String {
    let text: String = values::normalize(header)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*')
        .collect();
    let mut bare = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' | '【' | '[' | '〔' | '<' | '《' => depth += 1,
            ')' | '】' | ']' | '〕' | '>' | '》' => depth = depth.saturating_sub(1),
            _ if depth == 0 => bare.push(c),
            _ => {}
        }
    }
    let mut s = bare.as_str();
    loop {
        let before = s;
        for unit in ["万元", "亿元", "元", "人次", "亩", "头", "%"] {
            s = s.strip_suffix(unit).unwrap_or(s);
        }
        if s == before {
            break;
        }
    }
    let (cumulative, rest) = strip_month_prefix(s);
    let (summed, rest) = match rest.strip_prefix("累计") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let mut out = if cumulative || summed {
        format!("累计{rest}")
    } else {
        rest.to_owned()
    };
    if out.chars().count() > 1 && out.ends_with('额') {
        out.pop();
    }
    if out.is_empty() {
        // A header that is only a month ("6月"): keep it as written.
        return s.to_ascii_lowercase();
    }
    out.to_ascii_lowercase()
}

/// Takes a month prefix off: `1—6月`, `1-6月份`, `1至6月` (a range: the
/// figure is cumulative), `6月`, `本月`, `当月`, `本期`, `本年`, `今年`.
fn strip_month_prefix(s: &str) -> (bool, &str) {
    for p in ["本月", "当月", "本期", "本年", "今年"] {
        if let Some(rest) = s.strip_prefix(p) {
            return (false, rest);
        }
    }
    let digits = |t: &str| t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let first = digits(s);
    if first == 0 {
        return (false, s);
    }
    let after = &s[first..];
    let (range, after) = match after.chars().next() {
        Some(c @ ('—' | '–' | '-' | '~' | '至' | '―')) => {
            let tail = &after[c.len_utf8()..];
            let n = digits(tail);
            if n == 0 {
                return (false, s);
            }
            (true, &tail[n..])
        }
        _ => (false, after),
    };
    match after.strip_prefix("月") {
        Some(rest) => (range, rest.strip_prefix('份').unwrap_or(rest)),
        None => (false, s),
    }
}

/// The money unit a header names for bare numbers in its column.
pub fn money_unit(header: &str) -> &'static str {
    let h = values::normalize(header);
    if h.contains("亿元") {
        "亿元"
    } else if h.contains("万元") {
        "万元"
    } else {
        ""
    }
}

/// Whether `header` names column `c`.
pub fn names(header: &str, c: &Column) -> bool {
    let h = canonical(header);
    !h.is_empty() && spellings(c).any(|n| canonical(n) == h)
}

/// Every spelling of a column that a header may use.
pub fn spellings(c: &Column) -> impl Iterator<Item = &'static str> {
    [c.zh, c.en].into_iter().chain(c.aliases.iter().copied())
}

/// Where each column of a kind sits in a file, what its header said, and
/// what the header row held that no column takes.
#[derive(Debug, Clone)]
pub struct Layout {
    /// (cell index, column, money unit of its header).
    pub columns: Vec<(usize, &'static Column, &'static str)>,
    /// Headers of cells no column takes, as written.
    pub ignored: Vec<String>,
    /// Every non-empty header of the row, as written.
    pub seen: Vec<String>,
    /// Required columns the row does not have.
    pub missing: Vec<&'static Column>,
}

impl Layout {
    /// Reads a row as the header of `kind`: `None` unless it names at least
    /// two of the kind's columns (rows above the header, a merged title or a
    /// note, are not it).
    pub fn of(kind: &'static Kind, headers: &[String]) -> Option<Layout> {
        let mut columns: Vec<(usize, &'static Column, &'static str)> = Vec::new();
        let mut ignored = Vec::new();
        let mut seen = Vec::new();
        for (i, text) in headers.iter().enumerate() {
            if text.trim().is_empty() {
                continue;
            }
            seen.push(text.trim().to_owned());
            let found = kind
                .columns
                .iter()
                .filter(|c| !columns.iter().any(|(_, used, _)| used.field == c.field))
                .find(|c| names(text, c));
            match found {
                Some(c) => columns.push((i, c, money_unit(text))),
                None => ignored.push(text.trim().to_owned()),
            }
        }
        if columns.len() < 2 {
            return None;
        }
        let missing = kind
            .columns
            .iter()
            .filter(|c| c.required && !columns.iter().any(|(_, used, _)| used.field == c.field))
            .collect();
        Some(Layout {
            columns,
            ignored,
            seen,
            missing,
        })
    }

    /// Why the file is refused whole, in Chinese: each missing column with
    /// the spellings accepted, and the headers the file has.
    pub fn missing_message(&self) -> Option<String> {
        if self.missing.is_empty() {
            return None;
        }
        let each: Vec<String> = self
            .missing
            .iter()
            .map(|c| {
                let accepted: Vec<&str> = spellings(c).collect();
                format!("「{}」（可写作：{}）", c.zh, accepted.join("、"))
            })
            .collect();
        Some(format!(
            "缺少必填列{}；文件的表头为：{}。表头可带单位（如「（万元）」）和「本月」「当月」等前缀；「1—N月」表示累计数，不能作为当月数导入。整个文件未导入。",
            each.join("，"),
            self.seen.join("、")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::kinds::{self, KINDS};

    fn column(kind: &str, field: &str) -> &'static Column {
        kinds::kind(kind)
            .and_then(|k| k.columns.iter().find(|c| c.field == field))
            .expect("column")
    }

    #[test]
    fn header_variants_clerks_write_name_their_column() {
        let investment = column("progress", "investment_completed_yuan");
        for h in [
            "当月完成投资",
            "本月完成投资额（万元）",
            "本月完成投资 万元",
            "当月完成投资(万元)",
            "完成投资【万元】",
            "6月完成投资",
            " 本月 完成投资 ",
        ] {
            assert!(names(h, investment), "{h}");
        }
        for h in ["累计完成投资", "1—6月完成投资（万元）", "1-6月累计完成投资"] {
            assert!(!names(h, investment), "a cumulative header is not a month: {h}");
        }
        let value = column("indicators", "value");
        for h in [
            "累计值",
            "1—6月累计（万元）",
            "1-6月份累计",
            "本年累计",
            "累计（亿元）",
            "value",
        ] {
            assert!(names(h, value), "{h}");
        }
        assert_eq!(money_unit("1—6月累计（万元）"), "万元");
        assert_eq!(money_unit("本月完成投资 亿元"), "亿元");
    }

    #[test]
    fn no_two_columns_of_a_kind_read_alike() {
        for k in KINDS {
            for (i, a) in k.columns.iter().enumerate() {
                for b in &k.columns[i + 1..] {
                    for s in spellings(a) {
                        assert!(
                            !names(s, b),
                            "{}: {:?} of {} also names {}",
                            k.name,
                            s,
                            a.field,
                            b.field
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_missing_required_column_is_named_with_the_headers_seen() {
        let kind = kinds::kind("progress").expect("kind");
        let headers: Vec<String> = ["项目编号", "报告期", "累计完成投资（万元）"].map(String::from).into();
        let layout = Layout::of(kind, &headers).expect("a header row");
        let message = layout.missing_message().expect("refused");
        assert!(message.contains("「当月完成投资」"), "{message}");
        assert!(message.contains("累计完成投资（万元）"), "{message}");
        assert_eq!(layout.ignored, ["累计完成投资（万元）"]);
    }
}
