//! Field-level checks shared by every push, producing violations whose paths
//! name the item and field (`projects[2].region_code`), so a clerk can find
//! the cell to fix.

use chrono::{Datelike, NaiveDate};
use citydash_proto::v1;
use citydash_runtime::Violations;

use crate::domain::{self, Regions};

/// Longest code accepted.
pub const MAX_CODE_LEN: usize = 64;
/// Longest name or unit accepted.
pub const MAX_TEXT_LEN: usize = 200;
/// The largest amount a push may carry (10^15: a thousand trillion yuan, far
/// above any city's figure), so that the aggregator's sums of a whole city's
/// records stay far inside i64.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;
/// Most items one write request may carry (the import sends 500 a batch).
pub const MAX_BATCH_ITEMS: usize = 5_000;
/// Longest request id accepted.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The violations of one item of a batch, with its path prefix.
pub struct Item<'a> {
    violations: &'a mut Violations,
    prefix: String,
    today: Option<NaiveDate>,
}

impl<'a> Item<'a> {
    /// Checks item `index` of the request field `field`.
    pub fn new(violations: &'a mut Violations, field: &str, index: usize) -> Self {
        Self {
            violations,
            prefix: format!("{field}[{index}]"),
            today: None,
        }
    }

    /// The same, checking facts against `today` (city time): no fact may be
    /// dated after it, no figures reported for a later month.
    pub fn on(self, today: NaiveDate) -> Self {
        Self {
            today: Some(today),
            ..self
        }
    }

