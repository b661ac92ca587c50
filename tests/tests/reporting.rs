//! Reporting completeness and timeliness (issue 16, DOMAIN.md "Reporting
//! calendar, completeness and timeliness"), through the public API on both
//! backends. The month is the last one before today's, so pushes are
//! stamped with the real clock: the calendar puts agriculture's and the
//! city's due day weeks ahead (their pushes are on time) and the other
//! sectors' on the month's last day, already past (their pushes are late).
//! Industry and welfare report late, tourism not at all; then tourism
//! reports, and moves from overdue to late, never to on time.

use citydash_e2e::fixtures::{date, progress, started, value};
use citydash_e2e::{Running, Sectors, TestDb, request_id, spawn_aggregator_with, synced};
use citydash_proto::v1::{
    self, ReportingStatus, city_service_client::CityServiceClient, sector_service_client::SectorServiceClient,
};
use tonic::Code;

/// The month before the city's current one.
fn last_month() -> v1::Period {
    use citydash_sector::domain;
    domain::previous_period(&domain::period_of(domain::city_today()))
}

/// What one sector reports for `month`: its project's progress and a value
/// of every indicator of its catalog for the city; the number of items.
async fn report(sector: &Running, code: &str, month: v1::Period) -> i32 {
    let mut client = SectorServiceClient::new(sector.channel().await);
    let catalog = client
        .get_catalog(v1::GetCatalogRequest {})
        .await
        .expect("catalog")
        .into_inner();
    client
        .report_progress(v1::ReportProgressRequest {
            request_id: request_id(),
            reports: vec![progress(code, month.year, month.month, 100_000)],
            ..Default::default()
        })
        .await
        .expect("progress");
    let values: Vec<v1::IndicatorValue> = catalog
        .indicators
        .iter()
        .map(|d| value(&d.code, "city", month.year, month.month, 10))
        .collect();
    let n = values.len() as i32;
    client
        .report_indicators(v1::ReportIndicatorsRequest {
            request_id: request_id(),
            values,
            ..Default::default()
        })
        .await
        .expect("values");
    n + 1
}

async fn reporting(agg: &Running, r: v1::GetReportingRequest) -> Result<v1::GetReportingResponse, tonic::Status> {
    CityServiceClient::new(agg.channel().await)
        .get_reporting(r)
        .await
        .map(|r| r.into_inner())
}

fn agency<'a>(r: &'a v1::GetReportingResponse, unit: &str) -> &'a v1::AgencyReporting {
    r.agencies
        .iter()
        .find(|a| a.unit_code == unit)
        .unwrap_or_else(|| panic!("{unit} in {:?}", r.agencies))
}

