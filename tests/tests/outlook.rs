//! The year-end outlook through the public API (issue 17): DOMAIN.md's worked
//! example pushed as the city's GDP, fixed-asset investment with the
//! projects' plan coverage, the brief's sentence, and a June outlook that
//! July's data does not change.

use citydash_e2e::fixtures::{date, period, project, started, value};
use citydash_e2e::{Sectors, TestDb, bureau_token, request_id, spawn_aggregator, synced};
use citydash_proto::v1::{self, city_service_client::CityServiceClient, sector_service_client::SectorServiceClient};
use citydash_runtime::auth::{AuthedChannel, Role};

const M: i64 = 1_000_000;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

async fn push(c: &mut SectorServiceClient<AuthedChannel>, values: Vec<v1::IndicatorValue>) {
    c.report_indicators(v1::ReportIndicatorsRequest {
        request_id: request_id(),
        values,
        ..Default::default()
    })
    .await
    .expect("values");
}

async fn target(c: &mut SectorServiceClient<AuthedChannel>, code: &str, value: i64) {
    c.set_targets(v1::SetTargetsRequest {
        request_id: request_id(),
        targets: vec![v1::AnnualTarget {
            indicator_code: code.into(),
            region_code: "city".into(),
            year: 2026,
            value,
            ..Default::default()
        }],
        ..Default::default()
    })
    .await
    .expect("target");
}

async fn outlook_of(city: &mut CityServiceClient<AuthedChannel>, code: &str) -> v1::Outlook {
    let reply = city
        .get_outlook(v1::GetOutlookRequest {
            period: period(2026, 6),
        })
        .await
        .expect("outlook")
        .into_inner();
    reply
        .indicators
        .into_iter()
        .find(|s| s.definition.as_ref().is_some_and(|d| d.code == code))
        .and_then(|s| s.outlook)
        .unwrap_or_else(|| panic!("{code} has no outlook"))
}