    /// Records a violation of `field` of this item.
    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.violations.add(format!("{}.{field}", self.prefix), description);
    }

    /// Records a violation of `field` of this item with its own reason.
    pub fn add_with(&mut self, field: &str, reason: &'static str, description: impl Into<String>) {
        self.violations
            .add_with(format!("{}.{field}", self.prefix), reason, description);
    }

    /// A code: present, short, and of [`code_char`]s only (codes are key
    /// parts, and shown where two codes must never look alike).
    pub fn code(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            self.add(field, "必填，不能为空");
        } else if value.chars().count() > MAX_CODE_LEN {
            self.add(field, format!("编号「{}」超过 {MAX_CODE_LEN} 个字符", visible(value)));
        } else if let Some((at, c)) = value.chars().enumerate().find(|(_, c)| !code_char(*c)) {
            self.add(
                field,
                format!(
                    "编号「{}」第 {} 个字符（U+{:04X}）不可用：编号只能由字母、数字和可见标点组成，不能含有「/」、空格、控制字符或不可见字符",
                    visible(value),
                    at + 1,
                    c as u32
                ),
            );
        }
    }

    /// A required, bounded text.
    pub fn text(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(field, "必填，不能为空");
        } else {
            self.optional_text(field, value);
        }
    }

    /// An optional, bounded text.
    pub fn optional_text(&mut self, field: &str, value: &str) {
        if value.chars().count() > MAX_TEXT_LEN {
            self.add(field, format!("超过 {MAX_TEXT_LEN} 个字符"));
        }
    }

    /// A known region code.
    pub fn region(&mut self, field: &str, value: &str, regions: &Regions) {
        if value.is_empty() {
            self.add(field, "必填，不能为空");
        } else if !regions.contains(value) {
            let names = regions.all().iter().flat_map(|r| [r.code.as_str(), r.name_zh.as_str()]);
            let near = citydash_runtime::suggest::closest(value, names, 3);
            let hint = if near.is_empty() {
                let all: Vec<String> = regions
                    .all()
                    .iter()
                    .map(|r| format!("{}（{}）", r.code, r.name_zh))
                    .collect();
                format!("可填写：{}", all.join("、"))
            } else {
                format!("是否为：{}？", near.join("、"))
            };
            self.add(field, format!("未知区域「{value}」，{hint}"));
        }
    }

    /// An amount that must not be negative (money in yuan, counts, areas),
    /// nor above [`MAX_AMOUNT`].
    pub fn non_negative(&mut self, field: &str, value: i64) {
        if value < 0 {
            self.add(field, format!("不能为负数（收到 {value}）"));
        } else if value > MAX_AMOUNT {
            self.add(
                field,
                format!("{value} 超出合理范围（不超过 {MAX_AMOUNT}，即一千万亿）"),
            );
        }
    }

    /// A year within the supported range.
    pub fn year(&mut self, field: &str, year: i32) {
        if !(domain::MIN_YEAR..=domain::MAX_YEAR).contains(&year) {
            self.add(
                field,
                format!("年份 {year} 不在 {} 到 {} 之间", domain::MIN_YEAR, domain::MAX_YEAR),
            );
        }
    }

    /// An optional year (0 for not given) within the supported range.
    pub fn optional_year(&mut self, field: &str, year: i32) {
        if year != 0 {
            self.year(field, year);
        }
    }

    /// A required period naming a real month.
    pub fn period(&mut self, field: &str, period: Option<&v1::Period>) -> Option<v1::Period> {
        match period {
            None => {
                self.add(field, "必填，不能为空");
                None
            }
            Some(p) if !(1..=12).contains(&p.month) => {
                self.add(&format!("{field}.month"), format!("月份 {} 不在 1 到 12 之间", p.month));
                None
            }
            Some(p) if !domain::period_is_valid(p) => {
                self.add(&format!("{field}.year"), format!("年份 {} 超出范围", p.year));
                None
            }
            Some(p) => Some(*p),
        }
    }

    /// An optional date that, when present, is a real calendar day.
    pub fn date(&mut self, field: &str, date: Option<&v1::Date>) -> Option<NaiveDate> {
        let d = date?;
        match domain::to_date(d) {
            Some(day) if (domain::MIN_YEAR..=domain::MAX_YEAR).contains(&d.year) => Some(day),
            _ => {
                self.add(field, format!("{:04}-{:02}-{:02} 不是有效日期", d.year, d.month, d.day));
                None
            }
        }
    }

    /// An optional date of a fact (a start, a completion, an entry into the
    /// statistics database, a task done): a real day, not after `today`
    /// (city time). Planned dates are checked with [`Item::date`].
    pub fn fact_date(&mut self, field: &str, date: Option<&v1::Date>) -> Option<NaiveDate> {
        let day = self.date(field, date)?;
        if let Some(today) = self.today
            && day > today
        {
            self.add_with(
                field,
                citydash_runtime::error::reason::FACT_IN_FUTURE,
                format!("{day} 晚于今天（{today}）：已发生的事项不能填写未来日期"),
            );
            return None;
        }
        Some(day)
    }

    /// A required period of reported figures: a real month, not after the
    /// city's current month.
    pub fn reported_period(&mut self, field: &str, period: Option<&v1::Period>) -> Option<v1::Period> {
        let p = self.period(field, period)?;
        if let Some(today) = self.today
            && (p.year, p.month as u32) > (today.year(), today.month())
        {
            self.add_with(
                field,
                citydash_runtime::error::reason::FACT_IN_FUTURE,
                format!(
                    "报告期 {}-{:02} 晚于本月（今天是 {today}），不能报送未来月份的数据",
                    p.year, p.month
                ),
            );
            return None;
        }
        Some(p)
    }

    /// A required date that is a real calendar day.
    pub fn required_date(&mut self, field: &str, date: Option<&v1::Date>) -> Option<NaiveDate> {
        if date.is_none() {
            self.add(field, "必填，不能为空");
        }
        self.date(field, date)
    }

    /// An enum field that must hold a known value.
    pub fn known_enum<E: TryFrom<i32>>(&mut self, field: &str, value: i32) -> Option<E> {
        match E::try_from(value) {
            Ok(e) => Some(e),
            Err(_) => {
                self.add(field, format!("未知的取值 {value}"));
                None
            }
        }
    }
}

/// Whether `c` may be part of a code: a letter or digit of any script, or
/// visible punctuation other than `/` (the key separator). No white space,
/// control, zero-width or direction character: a code never looks like
/// another on screen.
pub fn code_char(c: char) -> bool {
    c != '/' && !c.is_whitespace() && !hidden(c)
}

