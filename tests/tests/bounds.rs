//! Amounts cannot break the city view (issue 22, item 2): a push beyond the
//! plausible maximum is refused naming the field, and a record that is
//! stored beyond it anyway (written before the bound, or edited in the
//! database) is skipped by the aggregator, which starts and serves the rest.

use citydash_agriculture::Agriculture;
use citydash_e2e::fixtures::{period, progress, project, started};
use citydash_e2e::{
    Sectors, TestBackend, TestDb, backend, request_id, spawn_aggregator, spawn_sector, synced, violated_fields,
};
use citydash_proto::v1::{
    self, agriculture_service_client::AgricultureServiceClient, sector_service_client::SectorServiceClient,
};
use prost::Message;
use tonic::Code;

const HUGE: i64 = 1 << 62;

fn base(code: &str, area_mu: i64) -> v1::ProductionBase {
    v1::ProductionBase {
        code: code.into(),
        name: format!("基地 {code}"),
        region_code: "dongcheng".into(),
        responsible_unit: "市农业农村局".into(),
        product: "青稞".into(),
        area_mu,
        ..Default::default()
    }
}

#[tokio::test]
async fn amounts_beyond_the_bound_are_refused_naming_the_field() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let err = AgricultureServiceClient::new(svc.channel().await)
        .upsert_production_bases(v1::UpsertProductionBasesRequest {
            request_id: request_id(),
            bases: vec![base("B-1", HUGE), base("B-2", HUGE)],
            ..Default::default()
        })
        .await
        .expect_err("2^62 mu");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["bases[0].area_mu", "bases[1].area_mu"]);
    let mut sector = SectorServiceClient::new(svc.channel().await);
    sector
        .upsert_projects(v1::UpsertProjectsRequest {
            request_id: request_id(),
            projects: vec![started(project("P-1", "dongcheng", 10_000_000))],
            ..Default::default()
        })
        .await
        .expect("project");
    let err = sector
        .report_progress(v1::ReportProgressRequest {
            request_id: request_id(),
            reports: vec![progress("P-1", 2026, 1, HUGE), progress("P-1", 2026, 2, HUGE)],
            ..Default::default()
        })
        .await
        .expect_err("2^62 yuan");
    let mut fields = violated_fields(&err);
    fields.dedup(); // the bound, and the plausibility check against the plan
    assert_eq!(
        fields,
        [
            "reports[0].investment_completed_yuan",
            "reports[1].investment_completed_yuan"
        ]
    );
    assert_eq!(
        citydash_e2e::last_sequence(&svc).await,
        1,
        "nothing but the project was written"
    );
    svc.stop().await;
}

/// Every stored version of a progress report in `table`: (key, version, payload).
async fn progress_rows(db: &TestDb, table: &str) -> Vec<(String, i64, Vec<u8>)> {
    let select = format!("SELECT key, version, payload FROM {table} WHERE kind = 'progress'");
    match backend() {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
            sqlx::query_as(sqlx::AssertSqlSafe(select))
                .fetch_all(&pool)
                .await
                .expect("select")
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
            sqlx::query_as(sqlx::AssertSqlSafe(select))
                .fetch_all(&pool)
                .await
                .expect("select")
        }
    }
}

/// Replaces the payload of one version in `table`, as a hand edit would.
async fn set_payload(db: &TestDb, table: &str, (key, version): (String, i64), payload: Vec<u8>) {
    let (p1, p2, p3) = match backend() {
        TestBackend::Sqlite => ("?1", "?2", "?3"),
        TestBackend::Postgres => ("$1", "$2", "$3"),
    };
    let update = format!("UPDATE {table} SET payload = {p1} WHERE kind = 'progress' AND key = {p2} AND version = {p3}");
    let update = sqlx::AssertSqlSafe(update);
    match backend() {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
            sqlx::query(update)
                .bind(payload)
                .bind(key)
                .bind(version)
                .execute(&pool)
                .await
                .expect("update");
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
            sqlx::query(update)
                .bind(payload)
                .bind(key)
                .bind(version)
                .execute(&pool)
                .await
                .expect("update");
        }
    }
}

/// Rewrites the stored progress of `project` (every version, and the
/// current row) to `yuan`.
async fn tamper_progress(db: &TestDb, project: &str, yuan: i64) {
    let mut edited = 0;
    for table in ["records", "record_versions"] {
        for (key, version, payload) in progress_rows(db, table).await {
            let mut r = v1::ProgressReport::decode(payload.as_slice()).expect("a progress report");
            if r.project_code == project {
                r.investment_completed_yuan = yuan;
                set_payload(db, table, (key, version), r.encode_to_vec()).await;
                edited += 1;
            }
        }
    }
    assert_eq!(edited, 4, "two months, each its current row and its version");
}

#[tokio::test]
async fn the_aggregator_skips_a_stored_record_it_cannot_sum_and_serves_the_rest() {
    let sectors = Sectors::start().await;
    let mut agriculture = SectorServiceClient::new(sectors.services[0].channel().await);
    agriculture
        .upsert_projects(v1::UpsertProjectsRequest {
            request_id: request_id(),
            projects: vec![
                started(project("P-OK", "dongcheng", 10_000_000)),
                started(project("P-BAD", "dongcheng", 10_000_000)),
            ],
            ..Default::default()
        })
        .await
        .expect("projects");
    agriculture
        .report_progress(v1::ReportProgressRequest {
            request_id: request_id(),
            reports: vec![
                progress("P-OK", 2026, 1, 1_000_000),
                progress("P-BAD", 2026, 1, 2_000_000),
                progress("P-BAD", 2026, 2, 3_000_000),
            ],
            ..Default::default()
        })
        .await
        .expect("progress");
    // Two months of 2^62 yuan: their sum wraps an i64.
    tamper_progress(sectors.db(0), "P-BAD", HUGE).await;

    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    let o = synced(&agg, &sectors, period(2026, 2)).await;
    let inv = o.investment.expect("investment");
    assert_eq!(
        (inv.uncounted_yuan, inv.uncounted_projects),
        (1_000_000, 2),
        "P-BAD still counts as a project; its unusable months are left out"
    );
    let agri = o
        .sectors
        .iter()
        .find(|s| s.sector == v1::Sector::Agriculture as i32)
        .expect("agriculture");
    assert_eq!(agri.investment.as_ref().expect("inv").uncounted_yuan, 1_000_000);
    agg.stop().await;
}
