//! A region-scoped token stays in its regions for every record kind (issue
//! 22, item 1): it cannot move another region's production base into its
//! own, nor write a monthly report of another region's enterprise by naming
//! its own region; and a dry run into a locked month says what the write
//! would (item 4).

use citydash_agriculture::Agriculture;
use citydash_e2e::fixtures::period;
use citydash_e2e::{TestDb, request_id, spawn_sector, token};
use citydash_industry::Industry;
use citydash_proto::v1::{
    self, agriculture_service_client::AgricultureServiceClient, industry_service_client::IndustryServiceClient,
    sector_service_client::SectorServiceClient,
};
use citydash_runtime::auth::Role;
use tonic::Code;
use tonic_types::StatusExt;

fn base(region: &str, area: i64) -> v1::ProductionBase {
    v1::ProductionBase {
        code: "BASE-D".into(),
        name: "东城青稞基地".into(),
        region_code: region.into(),
        responsible_unit: "市农业农村局".into(),
        product: "青稞".into(),
        area_mu: area,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_region_scoped_token_cannot_move_or_rewrite_another_regions_records() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let upsert = |bases| v1::UpsertProductionBasesRequest {
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        update_mask: None,
        bases,
    };
    AgricultureServiceClient::new(svc.channel().await)
        .upsert_production_bases(upsert(vec![base("dongcheng", 1_000)]))
        .await
        .expect("the city-wide agency writes dongcheng");
    let scoped = token("城关区农业农村局", Role::Agency, &["agriculture"], &["chengguan"]);
    let err = AgricultureServiceClient::new(svc.channel_as(&scoped).await)
        .upsert_production_bases(upsert(vec![base("chengguan", 9_999)]))
        .await
        .expect_err("moving a dongcheng base into chengguan");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("dongcheng"), "{}", err.message());
    let bases = AgricultureServiceClient::new(svc.channel().await)
        .list_production_bases(v1::ListProductionBasesRequest::default())
        .await
        .expect("list")
        .into_inner()
        .bases;
    assert_eq!((bases[0].region_code.as_str(), bases[0].area_mu), ("dongcheng", 1_000));
    svc.stop().await;

    // A monthly report belongs to its enterprise's region.
    let db = TestDb::new().await;
    let svc = spawn_sector::<Industry>(&db).await;
    let mut industry = IndustryServiceClient::new(svc.channel().await);
    industry
        .upsert_enterprises(v1::UpsertEnterprisesRequest {
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            update_mask: None,
            enterprises: vec![v1::IndustrialEnterprise {
                code: "EN-D".into(),
                name: "东城建材厂".into(),
                region_code: "dongcheng".into(),
                responsible_unit: "市工信局".into(),
                scale_status: v1::ScaleStatus::AboveScale as i32,
                ..Default::default()
            }],
        })
        .await
        .expect("enterprise");
    let month = |region: &str| v1::ReportEnterpriseMonthsRequest {
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        update_mask: None,
        months: vec![v1::EnterpriseMonth {
            enterprise_code: "EN-D".into(),
            period: period(2026, 6),
            region_code: region.into(),
            responsible_unit: "市工信局".into(),
            main_revenue_yuan: 5_000_000,
            ..Default::default()
        }],
    };
    let scoped = token("城关区工信局", Role::Agency, &["industry"], &["chengguan"]);
    let mut scoped = IndustryServiceClient::new(svc.channel_as(&scoped).await);
    let err = scoped
        .report_enterprise_months(month("chengguan"))
        .await
        .expect_err("a dongcheng enterprise's month named chengguan");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(citydash_e2e::violated_fields(&err), ["months[0].region_code"]);
    let err = scoped
        .report_enterprise_months(month("dongcheng"))
        .await
        .expect_err("a dongcheng month");
    assert_eq!(err.code(), Code::PermissionDenied);
    let months = industry
        .list_enterprise_months(v1::ListEnterpriseMonthsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .months;
    assert!(months.is_empty(), "nothing written: {months:?}");
    svc.stop().await;
}

#[tokio::test]
async fn a_dry_run_into_a_locked_month_is_refused_like_the_write() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let admin = token("市政府办公室", Role::Admin, &[], &[]);
    SectorServiceClient::new(svc.channel_as(&admin).await)
        .lock_period(v1::LockPeriodRequest {
            period: period(2026, 6),
            reason: "1—6月统计数据已公布".into(),
        })
        .await
        .expect("lock");
    let dry = v1::ReportIndicatorsRequest {
        request_id: request_id(),
        validate_only: true,
        correction_reason: String::new(),
        update_mask: None,
        values: vec![citydash_e2e::fixtures::value(
            "agri.output_value",
            "city",
            2026,
            6,
            1_000,
        )],
    };
    let err = SectorServiceClient::new(svc.channel().await)
        .report_indicators(dry)
        .await
        .expect_err("a dry run into a locked month");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.get_details_error_info().map(|i| i.reason),
        Some("PERIOD_LOCKED".into())
    );
    svc.stop().await;
}

