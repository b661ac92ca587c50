//! Supervision orders (issue 15, DOMAIN.md "Supervision orders"), through the
//! public API on both backends: a red alert's snapshot opens one order, the
//! unit files a plan and reports, only data closes it (on time or late), a
//! returning alert reopens it, and the month's standings give the on-time
//! rate and the red and black lists. Who may do what is a table.

use std::time::Duration;

use citydash_e2e::fixtures::{date, funded};
use citydash_e2e::{
    Running, Sectors, TestDb, register_units, request_id, spawn_aggregator, synced, test_signing_key, token,
};
use citydash_proto::v1::{
    self, OrderClosing, OrderColor, OrderState, city_service_client::CityServiceClient,
    orders_service_client::OrdersServiceClient, sector_service_client::SectorServiceClient,
};
use citydash_runtime::auth::{Claims, Role};
use tonic::Code;

const ADMIN: &str = "市政府办公室";
const OFFICE: &str = "两办督查室";

/// An agency token of agriculture that answers for `units` only.
fn unit_token(subject: &str, units: &[&str]) -> String {
    let mut claims = Claims::new(
        subject,
        Role::Agency,
        vec!["agriculture".into()],
        Vec::new(),
        Duration::from_secs(3600),
    );
    claims.units = units.iter().map(|u| (*u).to_owned()).collect();
    test_signing_key().issue(&claims).expect("token")
}

/// The city: an aggregator following every sector, the units registered,
/// and one project funded on 1 March and not started (资金已下达未开工: red
/// from 30 May).
struct City {
    agg: Running,
    sectors: Sectors,
    db: TestDb,
}

impl City {
    async fn start() -> Self {
        let sectors = Sectors::start().await;
        let db = TestDb::new().await;
        let agg = spawn_aggregator(&db, &sectors).await;
        register_units(&agg, &[("nyncj", "市农业农村局"), ("slj", "市水利局")]).await;
        let city = Self { agg, sectors, db };
        city.push(funded("AG-1", "nyncj")).await;
        city
    }

    async fn push(&self, p: v1::Project) {
        SectorServiceClient::new(self.sectors.services[0].channel().await)
            .upsert_projects(v1::UpsertProjectsRequest {
                request_id: request_id(),
                projects: vec![p],
                ..Default::default()
            })
            .await
            .expect("push");
        synced(&self.agg, &self.sectors, None).await;
    }

    async fn orders_as(&self, token: &str) -> OrdersServiceClient<citydash_runtime::auth::AuthedChannel> {
        OrdersServiceClient::new(self.agg.channel_as(token).await)
    }

    async fn office(&self) -> OrdersServiceClient<citydash_runtime::auth::AuthedChannel> {
        self.orders_as(&token(OFFICE, Role::Supervision, &[], &[])).await
    }

    async fn snapshot(&self, y: i32, m: i32, d: i32) -> v1::TakeSnapshotResponse {
        take(&self.agg, y, m, d).await
    }

    async fn order(&self, code: &str) -> v1::SupervisionOrder {
        self.office()
            .await
            .get_order(v1::GetOrderRequest { code: code.into() })
            .await
            .expect("order")
            .into_inner()
            .order
            .expect("order")
    }

    async fn july(&self) -> v1::GetUnitStandingsResponse {
        self.office()
            .await
            .get_unit_standings(v1::GetUnitStandingsRequest {
                period: Some(v1::Period { year: 2026, month: 7 }),
            })
            .await
            .expect("standings")
            .into_inner()
    }
}

/// The supervision office takes the snapshot of a day on `agg`, again while
/// the aggregator says a feed is still catching up (UNAVAILABLE), as a
/// client does.
async fn take(agg: &Running, y: i32, m: i32, d: i32) -> v1::TakeSnapshotResponse {
    let mut office = OrdersServiceClient::new(agg.channel_as(&token(OFFICE, Role::Supervision, &[], &[])).await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match office
            .take_snapshot(v1::TakeSnapshotRequest { date: date(y, m, d) })
            .await
        {
            Ok(r) => return r.into_inner(),
            Err(e) if e.code() == Code::Unavailable && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("snapshot {y}-{m}-{d}: {e:?}"),
        }
    }
}

fn started(code: &str, unit: &str, y: i32, m: i32, d: i32) -> v1::Project {
    v1::Project {
        stage: v1::ProjectStage::Started as i32,
        stage_date: date(y, m, d),
        ..funded(code, unit)
    }
}

fn plan(code: &str) -> v1::FilePlanRequest {
    v1::FilePlanRequest {
        request_id: request_id(),
        code: code.into(),
        plan: "7月10日前完成施工许可，进场开工".into(),
        ..Default::default()
    }
}

