//! The agriculture service end to end over real gRPC, on the backend chosen
//! by CITYDASH_TEST_BACKEND: what a sector agency does, and what it must be
//! able to rely on (idempotent retries, all-or-nothing batches, legal stage
//! moves, revisions kept, a change feed with no gap and no duplicate).

use std::time::Duration;

use citydash_agriculture::Agriculture;
use citydash_e2e::fixtures::{date, progress, project, started, value};
use citydash_e2e::{Running, TestDb, request_id, spawn_sector, violated_fields};
use citydash_proto::v1::{
    self, ProjectStage, agriculture_service_client::AgricultureServiceClient,
    sector_service_client::SectorServiceClient,
};
use citydash_runtime::auth::AuthedChannel as Channel;
use prost::Message;
use tokio_stream::StreamExt;
use tonic::Code;

async fn start() -> (TestDb, Running, SectorServiceClient<Channel>) {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let client = SectorServiceClient::new(svc.channel().await);
    (db, svc, client)
}

async fn upsert(
    client: &mut SectorServiceClient<Channel>,
    projects: Vec<v1::Project>,
) -> Result<Vec<v1::WriteResult>, tonic::Status> {
    client
        .upsert_projects(v1::UpsertProjectsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            projects,
        })
        .await
        .map(|r| r.into_inner().results)
}

async fn report(
    client: &mut SectorServiceClient<Channel>,
    reports: Vec<v1::ProgressReport>,
) -> Result<Vec<v1::WriteResult>, tonic::Status> {
    client
        .report_progress(v1::ReportProgressRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            reports,
        })
        .await
        .map(|r| r.into_inner().results)
}

async fn all_projects(client: &mut SectorServiceClient<Channel>) -> Vec<v1::Project> {
    client
        .list_projects(v1::ListProjectsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list projects")
        .into_inner()
        .projects
}

/// Reads `n` changes from a stream, failing after 10 s.
async fn take_changes(stream: &mut tonic::Streaming<v1::WatchChangesResponse>, n: usize) -> Vec<v1::Change> {
    let mut out = Vec::new();
    while out.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("change arrives within 10 s")
            .expect("stream still open")
            .expect("change, not error");
        out.push(next.change.expect("change set"));
    }
    out
}

/// Asserts no further change arrives within a short wait.
async fn assert_quiet(stream: &mut tonic::Streaming<v1::WatchChangesResponse>) {
    let extra = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    assert!(extra.is_err(), "unexpected extra change: {extra:?}");
}

