//! Who may write what, over real gRPC: each role and agency against each
//! write, with expired, forged, wrong-sector and missing credentials; every
//! refusal has the right code, leaves the data unchanged and leaves an audit
//! row. Duplicate pushes have one effect and one audit row; a locked period
//! refuses writes but takes an admin's correction; a flood from one agency is
//! shed while another agency's pushes still succeed.

use std::time::Duration;

use citydash_agriculture::Agriculture;
use citydash_e2e::fixtures::{date, period, progress, project, started, value};
use citydash_e2e::{Running, TestDb, request_id, spawn_sector, spawn_sector_with, test_signing_key, token};
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use citydash_runtime::auth::{AuthedChannel, Claims, Role, SigningKey};
use tonic::Code;

async fn client(svc: &Running, token: &str) -> SectorServiceClient<AuthedChannel> {
    SectorServiceClient::new(svc.channel_as(token).await)
}

fn admin() -> String {
    token("市政府办公室", Role::Admin, &[], &[])
}

async fn audit(svc: &Running) -> Vec<v1::AuditEntry> {
    let mut c = client(svc, &admin()).await;
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = c
            .list_audit(v1::ListAuditRequest {
                page_size: 50,
                page_token,
            })
            .await
            .expect("audit")
            .into_inner();
        out.extend(page.entries);
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

async fn project_count(svc: &Running) -> usize {
    client(svc, &admin())
        .await
        .list_projects(v1::ListProjectsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .projects
        .len()
}

fn upsert(code: &str, region: &str) -> v1::UpsertProjectsRequest {
    v1::UpsertProjectsRequest {
        update_mask: None,
        request_id: request_id(),
        validate_only: false,
        correction_reason: String::new(),
        projects: vec![project(code, region, 6_000_000)],
    }
}

/// A caller, its token (none: no credentials), the region it writes, and
/// what should happen.
type Case = (&'static str, Option<String>, &'static str, Result<(), Code>);

#[tokio::test]
async fn every_role_and_credential_against_a_sector_write() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let key = test_signing_key();
    let mut expired = Claims::new(
        "市农业农村局",
        Role::Agency,
        vec!["agriculture".into()],
        vec![],
        Duration::from_secs(60),
    );
    expired.iat -= 7200;
    expired.exp = expired.iat + 60;
    let (not_ours, _) = citydash_runtime::auth::generate_key_pair().expect("a key pair");
    let forged = SigningKey::from_pem(&not_ours)
        .expect("key")
        .issue(&Claims::new(
            "市农业农村局",
            Role::Agency,
            vec!["agriculture".into()],
            vec![],
            Duration::from_secs(60),
        ))
        .expect("forged");
    let cases: Vec<Case> = vec![
        (
            "own agency",
            Some(token("市农业农村局", Role::Agency, &["agriculture"], &[])),
            "chengguan",
            Ok(()),
        ),
        (
            "agency in its region",
            Some(token(
                "城关区农业农村局",
                Role::Agency,
                &["agriculture"],
                &["chengguan"],
            )),
            "chengguan",
            Ok(()),
        ),
        (
            "agency outside its region",
            Some(token(
                "城关区农业农村局",
                Role::Agency,
                &["agriculture"],
                &["chengguan"],
            )),
            "dongcheng",
            Err(Code::PermissionDenied),
        ),
        (
            "another sector's agency",
            Some(token("市工信局", Role::Agency, &["industry"], &[])),
            "chengguan",
            Err(Code::PermissionDenied),
        ),
        (
            "statistics bureau",
            Some(token("市统计局", Role::Statistics, &[], &[])),
            "chengguan",
            Err(Code::PermissionDenied),
        ),
        (
            "finance bureau",
            Some(token("市财政局", Role::Finance, &[], &[])),
            "chengguan",
            Err(Code::PermissionDenied),
        ),
        (
            "viewer",
            Some(token("市长办公室", Role::Viewer, &[], &[])),
            "chengguan",
            Err(Code::PermissionDenied),
        ),
        ("admin", Some(admin()), "chengguan", Ok(())),
        (
            "expired token",
            Some(key.issue(&expired).expect("expired")),
            "chengguan",
            Err(Code::Unauthenticated),
        ),
        ("forged token", Some(forged), "chengguan", Err(Code::Unauthenticated)),
        (
            "garbage token",
            Some("not.a.token".to_owned()),
            "chengguan",
            Err(Code::Unauthenticated),
        ),
        ("no credentials", None, "chengguan", Err(Code::Unauthenticated)),
    ];
    let mut accepted = 0;
    for (i, (name, token, region, want)) in cases.into_iter().enumerate() {
        let before_projects = project_count(&svc).await;
        let before_audit = audit(&svc).await.len();
        let request = upsert(&format!("AG-A{i:02}"), region);
        let id = request.request_id.clone();
        let reply = match &token {
            Some(t) => client(&svc, t).await.upsert_projects(request).await,
            None => {
                SectorServiceClient::new(svc.raw_channel().await)
                    .upsert_projects(request)
                    .await
            }
        };
        let after_audit = audit(&svc).await;
        assert_eq!(after_audit.len(), before_audit + 1, "{name}: one audit row");
        let row = after_audit.last().expect("row");
        assert_eq!(row.request_id, id, "{name}");
        match want {
            Ok(()) => {
                reply.unwrap_or_else(|e| panic!("{name}: refused {e:?}"));
                accepted += 1;
                assert_eq!(project_count(&svc).await, before_projects + 1, "{name}");
                assert_eq!(row.outcome, v1::AuditOutcome::Accepted as i32, "{name}");
                assert!(
                    row.after.is_some() && row.before.is_none(),
                    "{name}: a new record has no before"
                );
            }
            Err(code) => {
                let err = reply.expect_err(name);
                assert_eq!(err.code(), code, "{name}: {}", err.message());
                assert_eq!(project_count(&svc).await, before_projects, "{name}: nothing written");
                assert_eq!(row.outcome, v1::AuditOutcome::Refused as i32, "{name}");
                assert_eq!(row.code, format!("{code:?}"), "{name}");
            }
        }
    }
    assert_eq!(accepted, 3);

    // Reads need credentials too; health and reflection stay open.
    let err = SectorServiceClient::new(svc.raw_channel().await)
        .list_projects(v1::ListProjectsRequest::default())
        .await
        .expect_err("anonymous read");
    assert_eq!(err.code(), Code::Unauthenticated);
    let viewer = token("市长办公室", Role::Viewer, &[], &[]);
    assert_eq!(
        client(&svc, &viewer)
            .await
            .list_projects(v1::ListProjectsRequest::default())
            .await
            .expect("viewer reads")
            .into_inner()
            .projects
            .len(),
        3
    );
    let mut health = tonic_health::pb::health_client::HealthClient::new(svc.raw_channel().await);
    health
        .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
        .await
        .expect("health is open");
    // Only an admin reads the audit trail.
    let err = client(&svc, &viewer)
        .await
        .list_audit(v1::ListAuditRequest::default())
        .await
        .expect_err("viewer audit");
    assert_eq!(err.code(), Code::PermissionDenied);
    // A refused update leaves the stored record as it was, and says so.
    let mut c = client(
        &svc,
        &token("城关区农业农村局", Role::Agency, &["agriculture"], &["chengguan"]),
    )
    .await;
    let mut moved = upsert("AG-A00", "dongcheng");
    moved.projects[0].region_code = "dongcheng".into();
    let err = c.upsert_projects(moved).await.expect_err("moving out of its region");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("dongcheng"), "{}", err.message());
    svc.stop().await;
}

