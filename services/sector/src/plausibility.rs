//! Plausibility checks (数据审核, DOMAIN.md): beside the field rules, a push
//! is checked for figures that are possible but unlikely. Each finding has a
//! code and a Chinese text; a push with findings is refused
//! (`PLAUSIBILITY_UNCONFIRMED`) unless the item confirms each one with an
//! explanation, which is kept on the revision, as statistics direct-reporting
//! systems do. This module holds the codes, the rule for confirmations and
//! the outlier test; the checks run in `plan`, on the item and the records
//! the planner already read.

use citydash_proto::v1;
use citydash_runtime::error::reason;

use crate::validate::Item;

/// A cumulative indicator value below the same region's value for an earlier month of the year.
pub const CUMULATIVE_DECREASED: &str = "cumulative_decreased";
/// A project's completed investment, all years, above its planned total investment.
pub const INVESTMENT_OVER_TOTAL: &str = "investment_over_total";
/// Investment completed in a month before the project started.
pub const INVESTMENT_BEFORE_START: &str = "investment_before_start";
/// Funds arrived reported for a project with no promotion contract.
pub const FUNDS_WITHOUT_CONTRACT: &str = "funds_without_contract";
/// An official growth rate far from the computed one, or a monthly value far from the last 12 months.
pub const GROWTH_OUTLIER: &str = "growth_outlier";

/// Every finding code with its Chinese name, for catalogs and documents.
pub const CODES: &[(&str, &str)] = &[
    (CUMULATIVE_DECREASED, "累计值低于本年此前月份"),
    (INVESTMENT_OVER_TOTAL, "累计完成投资超过计划总投资"),
    (INVESTMENT_BEFORE_START, "开工前报送完成投资"),
    (FUNDS_WITHOUT_CONTRACT, "无招商合同却报送到位资金"),
    (GROWTH_OUTLIER, "增速或当月值异常"),
];

/// How far an official growth rate may lie from the computed one, in basis points (30 pp).
pub const OFFICIAL_GROWTH_TOLERANCE_BP: f64 = 3_000.0;
/// How many median absolute deviations a monthly value may lie from the last 12 months' median.
pub const MAD_LIMIT: f64 = 3.0;

/// One finding: its code, the field it concerns, and what is unlikely, in Chinese.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// One of the codes above.
    pub code: &'static str,
    /// The item's field it concerns.
    pub field: &'static str,
    /// What is unlikely, in Chinese.
    pub text: String,
}

/// Records a violation for every finding the item does not confirm, and for
/// a confirmation without an explanation.
pub fn require_confirmed(item: &mut Item<'_>, findings: &[Finding], confirmations: &[v1::PlausibilityConfirmation]) {
    for (i, c) in confirmations.iter().enumerate() {
        if c.explanation.trim().is_empty() {
            item.add(&format!("confirmations[{i}].explanation"), "确认审核提示时必须说明理由");
        } else if !c.code.is_empty() && !CODES.iter().any(|(code, _)| *code == c.code) {
            item.add(
                &format!("confirmations[{i}].code"),
                format!("未知的审核代码「{}」", c.code),
            );
        }
    }
    for f in findings {
        let confirmed = confirmations
            .iter()
            .any(|c| (c.code.is_empty() || c.code == f.code) && !c.explanation.trim().is_empty());
        if !confirmed {
            item.add_with(
                f.field,
                reason::PLAUSIBILITY_UNCONFIRMED,
                format!(
                    "{}（审核代码 {}）。如数据无误，请在 confirmations 中说明理由后重新报送",
                    f.text, f.code
                ),
            );
        }
    }
}

/// The median of `values` (sorted in place); `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// Whether `value` lies more than [`MAD_LIMIT`] median absolute deviations
/// from the median of `history` (12 values needed, and some spread).
pub fn is_outlier(value: f64, history: &[f64]) -> Option<(f64, f64)> {
    if history.len() < 12 {
        return None;
    }
    let mut h = history.to_vec();
    let med = median(&mut h)?;
    let mut deviations: Vec<f64> = history.iter().map(|x| (x - med).abs()).collect();
    let mad = median(&mut deviations)?;
    (mad > 0.0 && (value - med).abs() > MAD_LIMIT * mad).then_some((med, mad))
}

#[cfg(test)]
mod tests {
    use citydash_runtime::Violations;

    use super::*;

    #[test]
    fn an_outlier_is_three_deviations_from_the_median() {
        let history: Vec<f64> = (0..12).map(|i| 100.0 + f64::from(i % 3)).collect();
        assert!(is_outlier(150.0, &history).is_some());
        assert!(is_outlier(101.0, &history).is_none());
        assert!(is_outlier(150.0, &history[..11]).is_none(), "too little history");
        assert!(is_outlier(150.0, &[100.0; 12]).is_none(), "no spread, no judgement");
    }

    #[test]
    fn a_finding_is_refused_unless_confirmed_with_an_explanation() {
        let finding = Finding {
            code: FUNDS_WITHOUT_CONTRACT,
            field: "funds_arrived_yuan",
            text: "没有招商合同".into(),
        };
        let confirm = |code: &str, explanation: &str| v1::PlausibilityConfirmation {
            code: code.into(),
            explanation: explanation.into(),
        };
        let check = |confirmations: &[v1::PlausibilityConfirmation]| {
            let mut v = Violations::new();
            require_confirmed(
                &mut Item::new(&mut v, "reports", 0),
                std::slice::from_ref(&finding),
                confirmations,
            );
            v.as_slice()
                .iter()
                .map(|f| (f.field.clone(), f.reason))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            check(&[]),
            [(
                "reports[0].funds_arrived_yuan".to_owned(),
                reason::PLAUSIBILITY_UNCONFIRMED
            )]
        );
        assert!(check(&[confirm(FUNDS_WITHOUT_CONTRACT, "财政配套资金，非招商项目")]).is_empty());
        assert!(check(&[confirm("", "已核实")]).is_empty());
        assert_eq!(check(&[confirm(FUNDS_WITHOUT_CONTRACT, " ")]).len(), 2);
        assert_eq!(check(&[confirm(GROWTH_OUTLIER, "已核实")]).len(), 1);
    }
}