async fn watch(client: &mut SectorServiceClient<Channel>, after: i64) -> tonic::Streaming<v1::WatchChangesResponse> {
    client
        .watch_changes(v1::WatchChangesRequest {
            after_sequence: after,
            heartbeat_seconds: 0,
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner()
}

fn kind_of(change: &v1::Change) -> &'static str {
    match change.record.as_ref().and_then(|r| r.record.as_ref()) {
        Some(v1::record::Record::Project(_)) => "project",
        Some(v1::record::Record::Progress(_)) => "progress",
        Some(v1::record::Record::IndicatorValue(_)) => "indicator_value",
        Some(v1::record::Record::Target(_)) => "target",
        Some(v1::record::Record::Entity(_)) => "entity",
        None => "none",
    }
}

#[tokio::test]
async fn agency_pushes_reads_back_pages_and_follows_the_feed_across_a_reconnect() {
    let (_db, svc, mut client) = start().await;

    // Projects: a qualifying funded project, a small one, a promotion contract.
    let mut funded = project("AG-001", "chengguan", 12_000_000);
    funded.stage = ProjectStage::Funded as i32;
    funded.stage_date = date(2026, 2, 10);
    funded.plans = vec![v1::InvestmentPlan {
        year: 2026,
        monthly_plan_yuan: vec![0, 0, 1_000_000, 1_000_000, 2_000_000, 2_000_000],
    }];
    let small = project("AG-002", "dongcheng", 3_000_000);
    let mut promo = project("AG-003", "chengguan", 50_000_000);
    promo.promotion = Some(v1::PromotionContract {
        signed_date: date(2026, 1, 20),
        investor: "高原青稞食品有限公司".to_owned(),
        contracted_investment_yuan: 50_000_000,
    });
    let results = upsert(&mut client, vec![funded, small, promo]).await.expect("upsert");
    assert!(
        results
            .iter()
            .all(|r| r.outcome == v1::WriteOutcome::Created as i32 && r.version == 1)
    );

    // Monthly progress: AG-001 starts in March and enters the statistics database in April.
    let mut march = progress("AG-001", 2026, 3, 800_000);
    march.stage = ProjectStage::Started as i32;
    march.stage_date = date(2026, 3, 15);
    let mut april = progress("AG-001", 2026, 4, 1_200_000);
    april.in_statistics_database = Some(true);
    april.statistics_date = date(2026, 4, 20);
    let mut promo_april = progress("AG-003", 2026, 4, 0);
    promo_april.funds_arrived_yuan = 5_000_000;
    let results = report(&mut client, vec![march, april, promo_april])
        .await
        .expect("progress");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].key, "AG-001/2026-03");

    client
        .report_indicators(v1::ReportIndicatorsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            values: vec![
                value("agri.output_value", "city", 2026, 6, 1_234_500_000),
                value("agri.output_value", "county_a", 2026, 6, 987_000_000),
            ],
        })
        .await
        .expect("indicators");
    client
        .set_targets(v1::SetTargetsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            targets: vec![v1::AnnualTarget {
                indicator_code: "agri.output_value".to_owned(),
                region_code: "city".to_owned(),
                year: 2026,
                value: 2_600_000_000,
                meta: None,
                responsible_unit: "市农业农村局".to_owned(),
            }],
        })
        .await
        .expect("targets");

    // Read back: the stage history and the statistics flag come from the progress reports.
    let p = client
        .get_project(v1::GetProjectRequest { code: "AG-001".into() })
        .await
        .expect("get")
        .into_inner()
        .project
        .expect("project");
    assert_eq!(p.stage, ProjectStage::Started as i32);
    assert_eq!(p.in_statistics_database, Some(true));
    assert_eq!(p.sector, v1::Sector::Agriculture as i32);
    assert_eq!(p.events.len(), 3, "funded, started, entered statistics: {:?}", p.events);
    let meta = p.meta.expect("meta");
    assert_eq!(
        meta.version, 2,
        "created; then started and entered statistics in one batch"
    );
    assert_eq!(meta.updated_by, "市农业农村局");

    // Paging: two pages of two and one, in code order, no overlap.
    let first = client
        .list_projects(v1::ListProjectsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(
        first.projects.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(),
        ["AG-001", "AG-002"]
    );
    assert!(!first.next_page_token.is_empty());
    let second = client
        .list_projects(v1::ListProjectsRequest {
            page_size: 2,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(
        second.projects.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(),
        ["AG-003"]
    );
    assert!(second.next_page_token.is_empty());

    // Filters.
    let chengguan = client
        .list_projects(v1::ListProjectsRequest {
            region_code: "chengguan".into(),
            ..Default::default()
        })
        .await
        .expect("by region")
        .into_inner()
        .projects;
    assert_eq!(chengguan.len(), 2);
    let started = client
        .list_projects(v1::ListProjectsRequest {
            stage: ProjectStage::Started as i32,
            ..Default::default()
        })
        .await
        .expect("by stage")
        .into_inner()
        .projects;
    assert_eq!(started.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(), ["AG-001"]);
    let reports = client
        .list_progress(v1::ListProgressRequest {
            project_code: "AG-001".into(),
            ..Default::default()
        })
        .await
        .expect("progress list")
        .into_inner()
        .reports;
    assert_eq!(
        reports.iter().map(|r| r.investment_completed_yuan).collect::<Vec<_>>(),
        [800_000, 1_200_000]
    );
    let values = client
        .list_indicator_values(v1::ListIndicatorValuesRequest {
            indicator_code: "agri.output_value".into(),
            region_code: "city".into(),
            ..Default::default()
        })
        .await
        .expect("values")
        .into_inner()
        .values;
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].value, 1_234_500_000);
    let targets = client
        .list_targets(v1::ListTargetsRequest {
            year: 2026,
            ..Default::default()
        })
        .await
        .expect("targets")
        .into_inner()
        .targets;
    assert_eq!(targets[0].value, 2_600_000_000);

    // The feed from the start: 3 projects; 3 progress + 1 project version
    // (AG-001 changed twice in one batch is one version); 2 values; 1 target.
    let mut stream = watch(&mut client, 0).await;
    let backlog = take_changes(&mut stream, 10).await;
    let seqs: Vec<i64> = backlog.iter().map(|c| c.sequence).collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>(), "no gap, no duplicate");
    assert_eq!(
        backlog.iter().map(kind_of).collect::<Vec<_>>(),
        [
            "project",
            "project",
            "project",
            "project",
            "progress",
            "progress",
            "progress",
            "indicator_value",
            "indicator_value",
            "target"
        ]
    );
    assert!(backlog.iter().all(|c| c.sector == v1::Sector::Agriculture as i32));
    assert_quiet(&mut stream).await;

    // Live: a push while subscribed arrives.
    report(&mut client, vec![progress("AG-001", 2026, 5, 900_000)])
        .await
        .expect("may");
    let live = take_changes(&mut stream, 1).await;
    assert_eq!(live[0].sequence, 11);
    drop(stream);

    // Disconnected: two more pushes happen; reconnecting after 11 yields exactly them.
    report(&mut client, vec![progress("AG-001", 2026, 6, 1_000_000)])
        .await
        .expect("june");
    upsert(&mut client, vec![project("AG-004", "xiang", 6_000_000)])
        .await
        .expect("new");
    let mut stream = watch(&mut client, 11).await;
    let resumed = take_changes(&mut stream, 2).await;
    assert_eq!(resumed.iter().map(|c| c.sequence).collect::<Vec<_>>(), [12, 13]);
    assert_eq!(resumed.iter().map(kind_of).collect::<Vec<_>>(), ["progress", "project"]);
    assert_quiet(&mut stream).await;
    drop(stream);
    svc.stop().await;
}

