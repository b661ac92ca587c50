//! The city-wide view end to end: a city of four sectors, peer counties and
//! two years of data is built through the public push APIs only, and every
//! number of the overview, funnel, alerts, ranking, supervision report and
//! brief is checked against values worked out by hand from DOMAIN.md.

use std::collections::BTreeMap;
use std::time::Duration;

use citydash_e2e::fixtures::{date, period, progress, project, value};
use citydash_e2e::{Running, Sectors, TestDb, request_id, spawn_aggregator, spawn_sector_at};
use citydash_proto::v1::{
    self, AlertCode, AlertColor, ProjectStage, Verdict, city_service_client::CityServiceClient,
    industry_service_client::IndustryServiceClient, sector_service_client::SectorServiceClient,
    tourism_service_client::TourismServiceClient, welfare_service_client::WelfareServiceClient,
};
use citydash_runtime::auth::{AuthedChannel as Channel, Role};
use tokio_stream::StreamExt;

const JUNE: v1::Period = v1::Period { year: 2026, month: 6 };

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn rate(r: &Option<v1::Rate>) -> Option<f64> {
    r.as_ref().and_then(|r| r.value)
}

async fn sector(svc: &Running) -> SectorServiceClient<Channel> {
    SectorServiceClient::new(svc.channel().await)
}

async fn upsert(c: &mut SectorServiceClient<Channel>, projects: Vec<v1::Project>) {
    c.upsert_projects(v1::UpsertProjectsRequest {
        update_mask: None,
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        projects,
    })
    .await
    .expect("projects");
}

async fn report(c: &mut SectorServiceClient<Channel>, reports: Vec<v1::ProgressReport>) {
    c.report_progress(v1::ReportProgressRequest {
        update_mask: None,
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        reports,
    })
    .await
    .expect("progress");
}

async fn values(c: &mut SectorServiceClient<Channel>, values: Vec<v1::IndicatorValue>) {
    c.report_indicators(v1::ReportIndicatorsRequest {
        update_mask: None,
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        values,
    })
    .await
    .expect("values");
}

async fn targets(c: &mut SectorServiceClient<Channel>, targets: Vec<(&str, i64, &str)>) {
    let targets = targets
        .into_iter()
        .map(|(code, value, unit)| v1::AnnualTarget {
            indicator_code: code.into(),
            region_code: "city".into(),
            year: 2026,
            value,
            meta: None,
            responsible_unit: unit.into(),
        })
        .collect();
    c.set_targets(v1::SetTargetsRequest {
        update_mask: None,
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        targets,
    })
    .await
    .expect("targets");
}

fn staged(
    code: &str,
    region: &str,
    yuan: i64,
    planned: (i32, i32, i32),
    events: &[(ProjectStage, (i32, i32, i32))],
) -> Vec<v1::Project> {
    // One push per dated stage move, as an agency would report them over time.
    let mut p = project(code, region, yuan);
    p.planned_start_date = date(planned.0, planned.1, planned.2);
    let mut out = vec![p.clone()];
    for (stage, (y, m, d)) in events {
        p.stage = *stage as i32;
        p.stage_date = date(*y, *m, *d);
        out.push(p.clone());
    }
    out
}

fn in_stats(p: &mut v1::Project, y: i32, m: i32, d: i32) {
    p.in_statistics_database = Some(true);
    p.statistics_date = date(y, m, d);
}

/// Pushes each version in its own request, in order.
async fn history(c: &mut SectorServiceClient<Channel>, versions: Vec<v1::Project>) {
    for v in versions {
        upsert(c, vec![v]).await;
    }
}

