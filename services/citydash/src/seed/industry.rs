//! The demo city's industry (the enterprise register and its monthly figures).

use citydash_proto::v1::{self, ProjectStage, industry_service_client::IndustryServiceClient};
use citydash_runtime::auth::AuthedChannel as Channel;

use super::common::*;

pub(super) async fn seed(ch: &Channel) -> anyhow::Result<()> {
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
    values.extend(two_years("industry.above_scale_output", 5_600 * M, 5_450 * M, &SEASON));
    values.extend(two_years("industry.main_revenue", 5_300 * M, 5_150 * M, &SEASON));
    values.extend(two_years("industry.new_above_scale", 6, 4, &SEASON));
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