#[tokio::test]
async fn replaying_a_request_id_returns_the_first_answer_and_changes_nothing() {
    let (_db, svc, mut client) = start().await;
    let request = v1::UpsertProjectsRequest {
        update_mask: None,
        request_id: "retry-1".into(),
        validate_only: false,
        correction_reason: String::new(),
        projects: vec![started(project("AG-010", "city", 8_000_000))],
    };
    let first = client
        .upsert_projects(request.clone())
        .await
        .expect("first")
        .into_inner();
    let again = client
        .upsert_projects(request.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(again.results[0].outcome, v1::WriteOutcome::Created as i32);

    // A progress retry does not count the month twice either.
    let push = v1::ReportProgressRequest {
        update_mask: None,
        request_id: "retry-2".into(),
        validate_only: false,
        correction_reason: String::new(),
        reports: vec![progress("AG-010", 2026, 5, 700_000)],
    };
    client.report_progress(push.clone()).await.expect("push");
    client.report_progress(push.clone()).await.expect("retry");
    let revisions = client
        .list_revisions(v1::ListRevisionsRequest {
            record_type: "project".into(),
            key: "AG-010".into(),
        })
        .await
        .expect("revisions")
        .into_inner()
        .revisions;
    assert_eq!(revisions.len(), 1);
    let mut stream = watch(&mut client, 0).await;
    assert_eq!(take_changes(&mut stream, 2).await.len(), 2);
    assert_quiet(&mut stream).await;

    // The same id with other content is refused, naming request_id.
    let mut other = request;
    other.projects[0].planned_total_investment_yuan = 9_000_000;
    let err = client.upsert_projects(other).await.expect_err("reused id");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["request_id"]);
    let p = client
        .get_project(v1::GetProjectRequest { code: "AG-010".into() })
        .await
        .expect("get")
        .into_inner()
        .project
        .expect("project");
    assert_eq!(p.planned_total_investment_yuan, 8_000_000);

    // Pushing the same content under a new id is a no-op, reported as unchanged.
    let results = upsert(&mut client, vec![project("AG-010", "city", 8_000_000)])
        .await
        .expect("same");
    assert_eq!(results[0].outcome, v1::WriteOutcome::Unchanged as i32);
    assert_eq!(results[0].version, 1);
    assert_quiet(&mut stream).await;

    let missing = client
        .upsert_projects(v1::UpsertProjectsRequest {
            update_mask: None,
            request_id: String::new(),
            validate_only: false,
            correction_reason: String::new(),
            projects: vec![project("AG-011", "city", 1)],
        })
        .await
        .expect_err("request_id required");
    assert_eq!(violated_fields(&missing), ["request_id"]);
    svc.stop().await;
}

