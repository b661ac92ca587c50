//! Nothing wrong gets in silently (issue 14), through the public API on
//! both backends: a push changes only what it names (a partial update keeps
//! a project's plans, contract and dates; a mask clears exactly its paths),
//! no fact is dated after today and no figures are reported for a later
//! month (refused with FACT_IN_FUTURE, nothing changes), and every refusal
//! carries ErrorInfo and a zh-CN LocalizedMessage beside BadRequest.

use citydash_agriculture::Agriculture;
use citydash_e2e::fixtures::{date, period, progress, project, started};
use citydash_e2e::{Running, Sectors, TestDb, feed, request_id, spawn_aggregator, spawn_sector, violated_fields};
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use tonic::Code;
use tonic_types::StatusExt;

async fn upsert(
    svc: &Running,
    projects: Vec<v1::Project>,
    mask: Option<&[&str]>,
) -> Result<Vec<v1::WriteResult>, tonic::Status> {
    SectorServiceClient::new(svc.channel().await)
        .upsert_projects(v1::UpsertProjectsRequest {
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            update_mask: mask.map(|paths| prost_types::FieldMask {
                paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            }),
            projects,
        })
        .await
        .map(|r| r.into_inner().results)
}

async fn get(svc: &Running, code: &str) -> v1::Project {
    let mut p = SectorServiceClient::new(svc.channel().await)
        .get_project(v1::GetProjectRequest { code: code.into() })
        .await
        .expect("get")
        .into_inner()
        .project
        .expect("project");
    p.meta = None;
    p
}

/// A project with everything a partial update could lose.
fn full() -> v1::Project {
    v1::Project {
        plans: vec![v1::InvestmentPlan {
            year: 2026,
            monthly_plan_yuan: vec![1_000_000; 12],
        }],
        promotion: Some(v1::PromotionContract {
            signed_date: date(2026, 1, 5),
            investor: "某农业公司".into(),
            contracted_investment_yuan: 10_000_000,
        }),
        stage: v1::ProjectStage::Funded as i32,
        stage_date: date(2026, 2, 1),
        ..project("AG-P1", "chengguan", 12_000_000)
    }
}