/// An amount beyond any city's figure is refused naming its field (so no
/// sum in the aggregator can wrap), and a refused request's huge request id
/// is cut in its audit row (issue 22, items 2 and 3).
#[tokio::test]
async fn huge_amounts_are_refused_and_refusals_keep_bounded_audit_rows() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let err = AgricultureServiceClient::new(svc.channel().await)
        .upsert_production_bases(v1::UpsertProductionBasesRequest {
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            update_mask: None,
            bases: vec![base("dongcheng", 1 << 62)],
        })
        .await
        .expect_err("2^62 mu");
    assert_eq!(citydash_e2e::violated_fields(&err), ["bases[0].area_mu"]);

    let huge = "x".repeat(1 << 20);
    let err = SectorServiceClient::new(svc.raw_channel().await)
        .report_progress(v1::ReportProgressRequest {
            request_id: huge,
            validate_only: false,
            correction_reason: String::new(),
            update_mask: None,
            reports: vec![citydash_e2e::fixtures::progress("AG-1", 2026, 6, 1)],
        })
        .await
        .expect_err("no credentials");
    assert_eq!(err.code(), Code::Unauthenticated);
    let admin = token("市政府办公室", Role::Admin, &[], &[]);
    let audit = SectorServiceClient::new(svc.channel_as(&admin).await)
        .list_audit(v1::ListAuditRequest::default())
        .await
        .expect("the audit trail stays readable")
        .into_inner()
        .entries;
    let row = audit.last().expect("the refusal's row");
    assert!(row.request_id.len() < 512, "{} bytes kept", row.request_id.len());
    assert!(row.request_id.contains("1048576"), "the cut is marked with the length");
    svc.stop().await;
}

/// A refusal of 1,000 bad items stays readable by a default client (under
/// 8 KiB of details, the rest counted), and the scheme `bearer` is accepted
/// in any case (issue 22, items 7 and 9).
#[tokio::test]
async fn large_refusals_stay_readable_and_the_scheme_is_case_insensitive() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let reports = (0..1000)
        .map(|i| citydash_e2e::fixtures::progress(&format!("AG-{i}"), 2026, 6, -1))
        .collect();
    let err = SectorServiceClient::new(svc.channel().await)
        .report_progress(v1::ReportProgressRequest {
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            update_mask: None,
            reports,
        })
        .await
        .expect_err("1,000 bad items");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.details().len() < 8 * 1024, "{} bytes", err.details().len());
    let info = err.get_details_error_info().expect("error info");
    assert!(
        info.metadata
            .get("violations")
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n >= 1000),
        "{info:?}"
    );

    let lower = format!("bearer {}", svc.token);
    let mut request = tonic::Request::new(v1::GetCatalogRequest {});
    request
        .metadata_mut()
        .insert("authorization", lower.parse().expect("header"));
    SectorServiceClient::new(svc.raw_channel().await)
        .get_catalog(request)
        .await
        .expect("`bearer` in lower case");
    svc.stop().await;
}

