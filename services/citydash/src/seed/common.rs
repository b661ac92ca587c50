//! What every part of the demo city is built from: the channels it is
//! pushed through, the dates, projects, progress, cumulative figures,
//! targets and peer values it is written in, and the push that tolerates a
//! second run.

use citydash_proto::v1::{self, ProjectStage, sector_service_client::SectorServiceClient};
use citydash_runtime::auth::AuthedChannel as Channel;

/// Channels to the five services, each carrying the token of the agency
/// that owns the data; the city level once per bureau that pushes a city
/// figure.
pub struct Endpoints {
    /// Agriculture.
    pub agriculture: Channel,
    /// Industry.
    pub industry: Channel,
    /// Tourism.
    pub tourism: Channel,
    /// Social welfare.
    pub welfare: Channel,
    /// The aggregator as the statistics bureau (GDP, the targets, peer counties).
    pub city: Channel,
    /// The aggregator as the finance bureau (budget revenue).
    pub finance: Channel,
    /// The aggregator as development and reform (fixed-asset investment).
    pub development_reform: Channel,
    /// The aggregator as the city's administrator (the unit registry).
    pub admin: Channel,
}

pub(super) fn date(y: i32, m: i32, d: i32) -> Option<v1::Date> {
    Some(v1::Date {
        year: y,
        month: m,
        day: d,
    })
}

pub(super) fn period(y: i32, m: i32) -> Option<v1::Period> {
    Some(v1::Period { year: y, month: m })
}

