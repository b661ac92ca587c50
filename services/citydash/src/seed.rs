//! The demo city, modelled on the speech: a highland city (全市, 城关区,
//! 东城区 and its townships) compared with two peer counties (甲县, 乙县),
//! last year in full and this year to June. It has projects in every stage —
//! funded but not started, started but not in the statistics, behind their
//! monthly plan — investment-promotion contracts, specialty bases (青稞,
//! 中药材, 藏香猪), scenic areas under creation and campaign tasks with
//! deadlines. Everything goes through the public push APIs with fixed
//! request ids, so seeding twice changes nothing.

use citydash_proto::v1::{
    self, ProjectStage, agriculture_service_client::AgricultureServiceClient,
    industry_service_client::IndustryServiceClient, sector_service_client::SectorServiceClient,
    tourism_service_client::TourismServiceClient, units_service_client::UnitsServiceClient,
    welfare_service_client::WelfareServiceClient,
};
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

/// The demo city's responsible units: (code, name, short names and
/// aliases, parent code). Every unit the seed names is here, so every push
/// resolves to a registered code.
const UNITS: &[(&str, &str, &[&str], &str)] = &[
    ("nyncj", "市农业农村局", &["农业农村局", "市农业农村局（乡村振兴）"], ""),
    ("xzfw", "乡镇农业服务中心", &["农业服务中心"], "nyncj"),
    ("gxj", "市工信局", &["工信局", "市工业和信息化局"], ""),
    ("wlj", "市文旅局", &["文旅局", "市文化和旅游局"], ""),
    ("xczxj", "市乡村振兴局", &["乡村振兴局"], ""),
    ("mzj", "市民政局", &["民政局"], ""),
    ("rsj", "市人社局", &["人社局", "市人力资源和社会保障局"], ""),
    ("zjj", "市住建局", &["住建局", "市住房和城乡建设局"], ""),
    ("ybj", "市医保局", &["医保局", "市医疗保障局"], ""),
    ("wjw", "市卫健委", &["卫健委", "市卫生健康委员会"], ""),
    ("jyj", "市教育局", &["教育局"], ""),
    ("slj", "市水利局", &["水利局"], ""),
    ("czj", "市财政局", &["财政局"], ""),
    ("fgw", "市发改委", &["发改委", "市发展和改革委员会"], ""),
    ("tjj", "市统计局", &["统计局"], ""),
    ("tcj", "市投资促进局", &["投促局", "投资促进局"], ""),
    ("zzb", "市委组织部", &["组织部"], ""),
];

/// Registers the demo's units (idempotent: the same request each time).
async fn units(admin: &Channel) -> anyhow::Result<()> {
    let units = UNITS
        .iter()
        .map(|(code, name, also, parent)| v1::ResponsibleUnit {
            code: (*code).to_owned(),
            name_zh: (*name).to_owned(),
            short_names: also.iter().take(1).map(|s| (*s).to_owned()).collect(),
            aliases: also.iter().skip(1).map(|s| (*s).to_owned()).collect(),
            parent_code: (*parent).to_owned(),
            ..Default::default()
        })
        .collect();
    UnitsServiceClient::new(admin.clone())
        .register_units(v1::RegisterUnitsRequest {
            request_id: "demo-units".to_owned(),
            validate_only: false,
            correction_reason: String::new(),
            update_mask: None,
            units,
        })
        .await?;
    Ok(())
}

fn date(y: i32, m: i32, d: i32) -> Option<v1::Date> {
    Some(v1::Date {
        year: y,
        month: m,
        day: d,
    })
}

fn period(y: i32, m: i32) -> Option<v1::Period> {
    Some(v1::Period { year: y, month: m })
}