/// Builds the scenario city. Every figure the tests expect is derived from
/// what is pushed here; the arithmetic is in the comments of the tests.
async fn build_city(sectors: &Sectors, agg: &Running) {
    let mut ag = sector(&sectors.services[0]).await;
    // AG-1: 12M, funded 02-10, started 03-15, in statistics 04-20; plan 2026
    // 0,0,1,1,2,2,2,2,2 million (12M); completed 0.8+1.2+1.0+1.0 = 4.0M by June.
    let mut v = staged(
        "AG-1",
        "chengguan",
        12_000_000,
        (2026, 3, 1),
        &[
            (ProjectStage::Funded, (2026, 2, 10)),
            (ProjectStage::Started, (2026, 3, 15)),
        ],
    );
    for p in &mut v {
        p.plans = vec![v1::InvestmentPlan {
            year: 2026,
            monthly_plan_yuan: [0, 0, 1, 1, 2, 2, 2, 2, 2].iter().map(|m| m * 1_000_000).collect(),
        }];
    }
    let mut last = v.last().cloned().expect("versions");
    in_stats(&mut last, 2026, 4, 20);
    v.push(last);
    history(&mut ag, v).await;
    // AG-2: 8M promotion (signed 01-20, 8M contracted), started 04-10, never in statistics.
    let mut v = staged(
        "AG-2",
        "chengguan",
        8_000_000,
        (2026, 4, 1),
        &[(ProjectStage::Started, (2026, 4, 10))],
    );
    for p in &mut v {
        p.promotion = Some(v1::PromotionContract {
            signed_date: date(2026, 1, 20),
            investor: "高原青稞食品有限公司".into(),
            contracted_investment_yuan: 8_000_000,
        });
    }
    history(&mut ag, v).await;
    // AG-3: 20M promotion (signed 02-01, 20M), funded 03-01, never started, planned 05-01.
    let mut v = staged(
        "AG-3",
        "dongcheng",
        20_000_000,
        (2026, 5, 1),
        &[(ProjectStage::Funded, (2026, 3, 1))],
    );
    for p in &mut v {
        p.promotion = Some(v1::PromotionContract {
            signed_date: date(2026, 2, 1),
            investor: "中药材开发公司".into(),
            contracted_investment_yuan: 20_000_000,
        });
    }
    history(&mut ag, v).await;
    // AG-4: 3M reserve, planned 09-01 (not yet due).
    history(&mut ag, staged("AG-4", "xiang", 3_000_000, (2026, 9, 1), &[])).await;
    // AG-5: continuing, started 2025-05-01, in statistics 2025-06-01, suspended 2026-01-10.
    let mut v = staged(
        "AG-5",
        "chengguan",
        30_000_000,
        (2025, 5, 1),
        &[
            (ProjectStage::Started, (2025, 5, 1)),
            (ProjectStage::Suspended, (2026, 1, 10)),
        ],
    );
    in_stats(&mut v[1], 2025, 6, 1);
    history(&mut ag, v).await;
    // AG-6: continuing, started 2025-03-01 (in statistics 04-01), suspended
    // 2025-12-01, resumed 2026-03-01; 2M in March, 1M in July (after June).
    let mut v = staged(
        "AG-6",
        "dongcheng",
        50_000_000,
        (2025, 3, 1),
        &[
            (ProjectStage::Started, (2025, 3, 1)),
            (ProjectStage::Suspended, (2025, 12, 1)),
            (ProjectStage::Started, (2026, 3, 1)),
        ],
    );
    in_stats(&mut v[1], 2025, 4, 1);
    history(&mut ag, v).await;
    // AG-7: started 2024-05-01 (in statistics 06-01), completed 2025-10-01: not continuing.
    let mut v = staged(
        "AG-7",
        "chengguan",
        9_000_000,
        (2024, 5, 1),
        &[
            (ProjectStage::Started, (2024, 5, 1)),
            (ProjectStage::Completed, (2025, 10, 1)),
        ],
    );
    in_stats(&mut v[1], 2024, 6, 1);
    history(&mut ag, v).await;
    // AG-8: promotion signed 07-05, after June: not counted for June.
    let mut v = staged("AG-8", "xiang", 6_000_000, (2026, 8, 1), &[]);
    v[0].promotion = Some(v1::PromotionContract {
        signed_date: date(2026, 7, 5),
        investor: "藏香猪养殖合作社".into(),
        contracted_investment_yuan: 6_000_000,
    });
    history(&mut ag, v).await;
    let funds = |code: &str, m: i32, yuan: i64| {
        let mut r = progress(code, 2026, m, 0);
        r.funds_arrived_yuan = yuan;
        r
    };
    let mut ag2_april = progress("AG-2", 2026, 4, 500_000);
    ag2_april.funds_arrived_yuan = 2_000_000;
    report(
        &mut ag,
        vec![
            progress("AG-1", 2026, 3, 800_000),
            progress("AG-1", 2026, 4, 1_200_000),
            progress("AG-1", 2026, 5, 1_000_000),
            progress("AG-1", 2026, 6, 1_000_000),
            ag2_april,
            progress("AG-2", 2026, 5, 700_000),
            funds("AG-3", 3, 5_000_000),
            progress("AG-6", 2026, 3, 2_000_000),
            progress("AG-6", 2026, 7, 1_000_000),
        ],
    )
    .await;
    let mut base = v1::ProductionBase {
        code: "BASE-1".into(),
        name: "青稞基地".into(),
        region_code: "chengguan".into(),
        responsible_unit: "市农业农村局".into(),
        product: "青稞".into(),
        area_mu: 12_000,
        ..Default::default()
    };
    base.output_value_yuan = 18_000_000;
    citydash_proto::v1::agriculture_service_client::AgricultureServiceClient::new(sectors.services[0].channel().await)
        .upsert_production_bases(v1::UpsertProductionBasesRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            bases: vec![base],
        })
        .await
        .expect("base");

    // Industry: IN-1 100M, planned 01-10, started 01-15, in statistics 02-01; 3+4+5 = 12M.
    let mut ind = sector(&sectors.services[1]).await;
    let mut v = staged(
        "IN-1",
        "chengguan",
        100_000_000,
        (2026, 1, 10),
        &[(ProjectStage::Started, (2026, 1, 15))],
    );
    for p in &mut v {
        p.responsible_unit = "市工信局".into();
    }
    in_stats(&mut v[1], 2026, 2, 1);
    history(&mut ind, v).await;
    report(
        &mut ind,
        vec![
            progress("IN-1", 2026, 1, 3_000_000),
            progress("IN-1", 2026, 2, 4_000_000),
            progress("IN-1", 2026, 3, 5_000_000),
        ],
    )
    .await;
    values(
        &mut ind,
        vec![value("industry.above_scale_value_added", "city", 2026, 6, 900_000_000)],
    )
    .await;
    targets(&mut ind, vec![("industry.above_scale_value_added", 2_000_000_000, "")]).await;
    let firm = |code: &str, status: v1::ScaleStatus, reached: Option<v1::Date>| v1::IndustrialEnterprise {
        code: code.into(),
        name: format!("企业{code}"),
        region_code: "chengguan".into(),
        responsible_unit: "市工信局".into(),
        industry: "农副食品加工业".into(),
        scale_status: status as i32,
        reached_scale_date: reached,
        ..Default::default()
    };
    let mut industry = IndustryServiceClient::new(sectors.services[1].channel().await);
    industry
        .upsert_enterprises(v1::UpsertEnterprisesRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            enterprises: vec![
                firm("E-1", v1::ScaleStatus::AboveScale, date(2026, 4, 1)),
                firm("E-2", v1::ScaleStatus::AboveScale, date(2020, 1, 1)),
                firm("E-3", v1::ScaleStatus::Candidate, None),
            ],
        })
        .await
        .expect("firms");
    industry
        .report_enterprise_months(v1::ReportEnterpriseMonthsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            months: (1..=6)
                .map(|m| v1::EnterpriseMonth {
                    enterprise_code: "E-1".into(),
                    period: period(2026, m),
                    region_code: "chengguan".into(),
                    responsible_unit: "市工信局".into(),
                    main_revenue_yuan: 2_500_000,
                    output_value_yuan: 2_000_000,
                    meta: None,
                })
                .collect(),
        })
        .await
        .expect("months");

    // Tourism: visitors 1.2M against 3M (c = 40%, exactly 10 points behind: yellow), 1.0M last June.
    let mut tou = sector(&sectors.services[2]).await;
    values(
        &mut tou,
        vec![
            value("tourism.visitors", "city", 2026, 6, 1_200_000),
            value("tourism.visitors", "city", 2025, 6, 1_000_000),
        ],
    )
    .await;
    targets(&mut tou, vec![("tourism.visitors", 3_000_000, "")]).await;
    let area = |code: &str, level: v1::ScenicLevel, target: v1::ScenicLevel| v1::ScenicArea {
        code: code.into(),
        name: format!("景区{code}"),
        region_code: "dongcheng".into(),
        responsible_unit: "市文旅局".into(),
        level: level as i32,
        target_level: target as i32,
        target_year: if target == v1::ScenicLevel::Unspecified {
            0
        } else {
            2026
        },
        meta: None,
    };
    let mut tourism = TourismServiceClient::new(sectors.services[2].channel().await);
    tourism
        .upsert_scenic_areas(v1::UpsertScenicAreasRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            areas: vec![
                area("S-1", v1::ScenicLevel::A3, v1::ScenicLevel::A4),
                area("S-2", v1::ScenicLevel::A4, v1::ScenicLevel::Unspecified),
                area("S-3", v1::ScenicLevel::None, v1::ScenicLevel::Unspecified),
            ],
        })
        .await
        .expect("areas");
    let month = |m: i32, visitors: i64| v1::ScenicMonth {
        scenic_area_code: "S-1".into(),
        period: period(2026, m),
        region_code: "dongcheng".into(),
        responsible_unit: "市文旅局".into(),
        visitors,
        revenue_yuan: visitors * 150,
        meta: None,
    };
    tourism
        .report_scenic_months(v1::ReportScenicMonthsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            months: vec![month(5, 42_000), month(6, 61_000)],
        })
        .await
        .expect("months");

    // Welfare: a hospital planned 02-01, not started; four tasks.
    let mut wel = sector(&sectors.services[3]).await;
    let mut hospital = project("WF-1", "city", 60_000_000);
    hospital.name = "市医院".into();
    hospital.responsible_unit = "市卫健委".into();
    hospital.planned_start_date = date(2026, 2, 1);
    upsert(&mut wel, vec![hospital]).await;
    let task =
        |code: &str, kind: v1::TaskKind, unit: &str, open: (i32, i32), due: (i32, i32), done: Option<(i32, i32)>| {
            v1::WelfareTask {
                code: code.into(),
                title: format!("任务{code}"),
                region_code: "xiang".into(),
                responsible_unit: unit.into(),
                kind: kind as i32,
                campaign: "第三个百日会战".into(),
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
    WelfareServiceClient::new(sectors.services[3].channel().await)
        .upsert_tasks(v1::UpsertTasksRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            tasks: vec![
                task(
                    "T-1",
                    v1::TaskKind::Campaign,
                    "市乡村振兴局",
                    (4, 1),
                    (6, 10),
                    Some((6, 5)),
                ),
                task("T-2", v1::TaskKind::Campaign, "市乡村振兴局", (4, 1), (6, 20), None),
                task("T-3", v1::TaskKind::Rectification, "市民政局", (3, 1), (5, 15), None),
                task(
                    "T-4",
                    v1::TaskKind::Rectification,
                    "市民政局",
                    (3, 1),
                    (6, 30),
                    Some((6, 28)),
                ),
            ],
        })
        .await
        .expect("tasks");

    // City level, pushed to the aggregator by the bureau of each figure.
    let mut city = sector(agg).await;
    let mut gdp = value("city.gdp", "city", 2026, 6, 6_000_000_000);
    gdp.official_yoy_growth_bp = Some(520);
    let mut gdp_a = value("city.gdp", "county_a", 2026, 6, 7_000_000_000);
    gdp_a.official_yoy_growth_bp = Some(610);
    values(
        &mut city,
        vec![
            gdp,
            gdp_a,
            value("city.gdp", "city", 2025, 6, 5_600_000_000),
            value("city.gdp", "city", 2025, 12, 12_000_000_000),
        ],
    )
    .await;
    let as_bureau =
        |role| async move { SectorServiceClient::new(agg.channel_as(&citydash_e2e::bureau_token(role)).await) };
    values(
        &mut as_bureau(Role::DevelopmentReform).await,
        vec![
            value("city.fixed_asset_investment", "city", 2026, 6, 1_800_000_000),
            value("city.fixed_asset_investment", "city", 2025, 6, 2_000_000_000),
        ],
    )
    .await;
    values(
        &mut as_bureau(Role::Finance).await,
        vec![
            value("city.budget_revenue", "city", 2026, 6, 150_000_000),
            value("city.budget_revenue", "county_a", 2026, 6, 150_000_000),
            value("city.budget_revenue", "county_b", 2026, 6, 100_000_000),
            value("city.budget_revenue", "county_b", 2025, 6, 80_000_000),
        ],
    )
    .await;
    targets(
        &mut city,
        vec![
            ("city.gdp", 13_000_000_000, ""),
            ("city.fixed_asset_investment", 6_000_000_000, "市发改委"),
            ("city.budget_revenue", 1_000_000_000, "市财政局"),
        ],
    )
    .await;
}