#[tokio::test]
async fn a_push_changes_only_the_fields_it_names() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    upsert(&svc, vec![full()], None).await.expect("create");
    let before = get(&svc, "AG-P1").await;

    // Code, name, region, unit and a new stage, nothing else: only the stage moves.
    let move_stage = v1::Project {
        code: "AG-P1".into(),
        name: before.name.clone(),
        region_code: "chengguan".into(),
        responsible_unit: "市农业农村局".into(),
        stage: v1::ProjectStage::Started as i32,
        stage_date: date(2026, 3, 10),
        ..Default::default()
    };
    let results = upsert(&svc, vec![move_stage], None).await.expect("stage move");
    assert_eq!(results[0].outcome, v1::WriteOutcome::Updated as i32);
    let after = get(&svc, "AG-P1").await;
    assert_eq!(after.planned_total_investment_yuan, 12_000_000);
    assert_eq!(after.plans, before.plans);
    assert_eq!(after.promotion, before.promotion);
    assert_eq!(after.planned_start_date, before.planned_start_date);
    assert_eq!(after.planned_completion_date, before.planned_completion_date);
    assert_eq!(after.stage, v1::ProjectStage::Started as i32);

    // The code and one field are enough for an update.
    let rename = v1::Project {
        code: "AG-P1".into(),
        name: "青稞精深加工园".into(),
        ..Default::default()
    };
    upsert(&svc, vec![rename.clone()], None).await.expect("rename");
    let renamed = get(&svc, "AG-P1").await;
    assert_eq!(renamed.name, "青稞精深加工园");
    assert_eq!(
        v1::Project {
            name: after.name.clone(),
            ..renamed.clone()
        },
        after
    );

    // A mask sets a field to empty: the contract's investor, and the plans.
    upsert(&svc, vec![rename], Some(&["promotion.investor", "plans"]))
        .await
        .expect("clear");
    let cleared = get(&svc, "AG-P1").await;
    assert!(cleared.plans.is_empty());
    let contract = cleared.promotion.expect("the contract stays");
    assert_eq!(
        (contract.investor.as_str(), contract.contracted_investment_yuan),
        ("", 10_000_000)
    );

    // A mask naming no field, or a field the server owns, is refused and changes nothing.
    let changes = feed(&svc).await.len();
    let err = upsert(
        &svc,
        vec![v1::Project {
            code: "AG-P1".into(),
            ..Default::default()
        }],
        Some(&["nope", "events"]),
    )
    .await
    .expect_err("bad mask");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["update_mask.paths[0]", "update_mask.paths[1]"]);
    assert_eq!(feed(&svc).await.len(), changes);

    // A new project still needs every required field.
    let err = upsert(
        &svc,
        vec![v1::Project {
            code: "AG-NEW".into(),
            stage: v1::ProjectStage::Reserve as i32,
            ..Default::default()
        }],
        None,
    )
    .await
    .expect_err("new without a name");
    assert_eq!(
        violated_fields(&err),
        [
            "projects[0].name",
            "projects[0].region_code",
            "projects[0].responsible_unit"
        ]
    );

    // A progress report revised without its funds keeps them.
    let mut june = progress("AG-P1", 2026, 6, 2_000_000);
    june.funds_arrived_yuan = 3_000_000;
    let mut client = SectorServiceClient::new(svc.channel().await);
    client.report_progress(report_request(vec![june])).await.expect("june");
    let revised = v1::ProgressReport {
        project_code: "AG-P1".into(),
        period: period(2026, 6),
        investment_completed_yuan: 2_500_000,
        ..Default::default()
    };
    client
        .report_progress(report_request(vec![revised]))
        .await
        .expect("revised");
    let stored = client
        .list_progress(v1::ListProgressRequest {
            project_code: "AG-P1".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .reports;
    assert_eq!(
        (stored[0].investment_completed_yuan, stored[0].funds_arrived_yuan),
        (2_500_000, 3_000_000)
    );
    svc.stop().await;
}

#[tokio::test]
async fn facts_dated_after_today_are_refused_and_change_nothing() {
    let sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    let agri = &sectors.services[0];
    let today = citydash_sector::domain::city_today();
    let next_year = today.format("%Y").to_string().parse::<i32>().expect("year") + 1;
    upsert(agri, vec![full()], None).await.expect("create");
    let changes = feed(agri).await.len();

    let completed = v1::Project {
        code: "AG-P1".into(),
        stage: v1::ProjectStage::Started as i32,
        stage_date: date(next_year + 3, 1, 1),
        ..Default::default()
    };
    let err = upsert(agri, vec![completed], None).await.expect_err("future start");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["projects[0].stage_date"]);
    let info = err.get_details_error_info().expect("error info");
    assert_eq!(info.reason, "FACT_IN_FUTURE");
    assert_eq!(info.domain, "citydash");
    assert_eq!(
        info.metadata.get("field").map(String::as_str),
        Some("projects[0].stage_date")
    );
    let zh = err.get_details_localized_message().expect("localized");
    assert_eq!(zh.locale, "zh-CN");
    assert!(zh.message.contains(&today.to_string()), "{}", zh.message);
    let bad = err.get_details_bad_request().expect("bad request");
    assert_eq!(bad.field_violations[0].reason, "FACT_IN_FUTURE");

    let mut client = SectorServiceClient::new(agri.channel().await);
    let err = client
        .report_progress(report_request(vec![progress("AG-P1", next_year, 3, 1_000_000)]))
        .await
        .expect_err("future month");
    assert_eq!(violated_fields(&err), ["reports[0].period"]);
    assert_eq!(
        err.get_details_error_info().map(|i| i.reason),
        Some("FACT_IN_FUTURE".into())
    );
    let mut stats = SectorServiceClient::new(agg.channel().await);
    let err = stats
        .report_indicators(values_request(vec![citydash_e2e::fixtures::value(
            "city.gdp", "city", next_year, 3, 1_000,
        )]))
        .await
        .expect_err("future GDP");
    assert_eq!(violated_fields(&err), ["values[0].period"]);
    assert_eq!(feed(agri).await.len(), changes, "nothing refused reached the feed");

    // A planned date may lie in the future.
    let planned = v1::Project {
        code: "AG-P1".into(),
        planned_completion_date: date(next_year + 3, 1, 1),
        ..Default::default()
    };
    upsert(agri, vec![planned], None)
        .await
        .expect("a plan may be in the future");
    agg.stop().await;
}

