//! The demo city's agriculture (specialty bases, projects, the monthly figures).

use citydash_proto::v1::{self, ProjectStage, agriculture_service_client::AgricultureServiceClient};
use citydash_runtime::auth::AuthedChannel as Channel;

use super::common::*;

pub(super) async fn seed(ch: &Channel) -> anyhow::Result<()> {
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
    values.extend(two_years("agri.value_added", 1_690 * M, 1_780 * M, &SEASON));
    values.extend(two_years("agri.rural_income", 16_800, 17_900, &SEASON));
    values.extend([
        peer("agri.livestock_head", "city", 2026, 8_600, None),
        peer("agri.livestock_head", "city", 2025, 8_200, None),
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