/// A batch may touch every month there is (issue 22, item 6): the lock check
/// is one query whatever their number, and names the locked month.
#[tokio::test]
async fn the_lock_check_scales_to_every_month_of_a_batch() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let admin = token("市政府办公室", Role::Admin, &[], &[]);
    SectorServiceClient::new(svc.channel_as(&admin).await)
        .lock_period(v1::LockPeriodRequest {
            period: period(2010, 3),
            reason: "2010年数据已定案".into(),
        })
        .await
        .expect("lock");
    let values: Vec<v1::IndicatorValue> = (2000..=2025)
        .flat_map(|y| (1..=12).map(move |m| (y, m)))
        .chain((1..=11).map(|m| (2026, m)))
        .map(|(y, m)| citydash_e2e::fixtures::value("agri.output_value", "city", y, m, 1_000 * i64::from(m)))
        .collect();
    assert!(values.len() > 300);
    let push = |values: Vec<v1::IndicatorValue>| v1::ReportIndicatorsRequest {
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        update_mask: None,
        values,
    };
    let mut sector = SectorServiceClient::new(svc.channel().await);
    let err = sector
        .report_indicators(push(values.clone()))
        .await
        .expect_err("one month is locked");
    assert_eq!(err.code(), Code::FailedPrecondition, "{}", err.message());
    assert!(err.message().contains("2010"), "{}", err.message());
    let open: Vec<_> = values.into_iter().filter(|v| v.period != period(2010, 3)).collect();
    let n = open.len();
    let written = sector
        .report_indicators(push(open))
        .await
        .expect("every other month")
        .into_inner();
    assert_eq!(written.results.len(), n);
    svc.stop().await;
}