/// Alert dates as the Settled points define them, on a monthly rule and a
/// project that never started; a growth ranking of one region is no ranking.
#[tokio::test]
async fn alerts_are_dated_from_when_they_hold_and_a_ranking_of_one_is_not_told() {
    use citydash_proto::v1::city_service_client::CityServiceClient;
    let sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    let agri = &sectors.services[0];

    // A reserve project with a monthly plan that starts in October: judged by
    // the start rules only, so no behind_schedule in July.
    let waiting = v1::Project {
        plans: vec![v1::InvestmentPlan {
            year: 2026,
            monthly_plan_yuan: vec![1_000_000; 12],
        }],
        planned_start_date: date(2026, 10, 1),
        ..project("AG-WAIT", "chengguan", 12_000_000)
    };
    upsert(agri, vec![waiting], None).await.expect("project");

    // GDP against a target of 1,200: green to March, yellow from April, red in July.
    let mut stats = SectorServiceClient::new(agg.channel().await);
    stats
        .set_targets(v1::SetTargetsRequest {
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            update_mask: None,
            targets: vec![v1::AnnualTarget {
                indicator_code: "city.gdp".into(),
                region_code: "city".into(),
                year: 2026,
                value: 1_200,
                responsible_unit: "市统计局".into(),
                meta: None,
            }],
        })
        .await
        .expect("target");
    let mut values: Vec<v1::IndicatorValue> = [100, 150, 200, 250, 300, 300, 300]
        .iter()
        .enumerate()
        .map(|(m, v)| citydash_e2e::fixtures::value("city.gdp", "city", 2026, m as i32 + 1, *v))
        .collect();
    values[6].official_yoy_growth_bp = Some(-380);
    values.push(citydash_e2e::fixtures::value("city.gdp", "county_a", 2026, 7, 500));
    stats.report_indicators(values_request(values)).await.expect("values");

    citydash_e2e::synced(&agg, &sectors, period(2026, 7)).await;
    let mut city = CityServiceClient::new(agg.channel().await);
    let alerts = city
        .list_alerts(v1::ListAlertsRequest {
            period: period(2026, 7),
            ..Default::default()
        })
        .await
        .expect("alerts")
        .into_inner()
        .alerts;
    assert!(
        alerts.iter().all(|a| a.subject_code != "AG-WAIT"),
        "a project not started is not behind its plan: {alerts:?}"
    );
    let gdp = alerts.iter().find(|a| a.subject_code == "city.gdp").expect("gdp");
    assert_eq!(gdp.color, v1::AlertColor::Red as i32);
    assert_eq!((gdp.since, gdp.red_since), (date(2026, 4, 30), date(2026, 7, 31)));

    // Only the city has a growth figure: the brief ranks the amount, not growth.
    let brief = city
        .get_brief(v1::GetBriefRequest {
            period: period(2026, 7),
            language: String::new(),
        })
        .await
        .expect("brief")
        .into_inner()
        .text;
    assert!(
        brief.contains("地区生产总值总量在2个地区中居第2位（乙县未公布）"),
        "{brief}"
    );
    assert!(!brief.contains("增速第") && !brief.contains("增速在"), "{brief}");
    agg.stop().await;
}