#[tokio::test]
async fn the_outlook_matches_the_worked_example_and_june_stays_june() {
    let sectors = Sectors::start().await;
    let db = TestDb::new().await;
    let agg = spawn_aggregator(&db, &sectors).await;
    let mut statistics = SectorServiceClient::new(agg.channel_as(&bureau_token(Role::Statistics)).await);
    let mut reform = SectorServiceClient::new(agg.channel_as(&bureau_token(Role::DevelopmentReform)).await);
    // DOMAIN.md's example as GDP: T = 1,000M, A(1..6) = 400M, P_6 = 380M, P_12 = 900M.
    push(
        &mut statistics,
        vec![
            value("city.gdp", "city", 2025, 6, 380 * M),
            value("city.gdp", "city", 2025, 12, 900 * M),
            value("city.gdp", "city", 2026, 6, 400 * M),
        ],
    )
    .await;
    target(&mut statistics, "city.gdp", 1_000 * M).await;
    // Fixed-asset investment: T = 500M, A = 200M, so R = 300M; P_6 = 190M, P_12 = 450M.
    push(
        &mut reform,
        vec![
            value("city.fixed_asset_investment", "city", 2025, 6, 190 * M),
            value("city.fixed_asset_investment", "city", 2025, 12, 450 * M),
            value("city.fixed_asset_investment", "city", 2026, 6, 200 * M),
        ],
    )
    .await;
    target(&mut reform, "city.fixed_asset_investment", 500 * M).await;
    // One project in the statistics database plans 1M a month in 2026: 6M for July to December.
    let mut p = started(project("AG-P", "dongcheng", 20 * M));
    p.in_statistics_database = Some(true);
    p.statistics_date = date(2026, 2, 1);
    p.plans = vec![v1::InvestmentPlan {
        year: 2026,
        monthly_plan_yuan: vec![M; 12],
    }];
    SectorServiceClient::new(sectors.services[0].channel().await)
        .upsert_projects(v1::UpsertProjectsRequest {
            request_id: request_id(),
            projects: vec![p],
            ..Default::default()
        })
        .await
        .expect("project");
    let overview = synced(&agg, &sectors, period(2026, 6)).await;
    let mut city = CityServiceClient::new(agg.channel().await);

    // R = 600M, r = 100M, g_req = 600/520 − 1 = 15.38%, g_ytd = 400/380 − 1 = 5.26%: at risk;
    // E_s = 400M × 900/380 = 947,368,421; E_l = 800M.
    let gdp = outlook_of(&mut city, "city.gdp").await;
    assert_eq!(
        (gdp.remaining, gdp.met, gdp.required_monthly),
        (600 * M, false, Some(100 * M))
    );
    assert!(close(gdp.required_growth.expect("g_req"), 600.0 / 520.0 - 1.0));
    assert!(close(gdp.growth_so_far.expect("g_ytd"), 400.0 / 380.0 - 1.0));
    assert_eq!(gdp.verdict, v1::OutlookVerdict::AtRisk as i32);
    assert_eq!((gdp.seasonal_landing, gdp.linear_landing), (Some(947_368_421), 800 * M));
    assert_eq!(gdp.planned_remaining, None, "plan coverage is fixed-asset investment's");
    let on_overview = overview
        .city_indicators
        .iter()
        .find(|s| s.definition.as_ref().is_some_and(|d| d.code == "city.gdp"))
        .and_then(|s| s.outlook)
        .expect("on the overview");
    assert_eq!(on_overview, gdp);

    // FAI: R = 300M, r = 50M; g_req = 300/260 − 1 = 15.38%, g_ytd = 200/190 − 1 = 5.26%: at risk;
    // planned 6M of 300M: coverage 2%.
    let fai = outlook_of(&mut city, "city.fixed_asset_investment").await;
    assert_eq!((fai.remaining, fai.required_monthly), (300 * M, Some(50 * M)));
    assert_eq!(fai.planned_remaining, Some(6 * M));
    assert!(close(fai.plan_coverage.and_then(|r| r.value).expect("coverage"), 0.02));

    let brief = city
        .get_brief(v1::GetBriefRequest {
            period: period(2026, 6),
            language: String::new(),
        })
        .await
        .expect("brief")
        .into_inner()
        .text;
    assert!(
        brief.contains("下半年需完成6.00亿元，月均1.00亿元，需比上年同期增长15.4%（上半年增长5.3%）；按上年进度推算全年预计完成9.47亿元，为目标的94.7%。"),
        "{brief}"
    );

    // The trend chart's four series: June's actual, last year's curve, the
    // time-progress line to the target (500M at June), the projected path
    // from 400M at June to the 947,368,421 landing.
    let trend = city
        .get_trend(v1::GetTrendRequest {
            indicator_code: "city.gdp".into(),
            region_code: String::new(),
            period: period(2026, 6),
        })
        .await
        .expect("trend")
        .into_inner();
    let points = |ps: &[v1::TrendPoint]| ps.iter().map(|p| (p.month, p.value)).collect::<Vec<_>>();
    assert_eq!(points(&trend.actual)[5], (6, Some(400 * M)));
    assert_eq!(trend.actual.len(), 6);
    assert_eq!(points(&trend.last_year)[11], (12, Some(900 * M)));
    assert_eq!(points(&trend.time_progress)[5], (6, Some(500 * M)));
    let projected = points(&trend.projected);
    assert_eq!(
        (projected.len(), projected[0], projected[6]),
        (7, (6, Some(400 * M)), (12, Some(947_368_421)))
    );
    let err = city
        .get_trend(v1::GetTrendRequest {
            indicator_code: "city.nothing".into(),
            region_code: String::new(),
            period: period(2026, 6),
        })
        .await
        .expect_err("unknown indicator");
    assert_eq!(citydash_e2e::violated_fields(&err), ["indicator_code"]);

    // July's figure arrives: June's outlook is June's.
    push(&mut statistics, vec![value("city.gdp", "city", 2026, 7, 480 * M)]).await;
    synced(&agg, &sectors, period(2026, 6)).await;
    assert_eq!(outlook_of(&mut city, "city.gdp").await, gdp);
    agg.stop().await;
}

fn documents(present: &[&str]) -> Vec<v1::ReadinessItem> {
    ["approval", "construction_contract", "site_photos", "business_licence"]
        .iter()
        .map(|code| v1::ReadinessItem {
            code: (*code).into(),
            present: present.contains(code),
        })
        .collect()
}