fn done(code: &str) -> v1::ReportOrderRequest {
    v1::ReportOrderRequest {
        request_id: request_id(),
        code: code.into(),
        text: "已开工".into(),
        done: true,
        ..Default::default()
    }
}

fn state(o: &v1::SupervisionOrder) -> OrderState {
    OrderState::try_from(o.state).expect("state")
}

/// The DOMAIN.md walk: red alert → one order; plan; "done" without data stays
/// reported, unverified; the start clears the alert and the next snapshot
/// closes the order by data, on time; July's rate is 1/1, a red-list unit.
#[tokio::test]
async fn a_red_alert_opens_an_order_that_only_data_closes_on_time() {
    let city = City::start().await;
    let first = city.snapshot(2026, 6, 30).await;
    assert_eq!(first.opened.len(), 1, "{first:?}");
    let code = first.opened[0].clone();
    let o = city.order(&code).await;
    assert_eq!(
        (o.alert_code, o.subject_code.as_str(), o.responsible_unit_code.as_str()),
        (v1::AlertCode::FundedNotStarted as i32, "AG-1", "nyncj")
    );
    assert_eq!(o.responsible_unit, "市农业农村局");
    assert_eq!(
        (o.opened, o.plan_due, o.due),
        (date(2026, 6, 30), date(2026, 7, 3), date(2026, 7, 31))
    );
    assert_eq!(state(&o), OrderState::Open);

    // Taken again: nothing more is opened.
    let again = city.snapshot(2026, 6, 30).await;
    assert_eq!(again.opened, first.opened);
    let listed = city
        .office()
        .await
        .list_orders(v1::ListOrdersRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.total, 1);

    // The unit's side.
    let mut unit = city.orders_as(&unit_token("市农业农村局", &["nyncj"])).await;
    let planned = unit.file_plan(plan(&code)).await.expect("plan").into_inner();
    assert_eq!(state(planned.order.as_ref().expect("order")), OrderState::Planned);
    let reported = unit.report_order(done(&code)).await.expect("report").into_inner();
    let o = reported.order.expect("order");
    assert_eq!(state(&o), OrderState::Reported, "reported, unverified");
    assert_eq!(o.color, OrderColor::Red as i32, "past due today (2026-12-01 or later)");
    // The report without data: the next snapshot keeps it open.
    let mid = city.snapshot(2026, 7, 15).await;
    assert!(mid.closed.is_empty() && mid.opened.is_empty(), "{mid:?}");
    assert_eq!(state(&city.order(&code).await), OrderState::Reported);

    // The data: the project started on 10 July. The next snapshot closes it.
    city.push(started("AG-1", "nyncj", 2026, 7, 10)).await;
    let end = city.snapshot(2026, 7, 31).await;
    assert_eq!(end.closed, std::slice::from_ref(&code));
    let o = city.order(&code).await;
    assert_eq!(state(&o), OrderState::Closed);
    assert_eq!(o.closing, OrderClosing::ByData as i32);
    assert!(o.closed_on_time);
    assert_eq!((o.closed, o.closed_by.as_str()), (date(2026, 7, 31), "snapshot"));
    assert_eq!(o.color, OrderColor::Unspecified as i32);

    let july = city.july().await;
    let nyncj = july
        .units
        .iter()
        .find(|u| u.responsible_unit_code == "nyncj")
        .expect("nyncj");
    let rate = nyncj.on_time_rate.as_ref().expect("rate");
    assert_eq!((rate.numerator, rate.denominator, rate.value), (1, 1, Some(1.0)));
    assert_eq!(july.red_list, ["市农业农村局"]);
    assert!(july.black_list.is_empty());
    // The supervision report counts it, the brief names the red list.
    let mut city_api = CityServiceClient::new(city.agg.channel().await);
    let report = city_api
        .get_supervision_report(v1::GetSupervisionReportRequest {
            date: date(2026, 7, 31),
        })
        .await
        .expect("report")
        .into_inner()
        .report
        .expect("report");
    let row = report
        .units
        .iter()
        .find(|u| u.responsible_unit == "市农业农村局")
        .expect("the unit's row");
    assert_eq!(
        (row.orders_opened, row.orders_closed_on_time, row.orders_overdue),
        (0, 1, 0)
    );
    assert!(brief_of_july(&city).await.contains("红榜：市农业农村局"));

    // Every version is kept: opened, planned, reported, closed.
    let history = city
        .office()
        .await
        .get_order(v1::GetOrderRequest { code: code.clone() })
        .await
        .expect("order")
        .into_inner()
        .history;
    let states: Vec<OrderState> = history.iter().map(state).collect();
    assert_eq!(
        states,
        [
            OrderState::Open,
            OrderState::Planned,
            OrderState::Reported,
            OrderState::Closed
        ]
    );
}