#[tokio::test]
async fn a_batch_with_bad_items_changes_nothing_and_names_every_bad_field() {
    let (_db, svc, mut client) = start().await;
    let mut bad = project("AG-021", "atlantis", -5);
    bad.planned_completion_date = date(2025, 1, 1);
    let mut no_name = project("AG-022", "city", 1_000_000);
    no_name.name = "  ".into();
    let err = upsert(
        &mut client,
        vec![
            project("AG-020", "city", 6_000_000),
            bad,
            no_name,
            project("AG-020", "city", 1),
        ],
    )
    .await
    .expect_err("bad batch");
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        [
            "projects[1].planned_completion_date",
            "projects[1].planned_total_investment_yuan",
            "projects[1].region_code",
            "projects[2].name",
            "projects[3].code",
        ]
    );
    assert!(all_projects(&mut client).await.is_empty(), "nothing written");

    // Progress: bad month, negative money, unknown project, duplicate key.
    upsert(&mut client, vec![started(project("AG-020", "city", 6_000_000))])
        .await
        .expect("ok");
    let mut bad_month = progress("AG-020", 2026, 13, 1);
    bad_month.note = "十三月".into();
    let err = report(
        &mut client,
        vec![
            progress("AG-020", 2026, 1, 100),
            bad_month,
            progress("AG-020", 2026, 2, -1),
            progress("NOPE", 2026, 2, 1),
            progress("AG-020", 2026, 1, 200),
        ],
    )
    .await
    .expect_err("bad progress");
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        [
            "reports[1].period.month",
            "reports[2].investment_completed_yuan",
            "reports[3].project_code",
            "reports[4].period",
        ]
    );
    let reports = client
        .list_progress(v1::ListProgressRequest::default())
        .await
        .expect("list")
        .into_inner()
        .reports;
    assert!(
        reports.is_empty(),
        "the good item of the bad batch was not written either"
    );

    // Indicators: unknown code, another sector's code, unknown region.
    let err = client
        .report_indicators(v1::ReportIndicatorsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            values: vec![
                value("agri.nonsense", "city", 2026, 6, 1),
                value("industry.above_scale_value_added", "city", 2026, 6, 1),
                value("agri.output_value", "mars", 2026, 6, 1),
            ],
        })
        .await
        .expect_err("bad values");
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        [
            "values[0].indicator_code",
            "values[1].indicator_code",
            "values[2].region_code"
        ]
    );
    let mut stream = watch(&mut client, 0).await;
    assert_eq!(take_changes(&mut stream, 1).await.len(), 1, "only the one good project");
    assert_quiet(&mut stream).await;
    svc.stop().await;
}