/// A project and the dated moves it made.
struct P {
    code: &'static str,
    name: &'static str,
    region: &'static str,
    unit: &'static str,
    yuan: i64,
    planned_start: (i32, i32, i32),
    moves: &'static [(ProjectStage, (i32, i32, i32))],
    in_stats: Option<(i32, i32, i32)>,
    plan: &'static [i64],
    promotion: Option<(&'static str, (i32, i32, i32), i64)>,
}

/// The documents for entering the statistics database that the demo's
/// started projects outside it have (入库资料): one ready, one not.
const READINESS: &[(&str, &[&str])] = &[
    (
        "AG-2026-10",
        &["approval", "construction_contract", "site_photos", "business_licence"],
    ),
    ("AG-2026-03", &["approval", "business_licence"]),
];

/// The versions an agency would have pushed over time: one per stage move,
/// and the entry into the statistics database after the start.
fn versions(p: &P) -> Vec<v1::Project> {
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
fn progress(code: &str, month: i32, yuan: i64, funds: i64) -> v1::ProgressReport {
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
fn cumulative(
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

/// A year of an indicator for the city: last year in full, this year to June.
fn two_years(code: &str, last_year: i64, this_year: i64, shares: &[i64]) -> Vec<v1::IndicatorValue> {
    let mut v = cumulative(code, "city", 2025, last_year, shares, 12);
    v.extend(cumulative(code, "city", 2026, this_year, shares, 6));
    v
}

/// The typical seasonal profile of a cumulative indicator (‰ of the year).
const SEASON: [i64; 12] = [65, 130, 210, 290, 375, 470, 550, 630, 720, 810, 900, 1000];
/// A construction-season profile (little investment in the cold months).
const BUILD_SEASON: [i64; 12] = [20, 50, 120, 220, 330, 450, 570, 680, 790, 880, 950, 1000];

fn target(code: &str, value: i64, unit: &str) -> v1::AnnualTarget {
    v1::AnnualTarget {
        indicator_code: code.into(),
        region_code: "city".into(),
        year: 2026,
        value,
        meta: None,
        responsible_unit: unit.into(),
    }
}

fn peer(code: &str, region: &str, year: i32, value: i64, growth_bp: Option<i32>) -> v1::IndicatorValue {
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

async fn push_shared(
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
fn confirmation() -> v1::PlausibilityConfirmation {
    v1::PlausibilityConfirmation {
        code: String::new(),
        explanation: "演示数据：季节性波动，已核实".to_owned(),
    }
}

/// A batch whose request id an earlier run of the demo used is seeded
/// already: after a later push revised its data, the review finds other
/// findings, so the same id comes with other confirmations. The data stays
/// as the later push left it.
fn already_seeded<T>(reply: Result<T, tonic::Status>) -> anyhow::Result<()> {
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
fn confirm_flagged<T>(
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

const M: i64 = 1_000_000;

/// Seeds the whole demo city.
pub async fn seed(e: &Endpoints) -> anyhow::Result<()> {
    units(&e.admin).await?;
    agriculture(&e.agriculture).await?;
    industry(&e.industry).await?;
    tourism(&e.tourism).await?;
    welfare(&e.welfare).await?;
    city(e).await?;
    Ok(())
}

async fn agriculture(ch: &Channel) -> anyhow::Result<()> {
    use ProjectStage::*;
    let unit = "市农业农村局";
    let projects = [
        P {
            code: "AG-2026-01",
            name: "青稞精深加工产业园",
            region: "chengguan",
            unit,
            yuan: 36 * M,
            planned_start: (2026, 3, 1),
            moves: &[
                (Declared, (2026, 1, 8)),
                (Funded, (2026, 2, 20)),
                (Started, (2026, 3, 18)),
            ],
            in_stats: Some((2026, 4, 25)),
            plan: &[0, 0, 2 * M, 3 * M, 4 * M, 4 * M, 4 * M, 4 * M, 4 * M, 3 * M],
            promotion: None,
        },
        P {
            code: "AG-2026-02",
            name: "中药材种植基地提升工程",
            region: "dongcheng",
            unit,
            yuan: 12 * M,
            planned_start: (2026, 4, 15),
            moves: &[(Declared, (2026, 1, 20)), (Funded, (2026, 3, 5))],
            in_stats: None,
            plan: &[],
            promotion: None,
        },
        P {
            code: "AG-2026-03",
            name: "藏香猪标准化养殖场",
            region: "xiang",
            unit: "乡镇农业服务中心",
            yuan: 18 * M,
            planned_start: (2026, 4, 1),
            moves: &[(Funded, (2026, 2, 28)), (Started, (2026, 4, 8))],
            in_stats: None,
            plan: &[],
            promotion: None,
        },
        P {
            code: "AG-2026-10",
            name: "青稞深加工生产线",
            region: "chengguan",
            unit: "市农业农村局",
            yuan: 12 * M,
            planned_start: (2026, 3, 1),
            moves: &[(Funded, (2026, 1, 20)), (Started, (2026, 3, 10))],
            in_stats: None,
            plan: &[],
            promotion: None,
        },
        P {
            code: "AG-2025-11",
            name: "高标准农田建设",
            region: "xiang",
            unit,
            yuan: 60 * M,
            planned_start: (2025, 4, 1),
            moves: &[(Funded, (2025, 3, 10)), (Started, (2025, 4, 10))],
            in_stats: Some((2025, 5, 20)),
            plan: &[],
            promotion: None,
        },
        P {
            code: "AG-2026-05",
            name: "农产品冷链物流中心",
            region: "chengguan",
            unit,
            yuan: 8 * M,
            planned_start: (2026, 8, 1),
            moves: &[(Declared, (2026, 1, 15))],
            in_stats: None,
            plan: &[],
            promotion: None,
        },
        P {
            code: "AG-2026-06",
            name: "农产品电商服务中心",
            region: "dongcheng",
            unit,
            yuan: 3 * M,
            planned_start: (2026, 10, 1),
            moves: &[],
            in_stats: None,
            plan: &[],
            promotion: None,
        },
        P {
            code: "AG-2026-07",
            name: "牦牛乳制品加工厂（招商）",
            region: "chengguan",
            unit: "市投资促进局",
            yuan: 50 * M,
            planned_start: (2026, 5, 1),
            moves: &[(Started, (2026, 5, 6))],
            in_stats: Some((2026, 6, 10)),
            plan: &[],
            promotion: Some(("高原乳业集团", (2026, 1, 10), 50 * M)),
        },
    ];
    let reports = vec![
        progress("AG-2026-01", 3, 1_500_000, 0),
        progress("AG-2026-01", 4, 2_200_000, 0),
        progress("AG-2026-01", 5, 2_600_000, 0),
        progress("AG-2026-01", 6, 2_900_000, 0),
        progress("AG-2026-03", 4, 1_800_000, 0),
        progress("AG-2026-03", 5, 2_400_000, 0),
        progress("AG-2026-03", 6, 2_100_000, 0),
        progress("AG-2026-10", 3, 900_000, 0),
        progress("AG-2026-10", 4, 1_300_000, 0),
        progress("AG-2026-10", 5, 1_500_000, 0),
        progress("AG-2026-10", 6, 1_600_000, 0),
        progress("AG-2025-11", 3, 4_000_000, 0),
        progress("AG-2025-11", 4, 6_500_000, 0),
        progress("AG-2025-11", 5, 7_000_000, 0),
        progress("AG-2025-11", 6, 6_000_000, 0),
        progress("AG-2026-07", 5, 3_000_000, 10 * M),
        progress("AG-2026-07", 6, 5_000_000, 5 * M),
    ];
    let mut values = two_years("agri.output_value", 3_150 * M, 3_330 * M, &SEASON);
    values.extend([
        peer("agri.output_value", "county_a", 2026, 1_720 * M, Some(450)),
        peer("agri.output_value", "county_b", 2026, 1_380 * M, Some(390)),
        peer("agri.leading_enterprises", "city", 2026, 14, None),
        peer("agri.leading_enterprises", "city", 2025, 12, None),
        peer("agri.base_area_mu", "city", 2026, 15_500, None),
    ]);
    let targets = vec![
        target("agri.output_value", 3_400 * M, unit),
        target("agri.leading_enterprises", 16, unit),
    ];
    push_shared(ch, "agri", &projects, reports, values, targets).await?;
    let base =
        |code: &str, name: &str, region: &str, product: &str, mu: i64, head: i64, output: i64| v1::ProductionBase {
            code: code.into(),
            name: name.into(),
            region_code: region.into(),
            responsible_unit: unit.into(),
            product: product.into(),
            area_mu: mu,
            head_count: head,
            output_value_yuan: output,
            established_year: 2019,
            meta: None,
        };
    let mut client = AgricultureServiceClient::new(ch.clone());
    client
        .upsert_production_bases(v1::UpsertProductionBasesRequest {
            update_mask: None,
            request_id: "demo-agri-bases".into(),
            validate_only: false,
            correction_reason: String::new(),
            bases: vec![
                base(
                    "BASE-QK-01",
                    "城关区青稞种植基地",
                    "chengguan",
                    "青稞",
                    12_000,
                    0,
                    26 * M,
                ),
                base(
                    "BASE-ZYC-01",
                    "东城区中药材种植基地",
                    "dongcheng",
                    "中药材",
                    3_500,
                    0,
                    14 * M,
                ),
                base("BASE-ZXZ-01", "藏香猪养殖基地", "xiang", "藏香猪", 0, 8_500, 19 * M),
            ],
        })
        .await?;
    let firm = |code: &str, name: &str, level: v1::EnterpriseLevel, revenue: i64| v1::LeadingEnterprise {
        code: code.into(),
        name: name.into(),
        region_code: "chengguan".into(),
        responsible_unit: unit.into(),
        level: level as i32,
        main_products: "青稞制品".into(),
        annual_revenue_yuan: revenue,
        recognized_year: 2021,
        meta: None,
    };
    client
        .upsert_leading_enterprises(v1::UpsertLeadingEnterprisesRequest {
            update_mask: None,
            request_id: "demo-agri-leading".into(),
            validate_only: false,
            correction_reason: String::new(),
            enterprises: vec![
                firm("LE-01", "高原青稞食品有限公司", v1::EnterpriseLevel::National, 260 * M),
                firm(
                    "LE-02",
                    "雪域中药材开发有限公司",
                    v1::EnterpriseLevel::Provincial,
                    85 * M,
                ),
                firm("LE-03", "藏香猪养殖专业合作社", v1::EnterpriseLevel::Municipal, 32 * M),
            ],
        })
        .await?;
    Ok(())
}

async fn industry(ch: &Channel) -> anyhow::Result<()> {
    use ProjectStage::*;
    let unit = "市工信局";
    let projects = [
        P {
            code: "IN-2026-01",
            name: "农副产品加工园区",
            region: "chengguan",
            unit,
            yuan: 120 * M,
            planned_start: (2026, 1, 10),
            moves: &[(Funded, (2025, 12, 1)), (Started, (2026, 1, 12))],
            in_stats: Some((2026, 2, 10)),
            plan: &[2 * M, 3 * M, 6 * M, 8 * M, 9 * M, 10 * M, 10 * M, 10 * M, 9 * M, 8 * M],
            promotion: None,
        },
        P {
            code: "IN-2025-08",
            name: "光伏发电项目（招商）",
            region: "dongcheng",
            unit: "市发改委",
            yuan: 80 * M,
            planned_start: (2025, 12, 1),
            moves: &[(Started, (2025, 12, 1)), (Completed, (2026, 5, 30))],
            in_stats: Some((2026, 1, 5)),
            plan: &[],
            promotion: Some(("清洁能源投资公司", (2025, 11, 3), 80 * M)),
        },
        P {
            code: "IN-2026-03",
            name: "建材厂技术改造",
            region: "xiang",
            unit,
            yuan: 15 * M,
            planned_start: (2026, 5, 1),
            moves: &[(Funded, (2026, 4, 1))],
            in_stats: None,
            plan: &[],
            promotion: None,
        },
    ];
    let reports = vec![
        progress("IN-2026-01", 1, 1_500_000, 0),
        progress("IN-2026-01", 2, 2_500_000, 0),
        progress("IN-2026-01", 3, 5_000_000, 0),
        progress("IN-2026-01", 4, 6_000_000, 0),
        progress("IN-2026-01", 5, 6_500_000, 0),
        progress("IN-2026-01", 6, 7_000_000, 0),
        progress("IN-2025-08", 1, 9_000_000, 12 * M),
        progress("IN-2025-08", 2, 6_000_000, 8 * M),
        progress("IN-2025-08", 3, 8_000_000, 10 * M),
        progress("IN-2025-08", 4, 9_000_000, 6 * M),
        progress("IN-2025-08", 5, 7_000_000, 4 * M),
    ];
    let mut values = two_years("industry.above_scale_value_added", 1_860 * M, 1_790 * M, &SEASON);
    values.extend([
        peer("industry.above_scale_value_added", "county_a", 2026, 1_120 * M, None),
        peer("industry.above_scale_value_added", "county_b", 2026, 760 * M, None),
        peer("industry.above_scale_enterprises", "city", 2026, 38, None),
        peer("industry.above_scale_enterprises", "city", 2025, 36, None),
    ]);
    let targets = vec![
        target("industry.above_scale_value_added", 2_000 * M, unit),
        target("industry.above_scale_enterprises", 42, unit),
    ];
    push_shared(ch, "industry", &projects, reports, values, targets).await?;
    let firm = |code: &str, name: &str, status: v1::ScaleStatus, reached: Option<v1::Date>| v1::IndustrialEnterprise {
        code: code.into(),
        name: name.into(),
        region_code: "chengguan".into(),
        responsible_unit: unit.into(),
        industry: "农副食品加工业".into(),
        scale_status: status as i32,
        reached_scale_date: reached,
        expected_year: if status == v1::ScaleStatus::Candidate { 2026 } else { 0 },
        meta: None,
    };
    let mut client = IndustryServiceClient::new(ch.clone());
    client
        .upsert_enterprises(v1::UpsertEnterprisesRequest {
            update_mask: None,
            request_id: "demo-industry-register".into(),
            validate_only: false,
            correction_reason: String::new(),
            enterprises: vec![
                firm("IE-01", "高原青稞酒业", v1::ScaleStatus::AboveScale, date(2018, 1, 1)),
                firm("IE-02", "雪域矿泉水", v1::ScaleStatus::AboveScale, date(2020, 1, 1)),
                firm("IE-03", "藏药制药厂", v1::ScaleStatus::AboveScale, date(2019, 1, 1)),
                firm("IE-04", "牦牛肉食品加工", v1::ScaleStatus::AboveScale, date(2026, 3, 1)),
                firm("IE-05", "民族手工艺品厂", v1::ScaleStatus::Candidate, None),
                firm("IE-06", "高原建材", v1::ScaleStatus::Candidate, None),
            ],
        })
        .await?;
    let months = ["IE-01", "IE-02", "IE-03", "IE-04", "IE-05", "IE-06"]
        .iter()
        .enumerate()
        .flat_map(|(i, code)| {
            (1..=6).map(move |m| v1::EnterpriseMonth {
                enterprise_code: (*code).into(),
                period: period(2026, m),
                region_code: "chengguan".into(),
                responsible_unit: unit.into(),
                main_revenue_yuan: (9 - i as i64) * 400_000 + i64::from(m) * 50_000,
                output_value_yuan: (9 - i as i64) * 380_000,
                meta: None,
            })
        })
        .collect();
    client
        .report_enterprise_months(v1::ReportEnterpriseMonthsRequest {
            update_mask: None,
            request_id: "demo-industry-months".into(),
            validate_only: false,
            correction_reason: String::new(),
            months,
        })
        .await?;
    Ok(())
}

async fn tourism(ch: &Channel) -> anyhow::Result<()> {
    use ProjectStage::*;
    let unit = "市文旅局";
    let projects = [
        P {
            code: "TO-2026-01",
            name: "旅游东环线建设",
            region: "dongcheng",
            unit,
            yuan: 200 * M,
            planned_start: (2026, 3, 1),
            moves: &[(Funded, (2026, 1, 25)), (Started, (2026, 3, 1))],
            in_stats: Some((2026, 4, 1)),
            plan: &[0, 0, 8 * M, 12 * M, 15 * M, 18 * M, 20 * M, 20 * M, 18 * M, 15 * M],
            promotion: None,
        },
        P {
            code: "TO-2026-02",
            name: "XX旅游综合开发项目",
            region: "xiang",
            unit,
            yuan: 45 * M,
            planned_start: (2026, 6, 1),
            moves: &[(Declared, (2026, 2, 10)), (Funded, (2026, 5, 10))],
            in_stats: None,
            plan: &[],
            promotion: Some(("文旅发展集团", (2026, 3, 18), 45 * M)),
        },
    ];
    let reports = vec![
        progress("TO-2026-01", 3, 6_000_000, 0),
        progress("TO-2026-01", 4, 7_500_000, 0),
        progress("TO-2026-01", 5, 8_000_000, 0),
        progress("TO-2026-01", 6, 9_500_000, 0),
        progress("TO-2026-02", 5, 0, 9 * M),
    ];
    let mut values = two_years("tourism.visitors", 3_650_000, 3_100_000, &SEASON);
    values.extend(two_years("tourism.revenue", 2_920 * M, 2_410 * M, &SEASON));
    values.extend([
        peer("tourism.visitors", "county_a", 2026, 1_980_000, None),
        peer("tourism.visitors", "county_a", 2025, 1_760_000, None),
        peer("tourism.visitors", "county_b", 2026, 1_240_000, None),
        peer("tourism.a_level_scenic_areas", "city", 2026, 9, None),
    ]);
    let targets = vec![
        target("tourism.visitors", 3_900_000, unit),
        target("tourism.revenue", 3_100 * M, unit),
    ];
    push_shared(ch, "tourism", &projects, reports, values, targets).await?;
    let area = |code: &str, name: &str, level: v1::ScenicLevel, target: v1::ScenicLevel| v1::ScenicArea {
        code: code.into(),
        name: name.into(),
        region_code: "dongcheng".into(),
        responsible_unit: unit.into(),
        level: level as i32,
        target_level: target as i32,
        target_year: if target == v1::ScenicLevel::Unspecified {
            0
        } else {
            2026
        },
        meta: None,
    };
    let mut client = TourismServiceClient::new(ch.clone());
    client
        .upsert_scenic_areas(v1::UpsertScenicAreasRequest {
            update_mask: None,
            request_id: "demo-tourism-areas".into(),
            validate_only: false,
            correction_reason: String::new(),
            areas: vec![
                area("SA-01", "雪山圣湖景区", v1::ScenicLevel::A4, v1::ScenicLevel::A5),
                area("SA-02", "古城文化街区", v1::ScenicLevel::A3, v1::ScenicLevel::A4),
                area(
                    "SA-03",
                    "高原湿地公园",
                    v1::ScenicLevel::A3,
                    v1::ScenicLevel::Unspecified,
                ),
                area("SA-04", "红色教育基地", v1::ScenicLevel::None, v1::ScenicLevel::A2),
            ],
        })
        .await?;
    let months = [("SA-01", 52_000), ("SA-02", 31_000), ("SA-03", 12_000)]
        .iter()
        .flat_map(|(code, base)| {
            (1..=6).map(move |m| v1::ScenicMonth {
                scenic_area_code: (*code).into(),
                period: period(2026, m),
                region_code: "dongcheng".into(),
                responsible_unit: unit.into(),
                visitors: base * i64::from(m + 2) / 5,
                revenue_yuan: base * i64::from(m + 2) / 5 * 160,
                meta: None,
            })
        })
        .collect();
    client
        .report_scenic_months(v1::ReportScenicMonthsRequest {
            update_mask: None,
            request_id: "demo-tourism-months".into(),
            validate_only: false,
            correction_reason: String::new(),
            months,
        })
        .await?;
    Ok(())
}

async fn welfare(ch: &Channel) -> anyhow::Result<()> {
    use ProjectStage::*;
    let projects = [
        P {
            code: "WF-2026-01",
            name: "市医院迁建工程",
            region: "city",
            unit: "市卫健委",
            yuan: 280 * M,
            planned_start: (2026, 4, 1),
            moves: &[(Declared, (2026, 2, 15))],
            in_stats: None,
            plan: &[],
            promotion: None,
        },
        P {
            code: "WF-2026-02",
            name: "东城区幼儿园",
            region: "dongcheng",
            unit: "市教育局",
            yuan: 18 * M,
            planned_start: (2026, 6, 15),
            moves: &[(Funded, (2026, 5, 20))],
            in_stats: None,
            plan: &[],
            promotion: None,
        },
        P {
            code: "WF-2026-03",
            name: "易地搬迁安置点配套",
            region: "xiang",
            unit: "市乡村振兴局",
            yuan: 26 * M,
            planned_start: (2026, 3, 1),
            moves: &[(Funded, (2026, 2, 1)), (Started, (2026, 3, 5))],
            in_stats: Some((2026, 4, 2)),
            plan: &[],
            promotion: None,
        },
    ];
    let reports = vec![
        progress("WF-2026-03", 3, 2_000_000, 0),
        progress("WF-2026-03", 4, 3_500_000, 0),
        progress("WF-2026-03", 5, 4_000_000, 0),
        progress("WF-2026-03", 6, 3_000_000, 0),
    ];
    let mut values = two_years("welfare.new_urban_jobs", 4_800, 4_500, &SEASON);
    values.extend([
        peer("welfare.new_urban_jobs", "county_a", 2026, 2_300, None),
        peer("welfare.new_urban_jobs", "county_b", 2026, 1_900, None),
    ]);
    let targets = vec![target("welfare.new_urban_jobs", 5_000, "市人社局")];
    push_shared(ch, "welfare", &projects, reports, values, targets).await?;
    let task = |code: &str,
                title: &str,
                kind: v1::TaskKind,
                unit: &str,
                open: (i32, i32),
                due: (i32, i32),
                done: Option<(i32, i32)>| {
        v1::WelfareTask {
            code: code.into(),
            title: title.into(),
            region_code: "xiang".into(),
            responsible_unit: unit.into(),
            kind: kind as i32,
            campaign: if kind == v1::TaskKind::Campaign {
                "第三个百日会战"
            } else {
                "脱贫攻坚回头看"
            }
            .into(),
            open_date: date(2026, open.0, open.1),
            deadline: date(2026, due.0, due.1),
            status: if done.is_some() {
                v1::TaskStatus::Done
            } else {
                v1::TaskStatus::InProgress
            } as i32,
            done_date: done.and_then(|(m, d)| date(2026, m, d)),
            meta: None,
        }
    };
    use v1::TaskKind::{Campaign, Rectification};
    WelfareServiceClient::new(ch.clone())
        .upsert_tasks(v1::UpsertTasksRequest {
            update_mask: None,
            request_id: "demo-welfare-tasks".into(),
            validate_only: false,
            correction_reason: String::new(),
            tasks: vec![
                task(
                    "BR3-01",
                    "安置点水电路配套扫尾",
                    Campaign,
                    "市乡村振兴局",
                    (3, 10),
                    (6, 18),
                    Some((6, 12)),
                ),
                task(
                    "BR3-02",
                    "产业帮扶项目验收",
                    Campaign,
                    "市乡村振兴局",
                    (3, 10),
                    (6, 18),
                    None,
                ),
                task(
                    "BR3-03",
                    "驻村工作队轮换",
                    Campaign,
                    "市委组织部",
                    (3, 10),
                    (5, 31),
                    Some((5, 28)),
                ),
                task(
                    "BR3-04",
                    "饮水安全巩固提升",
                    Campaign,
                    "市水利局",
                    (4, 1),
                    (6, 30),
                    None,
                ),
                task(
                    "HK-01",
                    "危房改造回头看整改",
                    Rectification,
                    "市住建局",
                    (2, 20),
                    (5, 15),
                    None,
                ),
                task(
                    "HK-02",
                    "低保动态管理整改",
                    Rectification,
                    "市民政局",
                    (2, 20),
                    (4, 30),
                    Some((4, 26)),
                ),
                task(
                    "HK-03",
                    "义务教育控辍保学整改",
                    Rectification,
                    "市教育局",
                    (2, 20),
                    (6, 10),
                    None,
                ),
                task(
                    "HK-04",
                    "医保参保核查整改",
                    Rectification,
                    "市医保局",
                    (3, 1),
                    (7, 31),
                    None,
                ),
            ],
        })
        .await?;
    Ok(())
}

/// The city level: each bureau pushes its own figure (GDP and the targets
/// the statistics bureau, investment development and reform, revenue
/// finance), as the catalog's writer roles require.
async fn city(e: &Endpoints) -> anyhow::Result<()> {
    let mut gdp = two_years("city.gdp", 12_860 * M, 13_400 * M, &SEASON);
    for v in gdp.iter_mut().filter(|v| v.period.is_some_and(|p| p.year == 2026)) {
        v.official_yoy_growth_bp = Some(420);
    }
    gdp.extend([
        peer("city.gdp", "county_a", 2026, 7_020 * M, Some(610)),
        peer("city.gdp", "county_b", 2026, 5_480 * M, Some(530)),
    ]);
    let mut investment = two_years("city.fixed_asset_investment", 4_200 * M, 3_050 * M, &BUILD_SEASON);
    investment.push(peer(
        "city.fixed_asset_investment",
        "county_a",
        2026,
        1_720 * M,
        Some(820),
    ));
    let mut revenue = two_years("city.budget_revenue", 560 * M, 580 * M, &SEASON);
    revenue.extend([
        peer("city.budget_revenue", "county_a", 2026, 301 * M, None),
        peer("city.budget_revenue", "county_a", 2025, 286 * M, None),
        peer("city.budget_revenue", "county_b", 2026, 233 * M, None),
        peer("city.budget_revenue", "county_b", 2025, 219 * M, None),
    ]);
    let targets = vec![
        target("city.gdp", 13_890 * M, "市发改委"),
        target("city.fixed_asset_investment", 4_620 * M, "市发改委"),
        target("city.budget_revenue", 600 * M, "市财政局"),
    ];
    push_shared(&e.city, "city-gdp", &[], Vec::new(), gdp, targets).await?;
    push_shared(
        &e.development_reform,
        "city-investment",
        &[],
        Vec::new(),
        investment,
        Vec::new(),
    )
    .await?;
    push_shared(&e.finance, "city-revenue", &[], Vec::new(), revenue, Vec::new()).await
}
