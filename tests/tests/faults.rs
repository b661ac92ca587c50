//! Nothing acknowledged is ever lost. Four agency clients push uniquely
//! keyed projects concurrently, retrying an unacknowledged push with the
//! same request id, while the test SIGKILLs the agriculture service and the
//! aggregator (real OS processes running the `citydash` binary) and starts
//! them again, and, on PostgreSQL, cuts every database connection of both
//! through a TCP proxy the test controls. At the end every acknowledged
//! push is stored exactly once, the change feed holds one change per push
//! with no gap, and the aggregator that lived through it all equals a fresh
//! rebuild from the feeds.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use citydash_e2e::fixtures::project;
use citydash_e2e::proxy::Proxy;
use citydash_e2e::{
    Running, Sectors, TestBackend, TestDb, aggregator_args, backend, free_addr, sector_args, sector_token,
    spawn_aggregator_with, statistics_token,
};
use citydash_proto::v1::{self, city_service_client::CityServiceClient, sector_service_client::SectorServiceClient};
use tokio_stream::StreamExt;
use tonic::Code;

/// Agency clients pushing at once.
const CLIENTS: usize = 4;
/// Pushes each client makes at least; they go on until the faults are over.
const MIN_PUSHES: usize = 40;

/// One fault the test injects.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// SIGKILL the agriculture process, start it again.
    KillSector,
    /// SIGKILL the aggregator process, start it again.
    KillAggregator,
    /// Cut every database connection of both (PostgreSQL only).
    CutDatabases,
}

/// One round of faults, one every 150 ms or so, while the clients push;
/// the test runs [`ROUNDS`] of them. Sector kills are the most frequent:
/// each lands at a random point of some write.
const ROUND: [Fault; 6] = [
    Fault::KillSector,
    Fault::CutDatabases,
    Fault::KillSector,
    Fault::KillAggregator,
    Fault::KillSector,
    Fault::CutDatabases,
];

/// Rounds of [`ROUND`].
const ROUNDS: usize = 4;

