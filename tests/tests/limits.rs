//! What the configured limits promise, one test per limit: an oversized
//! message is refused, a client opening more streams than allowed is held
//! to the limit, and garbage bytes or a malformed HTTP/2 preface on the gRPC
//! port are dropped, all without harming other clients.

use std::time::Duration;

use citydash_agriculture::Agriculture;
use citydash_e2e::fixtures::project;
use citydash_e2e::{Running, TestDb, request_id, spawn_sector_with};
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

async fn service(extra: &[&str]) -> (TestDb, Running) {
    let db = TestDb::new().await;
    let svc = spawn_sector_with::<Agriculture>(&db, "127.0.0.1:0".parse().expect("addr"), extra).await;
    (db, svc)
}

async fn still_serves(svc: &Running) {
    let mut c = SectorServiceClient::new(svc.channel().await);
    c.upsert_projects(v1::UpsertProjectsRequest {
        update_mask: None,
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        projects: vec![project(
            &format!("AG-{}", request_id()[..8].to_owned()),
            "city",
            6_000_000,
        )],
    })
    .await
    .expect("another client is still served");
}

#[tokio::test]
async fn an_oversized_message_is_refused_and_changes_nothing() {
    let (_db, svc) = service(&["--max-message-bytes", "65536"]).await;
    let mut c = SectorServiceClient::new(svc.channel().await);
    let projects: Vec<v1::Project> = (0..2000)
        .map(|i| project(&format!("AG-BIG-{i}"), "city", 6_000_000))
        .collect();
    let err = c
        .upsert_projects(v1::UpsertProjectsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            projects,
        })
        .await
        .expect_err("too large");
    assert_eq!(err.code(), Code::OutOfRange, "{}", err.message());
    let listed = c
        .list_projects(v1::ListProjectsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .projects;
    assert!(listed.is_empty());
    still_serves(&svc).await;
    svc.stop().await;
}

#[tokio::test]
async fn a_client_is_held_to_the_stream_limit() {
    let (_db, svc) = service(&["--max-concurrent-streams", "4", "--max-inflight-per-agency", "0"]).await;
    let channel = svc.channel().await;
    // Eight change-feed streams on one connection: four are open at once, the
    // others wait for a free stream rather than overloading the server.
    let mut open = Vec::new();
    for _ in 0..4 {
        let mut c = SectorServiceClient::new(channel.clone());
        open.push(
            c.watch_changes(v1::WatchChangesRequest {
                after_sequence: 0,
                heartbeat_seconds: 0,
                ..Default::default()
            })
            .await
            .expect("stream")
            .into_inner(),
        );
    }
    let mut fifth = SectorServiceClient::new(channel.clone());
    let waiting = tokio::time::timeout(
        Duration::from_millis(500),
        fifth.watch_changes(v1::WatchChangesRequest {
            after_sequence: 0,
            heartbeat_seconds: 0,
            ..Default::default()
        }),
    )
    .await;
    assert!(
        waiting.is_err(),
        "a fifth concurrent stream was opened on one connection"
    );
    // Another client (its own connection) is served meanwhile.
    still_serves(&svc).await;
    drop(open);
    svc.stop().await;
}

#[tokio::test]
async fn garbage_on_the_grpc_port_is_dropped_without_harm() {
    let (_db, svc) = service(&[]).await;
    for junk in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\xff\xff\xff\xff\xff\xff".to_vec(),
        (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
    ] {
        let mut s = tokio::net::TcpStream::connect(svc.addr).await.expect("connect");
        let _ = s.write_all(&junk).await;
        let mut buf = vec![0u8; 1024];
        // The server answers with an error or closes; it never hangs the test.
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
    }
    still_serves(&svc).await;
    svc.stop().await;
}
