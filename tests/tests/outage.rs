//! PostgreSQL going away and coming back, through a TCP proxy the test
//! controls: the service reports NOT_SERVING, refuses writes with
//! UNAVAILABLE (retryable) and writes nothing half-way, then recovers by
//! itself; the retried push lands once. (PostgreSQL runs only: on SQLite the
//! database cannot go away.)

use std::time::Duration;

use citydash_agriculture::Agriculture;
use citydash_e2e::fixtures::project;
use citydash_e2e::proxy::Proxy;
use citydash_e2e::{Running, TestBackend, TestDb, backend, request_id, spawn_sector_with};
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

async fn wait_health(svc: &Running, want: ServingStatus) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while citydash_e2e::health_status(svc.addr, "").await != Some(want) {
        assert!(tokio::time::Instant::now() < deadline, "health never became {want:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn postgres_going_away_is_unavailable_then_recovers_by_itself() {
    if backend() != TestBackend::Postgres {
        // Not applicable: an embedded SQLite file cannot go away.
        return;
    }
    let db = TestDb::new().await;
    let proxy = Proxy::to_postgres().await;
    let url = proxy.postgres_url(&db.url);
    let svc = spawn_sector_with::<Agriculture>(&TestDb::from_url(url), "127.0.0.1:0".parse().expect("addr"), &[]).await;
    let mut c = SectorServiceClient::new(svc.channel().await);
    let push = |code: &str| v1::UpsertProjectsRequest {
        update_mask: None,
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        projects: vec![project(code, "city", 6_000_000)],
    };
    c.upsert_projects(push("AG-O1")).await.expect("before the outage");

    proxy.set_up(false);
    wait_health(&svc, ServingStatus::NotServing).await;
    let during = push("AG-O2");
    let err = c.upsert_projects(during.clone()).await.expect_err("database gone");
    assert_eq!(err.code(), Code::Unavailable, "{}", err.message());

    proxy.set_up(true);
    wait_health(&svc, ServingStatus::Serving).await;
    // The client retries the same request: it lands once.
    let mut landed = None;
    for _ in 0..50 {
        match c.upsert_projects(during.clone()).await {
            Ok(r) => {
                landed = Some(r.into_inner());
                break;
            }
            Err(e) if e.code() == Code::Unavailable => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(e) => panic!("retry failed: {e:?}"),
        }
    }
    assert!(landed.is_some(), "the service did not recover");
    let again = c.upsert_projects(during).await.expect("replay").into_inner();
    assert_eq!(Some(again), landed);
    let codes: Vec<String> = c
        .list_projects(v1::ListProjectsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .projects
        .into_iter()
        .map(|p| p.code)
        .collect();
    assert_eq!(codes, ["AG-O1", "AG-O2"]);
    svc.stop().await;
    drop(db);
}
