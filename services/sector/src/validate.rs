//! Field-level checks shared by every push, producing violations whose paths
//! name the item and field (`projects[2].region_code`), so a clerk can find
//! the cell to fix.

use chrono::NaiveDate;
use citydash_proto::v1;
use citydash_runtime::Violations;

use crate::domain::{self, Regions};

/// Longest code accepted.
pub const MAX_CODE_LEN: usize = 64;
/// Longest name or unit accepted.
pub const MAX_TEXT_LEN: usize = 200;
/// Longest request id accepted.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The violations of one item of a batch, with its path prefix.
pub struct Item<'a> {
    violations: &'a mut Violations,
    prefix: String,
}

impl<'a> Item<'a> {
    /// Checks item `index` of the request field `field`.
    pub fn new(violations: &'a mut Violations, field: &str, index: usize) -> Self {
        Self {
            violations,
            prefix: format!("{field}[{index}]"),
        }
    }

    /// Records a violation of `field` of this item.
    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.violations.add(format!("{}.{field}", self.prefix), description);
    }

    /// A code: present, short, and free of `/` and white space (codes are key parts).
    pub fn code(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            self.add(field, "required");
        } else if value.chars().count() > MAX_CODE_LEN {
            self.add(field, format!("longer than {MAX_CODE_LEN} characters"));
        } else if value.chars().any(|c| c == '/' || c.is_whitespace() || c.is_control()) {
            self.add(field, "must not contain '/', spaces or control characters");
        }
    }

    /// A required, bounded text.
    pub fn text(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(field, "required");
        } else {
            self.optional_text(field, value);
        }
    }

    /// An optional, bounded text.
    pub fn optional_text(&mut self, field: &str, value: &str) {
        if value.chars().count() > MAX_TEXT_LEN {
            self.add(field, format!("longer than {MAX_TEXT_LEN} characters"));
        }
    }

    /// A known region code.
    pub fn region(&mut self, field: &str, value: &str, regions: &Regions) {
        if value.is_empty() {
            self.add(field, "required");
        } else if !regions.contains(value) {
            self.add(field, format!("unknown region {value:?}"));
        }
    }

    /// An amount that must not be negative (money in yuan, counts, areas).
    pub fn non_negative(&mut self, field: &str, value: i64) {
        if value < 0 {
            self.add(field, format!("must not be negative (got {value})"));
        }
    }

    /// A year within the supported range.
    pub fn year(&mut self, field: &str, year: i32) {
        if !(domain::MIN_YEAR..=domain::MAX_YEAR).contains(&year) {
            self.add(
                field,
                format!("year {year} is outside {}..{}", domain::MIN_YEAR, domain::MAX_YEAR),
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
                self.add(field, "required");
                None
            }
            Some(p) if !(1..=12).contains(&p.month) => {
                self.add(&format!("{field}.month"), format!("month {} is not 1..12", p.month));
                None
            }
            Some(p) if !domain::period_is_valid(p) => {
                self.add(&format!("{field}.year"), format!("year {} is out of range", p.year));
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
                self.add(
                    field,
                    format!("{:04}-{:02}-{:02} is not a valid date", d.year, d.month, d.day),
                );
                None
            }
        }
    }

    /// A required date that is a real calendar day.
    pub fn required_date(&mut self, field: &str, date: Option<&v1::Date>) -> Option<NaiveDate> {
        if date.is_none() {
            self.add(field, "required");
        }
        self.date(field, date)
    }

    /// An enum field that must hold a known value.
    pub fn known_enum<E: TryFrom<i32>>(&mut self, field: &str, value: i32) -> Option<E> {
        match E::try_from(value) {
            Ok(e) => Some(e),
            Err(_) => {
                self.add(field, format!("unknown value {value}"));
                None
            }
        }
    }
}

/// Checks a write's request_id: required, so that a retry never counts twice.
pub fn request_id(request_id: &str) -> Result<(), citydash_runtime::Error> {
    let mut v = Violations::new();
    if request_id.is_empty() {
        v.add(
            "request_id",
            "required: send a unique id (a UUID) and reuse it when retrying",
        );
    } else if request_id.len() > MAX_REQUEST_ID_LEN {
        v.add("request_id", format!("longer than {MAX_REQUEST_ID_LEN} bytes"));
    }
    v.into_result()
}