/// The late variant: the start comes in August, after the due day; the order
/// closes late and the unit is on the black list with 0/1.
#[tokio::test]
async fn a_late_start_closes_the_order_late_and_blacklists_the_unit() {
    let city = City::start().await;
    let code = city.snapshot(2026, 6, 30).await.opened[0].clone();
    assert!(city.snapshot(2026, 7, 15).await.closed.is_empty());
    city.push(started("AG-1", "nyncj", 2026, 8, 5)).await;
    assert!(
        city.snapshot(2026, 7, 31).await.closed.is_empty(),
        "not started by 31 July"
    );
    let july = city.july().await;
    assert_eq!(july.black_list, ["市农业农村局"]);
    let aug = city.snapshot(2026, 8, 15).await;
    assert_eq!(aug.closed, std::slice::from_ref(&code));
    let o = city.order(&code).await;
    assert_eq!(o.closing, OrderClosing::ClearedByData as i32, "no report from the unit");
    assert!(!o.closed_on_time);
    let july = city.july().await;
    let nyncj = &july.units[0];
    let rate = nyncj.on_time_rate.as_ref().expect("rate");
    assert_eq!((rate.numerator, rate.denominator, rate.value), (0, 1, Some(0.0)));
    assert_eq!(july.black_list, ["市农业农村局"]);
    assert!(july.red_list.is_empty());
    let brief = brief_of_july(&city).await;
    assert!(brief.contains("市农业农村局督办单逾期未办结1件（黑榜）"), "{brief}");
}

/// The brief of January–July.
async fn brief_of_july(city: &City) -> String {
    CityServiceClient::new(city.agg.channel().await)
        .get_brief(v1::GetBriefRequest {
            period: Some(v1::Period { year: 2026, month: 7 }),
            language: String::new(),
        })
        .await
        .expect("brief")
        .into_inner()
        .text
}

/// A returning alert within two snapshots reopens the order: a project
/// started in April and not in the statistics database (已开工未入库, red
/// from 1 June) enters it on 5 July and leaves it again on 20 July.
#[tokio::test]
async fn a_returning_alert_reopens_its_order() {
    let city = City::start().await;
    let statistics = |flag: bool, day: i32| v1::Project {
        in_statistics_database: Some(flag),
        statistics_date: date(2026, 7, day),
        ..started("AG-S", "nyncj", 2026, 4, 1)
    };
    let mut p = started("AG-S", "nyncj", 2026, 4, 1);
    p.planned_start_date = date(2026, 4, 1);
    city.push(p).await;
    // AG-1's funds alert opens one order, AG-S's statistics alert the other.
    let opened = city.snapshot(2026, 6, 30).await.opened;
    assert_eq!(opened.len(), 2);
    let mut code = String::new();
    for c in &opened {
        if city.order(c).await.subject_code == "AG-S" {
            code = c.clone();
        }
    }
    city.push(statistics(true, 5)).await;
    assert_eq!(city.snapshot(2026, 7, 15).await.closed, [code.clone()]);
    city.push(statistics(false, 20)).await;
    let back = city.snapshot(2026, 7, 31).await;
    assert_eq!(back.reopened, [code.clone()], "{back:?}");
    assert!(back.opened.is_empty(), "reopened, not opened anew");
    let o = city.order(&code).await;
    assert_eq!((state(&o), o.reopened), (OrderState::Open, 1));
    assert_eq!(o.last_reopened, date(2026, 7, 31));
}