/// A project and the dated moves it made.
pub(super) struct P {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    pub(super) region: &'static str,
    pub(super) unit: &'static str,
    pub(super) yuan: i64,
    pub(super) planned_start: (i32, i32, i32),
    pub(super) moves: &'static [(ProjectStage, (i32, i32, i32))],
    pub(super) in_stats: Option<(i32, i32, i32)>,
    pub(super) plan: &'static [i64],
    pub(super) promotion: Option<(&'static str, (i32, i32, i32), i64)>,
}

/// The documents for entering the statistics database that the demo's
/// started projects outside it have (入库资料): one ready, one not.
pub(super) const READINESS: &[(&str, &[&str])] = &[
    (
        "AG-2026-10",
        &["approval", "construction_contract", "site_photos", "business_licence"],
    ),
    ("AG-2026-03", &["approval", "business_licence"]),
];

/// The versions an agency would have pushed over time: one per stage move,
/// and the entry into the statistics database after the start.
pub(super) fn versions(p: &P) -> Vec<v1::Project> {
    let mut base = v1::Project {
        code: p.code.into(),
        name: p.name.into(),
        region_code: p.region.into(),
        responsible_unit: p.unit.into(),
        planned_total_investment_yuan: p.yuan,
        planned_start_date: date(p.planned_start.0, p.planned_start.1, p.planned_start.2),
        planned_completion_date: date(p.planned_start.0 + 2, p.planned_start.1, 28),
        plans: if p.plan.is_empty() {
            Vec::new()
        } else {
            vec![v1::InvestmentPlan {
                year: 2026,
                monthly_plan_yuan: p.plan.to_vec(),
            }]
        },
        promotion: p.promotion.map(|(investor, (y, m, d), yuan)| v1::PromotionContract {
            signed_date: date(y, m, d),
            investor: investor.into(),
            contracted_investment_yuan: yuan,
        }),
        readiness: READINESS
            .iter()
            .find(|(code, _)| *code == p.code)
            .and_then(|(_, present)| {
                let checklist = citydash_sector::readiness::Checklists::default();
                let documents = &checklist.of_kind("")?.documents;
                Some(
                    documents
                        .iter()
                        .map(|d| v1::ReadinessItem {
                            code: d.code.clone(),
                            present: present.contains(&d.code.as_str()),
                        })
                        .collect(),
                )
            })
            .unwrap_or_default(),
        ..Default::default()
    };
    let mut out = vec![base.clone()];
    for (stage, (y, m, d)) in p.moves {
        base.stage = *stage as i32;
        base.stage_date = date(*y, *m, *d);
        out.push(base.clone());
        if *stage == ProjectStage::Started
            && base.in_statistics_database.is_none()
            && let Some((sy, sm, sd)) = p.in_stats
        {
            base.in_statistics_database = Some(true);
            base.statistics_date = date(sy, sm, sd);
            out.push(base.clone());
        }
    }
    out
}

/// A progress report of `yuan` in (2026, month), with funds arrived.
pub(super) fn progress(code: &str, month: i32, yuan: i64, funds: i64) -> v1::ProgressReport {
    v1::ProgressReport {
        project_code: code.into(),
        period: period(2026, month),
        investment_completed_yuan: yuan,
        funds_arrived_yuan: funds,
        status: v1::ValueStatus::Final as i32,
        ..Default::default()
    }
}

/// Cumulative values for months 1..=last of `year` from a full-year total
/// and each month's cumulative share in per mille.
pub(super) fn cumulative(
    code: &str,
    region: &str,
    year: i32,
    full_year: i64,
    shares: &[i64],
    last: usize,
) -> Vec<v1::IndicatorValue> {
    shares
        .iter()
        .take(last)
        .enumerate()
        .map(|(i, share)| v1::IndicatorValue {
            confirmations: Vec::new(),
            indicator_code: code.into(),
            region_code: region.into(),
            period: period(year, i as i32 + 1),
            value: full_year * share / 1000,
            status: v1::ValueStatus::Final as i32,
            official_yoy_growth_bp: None,
            meta: None,
        })
        .collect()
}

/// A year of an indicator for the city: last year in full, this year to
/// June, June's figure still provisional (初步) as at a mid-year meeting.
pub(super) fn two_years(code: &str, last_year: i64, this_year: i64, shares: &[i64]) -> Vec<v1::IndicatorValue> {
    let mut v = cumulative(code, "city", 2025, last_year, shares, 12);
    v.extend(cumulative(code, "city", 2026, this_year, shares, 6));
    if let Some(june) = v.last_mut() {
        june.status = v1::ValueStatus::Provisional as i32;
    }
    v
}

/// The typical seasonal profile of a cumulative indicator (‰ of the year).
pub(super) const SEASON: [i64; 12] = [65, 130, 210, 290, 375, 470, 550, 630, 720, 810, 900, 1000];
/// A construction-season profile (little investment in the cold months).
pub(super) const BUILD_SEASON: [i64; 12] = [20, 50, 120, 220, 330, 450, 570, 680, 790, 880, 950, 1000];

pub(super) fn target(code: &str, value: i64, unit: &str) -> v1::AnnualTarget {
    v1::AnnualTarget {
        indicator_code: code.into(),
        region_code: "city".into(),
        year: 2026,
        value,
        meta: None,
        responsible_unit: unit.into(),
    }
}

pub(super) fn peer(code: &str, region: &str, year: i32, value: i64, growth_bp: Option<i32>) -> v1::IndicatorValue {
    v1::IndicatorValue {
        confirmations: Vec::new(),
        indicator_code: code.into(),
        region_code: region.into(),
        period: period(year, 6),
        value,
        status: v1::ValueStatus::Final as i32,
        official_yoy_growth_bp: growth_bp,
        meta: None,
    }
}

pub(super) async fn push_shared(
    channel: &Channel,
    tag: &str,
    projects: &[P],
    reports: Vec<v1::ProgressReport>,
    values: Vec<v1::IndicatorValue>,
    targets: Vec<v1::AnnualTarget>,
) -> anyhow::Result<()> {
    let mut c = SectorServiceClient::new(channel.clone());
    for p in projects {
        for (i, v) in versions(p).into_iter().enumerate() {
            c.upsert_projects(v1::UpsertProjectsRequest {
                update_mask: None,
                request_id: format!("demo-{tag}-{}-{i}", p.code),
                validate_only: false,
                correction_reason: String::new(),
                projects: vec![v],
            })
            .await?;
        }
    }
    if !reports.is_empty() {
        let mut request = v1::ReportProgressRequest {
            update_mask: None,
            request_id: format!("demo-{tag}-progress"),
            validate_only: true,
            correction_reason: String::new(),
            reports,
        };
        if let Err(status) = c.report_progress(request.clone()).await {
            confirm_flagged(&status, "reports", &mut request.reports, |r| {
                r.confirmations.push(confirmation())
            })?;
        }
        request.validate_only = false;
        already_seeded(c.report_progress(request).await)?;
    }
    if !values.is_empty() {
        let mut request = v1::ReportIndicatorsRequest {
            update_mask: None,
            request_id: format!("demo-{tag}-values"),
            validate_only: true,
            correction_reason: String::new(),
            values,
        };
        if let Err(status) = c.report_indicators(request.clone()).await {
            confirm_flagged(&status, "values", &mut request.values, |v| {
                v.confirmations.push(confirmation())
            })?;
        }
        request.validate_only = false;
        already_seeded(c.report_indicators(request).await)?;
    }
    if !targets.is_empty() {
        c.set_targets(v1::SetTargetsRequest {
            update_mask: None,
            request_id: format!("demo-{tag}-targets"),
            validate_only: false,
            correction_reason: String::new(),
            targets,
        })
        .await?;
    }
    Ok(())
}

/// The demo bureaus' answer to the plausibility checks: their seasonal
/// figures were looked at and are right.
pub(super) fn confirmation() -> v1::PlausibilityConfirmation {
    v1::PlausibilityConfirmation {
        code: String::new(),
        explanation: "演示数据：季节性波动，已核实".to_owned(),
    }
}

/// A batch whose request id an earlier run of the demo used is seeded
/// already: after a later push revised its data, the review finds other
/// findings, so the same id comes with other confirmations. The data stays
/// as the later push left it.
pub(super) fn already_seeded<T>(reply: Result<T, tonic::Status>) -> anyhow::Result<()> {
    use tonic_types::StatusExt;
    match reply {
        Ok(_) => Ok(()),
        Err(status)
            if status
                .get_details_bad_request()
                .is_some_and(|b| b.field_violations.iter().all(|v| v.field == "request_id")) =>
        {
            Ok(())
        }
        Err(status) => anyhow::bail!("{}: {}", status.code(), status.message()),
    }
}

/// The review a bureau does before it pushes (数据审核): after a dry run,
/// each item of `list` with an unconfirmed finding gets `confirm`ed; a
/// refusal for any other reason is returned as it is.
pub(super) fn confirm_flagged<T>(
    status: &tonic::Status,
    list: &str,
    items: &mut [T],
    confirm: impl Fn(&mut T),
) -> anyhow::Result<()> {
    use tonic_types::StatusExt;
    let violations = status
        .get_details_bad_request()
        .map(|b| b.field_violations)
        .unwrap_or_default();
    let mut flagged = std::collections::BTreeSet::new();
    for v in &violations {
        let index = v
            .field
            .strip_prefix(list)
            .and_then(|rest| rest.strip_prefix('['))
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(i, _)| i.parse::<usize>().ok());
        match index {
            Some(i) if v.reason == citydash_runtime::error::reason::PLAUSIBILITY_UNCONFIRMED => {
                flagged.insert(i);
            }
            _ => anyhow::bail!("{}: {}", status.code(), status.message()),
        }
    }
    if flagged.is_empty() {
        anyhow::bail!("{}: {}", status.code(), status.message());
    }
    for i in flagged {
        if let Some(item) = items.get_mut(i) {
            confirm(item);
        }
    }
    Ok(())
}

pub(super) const M: i64 = 1_000_000;