#[tokio::test]
async fn illegal_stage_moves_are_refused_and_legal_ones_recorded() {
    let (_db, svc, mut client) = start().await;
    let mut p = project("AG-030", "city", 20_000_000);
    p.stage = ProjectStage::Started as i32;
    p.stage_date = date(2026, 4, 1);
    upsert(&mut client, vec![p.clone()]).await.expect("started");

    // Backwards: started → funded.
    let mut back = p.clone();
    back.stage = ProjectStage::Funded as i32;
    back.stage_date = date(2026, 5, 1);
    let err = upsert(&mut client, vec![back]).await.expect_err("backwards");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["projects[0].stage"]);
    assert!(err.message().contains("STARTED"), "{}", err.message());

    // A stage change needs its date.
    let mut undated = p.clone();
    undated.stage = ProjectStage::Completed as i32;
    undated.stage_date = None;
    let err = upsert(&mut client, vec![undated]).await.expect_err("undated");
    assert_eq!(violated_fields(&err), ["projects[0].stage_date"]);

    // Suspended and resumed through progress reports; suspended → completed is refused.
    let mut may = progress("AG-030", 2026, 5, 0);
    may.stage = ProjectStage::Suspended as i32;
    may.stage_date = date(2026, 5, 10);
    report(&mut client, vec![may]).await.expect("suspend");
    let mut jump = progress("AG-030", 2026, 6, 0);
    jump.stage = ProjectStage::Completed as i32;
    jump.stage_date = date(2026, 6, 10);
    let err = report(&mut client, vec![jump])
        .await
        .expect_err("suspended → completed");
    assert_eq!(violated_fields(&err), ["reports[0].stage"]);
    let mut late = progress("AG-030", 2026, 6, 0);
    late.stage = ProjectStage::Started as i32;
    late.stage_date = date(2026, 7, 2);
    let err = report(&mut client, vec![late])
        .await
        .expect_err("date after the period");
    assert_eq!(violated_fields(&err), ["reports[0].stage_date"]);
    let mut resume = progress("AG-030", 2026, 6, 500_000);
    resume.stage = ProjectStage::Started as i32;
    resume.stage_date = date(2026, 6, 1);
    report(&mut client, vec![resume.clone()]).await.expect("resume");

    // Re-sending the same month (a re-import) is accepted and changes nothing.
    let results = report(&mut client, vec![resume]).await.expect("re-import");
    assert_eq!(results[0].outcome, v1::WriteOutcome::Unchanged as i32);

    let got = client
        .get_project(v1::GetProjectRequest { code: "AG-030".into() })
        .await
        .expect("get")
        .into_inner()
        .project
        .expect("project");
    assert_eq!(got.stage, ProjectStage::Started as i32);
    let stages: Vec<i32> = got
        .events
        .iter()
        .filter_map(|e| match e.event {
            Some(v1::project_event::Event::Stage(s)) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(
        stages,
        [
            ProjectStage::Started as i32,
            ProjectStage::Suspended as i32,
            ProjectStage::Started as i32
        ]
    );
    svc.stop().await;
}

#[tokio::test]
async fn revisions_keep_every_version_with_who_and_when() {
    let (_db, svc, mut client) = start().await;
    let mut provisional = value("agri.output_value", "city", 2026, 6, 1_000_000_000);
    provisional.status = v1::ValueStatus::Provisional as i32;
    let mut final_value = provisional.clone();
    final_value.value = 1_020_000_000;
    final_value.status = v1::ValueStatus::Final as i32;
    final_value.official_yoy_growth_bp = Some(520);
    for v in [provisional, final_value] {
        client
            .report_indicators(v1::ReportIndicatorsRequest {
                update_mask: None,
                request_id: request_id(),
                validate_only: false,
                correction_reason: String::new(),
                values: vec![v],
            })
            .await
            .expect("push");
    }
    let current = client
        .list_indicator_values(v1::ListIndicatorValuesRequest::default())
        .await
        .expect("list")
        .into_inner()
        .values;
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].value, 1_020_000_000);
    assert_eq!(current[0].official_yoy_growth_bp, Some(520));
    assert_eq!(current[0].meta.as_ref().map(|m| m.version), Some(2));

    let revisions = client
        .list_revisions(v1::ListRevisionsRequest {
            record_type: "indicator_value".into(),
            key: "agri.output_value/city/2026-06".into(),
        })
        .await
        .expect("revisions")
        .into_inner()
        .revisions;
    let values: Vec<(i64, i32, i64)> = revisions
        .iter()
        .map(|r| match r.record.as_ref() {
            Some(v1::record::Record::IndicatorValue(v)) => {
                let m = v.meta.as_ref().expect("meta");
                assert_eq!(m.updated_by, "市农业农村局");
                assert!(m.update_time.is_some() && !m.request_id.is_empty());
                (v.value, v.status, m.version)
            }
            other => panic!("not a value: {other:?}"),
        })
        .collect();
    assert_eq!(
        values,
        [
            (1_000_000_000, v1::ValueStatus::Provisional as i32, 1),
            (1_020_000_000, v1::ValueStatus::Final as i32, 2)
        ]
    );
    let err = client
        .list_revisions(v1::ListRevisionsRequest {
            record_type: "gossip".into(),
            key: "x".into(),
        })
        .await
        .expect_err("unknown type");
    assert_eq!(violated_fields(&err), ["record_type"]);
    let err = client
        .list_revisions(v1::ListRevisionsRequest {
            record_type: "project".into(),
            key: "NONE".into(),
        })
        .await
        .expect_err("unknown key");
    assert_eq!(err.code(), Code::NotFound);
    svc.stop().await;
}