fn counts(a: &v1::AgencyReporting) -> (i32, i32, i32, i32) {
    let f = a.figures.as_ref().expect("figures");
    (f.expected, f.received, f.on_time, f.missing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_agencies_late_and_one_silent_give_the_hand_computed_rates() {
    let month = last_month();
    let sectors = Sectors::start().await;
    let db = TestDb::new().await;
    let mut flags = sectors.flags();
    flags.extend([
        "--reporting-due".to_owned(),
        "agriculture=45,industry=0,tourism=0,welfare=0,city=45".to_owned(),
    ]);
    let agg = spawn_aggregator_with(&db, flags).await;
    let codes = ["AG-R", "IN-R", "TO-R", "WE-R"];
    for (s, code) in sectors.services.iter().zip(codes) {
        SectorServiceClient::new(s.channel().await)
            .upsert_projects(v1::UpsertProjectsRequest {
                request_id: request_id(),
                projects: vec![started(v1::Project {
                    code: code.into(),
                    name: format!("项目 {code}"),
                    region_code: "chengguan".into(),
                    responsible_unit: "市农业农村局".into(),
                    planned_total_investment_yuan: 10_000_000,
                    planned_start_date: date(2026, 1, 5),
                    ..Default::default()
                })],
                ..Default::default()
            })
            .await
            .expect("project");
    }
    // Agriculture on time, industry and welfare late, tourism silent.
    let owed_agri = report(&sectors.services[0], "AG-R", month).await;
    let owed_industry = report(&sectors.services[1], "IN-R", month).await;
    let owed_welfare = report(&sectors.services[3], "WE-R", month).await;
    synced(&agg, &sectors, Some(month)).await;

    let r = reporting(
        &agg,
        v1::GetReportingRequest {
            period: Some(month),
            ..Default::default()
        },
    )
    .await
    .expect("reporting");
    let agri = agency(&r, "市农业农村局");
    assert_eq!(counts(agri), (owed_agri, owed_agri, owed_agri, 0));
    assert_eq!(agri.status, ReportingStatus::OnTime as i32);
    let industry = agency(&r, "市工信局");
    assert_eq!(counts(industry), (owed_industry, owed_industry, 0, 0));
    assert_eq!(industry.status, ReportingStatus::Late as i32);
    assert_eq!(agency(&r, "市乡村振兴局").status, ReportingStatus::Late as i32);
    let tourism = agency(&r, "市文旅局");
    let (owed_tourism, received, _, missing) = counts(tourism);
    assert_eq!((received, missing), (0, owed_tourism));
    assert_eq!(tourism.status, ReportingStatus::Overdue as i32);
    // The city's bureaus owe the city indicators, due weeks ahead: pending.
    let city = agency(&r, "市统计局");
    assert_eq!(city.status, ReportingStatus::Pending as i32);
    let owed_city = counts(city).0;
    assert_eq!(r.overdue_agencies, 1);
    assert_eq!(r.agencies[0].unit_code, "市文旅局", "the overdue first");
    let total = r.total.as_ref().expect("total");
    let expected = owed_agri + owed_industry + owed_welfare + owed_tourism + owed_city;
    assert_eq!(total.expected, expected);
    assert_eq!(total.received, owed_agri + owed_industry + owed_welfare);
    assert_eq!(total.on_time, owed_agri);
    let completeness = total.completeness.as_ref().and_then(|r| r.value).expect("a rate");
    assert!((completeness - f64::from(total.received) / f64::from(expected)).abs() < 1e-12);
    let timeliness = total.timeliness.as_ref().and_then(|r| r.value).expect("a rate");
    assert!((timeliness - f64::from(owed_agri) / f64::from(expected)).abs() < 1e-12);

    // Every missing item, one per page, tourism's project first.
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let page = reporting(
            &agg,
            v1::GetReportingRequest {
                period: Some(month),
                page_size: 1,
                page_token: token,
                ..Default::default()
            },
        )
        .await
        .expect("page");
        items.extend(page.missing);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(items.len() as i32, owed_tourism + owed_city);
    let tourism_items: Vec<&v1::MissingItem> = items.iter().filter(|i| i.unit_code == "市文旅局").collect();
    assert_eq!(tourism_items[0].code, "TO-R");
    assert_eq!(tourism_items[0].kind, "progress");
    // One agency by its name.
    let only = reporting(
        &agg,
        v1::GetReportingRequest {
            period: Some(month),
            unit: "市文旅局".into(),
            ..Default::default()
        },
    )
    .await
    .expect("one agency");
    assert_eq!(only.agencies.len(), 1);
    assert_eq!(only.missing.len() as i32, owed_tourism);

    // The overview carries each sector's figures, the brief the line.
    let overview = synced(&agg, &sectors, Some(month)).await;
    let of = |s: v1::Sector| {
        overview
            .sectors
            .iter()
            .find(|x| x.sector == s as i32)
            .and_then(|x| x.reporting)
            .expect("figures")
    };
    assert_eq!(of(v1::Sector::Agriculture).on_time, owed_agri);
    assert_eq!(of(v1::Sector::Tourism).missing, owed_tourism);
    assert_eq!(overview.city_reporting.as_ref().map(|c| c.expected), Some(owed_city));
    let brief = CityServiceClient::new(agg.channel().await)
        .get_brief(v1::GetBriefRequest {
            period: Some(month),
            language: "zh".into(),
        })
        .await
        .expect("brief")
        .into_inner()
        .text;
    assert!(brief.contains("个单位未按时报送"), "{brief}");
    assert!(brief.contains(&format!("市文旅局（缺{owed_tourism}项）")), "{brief}");

    // Tourism reports after the due day: late, never on time. A correction
    // of agriculture's progress keeps its first push's time: still on time.
    report(&sectors.services[2], "TO-R", month).await;
    SectorServiceClient::new(sectors.services[0].channel().await)
        .report_progress(v1::ReportProgressRequest {
            request_id: request_id(),
            reports: vec![progress("AG-R", month.year, month.month, 200_000)],
            ..Default::default()
        })
        .await
        .expect("correction");
    synced(&agg, &sectors, Some(month)).await;
    let after = reporting(
        &agg,
        v1::GetReportingRequest {
            period: Some(month),
            ..Default::default()
        },
    )
    .await
    .expect("reporting");
    let tourism = agency(&after, "市文旅局");
    assert_eq!(counts(tourism), (owed_tourism, owed_tourism, 0, 0));
    assert_eq!(tourism.status, ReportingStatus::Late as i32);
    assert_eq!(agency(&after, "市农业农村局").status, ReportingStatus::OnTime as i32);
    assert_eq!(after.overdue_agencies, 0);
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_request_names_its_field() {
    let sectors = Sectors::start().await;
    let db = TestDb::new().await;
    let agg = spawn_aggregator_with(&db, sectors.flags()).await;
    for (r, field) in [
        (
            v1::GetReportingRequest {
                page_size: -1,
                ..Default::default()
            },
            "page_size",
        ),
        (
            v1::GetReportingRequest {
                page_token: "not-ours".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            v1::GetReportingRequest {
                period: Some(v1::Period { year: 2026, month: 13 }),
                ..Default::default()
            },
            "period",
        ),
        (
            v1::GetReportingRequest {
                sector: 99,
                ..Default::default()
            },
            "sector",
        ),
    ] {
        let status = reporting(&agg, r).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(citydash_e2e::violated_fields(&status), [field]);
    }
}
