//! The smaller holes of issue 22, item 9: texts without control or hidden
//! characters, codes that cannot look like other codes, a bounded batch,
//! change-feed streams counted against the agency's in-flight limit, and
//! city-level projects written only by development and reform.

use citydash_agriculture::Agriculture;
use citydash_e2e::fixtures::project;
use citydash_e2e::{Sectors, TestDb, bureau_token, request_id, spawn_aggregator, spawn_sector, violated_fields};
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use citydash_runtime::auth::Role;
use tonic::Code;

fn upsert(projects: Vec<v1::Project>) -> v1::UpsertProjectsRequest {
    v1::UpsertProjectsRequest {
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        update_mask: None,
        projects,
    }
}

#[tokio::test]
async fn texts_and_codes_refuse_control_and_hidden_characters() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let mut sector = SectorServiceClient::new(svc.channel().await);
    let named = |code: &str, name: &str| v1::Project {
        name: name.to_owned(),
        ..project(code, "dongcheng", 10_000_000)
    };
    let err = sector
        .upsert_projects(upsert(vec![
            named("AG-1", "青稞\0基地"),
            named("AG-2", "项目\u{1b}[31m"),
            named("AG-3", "第一行\r\n第二行"),
            named("AG-\u{200b}4", "零宽空格的编号"),
            named("AG-5\u{202e}", "方向控制的编号"),
            named("AG-6", "正常名称"),
            v1::Project {
                responsible_unit: "市农业\0农村局".into(),
                ..named("AG-7", "责任单位里的 NUL")
            },
        ]))
        .await
        .expect_err("hidden characters");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let fields = violated_fields(&err);
    for f in [
        "projects[0].name",
        "projects[1].name",
        "projects[2].name",
        "projects[3].code",
        "projects[4].code",
        "projects[6].responsible_unit",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} not in {fields:?}");
    }
    assert!(!fields.iter().any(|x| x.starts_with("projects[5]")), "{fields:?}");

    // A request id with a NUL is refused naming it (on PostgreSQL its audit
    // row cannot hold one: it is kept with U+FFFD, never INTERNAL).
    let mut bad_id = upsert(vec![named("AG-6", "正常名称")]);
    bad_id.request_id = "r\0-1".into();
    let err = sector
        .upsert_projects(bad_id)
        .await
        .expect_err("a NUL in the request id");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(violated_fields(&err), ["request_id"]);
    let projects = sector
        .list_projects(v1::ListProjectsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .projects;
    assert!(projects.is_empty(), "nothing written: {projects:?}");
    svc.stop().await;
}

#[tokio::test]
async fn a_batch_is_bounded_and_feed_streams_count_against_the_agency() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let mut sector = SectorServiceClient::new(svc.channel().await);
    let many = (0..5_001)
        .map(|i| project(&format!("AG-{i}"), "dongcheng", 10_000_000))
        .collect();
    let err = sector.upsert_projects(upsert(many)).await.expect_err("5,001 items");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["projects"]);
    assert!(
        err.message().contains("5000") || err.message().contains("5 000"),
        "{}",
        err.message()
    );

    // Sixteen feed streams (the per-agency in-flight limit) held open take
    // every slot of the agency: its next call is shed until one closes.
    let mut streams = Vec::new();
    for _ in 0..16 {
        let stream = sector
            .watch_changes(v1::WatchChangesRequest {
                after_sequence: 0,
                heartbeat_seconds: 0,
                ..Default::default()
            })
            .await
            .expect("a feed stream")
            .into_inner();
        streams.push(stream);
    }
    let err = sector
        .get_catalog(v1::GetCatalogRequest {})
        .await
        .expect_err("every slot held by a stream");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    drop(streams);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while sector.get_catalog(v1::GetCatalogRequest {}).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "slots not given back");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    svc.stop().await;
}

#[tokio::test]
async fn only_development_and_reform_writes_city_level_projects() {
    let sectors = Sectors::start().await;
    let db = TestDb::new().await;
    let agg = spawn_aggregator(&db, &sectors).await;
    for role in [Role::Statistics, Role::Finance] {
        let err = SectorServiceClient::new(agg.channel_as(&bureau_token(role)).await)
            .upsert_projects(upsert(vec![project("CITY-1", "city", 10_000_000)]))
            .await
            .expect_err("a bureau that does not answer for investment");
        assert_eq!(err.code(), Code::PermissionDenied, "{role:?}: {err:?}");
    }
    SectorServiceClient::new(agg.channel_as(&bureau_token(Role::DevelopmentReform)).await)
        .upsert_projects(upsert(vec![project("CITY-1", "city", 10_000_000)]))
        .await
        .expect("development and reform writes city-level projects");
    agg.stop().await;
}