#[tokio::test]
async fn validate_only_reports_outcomes_and_writes_nothing() {
    let (_db, svc, mut client) = start().await;
    upsert(&mut client, vec![project("AG-040", "city", 1_000_000)])
        .await
        .expect("seed");
    let reply = client
        .upsert_projects(v1::UpsertProjectsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: true,
            correction_reason: String::new(),
            projects: vec![project("AG-040", "city", 2_000_000), project("AG-041", "city", 1)],
        })
        .await
        .expect("dry run")
        .into_inner();
    let outcomes: Vec<i32> = reply.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [v1::WriteOutcome::Updated as i32, v1::WriteOutcome::Created as i32]
    );
    let projects = all_projects(&mut client).await;
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0].planned_total_investment_yuan, 1_000_000);
    svc.stop().await;
}

#[tokio::test]
async fn production_bases_and_enterprises_are_validated_listed_and_on_the_feed() {
    let (_db, svc, mut client) = start().await;
    let mut agri = AgricultureServiceClient::new(svc.channel().await);
    let base = v1::ProductionBase {
        code: "BASE-QK-01".into(),
        name: "城关区青稞种植基地".into(),
        region_code: "chengguan".into(),
        responsible_unit: "城关区农业农村局".into(),
        product: "青稞".into(),
        area_mu: 12_000,
        head_count: 0,
        output_value_yuan: 18_000_000,
        established_year: 2019,
        meta: None,
    };
    let pig = v1::ProductionBase {
        code: "BASE-ZXZ-01".into(),
        name: "藏香猪养殖基地".into(),
        region_code: "xiang".into(),
        responsible_unit: "乡镇农业服务中心".into(),
        product: "藏香猪".into(),
        area_mu: 0,
        head_count: 8_500,
        output_value_yuan: 9_000_000,
        established_year: 2021,
        meta: None,
    };
    agri.upsert_production_bases(v1::UpsertProductionBasesRequest {
        update_mask: None,
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        bases: vec![base.clone(), pig],
    })
    .await
    .expect("bases");
    let mut empty = base.clone();
    empty.code = "BASE-X".into();
    empty.area_mu = 0;
    empty.region_code = "nowhere".into();
    let err = agri
        .upsert_production_bases(v1::UpsertProductionBasesRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            bases: vec![empty],
        })
        .await
        .expect_err("empty base");
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, ["bases[0].area_mu", "bases[0].region_code"]);

    let err = agri
        .upsert_leading_enterprises(v1::UpsertLeadingEnterprisesRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            enterprises: vec![v1::LeadingEnterprise {
                code: "91540100MA6T0001".into(),
                name: "高原牦牛乳业".into(),
                region_code: "city".into(),
                responsible_unit: "市农业农村局".into(),
                level: v1::EnterpriseLevel::Unspecified as i32,
                annual_revenue_yuan: -1,
                ..Default::default()
            }],
        })
        .await
        .expect_err("bad enterprise");
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, ["enterprises[0].annual_revenue_yuan", "enterprises[0].level"]);

    let listed = agri
        .list_production_bases(v1::ListProductionBasesRequest {
            region_code: "chengguan".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .bases;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].product, "青稞");
    assert_eq!(listed[0].meta.as_ref().map(|m| m.version), Some(1));

    let catalog = client
        .get_catalog(v1::GetCatalogRequest {})
        .await
        .expect("catalog")
        .into_inner();
    assert_eq!(catalog.sector, v1::Sector::Agriculture as i32);
    assert!(
        catalog
            .indicators
            .iter()
            .any(|d| d.code == "agri.output_value" && d.name_zh == "农林牧渔业总产值")
    );
    assert!(catalog.entity_types.contains(&"citydash.v1.ProductionBase".to_owned()));
    assert!(catalog.regions.iter().any(|r| r.code == "county_a"));

    let mut stream = watch(&mut client, 0).await;
    let changes = take_changes(&mut stream, 2).await;
    let Some(v1::record::Record::Entity(any)) = changes[0].record.as_ref().and_then(|r| r.record.clone()) else {
        panic!("entity change expected: {changes:?}");
    };
    assert_eq!(any.type_url, "type.googleapis.com/citydash.v1.ProductionBase");
    let decoded = v1::ProductionBase::decode(any.value.as_slice()).expect("decode");
    assert_eq!(decoded.code, "BASE-QK-01");
    assert_eq!(decoded.meta.as_ref().map(|m| m.sequence), Some(1));
    svc.stop().await;
}