/// Each city figure is pushed by its own bureau: the statistics bureau may
/// not write budget revenue (the finance bureau's), nor finance GDP; the new
/// development-and-reform role writes fixed-asset investment. A refusal is
/// PERMISSION_DENIED with an audit row, and writes nothing.
#[tokio::test]
async fn each_city_figure_is_written_by_its_own_bureau() {
    use citydash_runtime::auth::Role;
    let sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    let push = |role: Role, code: &'static str| {
        let agg = &agg;
        async move {
            SectorServiceClient::new(agg.channel_as(&citydash_e2e::bureau_token(role)).await)
                .report_indicators(values_request(vec![citydash_e2e::fixtures::value(
                    code, "city", 2026, 6, 1_000_000,
                )]))
                .await
        }
    };
    let changes = feed(&agg).await.len();
    for (role, code) in [
        (Role::Statistics, "city.budget_revenue"),
        (Role::Statistics, "city.fixed_asset_investment"),
        (Role::Finance, "city.gdp"),
        (Role::DevelopmentReform, "city.budget_revenue"),
    ] {
        let err = push(role, code).await.expect_err(code);
        assert_eq!(err.code(), Code::PermissionDenied, "{role:?} {code}");
        assert_eq!(
            err.get_details_error_info().map(|i| i.reason),
            Some("PERMISSION_DENIED".into())
        );
        assert!(err.message().contains("无权报送"), "{}", err.message());
    }
    assert_eq!(feed(&agg).await.len(), changes, "refused pushes write nothing");
    push(Role::Statistics, "city.gdp").await.expect("GDP");
    push(Role::Finance, "city.budget_revenue").await.expect("revenue");
    push(Role::DevelopmentReform, "city.fixed_asset_investment")
        .await
        .expect("investment");

    let admin = citydash_e2e::token("市政府办公室", Role::Admin, &[], &[]);
    let audit = SectorServiceClient::new(agg.channel_as(&admin).await)
        .list_audit(v1::ListAuditRequest {
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let refused: Vec<&str> = audit
        .iter()
        .filter(|e| e.outcome == v1::AuditOutcome::Refused as i32 && e.code == "PermissionDenied")
        .map(|e| e.role.as_str())
        .collect();
    assert_eq!(refused, ["statistics", "statistics", "finance", "development_reform"]);

    // The catalog says who writes what.
    let catalog = SectorServiceClient::new(agg.channel().await)
        .get_catalog(v1::GetCatalogRequest {})
        .await
        .expect("catalog")
        .into_inner();
    let writers = |code: &str| {
        catalog
            .indicators
            .iter()
            .find(|d| d.code == code)
            .map(|d| d.writer_roles.clone())
            .unwrap_or_default()
    };
    assert_eq!(writers("city.fixed_asset_investment"), ["development_reform"]);
    agg.stop().await;
}

fn values_request(values: Vec<v1::IndicatorValue>) -> v1::ReportIndicatorsRequest {
    v1::ReportIndicatorsRequest {
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        update_mask: None,
        values,
    }
}

fn report_request(reports: Vec<v1::ProgressReport>) -> v1::ReportProgressRequest {
    v1::ReportProgressRequest {
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        update_mask: None,
        reports,
    }
}

fn confirm(code: &str, explanation: &str) -> v1::PlausibilityConfirmation {
    v1::PlausibilityConfirmation {
        code: code.into(),
        explanation: explanation.into(),
    }
}

/// Plausibility checks (数据审核): investment for a project still in reserve,
/// funds for a project without a contract, more investment than planned, a
/// cumulative value below an earlier month's, an official growth rate far from
/// the computed one: each refused with PLAUSIBILITY_UNCONFIRMED, naming the
/// field in Chinese, writing nothing; the same push confirmed with an
/// explanation is accepted and the explanation stays on the revision and in
/// the audit trail.
#[tokio::test]
async fn implausible_figures_are_refused_unless_confirmed() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    upsert(
        &svc,
        vec![
            project("AG-R", "city", 6_000_000),
            started(project("AG-S", "city", 6_000_000)),
        ],
        None,
    )
    .await
    .expect("projects");
    let mut c = SectorServiceClient::new(svc.channel().await);
    let changes = feed(&svc).await.len();
    let refused = |err: tonic::Status| {
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(
            err.get_details_error_info().map(|i| i.reason),
            Some("PLAUSIBILITY_UNCONFIRMED".into())
        );
        (violated_fields(&err), err.message().to_owned())
    };

    // Investment for a project still in reserve.
    let (fields, message) = refused(
        c.report_progress(report_request(vec![progress("AG-R", 2026, 6, 1_000_000)]))
            .await
            .expect_err("reserve"),
    );
    assert_eq!(fields, ["reports[0].investment_completed_yuan"]);
    assert!(
        message.contains("尚未开工") && message.contains("investment_before_start"),
        "{message}"
    );

    // Funds for a project with no promotion contract.
    let mut funds = progress("AG-S", 2026, 6, 100_000);
    funds.funds_arrived_yuan = 500_000;
    let (fields, _) = refused(
        c.report_progress(report_request(vec![funds.clone()]))
            .await
            .expect_err("funds"),
    );
    assert_eq!(fields, ["reports[0].funds_arrived_yuan"]);

    // More than the planned total, this push and the months before.
    let (fields, message) = refused(
        c.report_progress(report_request(vec![
            progress("AG-S", 2026, 4, 3_000_000),
            progress("AG-S", 2026, 5, 3_500_000),
        ]))
        .await
        .expect_err("over total"),
    );
    assert_eq!(fields, ["reports[1].investment_completed_yuan"]);
    assert!(message.contains("超过计划总投资"), "{message}");
    assert_eq!(feed(&svc).await.len(), changes, "nothing refused was written");

    // Confirmed with an explanation: accepted, and kept on the revision.
    funds.confirmations = vec![confirm("funds_without_contract", "省级财政配套资金，不属招商项目")];
    c.report_progress(report_request(vec![funds])).await.expect("confirmed");
    let revisions = c
        .list_revisions(v1::ListRevisionsRequest {
            record_type: "progress".into(),
            key: "AG-S/2026-06".into(),
        })
        .await
        .expect("revisions")
        .into_inner()
        .revisions;
    let Some(v1::record::Record::Progress(kept)) = revisions[0].record.clone() else {
        panic!("a progress record: {revisions:?}");
    };
    assert_eq!(kept.confirmations[0].explanation, "省级财政配套资金，不属招商项目");
    let admin = citydash_e2e::token("市政府办公室", citydash_runtime::auth::Role::Admin, &[], &[]);
    let audit = SectorServiceClient::new(svc.channel_as(&admin).await)
        .list_audit(v1::ListAuditRequest {
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let accepted = audit
        .iter()
        .rev()
        .find(|e| e.key == "AG-S/2026-06")
        .expect("the accepted push's audit row");
    let Some(v1::record::Record::Progress(after)) = accepted.after.clone().and_then(|r| r.record) else {
        panic!("the record after: {accepted:?}");
    };
    assert_eq!(after.confirmations, kept.confirmations);
    // A confirmation without an explanation confirms nothing.
    let mut empty = progress("AG-R", 2026, 6, 1_000_000);
    empty.confirmations = vec![confirm("", " ")];
    let err = c.report_progress(report_request(vec![empty])).await.expect_err("empty");
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        [
            "reports[0].confirmations[0].explanation",
            "reports[0].investment_completed_yuan"
        ]
    );

    // Indicators: a cumulative value below May's, an official growth far from the computed one.
    let value = citydash_e2e::fixtures::value;
    let values = values_request;
    let err = c
        .report_indicators(values(vec![
            value("agri.output_value", "city", 2026, 5, 500_000_000),
            value("agri.output_value", "city", 2026, 6, 400_000_000),
        ]))
        .await
        .expect_err("decreased");
    assert_eq!(violated_fields(&err), ["values[1].value"]);
    assert!(err.message().contains("cumulative_decreased"), "{}", err.message());
    let mut official = value("agri.output_value", "city", 2026, 6, 1_100_000_000);
    official.official_yoy_growth_bp = Some(5_000);
    let err = c
        .report_indicators(values(vec![
            value("agri.output_value", "city", 2025, 6, 1_000_000_000),
            official.clone(),
        ]))
        .await
        .expect_err("growth");
    assert_eq!(violated_fields(&err), ["values[1].official_yoy_growth_bp"]);
    official.confirmations = vec![confirm("growth_outlier", "按可比价计算，统计局核定")];
    c.report_indicators(values(vec![
        value("agri.output_value", "city", 2025, 6, 1_000_000_000),
        official,
    ]))
    .await
    .expect("confirmed growth");
    svc.stop().await;
}
