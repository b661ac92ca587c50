//! The demo city's tourism (scenic areas under creation).

use citydash_proto::v1::{self, ProjectStage, tourism_service_client::TourismServiceClient};
use citydash_runtime::auth::AuthedChannel as Channel;

use super::common::*;

pub(super) async fn seed(ch: &Channel) -> anyhow::Result<()> {
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
    // Overnight visitors are not yet reported for June: the reporting panel's overdue agency.
    let mut overnight = two_years("tourism.overnight_visitors", 1_100_000, 960_000, &SEASON);
    overnight.pop();
    values.extend(overnight);
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