/// Request ids belong to the agency that sent them (issue 22, item 5):
/// another agency's request replayed under its id is judged afresh (here,
/// refused: it writes outside the token's region), never answered from the
/// stored result; the same id is free for every agency; an id reused for
/// other content is refused with an audit row.
#[tokio::test]
async fn request_ids_are_scoped_to_their_sender_and_a_reused_id_is_audited() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let projects = |region: &str| vec![citydash_e2e::fixtures::project("AG-1", region, 10_000_000)];
    let push = |id: &str, projects| v1::UpsertProjectsRequest {
        request_id: id.to_owned(),
        validate_only: false,
        correction_reason: String::new(),
        update_mask: None,
        projects,
    };
    let mut city = SectorServiceClient::new(svc.channel().await);
    city.upsert_projects(push("R-1", projects("dongcheng")))
        .await
        .expect("the city-wide agency writes dongcheng");

    let scoped = token("城关区农业农村局", Role::Agency, &["agriculture"], &["chengguan"]);
    let mut chengguan = SectorServiceClient::new(svc.channel_as(&scoped).await);
    let err = chengguan
        .upsert_projects(push("R-1", projects("dongcheng")))
        .await
        .expect_err("replaying another agency's request");
    assert_eq!(err.code(), Code::PermissionDenied, "{}", err.message());
    let mine = vec![citydash_e2e::fixtures::project("AG-2", "chengguan", 10_000_000)];
    let written = chengguan
        .upsert_projects(push("R-1", mine))
        .await
        .expect("the same id is free for another agency")
        .into_inner();
    assert_eq!(written.results[0].key, "AG-2");

    let err = city
        .upsert_projects(push("R-1", projects("xicheng")))
        .await
        .expect_err("the id reused for other content");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(citydash_e2e::violated_fields(&err), ["request_id"]);
    // A retry of the original is still answered from its stored result.
    let again = city
        .upsert_projects(push("R-1", projects("dongcheng")))
        .await
        .expect("a true retry")
        .into_inner();
    assert_eq!(again.results[0].key, "AG-1");

    let admin = token("市政府办公室", Role::Admin, &[], &[]);
    let audit = SectorServiceClient::new(svc.channel_as(&admin).await)
        .list_audit(v1::ListAuditRequest::default())
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let refused: Vec<(&str, &str)> = audit
        .iter()
        .filter(|e| e.outcome == v1::AuditOutcome::Refused as i32 && e.request_id == "R-1")
        .map(|e| (e.principal.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(
        refused,
        [
            ("城关区农业农村局", "PermissionDenied"),
            (citydash_e2e::agency_of("agriculture"), "InvalidArgument")
        ]
    );
    let projects = city
        .list_projects(v1::ListProjectsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .projects;
    let regions: Vec<(&str, &str)> = projects
        .iter()
        .map(|p| (p.code.as_str(), p.region_code.as_str()))
        .collect();
    assert_eq!(regions, [("AG-1", "dongcheng"), ("AG-2", "chengguan")]);
    svc.stop().await;
}

/// Refusals cannot fill the disk (issue 22, item 3): a burst of 200
/// unauthenticated pushes with 256 KiB request ids leaves at most the
/// peer's refusal burst of audit rows, each with its id cut; the rest are
/// shed RESOURCE_EXHAUSTED unaudited; the trail stays readable, and
/// verified callers from the same address are served.
#[tokio::test]
async fn a_peer_refused_again_and_again_is_shed_unaudited() {
    let db = TestDb::new().await;
    // A slow refill (one refusal every 5 s), so a slow machine cannot refill
    // the budget between the burst and the checks.
    let svc = citydash_e2e::spawn_sector_with::<Agriculture>(
        &db,
        "127.0.0.1:0".parse().expect("address"),
        &["--refusals-per-second", "0.2"],
    )
    .await;
    let mut anonymous = SectorServiceClient::new(svc.raw_channel().await);
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..200 {
        let err = anonymous
            .report_progress(v1::ReportProgressRequest {
                request_id: format!("{i}-{}", "x".repeat(256 * 1024)),
                validate_only: false,
                correction_reason: String::new(),
                update_mask: None,
                reports: vec![citydash_e2e::fixtures::progress("AG-1", 2026, 6, 1)],
            })
            .await
            .expect_err("no credentials");
        *codes.entry(format!("{:?}", err.code())).or_default() += 1;
    }
    let shed = codes.get("ResourceExhausted").copied().unwrap_or_default();
    assert!(shed >= 100, "{codes:?}");
    let admin = token("市政府办公室", Role::Admin, &[], &[]);
    let mut admin_client = SectorServiceClient::new(svc.channel_as(&admin).await);
    let audit = admin_client
        .list_audit(v1::ListAuditRequest::default())
        .await
        .expect("the audit trail stays readable")
        .into_inner();
    assert!(audit.entries.len() <= 200 - shed, "{} rows", audit.entries.len());
    assert!(
        audit.entries.len() <= 70,
        "{} rows: at most the burst",
        audit.entries.len()
    );
    assert!(audit.entries.iter().all(|e| e.request_id.len() < 512));
    // Verified callers from the same address go on; anonymous ones wait
    // until the budget refills.
    let anonymous_read = || {
        let mut c = anonymous.clone();
        async move { c.get_catalog(v1::GetCatalogRequest {}).await }
    };
    let err = anonymous_read().await.expect_err("over the budget");
    assert_eq!(err.code(), Code::ResourceExhausted);
    tokio::time::sleep(std::time::Duration::from_millis(5_500)).await;
    let err = anonymous_read().await.expect_err("no credentials");
    assert_eq!(err.code(), Code::Unauthenticated, "the budget refilled");
    svc.stop().await;
}

/// A page of the audit trail is bounded in bytes as well as rows (issue
/// 22, item 3): 1,000 rows with a record before and after each end the page
/// early, and paging on reads every row once.
#[tokio::test]
async fn audit_pages_are_bounded_in_bytes() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let mut sector = SectorServiceClient::new(svc.channel().await);
    for name in ["甲", "乙"] {
        let projects = (0..1000)
            .map(|i| v1::Project {
                name: name.repeat(200),
                ..citydash_e2e::fixtures::project(&format!("AG-{i:04}"), "dongcheng", 10_000_000)
            })
            .collect();
        sector
            .upsert_projects(v1::UpsertProjectsRequest {
                request_id: request_id(),
                validate_only: false,
                correction_reason: String::new(),
                update_mask: None,
                projects,
            })
            .await
            .expect("1,000 projects");
    }
    let admin = token("市政府办公室", Role::Admin, &[], &[]);
    let mut admin_client = SectorServiceClient::new(svc.channel_as(&admin).await);
    let mut page_token = String::new();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = admin_client
            .list_audit(v1::ListAuditRequest {
                page_size: 1000,
                page_token: page_token.clone(),
            })
            .await
            .expect("page")
            .into_inner();
        assert!(prost::Message::encoded_len(&page) <= 1024 * 1024 + 4096);
        ids.extend(page.entries.iter().map(|e| e.id));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(ids.len(), 2000);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "each row once, in order");
    assert!(pages >= 3, "{pages} pages for 2,000 rows of ~1.5 KB");
    svc.stop().await;
}
