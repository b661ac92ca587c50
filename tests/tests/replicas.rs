//! Two aggregator replicas on one database and the same feeds (issue 19),
//! each an OS process, on both backends. A screen watches each. The replica
//! holding the lease takes the day's supervision report; it is then killed
//! with SIGKILL. The other keeps serving its screen, the killed one's screen
//! reconnects to it and sees the same overview, the lease passes to the
//! survivor, the report stays the one stored once, and the city engine
//! accepts writes on the survivor.

use std::net::SocketAddr;
use std::time::Duration;

use citydash_aggregator::lease::HEALTH_NAME;
use citydash_e2e::fixtures::{date, value};
use citydash_e2e::{
    Running, Sectors, TestDb, aggregator_args, free_addr, health_status, push_counted, request_id, statistics_token,
    synced,
};
use citydash_proto::v1::{self, city_service_client::CityServiceClient, sector_service_client::SectorServiceClient};
use citydash_runtime::auth::authed;
use futures::StreamExt as _;
use tonic::transport::Endpoint;
use tonic_health::pb::health_check_response::ServingStatus;

/// The city's time both replicas start at: a report day (the month's last).
const CITY_TIME: &str = "2026-11-30T09:00:00";

async fn replica(db: &TestDb, sectors: &Sectors) -> Running {
    let mut args = vec!["aggregator".to_owned()];
    args.extend(aggregator_args(&db.url));
    args.extend(sectors.flags());
    args.extend(["--city-time".to_owned(), CITY_TIME.to_owned()]);
    Running::process(free_addr(), statistics_token(), &args).await
}

async fn wait_lease(addr: SocketAddr, status: ServingStatus) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while health_status(addr, HEALTH_NAME).await != Some(status) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lease of {addr} is not {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A wall screen: it watches the overview at the first replica that
/// answers, in the order given (its own first), as a screen behind one
/// Service address is sent to a live replica.
struct Screen {
    replicas: Vec<SocketAddr>,
    stream: Option<tonic::Streaming<v1::WatchOverviewResponse>>,
    /// Where the open stream is.
    at: Option<SocketAddr>,
}

impl Screen {
    fn new(replicas: Vec<SocketAddr>) -> Self {
        Self {
            replicas,
            stream: None,
            at: None,
        }
    }

    async fn connect(&mut self) {
        for addr in &self.replicas {
            let Ok(channel) = Endpoint::from_shared(format!("http://{addr}"))
                .expect("endpoint")
                .connect_timeout(Duration::from_secs(2))
                .connect()
                .await
            else {
                continue;
            };
            let channel = authed(channel, Some(&statistics_token())).expect("token");
            if let Ok(stream) = CityServiceClient::new(channel)
                .watch_overview(v1::WatchOverviewRequest { period: None })
                .await
            {
                self.stream = Some(stream.into_inner());
                self.at = Some(*addr);
                return;
            }
        }
        panic!("no replica answers the screen");
    }

    /// The next overview, reconnecting when the stream breaks.
    async fn next(&mut self) -> v1::Overview {
        loop {
            if self.stream.is_none() {
                self.connect().await;
            }
            let stream = self.stream.as_mut().expect("connected");
            match tokio::time::timeout(Duration::from_secs(15), stream.next()).await {
                Ok(Some(Ok(r))) => return r.overview.expect("set"),
                Ok(_) => self.stream = None,
                Err(_) => panic!("no overview within 15 s"),
            }
        }
    }

    /// Overviews until one satisfies `done`.
    async fn until(&mut self, done: impl Fn(&v1::Overview) -> bool) -> v1::Overview {
        loop {
            let o = self.next().await;
            if done(&o) {
                return o;
            }
        }
    }
}

fn counted(o: &v1::Overview) -> i64 {
    o.investment.as_ref().map_or(0, |i| i.counted_yuan)
}

async fn report_of_the_day(agg: &Running) -> v1::SupervisionReport {
    CityServiceClient::new(agg.channel().await)
        .get_supervision_report(v1::GetSupervisionReportRequest {
            date: date(2026, 11, 30),
        })
        .await
        .expect("report")
        .into_inner()
        .report
        .expect("set")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_leaves_the_other_serving_with_the_lease_and_the_report_stored_once() {
    let sectors = Sectors::start().await;
    let db = TestDb::new().await;
    let first = replica(&db, &sectors).await;
    wait_lease(first.addr, ServingStatus::Serving).await;
    let second = replica(&db, &sectors).await;
    wait_lease(second.addr, ServingStatus::NotServing).await;

    let agriculture = &sectors.services[0];
    let push = |yuan: i64| push_counted(agriculture, "AG-R1", yuan);
    push(1_000_000).await;
    let o1 = synced(&first, &sectors, None).await;
    let o2 = synced(&second, &sectors, None).await;
    assert_eq!(o1, o2, "two replicas of one city show one overview");
    assert_eq!(counted(&o1), 1_000_000);

    // The lease holder takes the day's report once every feed is current.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let taken = loop {
        let report = report_of_the_day(&first).await;
        if report.taken_time.is_some() {
            break report;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the report of the day was not taken"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let mut on_first = Screen::new(vec![first.addr, second.addr]);
    let mut on_second = Screen::new(vec![second.addr, first.addr]);
    assert_eq!(on_first.next().await, o1);
    assert_eq!(on_first.at, Some(first.addr));
    assert_eq!(on_second.next().await, o1);

    let first_addr = first.addr;
    first.kill();

    // The survivor keeps serving its screen, and takes the lease over.
    push(2_000_000).await;
    let seen = on_second.until(|o| counted(o) == 2_000_000).await;
    assert_eq!(on_second.at, Some(second.addr));
    wait_lease(second.addr, ServingStatus::Serving).await;

    // The killed replica's screen reconnects to the survivor and sees what it shows.
    let again = on_first.until(|o| counted(o) == 2_000_000).await;
    assert_eq!(on_first.at, Some(second.addr), "moved off {first_addr}");
    let now = synced(&second, &sectors, None).await;
    assert_eq!(again, now);
    assert_eq!(seen, now);

    // The report of the day is the one stored once, before the kill.
    let report = report_of_the_day(&second).await;
    assert_eq!(report.taken_time, taken.taken_time, "stored once");
    let dates = CityServiceClient::new(second.channel().await)
        .list_supervision_reports(v1::ListSupervisionReportsRequest {})
        .await
        .expect("dates")
        .into_inner()
        .dates;
    assert_eq!(dates, vec![date(2026, 11, 30).expect("a date")]);

    // The city engine takes the statistics bureau's write on the survivor.
    let mut city = SectorServiceClient::new(second.channel().await);
    city.report_indicators(v1::ReportIndicatorsRequest {
        request_id: request_id(),
        values: vec![value("city.gdp", "city", 2026, 10, 6_000_000_000)],
        ..Default::default()
    })
    .await
    .expect("a city write on the survivor");
    let with_gdp = synced(&second, &sectors, None).await;
    assert!(with_gdp.data_version > now.data_version);
    on_second.until(|o| o.data_version == with_gdp.data_version).await;
}