/// Waits until the aggregator has applied every change of every feed; the June overview.
async fn synced(agg: &Running, sectors: &Sectors) -> v1::Overview {
    citydash_e2e::synced(agg, sectors, Some(JUNE)).await
}

fn indicator<'a>(list: &'a [v1::IndicatorStatus], code: &str) -> &'a v1::IndicatorStatus {
    list.iter()
        .find(|s| s.definition.as_ref().is_some_and(|d| d.code == code))
        .unwrap_or_else(|| panic!("{code} missing"))
}

fn figure(s: &v1::SectorSummary, code: &str) -> i64 {
    s.figures
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("{code}"))
        .value
}

#[tokio::test]
async fn the_city_view_matches_the_definitions() {
    let sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    build_city(&sectors, &agg).await;
    let o = synced(&agg, &sectors).await;
    let mut city = CityServiceClient::new(agg.channel().await);

    assert_eq!(o.period, Some(JUNE));
    assert_eq!(o.as_of, date(2026, 6, 30));
    assert!(close(o.time_progress, 0.5));

    // GDP: c = 6.0/13.0 = 0.461538; g = (0.461538 - 0.5) * 100 = -3.846pp: green, not ahead.
    // s = 5.6/12.0 = 0.466667; c - s = -0.5128pp. Computed yoy = (6.0 - 5.6)/5.6 = 0.0714286; official 5.2%.
    let gdp = indicator(&o.city_indicators, "city.gdp");
    assert_eq!(gdp.actual, Some(6_000_000_000));
    assert_eq!(gdp.target, Some(13_000_000_000));
    assert!(close(rate(&gdp.completion).unwrap(), 6.0 / 13.0));
    assert!(close(gdp.gap_pp.unwrap(), (6.0 / 13.0 - 0.5) * 100.0));
    assert!(close(rate(&gdp.seasonal_baseline).unwrap(), 5.6 / 12.0));
    assert!(close(gdp.seasonal_gap_pp.unwrap(), (6.0 / 13.0 - 5.6 / 12.0) * 100.0));
    assert!(close(rate(&gdp.yoy_growth).unwrap(), 0.4 / 5.6));
    assert!(close(gdp.official_yoy_growth.unwrap(), 0.052));
    assert_eq!(gdp.verdict, Verdict::Green as i32);
    assert!(!gdp.ahead);
    assert_eq!(
        gdp.responsible_unit, "市统计局",
        "no unit on the target: the city's agency"
    );
    // FAI: c = 1.8/6.0 = 0.30, g = -20pp: yellow; yoy = (1.8 - 2.0)/2.0 = -0.10; no 2025-12: s n/a.
    let fai = indicator(&o.city_indicators, "city.fixed_asset_investment");
    assert!(close(rate(&fai.completion).unwrap(), 0.3));
    assert_eq!(fai.verdict, Verdict::Yellow as i32);
    assert!(close(rate(&fai.yoy_growth).unwrap(), -0.1));
    assert_eq!(rate(&fai.seasonal_baseline), None);
    assert_eq!(fai.seasonal_gap_pp, None);
    // Budget revenue: c = 0.15/1.0, g = -35pp: red; no 2025 value: yoy not applicable (not 0, not NaN).
    let rev = indicator(&o.city_indicators, "city.budget_revenue");
    assert_eq!(rev.verdict, Verdict::Red as i32);
    assert!(close(rev.gap_pp.unwrap(), -35.0));
    assert_eq!(rate(&rev.yoy_growth), None);
    assert_eq!(rev.responsible_unit, "市财政局");

    // Investment from projects, all sectors, at 2026-06-30:
    // counted = AG-1 4.0M + AG-6 2.0M (July's 1M is after June) + IN-1 12M = 18.0M,
    //   qualifying projects in statistics: AG-1, AG-5, AG-6, AG-7, IN-1 = 5;
    // uncounted = AG-2 0.5M + 0.7M = 1.2M (1 project; AG-3 never started);
    // start rate: due AG-1, AG-2, AG-3, IN-1, WF-1 (AG-4 due in September, AG-8 in August;
    //   AG-5/6 are continuing), started AG-1, AG-2, IN-1: 3/5;
    // resumption: continuing AG-5 (suspended) and AG-6 (resumed); AG-7 completed in 2025: 1/2.
    let inv = o.investment.expect("investment");
    assert_eq!((inv.counted_yuan, inv.counted_projects), (18_000_000, 5));
    assert_eq!((inv.uncounted_yuan, inv.uncounted_projects), (1_200_000, 1));
    assert_eq!(inv.start_rate.map(|r| (r.numerator, r.denominator)), Some((3, 5)));
    assert!(close(rate(&inv.start_rate).unwrap(), 0.6));
    assert!(close(rate(&inv.resumption_rate).unwrap(), 0.5));
    // Promotion: signed by June AG-2, AG-3 (AG-8 in July): 2; started AG-2: 1/2;
    // fulfilled (started with funds) AG-2: 1/2; funds 2M + 5M = 7M of 8M + 20M: 0.25.
    let pro = o.promotion.expect("promotion");
    assert_eq!(pro.signed, 2);
    assert!(close(rate(&pro.start_rate).unwrap(), 0.5));
    assert!(close(rate(&pro.fulfilment_rate).unwrap(), 0.5));
    assert!(close(rate(&pro.funds_arrival_rate).unwrap(), 0.25));
    assert_eq!((pro.funds_arrived_yuan, pro.contracted_yuan), (7_000_000, 28_000_000));

    // Sector panels.
    let by_sector: BTreeMap<i32, &v1::SectorSummary> = o.sectors.iter().map(|s| (s.sector, s)).collect();
    let agri = by_sector[&(v1::Sector::Agriculture as i32)];
    let agri_inv = agri.investment.expect("agri");
    assert_eq!((agri_inv.counted_yuan, agri_inv.uncounted_yuan), (6_000_000, 1_200_000));
    assert!(close(rate(&agri_inv.start_rate).unwrap(), 2.0 / 3.0));
    assert_eq!((agri.red_alerts, agri.yellow_alerts), (2, 2));
    assert_eq!(agri.projects, 8);
    assert_eq!(figure(agri, "agri.base_area"), 12_000);
    let ind = by_sector[&(v1::Sector::Industry as i32)];
    // No continuing industrial project: the resumption rate is not applicable.
    assert_eq!(rate(&ind.investment.expect("ind").resumption_rate), None);
    assert_eq!(
        ind.investment.expect("ind").resumption_rate.map(|r| r.denominator),
        Some(0)
    );
    // Above scale E-1 (reached 04-01, new this year) and E-2; candidate E-3; E-1 revenue 6 x 2.5M.
    assert_eq!(figure(ind, "industry.above_scale"), 2);
    assert_eq!(figure(ind, "industry.new_above_scale"), 1);
    assert_eq!(figure(ind, "industry.candidates"), 1);
    assert_eq!(figure(ind, "industry.register_revenue"), 15_000_000);
    // Value added 0.9/2.0 = 45%, g = -5pp: green.
    assert_eq!(
        indicator(&ind.indicators, "industry.above_scale_value_added").verdict,
        Verdict::Green as i32
    );
    let tou = by_sector[&(v1::Sector::Tourism as i32)];
    // Visitors 1.2M/3.0M = 40%, exactly -10pp: yellow (the band includes its edge).
    let visitors = indicator(&tou.indicators, "tourism.visitors");
    assert_eq!(visitors.verdict, Verdict::Yellow as i32);
    assert!(close(rate(&visitors.yoy_growth).unwrap(), 0.2));
    assert_eq!(
        rate(&tou.investment.expect("tou").start_rate),
        None,
        "no projects: not applicable"
    );
    assert_eq!(figure(tou, "tourism.a_level"), 2);
    assert_eq!(figure(tou, "tourism.a4_plus"), 1);
    assert_eq!(figure(tou, "tourism.creating"), 1);
    assert_eq!(figure(tou, "tourism.area_visitors"), 103_000);
    assert_eq!(figure(tou, "tourism.area_revenue"), 15_450_000);
    let wel = by_sector[&(v1::Sector::Welfare as i32)];
    assert_eq!(
        (figure(wel, "welfare.campaign"), figure(wel, "welfare.campaign_done")),
        (2, 1)
    );
    assert_eq!(
        (
            figure(wel, "welfare.rectification"),
            figure(wel, "welfare.rectification_closed")
        ),
        (2, 1)
    );
    assert_eq!((wel.red_alerts, wel.yellow_alerts), (2, 1));

    // Alerts at 2026-06-30: red AG-2 (started 04-10, not in statistics 2 months later),
    // AG-3 (funded 03-01, 121 days), T-3 (due 05-15, 46 days late), WF-1 (planned 02-01,
    // more than 3 months), budget revenue; yellow AG-1 (4.0M done of 6.0M due, 12M a
    // year: -16.7pp), AG-3 (planned 05-01), T-2 (due 06-20), visitors, FAI.
    assert_eq!((o.red_alerts, o.yellow_alerts), (5, 5));
    let alerts = city
        .list_alerts(v1::ListAlertsRequest {
            period: Some(JUNE),
            ..Default::default()
        })
        .await
        .expect("alerts")
        .into_inner()
        .alerts;
    let mut seen: Vec<(i32, i32, String)> = alerts
        .iter()
        .map(|a| (a.code, a.color, a.subject_code.clone()))
        .collect();
    seen.sort();
    let red = AlertColor::Red as i32;
    let yellow = AlertColor::Yellow as i32;
    let mut want = vec![
        (AlertCode::FundedNotStarted as i32, red, "AG-3".to_owned()),
        (AlertCode::NotStartedOnTime as i32, yellow, "AG-3".to_owned()),
        (AlertCode::NotStartedOnTime as i32, red, "WF-1".to_owned()),
        (AlertCode::StartedNotInStats as i32, red, "AG-2".to_owned()),
        (AlertCode::BehindSchedule as i32, yellow, "AG-1".to_owned()),
        (
            AlertCode::IndicatorBehind as i32,
            yellow,
            "city.fixed_asset_investment".to_owned(),
        ),
        (AlertCode::IndicatorBehind as i32, red, "city.budget_revenue".to_owned()),
        (AlertCode::IndicatorBehind as i32, yellow, "tourism.visitors".to_owned()),
        (AlertCode::TaskOverdue as i32, yellow, "T-2".to_owned()),
        (AlertCode::TaskOverdue as i32, red, "T-3".to_owned()),
    ];
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(alerts[0].color, red, "red first");
    let behind = alerts.iter().find(|a| a.subject_code == "AG-1").expect("AG-1");
    assert_eq!(behind.responsible_unit, "市农业农村局");
    assert!(behind.detail_zh.contains("落后16.7个百分点"), "{}", behind.detail_zh);

    // Dates (DOMAIN.md, Settled points): since = the first day the rule holds at
    // any colour, red_since = the day it turned red. AG-3 funded 03-01: yellow
    // from 03-31, red from 05-30; AG-2 started 04-10: 05-10 and 06-10; WF-1
    // planned 02-01: passed on 02-02, red 05-01; T-3 due 05-15: 05-16 and
    // 06-14; AG-1 behind its plan only in June: since 06-30, yellow.
    let dates = |code: AlertCode, subject: &str| {
        let a = alerts
            .iter()
            .find(|a| a.code == code as i32 && a.subject_code == subject)
            .unwrap_or_else(|| panic!("{subject}"));
        (a.since, a.red_since)
    };
    assert_eq!(
        dates(AlertCode::FundedNotStarted, "AG-3"),
        (date(2026, 3, 31), date(2026, 5, 30))
    );
    assert_eq!(
        dates(AlertCode::StartedNotInStats, "AG-2"),
        (date(2026, 5, 10), date(2026, 6, 10))
    );
    assert_eq!(
        dates(AlertCode::NotStartedOnTime, "WF-1"),
        (date(2026, 2, 2), date(2026, 5, 1))
    );
    assert_eq!(
        dates(AlertCode::TaskOverdue, "T-3"),
        (date(2026, 5, 16), date(2026, 6, 14))
    );
    assert_eq!(dates(AlertCode::BehindSchedule, "AG-1"), (date(2026, 6, 30), None));
    let filtered = city
        .list_alerts(v1::ListAlertsRequest {
            period: Some(JUNE),
            sector: v1::Sector::Welfare as i32,
            color: red,
            ..Default::default()
        })
        .await
        .expect("filtered")
        .into_inner()
        .alerts;
    assert_eq!(
        filtered.iter().map(|a| a.subject_code.as_str()).collect::<Vec<_>>(),
        ["WF-1", "T-3"]
    );

    // Funnel, agriculture at 06-30. Chengguan: AG-1, AG-2 started, AG-5 suspended
    // (counts as started), AG-7 completed; in statistics AG-1, AG-5, AG-7.
    let rows = city
        .get_funnel(v1::GetFunnelRequest {
            period: Some(JUNE),
            sector: v1::Sector::Agriculture as i32,
            region_code: String::new(),
        })
        .await
        .expect("funnel")
        .into_inner()
        .rows;
    let row = |region: &str| rows.iter().find(|r| r.region_code == region).expect(region);
    let cg = row("chengguan");
    let s = |st: ProjectStage| st as i32;
    assert_eq!(
        (
            cg.in_stage[&s(ProjectStage::Started)],
            cg.in_stage[&s(ProjectStage::Suspended)],
            cg.in_stage[&s(ProjectStage::Completed)]
        ),
        (2, 1, 1)
    );
    assert_eq!(
        [
            ProjectStage::Reserve,
            ProjectStage::Declared,
            ProjectStage::Funded,
            ProjectStage::Started,
            ProjectStage::Completed,
            ProjectStage::InProduction
        ]
        .map(|st| cg.reached[&s(st)]),
        [4, 4, 4, 4, 1, 0]
    );
    assert_eq!((cg.in_statistics_database, cg.total), (3, 4));
    let dc = row("dongcheng");
    assert_eq!(
        (
            dc.in_stage[&s(ProjectStage::Funded)],
            dc.in_stage[&s(ProjectStage::Started)]
        ),
        (1, 1)
    );
    assert_eq!(
        (
            dc.reached[&s(ProjectStage::Funded)],
            dc.reached[&s(ProjectStage::Started)]
        ),
        (2, 1)
    );
    assert_eq!(row("xiang").in_stage[&s(ProjectStage::Reserve)], 2);

    // Ranking: GDP city 6.0bn (2nd) vs county A 7.0bn (1st), county B not yet published;
    // growth official 5.2% vs 6.1%: 2nd. Budget revenue 150M, 150M (shared 1st), 100M (3rd);
    // growth: only county B has one ((100-80)/80 = 25%): 1st, the others unranked.
    let rankings = city
        .get_region_ranking(v1::GetRegionRankingRequest {
            period: Some(JUNE),
            indicator_code: String::new(),
        })
        .await
        .expect("ranking")
        .into_inner()
        .rankings;
    let ranking = |code: &str| {
        rankings
            .iter()
            .find(|r| r.definition.as_ref().is_some_and(|d| d.code == code))
            .unwrap_or_else(|| panic!("{code}"))
    };
    let place = |r: &v1::IndicatorRanking, region: &str| {
        r.places
            .iter()
            .find(|p| p.region_code == region)
            .cloned()
            .expect(region)
    };
    let g = ranking("city.gdp");
    assert_eq!((place(g, "city").amount_rank, place(g, "city").growth_rank), (2, 2));
    assert_eq!(place(g, "county_a").amount_rank, 1);
    assert!(!place(g, "county_b").published && place(g, "county_b").amount_rank == 0);
    let b = ranking("city.budget_revenue");
    assert_eq!(
        [
            place(b, "city").amount_rank,
            place(b, "county_a").amount_rank,
            place(b, "county_b").amount_rank
        ],
        [1, 1, 3]
    );
    assert_eq!(
        [
            place(b, "city").growth_rank,
            place(b, "county_a").growth_rank,
            place(b, "county_b").growth_rank
        ],
        [0, 0, 0],
        "only county B has a growth figure: no growth ranking (DOMAIN.md, Settled points)"
    );
    assert!(close(place(b, "county_b").yoy_growth.unwrap(), 0.25));
    assert!(
        rankings
            .iter()
            .all(|r| r.definition.as_ref().is_some_and(|d| d.code.starts_with("city."))),
        "one region only: not ranked"
    );

    // Supervision: 06-15 (May indicators have no values; AG-1 was 3.0M of 4.0M due: -8.3pp,
    // green) has AG-2 red, AG-3 red and yellow, T-3 red (31 days late), WF-1 red.
    // 06-30 adds AG-1, T-2, visitors, FAI, budget revenue: five new, none cleared.
    let first = city
        .get_supervision_report(v1::GetSupervisionReportRequest {
            date: date(2026, 6, 15),
        })
        .await
        .expect("06-15")
        .into_inner()
        .report
        .expect("report");
    assert_eq!(first.alerts.len(), 5);
    let second = city
        .get_supervision_report(v1::GetSupervisionReportRequest {
            date: date(2026, 6, 30),
        })
        .await
        .expect("06-30")
        .into_inner()
        .report
        .expect("report");
    assert_eq!(second.previous_date, date(2026, 6, 15));
    let unit = |name: &str| {
        second
            .units
            .iter()
            .find(|u| u.responsible_unit == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}"))
    };
    let agri_unit = unit("市农业农村局");
    assert_eq!(
        (
            agri_unit.open,
            agri_unit.red,
            agri_unit.new_since_last,
            agri_unit.cleared_since_last,
            agri_unit.rank
        ),
        (4, 2, 1, 0, 1)
    );
    assert_eq!(second.units[0].responsible_unit, "市农业农村局");
    assert_eq!(
        (
            unit("市财政局").open,
            unit("市财政局").new_since_last,
            unit("市财政局").rank
        ),
        (1, 1, 2)
    );
    assert_eq!((unit("市民政局").red, unit("市民政局").new_since_last), (1, 0));
    assert_eq!(second.units.iter().map(|u| u.new_since_last).sum::<i32>(), 5);
    assert_eq!(second.units.iter().map(|u| u.cleared_since_last).sum::<i32>(), 0);
    let dates = city
        .list_supervision_reports(v1::ListSupervisionReportsRequest {})
        .await
        .expect("dates")
        .into_inner()
        .dates;
    // Reads never write (issue 22, item 9): the days asked for were computed
    // for the answer, not stored; only the schedule stores (on a report day
    // it may have taken today's while the test ran).
    assert_eq!((first.taken_time, second.taken_time), (None, None));
    let today = citydash_sector::domain::from_date(citydash_sector::domain::city_today());
    assert!(dates.iter().all(|d| *d == today), "{dates:?}");
    let err = city
        .get_supervision_report(v1::GetSupervisionReportRequest {
            date: date(2026, 6, 20),
        })
        .await
        .expect_err("not a report day");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);

    // The brief, in the speech's shape.
    let zh = city
        .get_brief(v1::GetBriefRequest {
            period: Some(JUNE),
            language: String::new(),
        })
        .await
        .expect("brief")
        .into_inner()
        .text;
    for fragment in [
        "一、1—6月份，地区生产总值完成60.00亿元，同比增长5.2%，完成了全年目标任务的46.2%，低于时序进度3.8个百分点（绿色）",
        "500万元以上固定资产投资完成18.00亿元，同比下降10.0%，完成了全年目标任务的30.0%，低于时序进度20.0个百分点（黄色）",
        "地方一般公共预算收入完成1.50亿元，上年同期数据缺失，完成了全年目标任务的15.0%，低于时序进度35.0个百分点（红色）",
        "已入库项目完成投资1800.00万元（5个），已开工未入库项目完成投资120.00万元（1个，应统未统）；项目开工率60.0%，复工率50.0%",
        "签约项目2个，开工率50.0%，合同履约率50.0%，资金到位率25.0%，实际到位资金700.00万元",
        "农业红色预警2项，责任单位：市农业农村局",
        "工业无红色预警",
        "全市红色预警1项，责任单位：市财政局",
        "地区生产总值总量在2个地区中居第2位，增速在2个地区中居第2位（乙县未公布）",
    ] {
        assert!(zh.contains(fragment), "brief lacks {fragment:?}:\n{zh}");
    }
    assert!(!zh.contains('X'), "no placeholder left:\n{zh}");
    let en = city
        .get_brief(v1::GetBriefRequest {
            period: Some(JUNE),
            language: "en".into(),
        })
        .await
        .expect("brief en")
        .into_inner()
        .text;
    assert!(
        en.contains("Regional GDP reached 6000.00 million yuan, 5.2% year on year, 46.2% of the annual target"),
        "{en}"
    );
    // A period with no data says so instead of inventing numbers.
    let empty = city
        .get_brief(v1::GetBriefRequest {
            period: period(2024, 3),
            language: String::new(),
        })
        .await
        .expect("empty brief")
        .into_inner()
        .text;
    assert!(empty.contains("地区生产总值数据缺失"), "{empty}");
    agg.stop().await;
}