/// Codes a client retries with the same request id: the push may or may
/// not have landed. Anything else is a refusal, and a bug here.
fn retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_push_survives_sigkill_and_cut_connections_exactly_once() {
    // The other three sectors run in-process; agriculture's place is taken
    // by a process on the same address.
    let mut sectors = Sectors::start().await;
    let flags = sectors.flags();
    let agri_addr = sectors.services[0].addr;
    sectors.services.remove(0).kill();
    let agg_db = TestDb::new().await;
    let proxies = match backend() {
        TestBackend::Postgres => Some((Proxy::to_postgres().await, Proxy::to_postgres().await)),
        TestBackend::Sqlite => None, // an embedded file: no connection to cut
    };
    let (agri_url, agg_url) = match &proxies {
        Some((a, g)) => (a.postgres_url(&sectors.db(0).url), g.postgres_url(&agg_db.url)),
        None => (sectors.db(0).url.clone(), agg_db.url.clone()),
    };
    let mut agri_args = vec!["agriculture".to_owned()];
    agri_args.extend(sector_args(&agri_url));
    let mut agg_args = vec!["aggregator".to_owned()];
    agg_args.extend(aggregator_args(&agg_url));
    agg_args.extend(flags.iter().cloned());
    let agg_addr = free_addr();
    let mut agri = Running::process(agri_addr, sector_token("agriculture"), &agri_args).await;
    let mut agg = Running::process(agg_addr, statistics_token(), &agg_args).await;

    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let retries = Arc::new(AtomicUsize::new(0));
    let faults_over = Arc::new(AtomicBool::new(false));
    let channel = agri.channel().await;
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (channel, acked, retries, faults_over) = (
            channel.clone(),
            Arc::clone(&acked),
            Arc::clone(&retries),
            Arc::clone(&faults_over),
        );
        clients.push(tokio::spawn(async move {
            let mut client = SectorServiceClient::new(channel);
            let mut i = 0;
            while i < MIN_PUSHES || !faults_over.load(Ordering::Relaxed) {
                let code = format!("AG-F{c}-{i:04}");
                // The request id is the push's: kept across its retries.
                let request = v1::UpsertProjectsRequest {
                    update_mask: None,
                    request_id: format!("fault-{c}-{i}"),
                    validate_only: false,
                    correction_reason: String::new(),
                    projects: vec![project(&code, "city", 6_000_000)],
                };
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                loop {
                    let mut call = tonic::Request::new(request.clone());
                    call.set_timeout(Duration::from_secs(10));
                    match client.upsert_projects(call).await {
                        Ok(_) => {
                            acked.lock().expect("lock").insert(code.clone());
                            break;
                        }
                        Err(e) if retryable(e.code()) => {
                            assert!(
                                tokio::time::Instant::now() < deadline,
                                "{code} never acknowledged: {e:?}"
                            );
                            retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => panic!("{code} refused: {e:?}"),
                    }
                }
                i += 1;
            }
        }));
    }

    let (mut sigkills, mut cuts) = (0, 0);
    for fault in ROUND.into_iter().cycle().take(ROUND.len() * ROUNDS) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        match fault {
            Fault::KillSector => {
                agri.kill();
                sigkills += 1;
                agri = Running::process(agri_addr, sector_token("agriculture"), &agri_args).await;
            }
            Fault::KillAggregator => {
                agg.kill();
                sigkills += 1;
                agg = Running::process(agg_addr, statistics_token(), &agg_args).await;
            }
            Fault::CutDatabases => {
                if let Some((a, g)) = &proxies {
                    a.cut();
                    g.cut();
                    cuts += 1;
                }
            }
        }
    }
    faults_over.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= CLIENTS * MIN_PUSHES);

    // Every acknowledged push is stored, exactly once, at version 1.
    let mut sector = SectorServiceClient::new(agri.channel().await);
    let mut stored = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = sector
            .list_projects(v1::ListProjectsRequest {
                page_size: 500,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        stored.extend(page.projects);
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    let codes: BTreeSet<String> = stored.iter().map(|p| p.code.clone()).collect();
    assert_eq!(codes.len(), stored.len(), "a project listed twice");
    assert_eq!(codes, acked, "lost or extra projects");
    assert!(
        stored.iter().all(|p| p.meta.as_ref().map(|m| m.version) == Some(1)),
        "a retry counted twice"
    );
    let mut feed = sector
        .watch_changes(v1::WatchChangesRequest {
            after_sequence: 0,
            heartbeat_seconds: 0,
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    let mut seqs = Vec::new();
    let mut in_feed = BTreeSet::new();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(500), feed.next()).await {
        let change = item.expect("change").change.expect("set");
        seqs.push(change.sequence);
        in_feed.insert(change.key);
    }
    let missing: Vec<&String> = acked.difference(&in_feed).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged pushes have no change in the feed: {missing:?}",
        missing.len(),
        acked.len()
    );
    let gap_free = seqs.iter().zip(1..).all(|(s, n)| *s == n);
    assert!(
        gap_free && seqs.len() == acked.len(),
        "one change per acknowledged push, sequences 1..={} with no gap; got {} changes",
        acked.len(),
        seqs.len()
    );
    drop(feed);

    // The aggregator that lived through the faults equals a fresh rebuild.
    let fresh_db = TestDb::new().await;
    let fresh = spawn_aggregator_with(&fresh_db, flags).await;
    let period = Some(v1::Period { year: 2026, month: 6 });
    let want = acked.len() as i32;
    let view = |name: &'static str, channel: citydash_runtime::auth::AuthedChannel| async move {
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
            if agri == Some(want) && o.stale_feeds.is_empty() {
                for s in &mut o.sectors {
                    s.feed = None;
                }
                return o;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the {name} aggregator never caught up: {agri:?} of {want} projects, stale feeds {:?}",
                o.stale_feeds
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let survived = view("surviving", agg.channel().await).await;
    let rebuilt = view("rebuilt", fresh.channel().await).await;
    assert_eq!(survived, rebuilt);
    eprintln!(
        "faults: {} pushes acknowledged by {CLIENTS} clients, {sigkills} SIGKILLs, {cuts} database cuts, {} retries, lost 0",
        acked.len(),
        retries.load(Ordering::Relaxed)
    );
    fresh.stop().await;
    agg.kill();
    agri.kill();
}
