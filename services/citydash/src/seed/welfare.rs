//! The demo city's social welfare (campaign tasks and rectification items).

use citydash_proto::v1::{self, ProjectStage, welfare_service_client::WelfareServiceClient};
use citydash_runtime::auth::AuthedChannel as Channel;

use super::common::*;

pub(super) async fn seed(ch: &Channel) -> anyhow::Result<()> {
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
    values.extend(two_years("welfare.campaign_tasks_done", 120, 100, &SEASON));
    // Rectifications closed are not yet reported for June: an overdue agency too.
    let mut closed = two_years("welfare.rectification_closed", 80, 60, &SEASON);
    closed.pop();
    values.extend(closed);
    values.extend([
        peer("welfare.pension_insured", "city", 2026, 312_000, None),
        peer("welfare.pension_insured", "city", 2025, 305_000, None),
        peer("welfare.monitored_households", "city", 2026, 1_260, None),
        peer("welfare.monitored_households", "city", 2025, 1_310, None),
    ]);
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