#[tokio::test]
async fn a_pushed_progress_report_reaches_a_watch_overview_stream() {
    let sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    let mut ag = sector(&sectors.services[0]).await;
    let mut p = project("AG-W", "city", 10_000_000);
    p.stage = ProjectStage::Started as i32;
    p.stage_date = date(2026, 6, 1);
    in_stats(&mut p, 2026, 6, 2);
    upsert(&mut ag, vec![p]).await;
    report(&mut ag, vec![progress("AG-W", 2026, 6, 1_000_000)]).await;
    synced(&agg, &sectors).await;

    let mut stream = CityServiceClient::new(agg.channel().await)
        .watch_overview(v1::WatchOverviewRequest { period: None })
        .await
        .expect("watch")
        .into_inner();
    let first = stream.next().await.expect("first").expect("ok").overview.expect("set");
    assert_eq!(first.investment.expect("inv").counted_yuan, 1_000_000);
    // A revision of June's report reaches the screen without polling.
    report(&mut ag, vec![progress("AG-W", 2026, 6, 2_500_000)]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("an update within 10 s")
            .expect("open")
            .expect("ok")
            .overview
            .expect("set");
        if next.investment.expect("inv").counted_yuan == 2_500_000 {
            break;
        }
    }
    drop(stream);
    agg.stop().await;
}

