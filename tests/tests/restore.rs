//! A sector's database restored to an earlier backup while the aggregator
//! runs (issue 19), on both backends, with `citydash backup` and `citydash
//! restore`. After the restore, new writes reuse sequence numbers the
//! aggregator already read; it notices (the change at its position is not
//! the one it holds), marks the feed rebuilt, and its view equals that of
//! a fresh aggregator built from the restored data and the writes after it.
//! A sector given a new, empty database (another identity) is rebuilt too.

use std::time::Duration;

use citydash_e2e::{
    Running, Sectors, TestDb, citydash_binary, push_counted, spawn_aggregator, spawn_sector_at, synced,
};
use citydash_proto::v1;

const AGRICULTURE: i32 = v1::Sector::Agriculture as i32;

fn citydash(args: &[&str]) {
    let out = std::process::Command::new(citydash_binary())
        .args(args)
        .output()
        .expect("run citydash");
    assert!(
        out.status.success(),
        "citydash {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn agriculture(o: &v1::Overview) -> v1::SectorSummary {
    o.sectors
        .iter()
        .find(|s| s.sector == AGRICULTURE)
        .cloned()
        .expect("agriculture")
}

/// The overview with the feeds' rebuild marks taken off, to compare with a
/// fresh aggregator that never rebuilt.
fn without_rebuild_marks(mut o: v1::Overview) -> v1::Overview {
    for s in &mut o.sectors {
        if let Some(f) = s.feed.as_mut() {
            f.rebuilt_time = None;
            f.rebuild_reason_zh.clear();
        }
    }
    o
}

/// Waits until the aggregator shows a rebuild of agriculture other than
/// `before` and is synced; the overview then.
async fn rebuilt(agg: &Running, sectors: &Sectors, before: Option<prost_types::Timestamp>) -> v1::Overview {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let o = synced(agg, sectors, None).await;
        let feed = agriculture(&o).feed.expect("feed");
        if feed.rebuilt_time.is_some() && feed.rebuilt_time != before {
            assert!(!feed.rebuild_reason_zh.is_empty(), "a rebuild says why");
            return o;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "agriculture never rebuilt: {feed:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fresh_view(sectors: &Sectors) -> v1::Overview {
    let db = TestDb::new().await;
    let fresh = spawn_aggregator(&db, sectors).await;
    let o = synced(&fresh, sectors, None).await;
    fresh.stop().await;
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sector_restored_from_a_backup_is_rebuilt_and_equals_a_fresh_view() {
    let mut sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    push_counted(&sectors.services[0], "AG-B1", 1_000_000).await;
    synced(&agg, &sectors, None).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let backup = dir.path().join("agriculture.backup");
    let url = sectors.db(0).url.clone();
    citydash(&["backup", "--database-url", &url, "--to", &backup.to_string_lossy()]);

    // Written after the backup: lost with the restore.
    push_counted(&sectors.services[0], "AG-B2", 2_000_000).await;
    let before = synced(&agg, &sectors, None).await;
    let invested = |o: &v1::Overview| agriculture(o).investment.expect("investment").counted_yuan;
    assert_eq!(invested(&before), 3_000_000);

    let addr = sectors.services[0].addr;
    sectors.services.remove(0).kill();
    citydash(&["restore", "--database-url", &url, "--from", &backup.to_string_lossy()]);
    let back = spawn_sector_at::<citydash_agriculture::Agriculture>(sectors.db(0), addr).await;
    sectors.services.insert(0, back);
    // Written after the restore: it takes the sequence numbers AG-B2 had.
    push_counted(&sectors.services[0], "AG-B3", 500_000).await;

    let after = rebuilt(&agg, &sectors, None).await;
    assert_eq!(invested(&after), 1_500_000, "AG-B1 and AG-B3, not AG-B2");
    let feed = agriculture(&after).feed.expect("feed");
    assert!(feed.rebuild_reason_zh.contains("重建"), "{}", feed.rebuild_reason_zh);
    assert_eq!(without_rebuild_marks(after.clone()), fresh_view(&sectors).await);

    // A restart of the aggregator loads the rebuilt model and keeps the mark.
    agg.stop().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    let reloaded = synced(&agg, &sectors, None).await;
    assert_eq!(reloaded, after);

    // A new, empty database (another identity) for agriculture: rebuilt again.
    let mark = agriculture(&reloaded).feed.expect("feed").rebuilt_time;
    sectors.services.remove(0).kill();
    let replacement = TestDb::new().await;
    let back = spawn_sector_at::<citydash_agriculture::Agriculture>(&replacement, addr).await;
    sectors.services.insert(0, back);
    push_counted(&sectors.services[0], "AG-N1", 700_000).await;
    let replaced = rebuilt(&agg, &sectors, mark).await;
    assert_eq!(invested(&replaced), 700_000);
    let reason = agriculture(&replaced).feed.expect("feed").rebuild_reason_zh;
    assert!(reason.contains("来源数据库已更换"), "{reason}");
    assert_eq!(without_rebuild_marks(replaced), fresh_view(&sectors).await);
    agg.stop().await;
}