#[tokio::test]
async fn concurrent_duplicates_have_one_effect_and_one_audit_row() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let mut c = SectorServiceClient::new(svc.channel().await);
    let mut seed = upsert("AG-D1", "city");
    seed.projects[0] = started(seed.projects[0].clone());
    c.upsert_projects(seed).await.expect("seed");
    let request = v1::ReportProgressRequest {
        update_mask: None,
        request_id: "dup-1".into(),
        validate_only: false,
        correction_reason: String::new(),
        reports: vec![progress("AG-D1", 2026, 5, 1_000_000)],
    };
    let before = audit(&svc).await.len();
    let replies = futures::future::join_all((0..12).map(|_| {
        let mut c = c.clone();
        let r = request.clone();
        async move { c.report_progress(r).await.map(|r| r.into_inner()) }
    }))
    .await;
    assert!(
        replies
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r == replies[0].as_ref().expect("ok")))
    );
    let rows: Vec<v1::AuditEntry> = audit(&svc).await.into_iter().skip(before).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].key, "AG-D1/2026-05");
    let reports = c
        .list_progress(v1::ListProgressRequest::default())
        .await
        .expect("list")
        .into_inner()
        .reports;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].meta.as_ref().map(|m| m.version), Some(1));
    svc.stop().await;
}