/// Who may do what: the unit, another unit, another sector, a viewer, the
/// supervision office, an admin; every refusal leaves its audit row.
#[tokio::test]
async fn only_the_unit_answers_and_only_the_office_closes_by_hand() {
    let city = City::start().await;
    let code = city.snapshot(2026, 6, 30).await.opened[0].clone();
    let the_unit = unit_token("市农业农村局", &["nyncj"]);
    let other_unit = unit_token("市水利局", &["slj"]);
    let other_sector = token("市工信局", Role::Agency, &["industry"], &[]);
    let viewer = token("市长办公室", Role::Viewer, &[], &[]);
    let office = token(OFFICE, Role::Supervision, &[], &[]);
    let admin = token(ADMIN, Role::Admin, &[], &[]);

    for (who, t, allowed) in [
        ("another unit", &other_unit, false),
        ("another sector", &other_sector, false),
        ("a viewer", &viewer, false),
        ("the office", &office, false),
        ("the unit", &the_unit, true),
        ("an admin", &admin, true),
    ] {
        let got = city.orders_as(t).await.file_plan(plan(&code)).await;
        match (allowed, got) {
            (true, Ok(_)) => {}
            (false, Err(e)) => assert_eq!(e.code(), Code::PermissionDenied, "{who}: {e:?}"),
            (allowed, got) => panic!("{who}: allowed {allowed}, got {got:?}"),
        }
    }
    let close = |reason: &str| v1::CloseOrderRequest {
        request_id: request_id(),
        code: code.clone(),
        reason: reason.into(),
        ..Default::default()
    };
    for t in [&the_unit, &viewer] {
        let e = city
            .orders_as(t)
            .await
            .close_order(close("整改完成"))
            .await
            .expect_err("not the office");
        assert_eq!(e.code(), Code::PermissionDenied);
    }
    let e = city
        .office()
        .await
        .close_order(close(" "))
        .await
        .expect_err("no reason");
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = city
        .orders_as(&viewer)
        .await
        .take_snapshot(v1::TakeSnapshotRequest {
            date: date(2026, 7, 15),
        })
        .await
        .expect_err("a viewer takes no snapshot");
    assert_eq!(e.code(), Code::PermissionDenied);
    let closed = city
        .office()
        .await
        .close_order(close("项目已调整出年度计划"))
        .await
        .expect("closed");
    let o = closed.into_inner().order.expect("order");
    assert_eq!(
        (o.closing, o.close_reason.as_str(), o.closed_by.as_str()),
        (OrderClosing::ByHand as i32, "项目已调整出年度计划", OFFICE)
    );
    let e = city
        .orders_as(&the_unit)
        .await
        .report_order(done(&code))
        .await
        .expect_err("closed");
    assert_eq!(e.code(), Code::FailedPrecondition);

    // By hand on a current alert: the office only, once per alert.
    let open = v1::OpenOrderRequest {
        request_id: request_id(),
        alert_code: v1::AlertCode::FundedNotStarted as i32,
        sector: v1::Sector::Agriculture as i32,
        subject_code: "AG-1".into(),
        ..Default::default()
    };
    let e = city
        .orders_as(&the_unit)
        .await
        .open_order(open.clone())
        .await
        .expect_err("a unit");
    assert_eq!(e.code(), Code::PermissionDenied);
    let opened = city
        .office()
        .await
        .open_order(open.clone())
        .await
        .expect("opened")
        .into_inner();
    let by_hand = opened.order.expect("order");
    assert_eq!(
        (by_hand.opened_by.as_str(), state(&by_hand)),
        (OFFICE, OrderState::Open)
    );
    let e = city
        .office()
        .await
        .open_order(v1::OpenOrderRequest {
            request_id: request_id(),
            ..open.clone()
        })
        .await
        .expect_err("already open");
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = city
        .office()
        .await
        .open_order(v1::OpenOrderRequest {
            request_id: request_id(),
            subject_code: "AG-404".into(),
            ..open
        })
        .await
        .expect_err("no such alert");
    assert_eq!(e.code(), Code::NotFound);

    // Every refusal above is in the audit trail, with its code.
    let audit = citydash_proto::v1::sector_service_client::SectorServiceClient::new(city.agg.channel_as(&admin).await)
        .list_audit(v1::ListAuditRequest {
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let refused = |method: &str, code: &str| {
        audit
            .iter()
            .filter(|e| e.method == method && e.outcome == v1::AuditOutcome::Refused as i32 && e.code == code)
            .count()
    };
    assert_eq!(refused("citydash.v1.FilePlanRequest", "PermissionDenied"), 4);
    assert_eq!(refused("citydash.v1.CloseOrderRequest", "PermissionDenied"), 2);
    assert_eq!(refused("citydash.v1.TakeSnapshotRequest", "PermissionDenied"), 1);
    assert_eq!(refused("citydash.v1.OpenOrderRequest", "PermissionDenied"), 1);
    assert_eq!(refused("citydash.v1.OpenOrderRequest", "NotFound"), 1);
}

/// Two aggregator processes on one database take the same snapshot at once:
/// each alert gets one order.
#[tokio::test]
async fn two_aggregators_taking_one_snapshot_open_each_order_once() {
    let city = City::start().await;
    let second = spawn_aggregator(&city.db, &city.sectors).await;
    synced(&second, &city.sectors, None).await;
    let (a, b) = tokio::join!(take(&city.agg, 2026, 6, 30), take(&second, 2026, 6, 30));
    assert_eq!(a.opened, b.opened);
    assert_eq!(a.opened.len(), 1);
    let all = city
        .office()
        .await
        .list_orders(v1::ListOrdersRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(all.total, 1);
    second.stop().await;
}