/// Readiness and the what-if (issue 17; DOMAIN.md, "Entering the statistics
/// database"), worked out by hand below.
#[tokio::test]
async fn the_what_if_adds_the_ready_projects_then_all_and_names_what_is_missing() {
    let sectors = Sectors::start().await;
    let db = TestDb::new().await;
    let agg = spawn_aggregator(&db, &sectors).await;
    let mut reform = SectorServiceClient::new(agg.channel_as(&bureau_token(Role::DevelopmentReform)).await);
    target(&mut reform, "city.fixed_asset_investment", 500 * M).await;
    let mut agri = SectorServiceClient::new(sectors.services[0].channel().await);

    // The checklist is the catalog's; an unknown document or kind is refused naming it.
    let catalog = agri
        .get_catalog(v1::GetCatalogRequest {})
        .await
        .expect("catalog")
        .into_inner();
    let default = &catalog.readiness_checklists[0];
    assert_eq!((default.project_kind.as_str(), default.documents.len()), ("", 4));
    let mut bad = started(project("AG-X", "dongcheng", 20 * M));
    bad.readiness = vec![v1::ReadinessItem {
        code: "land_permit".into(),
        present: true,
    }];
    bad.kind = "水利".into();
    let err = agri
        .upsert_projects(v1::UpsertProjectsRequest {
            request_id: request_id(),
            projects: vec![bad],
            ..Default::default()
        })
        .await
        .expect_err("unknown kind and document");
    assert_eq!(citydash_e2e::violated_fields(&err), ["projects[0].kind"]);

    let mut counted = started(project("AG-IN", "dongcheng", 50 * M));
    counted.in_statistics_database = Some(true);
    counted.statistics_date = date(2026, 2, 1);
    let mut ready = started(project("AG-R1", "dongcheng", 20 * M));
    ready.readiness = documents(&["approval", "construction_contract", "site_photos", "business_licence"]);
    let mut unready = started(project("AG-R0", "chengguan", 20 * M));
    unready.readiness = documents(&["approval", "business_licence"]);
    let mut small = started(project("AG-S", "dongcheng", 3 * M));
    small.readiness = documents(&["approval", "construction_contract", "site_photos", "business_licence"]);
    agri.upsert_projects(v1::UpsertProjectsRequest {
        request_id: request_id(),
        projects: vec![counted, ready, unready, small],
        ..Default::default()
    })
    .await
    .expect("projects");
    agri.report_progress(v1::ReportProgressRequest {
        request_id: request_id(),
        reports: vec![
            citydash_e2e::fixtures::progress("AG-IN", 2026, 3, 10 * M),
            citydash_e2e::fixtures::progress("AG-R1", 2026, 3, 8 * M),
            citydash_e2e::fixtures::progress("AG-R0", 2026, 3, 5 * M),
            citydash_e2e::fixtures::progress("AG-S", 2026, 3, M),
        ],
        ..Default::default()
    })
    .await
    .expect("progress");
    synced(&agg, &sectors, period(2026, 6)).await;
    let w = CityServiceClient::new(agg.channel().await)
        .get_statistics_what_if(v1::GetStatisticsWhatIfRequest {
            period: period(2026, 6),
        })
        .await
        .expect("what-if")
        .into_inner();
    assert!(w.projection);
    assert_eq!(w.target_yuan, Some(500 * M));
    // Now: AG-IN's 10M. With the ready: + AG-R1's 8M = 18M, 3.6% of 500M, gap 3.6 − 50 = −46.4pp: red.
    // With all: + AG-R0's 5M = 23M. AG-S does not qualify (3M planned).
    let (now, with_ready, with_all) = (
        w.now.expect("now"),
        w.with_ready.expect("ready"),
        w.with_all.expect("all"),
    );
    assert_eq!((now.counted_yuan, now.added_projects), (10 * M, 0));
    assert_eq!(
        (
            with_ready.counted_yuan,
            with_ready.added_projects,
            with_ready.added_yuan
        ),
        (18 * M, 1, 8 * M)
    );
    assert!(close(with_ready.completion.and_then(|r| r.value).expect("rate"), 0.036));
    assert!(close(with_ready.gap_pp.expect("gap"), 3.6 - 50.0));
    assert_eq!(with_ready.verdict, v1::Verdict::Red as i32);
    assert_eq!((with_all.counted_yuan, with_all.added_projects), (23 * M, 2));
    let listed: Vec<(&str, i64, bool, Vec<&str>, i32)> = w
        .projects
        .iter()
        .map(|p| {
            (
                p.code.as_str(),
                p.invested_yuan,
                p.ready,
                p.missing.iter().map(|d| d.code.as_str()).collect(),
                p.waiting_days,
            )
        })
        .collect();
    // Both started on 5 January: 176 days to 30 June.
    assert_eq!(
        listed,
        [
            ("AG-R1", 8 * M, true, vec![], 176),
            ("AG-R0", 5 * M, false, vec!["construction_contract", "site_photos"], 176),
        ]
    );
    assert_eq!(w.projects[1].responsible_unit, "市农业农村局");
    let brief = CityServiceClient::new(agg.channel().await)
        .get_brief(v1::GetBriefRequest {
            period: period(2026, 6),
            language: String::new(),
        })
        .await
        .expect("brief")
        .into_inner()
        .text;
    assert!(
        brief.contains("若1个已具备条件的项目入库，固定资产投资完成率可达3.6%。"),
        "{brief}"
    );
    agg.stop().await;
}