/// Characters no text may hold: controls (NUL, ESC, CR/LF, tab) and the
/// characters that do not show or reorder the text around them (zero-width
/// spaces and joiners, bidirectional overrides and isolates, the soft hyphen,
/// the byte-order mark).
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// `text` with every [`hidden`] character shown as U+FFFD: what an error
/// message or an audit row repeats of a caller's text.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(hidden) {
        text.chars()
            .map(|c| if hidden(c) { '\u{FFFD}' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// The checks every write request gets alike, read by reflection: at most
/// [`MAX_BATCH_ITEMS`] items in its list, and no [`hidden`] character in any
/// string at any depth, each named by its path (`projects[2].name`). One
/// rule for every text field of every record kind.
pub fn every_request<R: prost::Message + prost::Name>(request: &R, violations: &mut Violations) {
    let message = crate::mask::dynamic(request);
    for (field, value) in message.fields() {
        if let prost_reflect::Value::List(items) = value
            && items.len() > MAX_BATCH_ITEMS
        {
            violations.add(
                field.name(),
                format!(
                    "一次最多推送 {MAX_BATCH_ITEMS} 条（收到 {} 条）：请分批推送，每批用新的 request_id",
                    items.len()
                ),
            );
            return;
        }
    }
    strings_of(&message, "", violations);
}

fn strings_of(message: &prost_reflect::DynamicMessage, prefix: &str, violations: &mut Violations) {
    use prost_reflect::Value;
    let check = |path: String, text: &str, violations: &mut Violations| {
        if let Some((at, c)) = text.chars().enumerate().find(|(_, c)| hidden(*c)) {
            violations.add(
                path,
                format!(
                    "第 {} 个字符（U+{:04X}）是控制字符或不可见字符：文字中不能含有换行、制表、零宽或方向控制字符",
                    at + 1,
                    c as u32
                ),
            );
        }
    };
    for (field, value) in message.fields() {
        let path = format!("{prefix}{}", field.name());
        match value {
            Value::String(text) => check(path, text, violations),
            Value::Message(inner) => strings_of(inner, &format!("{path}."), violations),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(text) => check(format!("{path}[{i}]"), text, violations),
                        Value::Message(inner) => strings_of(inner, &format!("{path}[{i}]."), violations),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// Checks a write's request_id: required, so that a retry never counts twice.
pub fn request_id(request_id: &str) -> Result<(), citydash_runtime::Error> {
    let mut v = Violations::new();
    if request_id.is_empty() {
        v.add(
            "request_id",
            "必填：每次推送发送唯一的编号（如 UUID），重试时沿用同一编号",
        );
    } else if request_id.len() > MAX_REQUEST_ID_LEN {
        v.add("request_id", format!("超过 {MAX_REQUEST_ID_LEN} 字节"));
    } else if request_id.chars().any(|c| c.is_whitespace() || hidden(c)) {
        v.add("request_id", "不能含有空格、控制字符或不可见字符");
    }
    v.into_result()
}

/// The first amount of a stored record outside `0..=MAX_AMOUNT`, by field
/// path, or `None` when every amount is in bounds. Pushes are checked
/// field by field on the way in; this is for readers of records written
/// before the bound or edited in the database by hand (the aggregator skips
/// and reports such a record rather than summing it). Sector entities are
/// read by reflection: every integer field of the message is an amount.
pub fn amount_out_of_bounds(record: &v1::record::Record) -> Option<(String, i64)> {
    use v1::record::Record;
    let bad = |v: i64| !(0..=MAX_AMOUNT).contains(&v);
    let first = |fields: Vec<(String, i64)>| fields.into_iter().find(|(_, v)| bad(*v));
    match record {
        Record::Project(p) => {
            let mut fields = vec![(
                "planned_total_investment_yuan".to_owned(),
                p.planned_total_investment_yuan,
            )];
            for (j, plan) in p.plans.iter().enumerate() {
                for (m, amount) in plan.monthly_plan_yuan.iter().enumerate() {
                    fields.push((format!("plans[{j}].monthly_plan_yuan[{m}]"), *amount));
                }
            }
            if let Some(c) = &p.promotion {
                fields.push((
                    "promotion.contracted_investment_yuan".to_owned(),
                    c.contracted_investment_yuan,
                ));
            }
            first(fields)
        }
        Record::Progress(r) => first(vec![
            ("investment_completed_yuan".to_owned(), r.investment_completed_yuan),
            ("funds_arrived_yuan".to_owned(), r.funds_arrived_yuan),
        ]),
        Record::IndicatorValue(v) => bad(v.value).then(|| ("value".to_owned(), v.value)),
        Record::Target(t) => bad(t.value).then(|| ("value".to_owned(), t.value)),
        Record::Entity(any) => {
            let name = any.type_url.rsplit('/').next().unwrap_or_default();
            let descriptor = citydash_proto::descriptor_pool().get_message_by_name(name)?;
            let message = prost_reflect::DynamicMessage::decode(descriptor, any.value.as_slice()).ok()?;
            message.fields().find_map(|(field, value)| match value {
                prost_reflect::Value::I64(v) if bad(*v) => Some((field.name().to_owned(), *v)),
                _ => None,
            })
        }
    }
}
