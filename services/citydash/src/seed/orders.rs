//! The demo city's supervision orders: the snapshots of the second quarter's
//! report days (15 April to 30 June) taken in order, so the red alerts of the
//! mid-year city have their orders, and then the units' answers, so every
//! state is on screen: open, planned, reported (unverified), closed by hand;
//! the snapshots close by data what the data cleared.

use std::time::Duration;

use chrono::NaiveDate;
use citydash_proto::v1::{self, orders_service_client::OrdersServiceClient};
use citydash_runtime::auth::AuthedChannel as Channel;
use tonic::Code;

/// The report days the demo takes, oldest first.
const DAYS: &[(i32, u32, u32)] = &[
    (2026, 4, 15),
    (2026, 4, 30),
    (2026, 5, 15),
    (2026, 5, 31),
    (2026, 6, 15),
    (2026, 6, 30),
];

/// Takes the demo's snapshots (those not after today) and answers some orders,
/// with fixed request ids: seeding twice changes nothing.
pub async fn seed(office: &Channel) -> anyhow::Result<()> {
    let mut orders = OrdersServiceClient::new(office.clone());
    let today = citydash_sector::domain::city_today();
    for &(y, m, d) in DAYS {
        let day = NaiveDate::from_ymd_opt(y, m, d).expect("a report day");
        if day > today {
            break;
        }
        take(&mut orders, day).await?;
    }
    // The answered orders are the first three the snapshots opened, by code
    // (their day first): the same ones however often the demo is seeded.
    let all = orders
        .list_orders(v1::ListOrdersRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await?
        .into_inner()
        .orders;
    let mut codes: Vec<String> = all
        .into_iter()
        .filter(|o| o.opened_by == citydash_aggregator::compute::orders::SNAPSHOT)
        .map(|o| o.code)
        .collect();
    codes.sort();
    let plan = |code: &str| v1::FilePlanRequest {
        request_id: format!("demo-plan-{code}"),
        code: code.to_owned(),
        plan: "倒排工期：7月10日前完成前期手续，7月20日前进场施工，每周报送进度".to_owned(),
        ..Default::default()
    };
    let report = |code: &str, done: bool| v1::ReportOrderRequest {
        request_id: format!("demo-report-{code}-{done}"),
        code: code.to_owned(),
        text: if done {
            "已完成整改，请核验".to_owned()
        } else {
            "前期手续已报审，正在协调施工单位".to_owned()
        },
        done,
        ..Default::default()
    };
    // The fourth on stay as the snapshots left them; the first three are answered.
    if let Some(code) = codes.first() {
        orders.file_plan(plan(code)).await?;
    }
    if let Some(code) = codes.get(1) {
        orders.file_plan(plan(code)).await?;
        orders.report_order(report(code, false)).await?;
        orders.report_order(report(code, true)).await?;
    }
    if let Some(code) = codes.get(2) {
        orders
            .close_order(v1::CloseOrderRequest {
                request_id: format!("demo-close-{code}"),
                code: code.clone(),
                reason: "项目已调整出年度计划，经督查室核实同意销号".to_owned(),
                ..Default::default()
            })
            .await?;
    }
    tracing::info!(orders = codes.len(), "demo supervision orders seeded");
    Ok(())
}

/// Takes one snapshot, waiting while a feed is still catching up.
async fn take(orders: &mut OrdersServiceClient<Channel>, day: NaiveDate) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match orders
            .take_snapshot(v1::TakeSnapshotRequest {
                date: Some(citydash_sector::domain::from_date(day)),
            })
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if e.code() == Code::Unavailable && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => anyhow::bail!("taking the snapshot of {day}: {}", e.message()),
        }
    }
}
