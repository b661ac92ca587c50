//! `ListAlerts` pages as AIP-158 has them (issue 20), through the public
//! API on both backends: small pages walk the whole list once, in the order
//! of the unpaged answer; a negative size and a token not issued for this
//! list are refused naming the field; an oversized page is coerced.

use citydash_e2e::fixtures::{date, project};
use citydash_e2e::{Sectors, TestDb, request_id, spawn_aggregator, synced, violated_fields};
use citydash_proto::v1::{self, city_service_client::CityServiceClient, sector_service_client::SectorServiceClient};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pages_of_the_alerts_meet_without_a_gap_or_a_repeat() {
    let sectors = Sectors::start().await;
    let db = TestDb::new().await;
    let agg = spawn_aggregator(&db, &sectors).await;
    // Seven projects funded on 1 March and not started: each raises alerts.
    let projects: Vec<v1::Project> = (1..=7)
        .map(|i| v1::Project {
            stage: v1::ProjectStage::Funded as i32,
            stage_date: date(2026, 3, 1),
            ..project(&format!("AG-P{i}"), "city", 8_000_000)
        })
        .collect();
    SectorServiceClient::new(sectors.services[0].channel().await)
        .upsert_projects(v1::UpsertProjectsRequest {
            request_id: request_id(),
            projects,
            ..Default::default()
        })
        .await
        .expect("projects");
    let period = Some(v1::Period { year: 2026, month: 6 });
    synced(&agg, &sectors, period).await;
    let mut city = CityServiceClient::new(agg.channel().await);
    let whole = city
        .list_alerts(v1::ListAlertsRequest {
            period,
            ..Default::default()
        })
        .await
        .expect("alerts")
        .into_inner();
    assert!(whole.alerts.len() >= 7, "{}", whole.alerts.len());
    assert!(whole.next_page_token.is_empty(), "a list this short is one page");
    assert_eq!(whole.total as usize, whole.alerts.len());

    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = city
            .list_alerts(v1::ListAlertsRequest {
                period,
                page_size: 3,
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("page")
            .into_inner();
        assert!(page.alerts.len() <= 3);
        assert_eq!(page.total as usize, whole.alerts.len());
        paged.extend(page.alerts);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(paged, whole.alerts, "the pages are the whole list, in its order");

    let oversized = city
        .list_alerts(v1::ListAlertsRequest {
            period,
            page_size: 1_000_000,
            ..Default::default()
        })
        .await
        .expect("coerced")
        .into_inner();
    assert_eq!(oversized.alerts, whole.alerts);

    let orders_token = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("orders:3")
    };
    for (r, field) in [
        (
            v1::ListAlertsRequest {
                page_size: -1,
                ..Default::default()
            },
            "page_size",
        ),
        (
            v1::ListAlertsRequest {
                page_token: orders_token,
                ..Default::default()
            },
            "page_token",
        ),
    ] {
        let status = city.list_alerts(r).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), [field]);
    }
}