#[tokio::test]
async fn an_overview_of_another_period_is_computed_and_a_bad_period_is_refused() {
    let sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    let mut ag = sector(&sectors.services[0]).await;
    let mut p = project("AG-P", "city", 10_000_000);
    p.stage = ProjectStage::Started as i32;
    p.stage_date = date(2026, 5, 1);
    in_stats(&mut p, 2026, 5, 2);
    upsert(&mut ag, vec![p]).await;
    report(
        &mut ag,
        vec![
            progress("AG-P", 2026, 5, 1_000_000),
            progress("AG-P", 2026, 6, 3_000_000),
        ],
    )
    .await;
    synced(&agg, &sectors).await;
    let mut city = CityServiceClient::new(agg.channel().await);
    let may = Some(v1::Period { year: 2026, month: 5 });

    // The current period (June) and May, by GetOverview and by the stream.
    let current = city
        .get_overview(v1::GetOverviewRequest { period: None })
        .await
        .expect("current")
        .into_inner()
        .overview
        .expect("set");
    assert_eq!(current.period, Some(JUNE));
    assert_eq!(current.investment.expect("inv").counted_yuan, 4_000_000);
    let got = city
        .get_overview(v1::GetOverviewRequest { period: may })
        .await
        .expect("may")
        .into_inner()
        .overview
        .expect("set");
    assert_eq!(got.period, may);
    assert_eq!(got.investment.expect("inv").counted_yuan, 1_000_000);
    let mut stream = city
        .watch_overview(v1::WatchOverviewRequest { period: may })
        .await
        .expect("watch may")
        .into_inner();
    let first = stream.next().await.expect("first").expect("ok").overview.expect("set");
    assert_eq!(content(first), content(got));

    // A month that does not exist is refused, naming the field, both ways.
    let bad = Some(v1::Period { year: 2026, month: 13 });
    let err = city
        .get_overview(v1::GetOverviewRequest { period: bad })
        .await
        .expect_err("month 13");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(citydash_e2e::violated_fields(&err), ["period"]);
    let err = city
        .watch_overview(v1::WatchOverviewRequest { period: bad })
        .await
        .expect_err("month 13");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(citydash_e2e::violated_fields(&err), ["period"]);
    drop(stream);
    agg.stop().await;
}

