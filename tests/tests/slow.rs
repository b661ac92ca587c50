//! A slow sector: a proxy the test controls delays everything between the
//! aggregator and the agriculture service. The aggregator's other sectors
//! stay current, the view marks agriculture stale (silent beyond three
//! heartbeats, though still connected), and it is current again once the
//! delay goes.

use std::time::Duration;

use citydash_e2e::fixtures::progress;
use citydash_e2e::proxy::Proxy;
use citydash_e2e::{Running, Sectors, TestDb, request_id, spawn_aggregator_with};
use citydash_proto::v1::{self, city_service_client::CityServiceClient, sector_service_client::SectorServiceClient};

async fn overview(agg: &Running) -> v1::Overview {
    CityServiceClient::new(agg.channel().await)
        .get_overview(v1::GetOverviewRequest {
            period: Some(v1::Period { year: 2026, month: 4 }),
        })
        .await
        .expect("overview")
        .into_inner()
        .overview
        .expect("set")
}

async fn until(agg: &Running, what: &str, ok: impl Fn(&v1::Overview) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let o = overview(agg).await;
        if ok(&o) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never: {what}; stale: {:?}",
            o.stale_feeds
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn industry_counted(o: &v1::Overview) -> i64 {
    o.sectors
        .iter()
        .find(|s| s.sector == v1::Sector::Industry as i32)
        .and_then(|s| s.investment)
        .map_or(0, |i| i.counted_yuan)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sector_is_marked_stale_while_the_others_stay_current() {
    let sectors = Sectors::start().await;
    let proxy = Proxy::start(sectors.services[0].addr).await;
    let mut flags = sectors.flags();
    let at = flags.iter().position(|f| f.starts_with("agriculture=")).expect("flag");
    flags[at] = format!("agriculture=http://127.0.0.1:{}", proxy.port);
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator_with(&agg_db, flags).await;
    until(&agg, "all feeds current", |o| {
        o.stale_feeds.is_empty() && o.sectors.iter().all(|s| s.feed.as_ref().is_some_and(|f| f.connected))
    })
    .await;

    proxy.set_delay(Some(Duration::from_secs(10)));
    until(&agg, "agriculture stale", |o| {
        o.stale_feeds
            .iter()
            .any(|f| f.sector == v1::Sector::Agriculture as i32 && f.stale_since.is_some())
    })
    .await;
    // Industry stays current meanwhile.
    let mut industry = SectorServiceClient::new(sectors.services[1].channel().await);
    let mut p = citydash_e2e::fixtures::project("IN-S1", "city", 9_000_000);
    p.stage = v1::ProjectStage::Started as i32;
    p.stage_date = citydash_e2e::fixtures::date(2026, 4, 1);
    p.in_statistics_database = Some(true);
    p.statistics_date = citydash_e2e::fixtures::date(2026, 4, 2);
    industry
        .upsert_projects(v1::UpsertProjectsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            projects: vec![p],
        })
        .await
        .expect("project");
    industry
        .report_progress(v1::ReportProgressRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            reports: vec![progress("IN-S1", 2026, 4, 3_000_000)],
        })
        .await
        .expect("progress");
    until(&agg, "industry current while agriculture is slow", |o| {
        industry_counted(o) == 3_000_000
    })
    .await;
    assert!(
        overview(&agg)
            .await
            .stale_feeds
            .iter()
            .all(|f| f.sector == v1::Sector::Agriculture as i32)
    );

    proxy.set_delay(None);
    until(&agg, "agriculture current again", |o| o.stale_feeds.is_empty()).await;
    agg.stop().await;
}