#[tokio::test]
async fn a_restarted_service_keeps_its_data_and_continues_the_sequence() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let mut client = SectorServiceClient::new(svc.channel().await);
    upsert(&mut client, vec![project("AG-050", "city", 7_000_000)])
        .await
        .expect("first life");
    svc.kill();

    let svc = spawn_sector::<Agriculture>(&db).await;
    let mut client = SectorServiceClient::new(svc.channel().await);
    assert_eq!(all_projects(&mut client).await.len(), 1);
    upsert(&mut client, vec![project("AG-051", "city", 7_000_000)])
        .await
        .expect("second life");
    let mut stream = watch(&mut client, 0).await;
    let seqs: Vec<i64> = take_changes(&mut stream, 2).await.iter().map(|c| c.sequence).collect();
    assert_eq!(seqs, [1, 2]);
    assert_quiet(&mut stream).await;
    drop(stream);
    svc.stop().await;
}

#[tokio::test]
async fn health_reports_serving_for_each_service() {
    let (_db, svc, _client) = start().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(svc.channel().await);
    for name in ["", "citydash.v1.SectorService", "citydash.v1.AgricultureService"] {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest { service: name.into() })
            .await
            .expect("health")
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{name}"
        );
    }
    svc.stop().await;
}

#[tokio::test]
async fn concurrent_retries_of_one_request_have_exactly_one_effect() {
    let (_db, svc, client) = start().await;
    let request = v1::ReportProgressRequest {
        update_mask: None,
        request_id: "burst-1".into(),
        validate_only: false,
        correction_reason: String::new(),
        reports: vec![],
    };
    let mut seed = client.clone();
    upsert(&mut seed, vec![started(project("AG-060", "city", 9_000_000))])
        .await
        .expect("seed");
    let mut request = request;
    request.reports = (1..=6)
        .map(|m| progress("AG-060", 2026, m, 100_000 * i64::from(m)))
        .collect();
    let answers = futures::future::join_all((0..8).map(|_| {
        let mut c = client.clone();
        let r = request.clone();
        async move { c.report_progress(r).await.map(|r| r.into_inner()) }
    }))
    .await;
    let first = answers[0].as_ref().expect("answer").clone();
    for a in &answers {
        assert_eq!(a.as_ref().expect("every retry answered"), &first);
    }
    let mut c = client.clone();
    let mut stream = watch(&mut c, 0).await;
    assert_eq!(
        take_changes(&mut stream, 7).await.len(),
        7,
        "one project and six months"
    );
    assert_quiet(&mut stream).await;
    drop(stream);
    svc.stop().await;
}

#[tokio::test]
async fn two_replicas_on_one_database_share_one_change_feed() {
    // One database, two processes serving it: a write on one reaches a
    // WatchChanges stream served by the other, in order, with no gap. On
    // SQLite both replicas share the file; on PostgreSQL, the database.
    let db = TestDb::new().await;
    let a = spawn_sector::<Agriculture>(&db).await;
    let b = spawn_sector::<Agriculture>(&db).await;
    let mut on_b = SectorServiceClient::new(b.channel().await);
    let mut stream = watch(&mut on_b, 0).await;
    let mut on_a = SectorServiceClient::new(a.channel().await);
    for i in 0..5 {
        upsert(&mut on_a, vec![project(&format!("AG-R{i}"), "city", 6_000_000)])
            .await
            .expect("write on a");
        upsert(&mut on_b, vec![project(&format!("AG-S{i}"), "city", 6_000_000)])
            .await
            .expect("write on b");
    }
    let changes = take_changes(&mut stream, 10).await;
    assert_eq!(
        changes.iter().map(|c| c.sequence).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    let keys: Vec<&str> = changes.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys.iter().filter(|k| k.starts_with("AG-R")).count(), 5, "{keys:?}");
    assert_quiet(&mut stream).await;
    drop(stream);
    a.stop().await;
    b.stop().await;
}