#[tokio::test]
async fn a_locked_period_refuses_writes_but_takes_an_admins_correction() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let mut agency = SectorServiceClient::new(svc.channel().await);
    let mut adm = client(&svc, &admin()).await;
    let push = |v: i64, reason: &str| v1::ReportIndicatorsRequest {
        update_mask: None,
        request_id: request_id(),
        validate_only: false,
        correction_reason: reason.into(),
        values: vec![value("agri.output_value", "city", 2026, 6, v)],
    };
    agency
        .report_indicators(push(1_000_000_000, ""))
        .await
        .expect("before the lock");

    // Only an admin locks; the lock needs a reason.
    let lock = v1::LockPeriodRequest {
        period: period(2026, 6),
        reason: "1—6月统计数据已公布".into(),
    };
    assert_eq!(
        agency.lock_period(lock.clone()).await.expect_err("agency locks").code(),
        Code::PermissionDenied
    );
    let before = audit(&svc).await.len();
    let err = adm
        .lock_period(v1::LockPeriodRequest {
            period: period(2026, 6),
            reason: String::new(),
        })
        .await
        .expect_err("no reason");
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = adm
        .unlock_period(v1::UnlockPeriodRequest {
            period: period(2026, 13),
            ..Default::default()
        })
        .await
        .expect_err("no such month");
    assert_eq!(err.code(), Code::InvalidArgument);
    // An admin's bad lock request is refused and audited like any other.
    let refused: Vec<v1::AuditEntry> = audit(&svc).await.into_iter().skip(before).collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|r| r.outcome == v1::AuditOutcome::Refused as i32 && r.principal == "市政府办公室")
    );
    adm.lock_period(lock).await.expect("admin locks");
    let locks = agency
        .list_period_locks(v1::ListPeriodLocksRequest {})
        .await
        .expect("locks")
        .into_inner()
        .locks;
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].locked_by, "市政府办公室");

    // The agency's revision of June is refused; May is still open.
    let err = agency
        .report_indicators(push(1_050_000_000, ""))
        .await
        .expect_err("locked");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("2026-06"), "{}", err.message());
    {
        use tonic_types::StatusExt;
        let info = err.get_details_error_info().expect("error info");
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("PERIOD_LOCKED", "citydash")
        );
        let zh = err.get_details_localized_message().expect("localized message");
        assert!(zh.locale == "zh-CN" && zh.message.contains("已锁定"), "{zh:?}");
    }
    let mut may = push(800_000_000, "");
    may.values[0].period = period(2026, 5);
    agency.report_indicators(may).await.expect("May is open");
    // A stage move dated in June is a write to June too.
    let mut p = project("AG-L1", "city", 9_000_000);
    agency
        .upsert_projects(v1::UpsertProjectsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            projects: vec![p.clone()],
        })
        .await
        .expect("a project without events");
    p.stage = v1::ProjectStage::Started as i32;
    p.stage_date = date(2026, 6, 3);
    let err = agency
        .upsert_projects(v1::UpsertProjectsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            projects: vec![p],
        })
        .await
        .expect_err("a June event");
    assert_eq!(err.code(), Code::FailedPrecondition);
    // A non-admin cannot send a correction.
    let err = agency
        .report_indicators(push(1_050_000_000, "统计口径调整"))
        .await
        .expect_err("agency correction");
    assert_eq!(err.code(), Code::PermissionDenied);

    // The admin's correction is accepted and kept as a revision with its reason.
    adm.report_indicators(push(1_020_000_000, "统计局核定数据更正"))
        .await
        .expect("correction");
    let revisions = adm
        .list_revisions(v1::ListRevisionsRequest {
            record_type: "indicator_value".into(),
            key: "agri.output_value/city/2026-06".into(),
        })
        .await
        .expect("revisions")
        .into_inner()
        .revisions;
    let versions: Vec<(i64, String, String)> = revisions
        .iter()
        .map(|r| match r.record.as_ref() {
            Some(v1::record::Record::IndicatorValue(v)) => {
                let m = v.meta.clone().expect("meta");
                (v.value, m.updated_by, m.correction_reason)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        versions,
        [
            (1_000_000_000, "市农业农村局".to_owned(), String::new()),
            (
                1_020_000_000,
                "市政府办公室".to_owned(),
                "统计局核定数据更正".to_owned()
            ),
        ]
    );
    let rows = audit(&svc).await;
    let refused_locked = rows.iter().filter(|r| r.code == "FailedPrecondition").count();
    assert_eq!(refused_locked, 2);
    assert!(
        rows.iter()
            .any(|r| r.reason == "统计局核定数据更正" && r.outcome == v1::AuditOutcome::Accepted as i32)
    );
    adm.unlock_period(v1::UnlockPeriodRequest {
        period: period(2026, 6),
        reason: "重新开放".into(),
    })
    .await
    .expect("unlock");
    agency
        .report_indicators(push(1_030_000_000, ""))
        .await
        .expect("open again");
    svc.stop().await;
}

#[tokio::test]
async fn a_flood_from_one_agency_is_shed_while_another_still_pushes() {
    let db = TestDb::new().await;
    let svc = spawn_sector_with::<Agriculture>(
        &db,
        "127.0.0.1:0".parse().expect("addr"),
        &[
            "--rate-limit-per-second",
            "20",
            "--rate-limit-burst",
            "20",
            "--max-inflight-per-agency",
            "4",
        ],
    )
    .await;
    let flooder = token("城关区农业农村局", Role::Agency, &["agriculture"], &["chengguan"]);
    let other = token("东城区农业农村局", Role::Agency, &["agriculture"], &["dongcheng"]);
    let flood_client = client(&svc, &flooder).await;
    let flood = tokio::spawn(async move {
        futures::future::join_all((0..300).map(|i| {
            let mut c = flood_client.clone();
            async move {
                c.upsert_projects(upsert(&format!("CG-{i:03}"), "chengguan"))
                    .await
                    .map(|_| ())
            }
        }))
        .await
    });
    let mut c = client(&svc, &other).await;
    for i in 0..5 {
        c.upsert_projects(upsert(&format!("DC-{i}"), "dongcheng"))
            .await
            .unwrap_or_else(|e| panic!("the other agency's push {i} failed: {e:?}"));
    }
    let results = flood.await.expect("flood");
    let shed = results
        .iter()
        .filter(|r| r.as_ref().err().is_some_and(|e| e.code() == Code::ResourceExhausted))
        .count();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert!(shed > 0, "nothing was shed");
    assert!(ok > 0, "the flooding agency still gets its share");
    assert_eq!(ok + shed, 300, "every request either landed or was shed");
    svc.stop().await;
}