/// The overview without the feeds' connection state, which legitimately
/// differs between two aggregators.
fn content(mut o: v1::Overview) -> v1::Overview {
    for s in &mut o.sectors {
        s.feed = None;
    }
    o.stale_feeds.clear();
    o
}

async fn overview(agg: &Running) -> v1::Overview {
    CityServiceClient::new(agg.channel().await)
        .get_overview(v1::GetOverviewRequest { period: Some(JUNE) })
        .await
        .expect("overview")
        .into_inner()
        .overview
        .expect("set")
}

#[tokio::test]
async fn killing_a_sector_and_restarting_the_aggregator_leaves_the_view_identical_to_a_rebuild() {
    let mut sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    build_city(&sectors, &agg).await;
    synced(&agg, &sectors).await;

    // Kill agriculture: the view says which sector is stale and since when,
    // while the other sectors stay current.
    let addr = sectors.services[0].addr;
    sectors.services.remove(0).kill();
    let mut city = CityServiceClient::new(agg.channel().await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let stale = loop {
        let o = overview(&agg).await;
        if let Some(f) = o
            .stale_feeds
            .iter()
            .find(|f| f.sector == v1::Sector::Agriculture as i32)
        {
            break f.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "agriculture never marked stale");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!stale.connected && stale.stale_since.is_some() && stale.last_change_time.is_some());
    let mut ind = sector(&sectors.services[0]).await;
    report(&mut ind, vec![progress("IN-1", 2026, 4, 6_000_000)]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let o = overview(&agg).await;
        let industry = o
            .sectors
            .iter()
            .find(|s| s.sector == v1::Sector::Industry as i32)
            .expect("industry");
        if industry.investment.expect("inv").counted_yuan == 18_000_000 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "industry not current while agriculture is down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = &mut city;

    // Agriculture returns on its port with its data, and takes a push.
    let back = spawn_sector_at::<citydash_agriculture::Agriculture>(sectors.db(0), addr).await;
    sectors.services.insert(0, back);
    let mut ag = sector(&sectors.services[0]).await;
    report(&mut ag, vec![progress("AG-1", 2026, 6, 1_500_000)]).await;
    let live = synced(&agg, &sectors).await;

    // Restart the aggregator on its database; then build a fresh one from all feeds.
    agg.stop().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    let restarted = synced(&agg, &sectors).await;
    let fresh_db = TestDb::new().await;
    let fresh = spawn_aggregator(&fresh_db, &sectors).await;
    // The fresh aggregator has no city data of its own: give it the same city pushes.
    let city_changes = copy_city_level(&agg, &fresh).await;
    assert!(city_changes > 0);
    let rebuilt = synced(&fresh, &sectors).await;
    assert_eq!(content(restarted.clone()), content(live));
    assert_eq!(content(restarted), content(rebuilt));
    fresh.stop().await;
    agg.stop().await;
}

/// Replays the city-level records of one aggregator into another, version by
/// version, through the public API; returns how many were copied.
async fn copy_city_level(from: &Running, to: &Running) -> usize {
    let mut source = sector(from).await;
    let mut stream = source
        .watch_changes(v1::WatchChangesRequest {
            after_sequence: 0,
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    // An operator's copy: the admin may write every city figure.
    let admin = citydash_e2e::token("市政府办公室", Role::Admin, &[], &[]);
    let mut dest = SectorServiceClient::new(to.channel_as(&admin).await);
    let mut n = 0;
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(300), stream.next()).await {
        let change = item.expect("change").change.expect("set");
        match change.record.and_then(|r| r.record) {
            Some(v1::record::Record::IndicatorValue(v)) => values(&mut dest, vec![v]).await,
            Some(v1::record::Record::Target(t)) => {
                dest.set_targets(v1::SetTargetsRequest {
                    update_mask: None,
                    request_id: request_id(),
                    validate_only: false,
                    correction_reason: String::new(),
                    targets: vec![t],
                })
                .await
                .expect("target");
            }
            other => panic!("unexpected city record {other:?}"),
        }
        n += 1;
    }
    n
}
