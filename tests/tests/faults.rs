//! Nothing acknowledged is ever lost: agency clients push uniquely keyed
//! projects concurrently, retrying unacknowledged pushes with the same
//! request id, while the test crashes and restarts the sector service and
//! the aggregator (each crash drops everything the service runs: tasks,
//! connections, streams). At the end every acknowledged push is stored
//! exactly once, and the aggregator's view equals a fresh rebuild.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use citydash_agriculture::Agriculture;
use citydash_e2e::fixtures::project;
use citydash_e2e::{Sectors, TestDb, spawn_aggregator, spawn_sector_at};
use citydash_proto::v1::{self, city_service_client::CityServiceClient, sector_service_client::SectorServiceClient};
use tokio_stream::StreamExt;

const CLIENTS: usize = 4;
const PUSHES: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_push_survives_crashes_exactly_once() {
    let mut sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let mut agg = spawn_aggregator(&agg_db, &sectors).await;
    let addr = sectors.services[0].addr;
    let channel = sectors.services[0].channel().await;
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let retries = Arc::new(std::sync::atomic::AtomicUsize::new(0));

    // Agency clients: each push has its own request id, kept across retries.
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let channel = channel.clone();
        let acked = Arc::clone(&acked);
        let retries = Arc::clone(&retries);
        clients.push(tokio::spawn(async move {
            let mut client = SectorServiceClient::new(channel);
            for i in 0..PUSHES {
                let code = format!("AG-F{c}-{i:03}");
                let request = v1::UpsertProjectsRequest {
                    request_id: format!("fault-{c}-{i}"),
                    validate_only: false,
                    correction_reason: String::new(),
                    projects: vec![project(&code, "city", 6_000_000)],
                };
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                loop {
                    match client.upsert_projects(request.clone()).await {
                        Ok(_) => {
                            acked.lock().expect("lock").insert(code.clone());
                            break;
                        }
                        Err(_) => {
                            assert!(tokio::time::Instant::now() < deadline, "{code} never acknowledged");
                            retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }

    // Faults while they push: crash and restart the sector service three
    // times and the aggregator twice.
    for round in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        sectors.services.remove(0).kill();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let back = spawn_sector_at::<Agriculture>(sectors.db(0), addr).await;
        sectors.services.insert(0, back);
        if round < 2 {
            agg.kill();
            agg = spawn_aggregator(&agg_db, &sectors).await;
        }
    }
    for c in clients {
        c.await.expect("client");
    }
    let acked = acked.lock().expect("lock").clone();
    assert_eq!(acked.len(), CLIENTS * PUSHES);

    // Every acknowledged push is stored, exactly once, at version 1.
    let mut sector = SectorServiceClient::new(sectors.services[0].channel().await);
    let stored = sector
        .list_projects(v1::ListProjectsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .projects;
    let codes: BTreeSet<String> = stored.iter().map(|p| p.code.clone()).collect();
    assert_eq!(codes, acked, "lost or extra projects");
    assert!(
        stored.iter().all(|p| p.meta.as_ref().map(|m| m.version) == Some(1)),
        "a retry counted twice"
    );
    let mut feed = sector
        .watch_changes(v1::WatchChangesRequest {
            after_sequence: 0,
            heartbeat_seconds: 0,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut seqs = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(500), feed.next()).await {
        seqs.push(item.expect("change").change.expect("set").sequence);
    }
    assert_eq!(
        seqs,
        (1..=acked.len() as i64).collect::<Vec<_>>(),
        "one change per push, no gap"
    );
    drop(feed);

    // The aggregator that lived through the crashes equals a fresh rebuild.
    let fresh_db = TestDb::new().await;
    let fresh = spawn_aggregator(&fresh_db, &sectors).await;
    let period = Some(v1::Period { year: 2026, month: 6 });
    let view = |channel: citydash_runtime::auth::AuthedChannel| async move {
        let mut c = CityServiceClient::new(channel);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let mut o = c
                .get_overview(v1::GetOverviewRequest { period })
                .await
                .expect("overview")
                .into_inner()
                .overview
                .expect("set");
            let agri = o
                .sectors
                .iter()
                .find(|s| s.sector == v1::Sector::Agriculture as i32)
                .map(|s| s.projects);
            if agri == Some((CLIENTS * PUSHES) as i32) && o.stale_feeds.is_empty() {
                for s in &mut o.sectors {
                    s.feed = None;
                }
                return o;
            }
            assert!(tokio::time::Instant::now() < deadline, "the aggregator never caught up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let survived = view(agg.channel().await).await;
    let rebuilt = view(fresh.channel().await).await;
    assert_eq!(survived, rebuilt);
    eprintln!(
        "faults: {} pushes acknowledged, 3 sector crashes, 2 aggregator crashes, {} retries, lost 0",
        acked.len(),
        retries.load(std::sync::atomic::Ordering::Relaxed)
    );
    fresh.stop().await;
    agg.stop().await;
}
