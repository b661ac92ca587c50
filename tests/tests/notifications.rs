//! Notifications (issue 16, DOMAIN.md "Notifications"), through the public
//! API on both backends, against a local HTTP receiver on 127.0.0.1: the
//! DingTalk, WeCom and signed-webhook formats, retries until a failing
//! receiver accepts, a hanging receiver that delays no one else, a
//! destination that keeps failing shown as failing, addresses and secrets
//! never answered, and an aggregator killed (SIGKILL) with an event not yet
//! delivered that delivers it, same id, after its restart.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use citydash_e2e::fixtures::funded;
use citydash_e2e::{
    Running, Sectors, TestDb, aggregator_args, free_addr, register_units, request_id, statistics_token, synced, token,
    violated_fields,
};
use citydash_proto::v1::{
    self, DestinationKind, notifications_service_client::NotificationsServiceClient,
    sector_service_client::SectorServiceClient,
};
use citydash_runtime::auth::Role;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tonic::Code;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Call {
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    /// The status it answered; 0 while it hangs.
    status: u16,
    /// When it arrived.
    at: tokio::time::Instant,
}

#[derive(Default)]
struct Behaviour {
    /// Paths that answer 500 this many more times.
    fail: BTreeMap<String, usize>,
    /// Paths that answer 503 until told otherwise.
    down: BTreeSet<String>,
    calls: Vec<Call>,
}

/// A webhook receiver on 127.0.0.1: records every request; `/hang` never
/// answers; a robot path answers as the robots do.
#[derive(Clone)]
struct Receiver {
    port: u16,
    state: Arc<Mutex<Behaviour>>,
}

impl Receiver {
    async fn start() -> Self {
        let state: Arc<Mutex<Behaviour>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::clone(&state);
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let state = Arc::clone(&shared);
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default().to_vec();
                let path = parts.uri.path().to_owned();
                let call = Call {
                    path: path.clone(),
                    query: parts.uri.query().unwrap_or_default().to_owned(),
                    headers: parts
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                        .collect(),
                    body,
                    status: 0,
                    at: tokio::time::Instant::now(),
                };
                if path == "/hang" {
                    state.lock().expect("lock").calls.push(call);
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return (axum::http::StatusCode::OK, "");
                }
                let mut s = state.lock().expect("lock");
                let status = if s.down.contains(&path) {
                    503
                } else if let Some(n) = s.fail.get_mut(&path).filter(|n| **n > 0) {
                    *n -= 1;
                    500
                } else {
                    200
                };
                s.calls.push(Call { status, ..call });
                let answer = r#"{"errcode":0,"errmsg":"ok"}"#;
                (axum::http::StatusCode::from_u16(status).expect("status"), answer)
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { port, state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn calls(&self, path: &str) -> Vec<Call> {
        let s = self.state.lock().expect("lock");
        s.calls.iter().filter(|c| c.path == path).cloned().collect()
    }

    fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.state.lock().expect("lock"));
    }

    /// Waits (up to 30 s) until `path` has answered 200 to a call that
    /// `is` the one sought; that call then.
    async fn delivered(&self, path: &str, is: impl Fn(&Call) -> bool) -> Call {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let calls = self.calls(path);
            if let Some(c) = calls.iter().find(|c| c.status == 200 && is(c)) {
                return c.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nothing delivered to {path}: {calls:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Whether a robot's text message is the red alert of project AG-1.
fn red_alert_of_ag1(c: &Call) -> bool {
    let content = json(c)["text"]["content"].as_str().unwrap_or_default().to_owned();
    content.contains("红色预警") && content.contains("项目 AG-1")
}

fn hmac(key: &str, message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("key");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn query(call: &Call) -> BTreeMap<String, String> {
    call.query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn json(call: &Call) -> serde_json::Value {
    serde_json::from_slice(&call.body).expect("a JSON body")
}

fn destination(kind: DestinationKind, url: String, secret: &str) -> v1::Destination {
    v1::Destination {
        kind: kind as i32,
        url,
        secret: secret.into(),
        ..Default::default()
    }
}

fn admin() -> String {
    token("市政府办公室", Role::Admin, &[], &[])
}

async fn start_aggregator(db: &TestDb, sectors: &Sectors, addr: std::net::SocketAddr) -> Running {
    let mut args = vec!["aggregator".to_owned()];
    args.extend(aggregator_args(&db.url));
    args.extend(sectors.flags());
    args.extend(
        [
            "--notify-scan-ms",
            "200",
            "--notify-retry-ms",
            "100",
            "--notify-retry-cap-ms",
            "400",
            "--notify-timeout-ms",
            "3000",
        ]
        .map(str::to_owned),
    );
    Running::process(addr, statistics_token(), &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn units_are_told_in_each_format_retried_and_never_lost_across_a_sigkill() {
    let receiver = Receiver::start().await;
    receiver.set(|b| {
        b.fail.insert("/hook".into(), 2);
        b.down.insert("/down".into());
    });
    let sectors = Sectors::start().await;
    let db = TestDb::new().await;
    let addr = free_addr();
    let mut agg = start_aggregator(&db, &sectors, addr).await;
    let admin = admin();
    register_units(&agg, &[("nyncj", "市农业农村局"), ("slj", "市水利局")]).await;
    let mut notifications = NotificationsServiceClient::new(agg.channel_as(&admin).await);

    // What is refused names its field and changes nothing.
    for (r, field) in [
        (
            v1::SetDestinationsRequest {
                unit_code: "nobody".into(),
                destinations: Vec::new(),
            },
            "unit_code",
        ),
        (
            v1::SetDestinationsRequest {
                unit_code: "nyncj".into(),
                destinations: vec![destination(
                    DestinationKind::Webhook,
                    "http://example.com/hook".into(),
                    "",
                )],
            },
            "destinations[0].url",
        ),
        (
            v1::SetDestinationsRequest {
                unit_code: "nyncj".into(),
                destinations: vec![destination(DestinationKind::Unspecified, receiver.url("/hook"), "")],
            },
            "destinations[0].kind",
        ),
    ] {
        let status = notifications.set_destinations(r).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(violated_fields(&status), [field]);
    }
    let status = NotificationsServiceClient::new(agg.channel().await)
        .list_destinations(v1::ListDestinationsRequest::default())
        .await
        .expect_err("the statistics bureau is no admin");
    assert_eq!(status.code(), Code::PermissionDenied);

    let set = notifications
        .set_destinations(v1::SetDestinationsRequest {
            unit_code: "nyncj".into(),
            destinations: vec![
                destination(
                    DestinationKind::Dingtalk,
                    receiver.url("/ding?access_token=t1"),
                    "SECding",
                ),
                destination(DestinationKind::Wecom, receiver.url("/wecom?key=k1"), ""),
                destination(DestinationKind::Webhook, receiver.url("/hook"), "whsec"),
            ],
        })
        .await
        .expect("destinations")
        .into_inner();
    assert_eq!(set.destinations.len(), 3);
    for d in &set.destinations {
        assert!(
            !d.url.contains("t1") && !d.url.contains("k1") && !d.url.contains("hook"),
            "{}",
            d.url
        );
        assert!(d.secret.is_empty());
    }
    assert!(set.destinations.iter().filter(|d| d.secret_set).count() == 2);
    notifications
        .set_destinations(v1::SetDestinationsRequest {
            unit_code: "slj".into(),
            destinations: vec![
                destination(DestinationKind::Webhook, receiver.url("/hang"), ""),
                destination(DestinationKind::Webhook, receiver.url("/down"), ""),
            ],
        })
        .await
        .expect("destinations");

    // Two red alerts: one for each unit.
    SectorServiceClient::new(sectors.services[0].channel().await)
        .upsert_projects(v1::UpsertProjectsRequest {
            request_id: request_id(),
            projects: vec![funded("AG-1", "nyncj"), funded("AG-2", "slj")],
            ..Default::default()
        })
        .await
        .expect("projects");
    synced(&agg, &sectors, None).await;

    // DingTalk: the text message, signed (timestamp, sign) with the secret.
    let call = receiver.delivered("/ding", red_alert_of_ag1).await;
    let q = query(&call);
    assert_eq!(q.get("access_token").map(String::as_str), Some("t1"));
    let ts = q.get("timestamp").expect("timestamp");
    let expected =
        base64::engine::general_purpose::STANDARD.encode(hmac("SECding", format!("{ts}\nSECding").as_bytes()));
    let sign = q
        .get("sign")
        .expect("sign")
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    assert_eq!(sign, expected);
    assert_eq!(json(&call)["msgtype"], "text");
    let ding = call;
    // WeCom: the text message to the key's address.
    let wecom = receiver.delivered("/wecom", red_alert_of_ag1).await;
    assert_eq!(query(&wecom).get("key").map(String::as_str), Some("k1"));
    assert_eq!(json(&wecom)["msgtype"], "text");
    // The webhook: the event as JSON, signed over the body.
    let hook = receiver
        .delivered("/hook", |c| {
            json(c)["event"] == "alert_red" && json(c)["text"].as_str().is_some_and(|t| t.contains("AG-1"))
        })
        .await;
    let ts = &hook.headers["x-citydash-timestamp"];
    let mut signed = format!("{ts}.").into_bytes();
    signed.extend_from_slice(&hook.body);
    assert_eq!(
        hook.headers["x-citydash-signature"],
        format!("sha256={}", hex::encode(hmac("whsec", &signed)))
    );
    let body = json(&hook);
    assert_eq!(
        body["event_id"].as_str(),
        Some(hook.headers["x-citydash-event-id"].as_str())
    );
    assert_eq!(body["unit_code"], "nyncj");
    // Its first two calls failed (500): every event is accepted in the end.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let by_event = loop {
        let mut by_event: BTreeMap<String, Vec<u16>> = BTreeMap::new();
        for c in receiver.calls("/hook") {
            by_event
                .entry(c.headers["x-citydash-event-id"].clone())
                .or_default()
                .push(c.status);
        }
        if by_event.values().all(|s| s.last() == Some(&200)) {
            break by_event;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every event accepted: {by_event:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let failures: usize = by_event.values().map(|s| s.iter().filter(|x| **x == 500).count()).sum();
    assert_eq!(failures, 2, "{by_event:?}");
    // /hang never answers (the sender gives up after 3 s), yet the other
    // unit's destinations were served meanwhile, not after it: and the
    // destination that answers 503 every time is shown failing.
    let hang = receiver.calls("/hang");
    let first_hang = hang.first().expect("the hanging receiver was called").at;
    for served in [&ding, &wecom, &hook] {
        assert!(
            served.at < first_hang + Duration::from_secs(2),
            "a hanging receiver delayed another"
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let failing = loop {
        let health = NotificationsServiceClient::new(agg.channel().await)
            .get_notification_health(v1::GetNotificationHealthRequest {})
            .await
            .expect("health for any reader")
            .into_inner();
        if !health.failing.is_empty() {
            break health.failing;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the 503 destination never shown failing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failing[0].unit_code, "slj");
    assert!(failing[0].url.is_empty(), "no address on the health line");
    assert!(failing[0].last_error.contains("503"), "{:?}", failing[0]);

    // The log: each webhook delivery's attempts are the receiver's calls.
    let event_id = body["event_id"].as_str().expect("id").to_owned();
    let log = notifications
        .list_deliveries(v1::ListDeliveriesRequest {
            unit_code: "nyncj".into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("log")
        .into_inner();
    let webhook: Vec<&v1::Delivery> = log
        .deliveries
        .iter()
        .filter(|d| d.kind == DestinationKind::Webhook as i32)
        .collect();
    assert_eq!(webhook.len(), by_event.len());
    for d in webhook {
        assert_eq!(d.state, v1::DeliveryState::Delivered as i32);
        let attempts: Vec<u16> = d.attempts.iter().map(|a| a.http_status as u16).collect();
        assert_eq!(attempts, by_event[&d.event_id], "{}", d.event_id);
        assert!(d.attempts.last().is_some_and(|a| a.ok));
        // The text logged is the text the receiver got for that event.
        let got = receiver
            .calls("/hook")
            .iter()
            .find(|c| c.status == 200 && c.headers["x-citydash-event-id"] == d.event_id)
            .map(|c| json(c)["text"].as_str().unwrap_or_default().to_owned());
        assert_eq!(got.as_deref(), Some(d.text.as_str()), "{}", d.event_id);
    }
    let one = log.deliveries.iter().filter(|d| d.event_id == event_id).count();
    assert_eq!(one, 3, "one event, one delivery per destination of nyncj");

    // Never lost: a destination that is down when the aggregator is killed
    // gets every event after the restart, under the same ids.
    receiver.set(|b| {
        b.down.insert("/late".into());
    });
    notifications
        .set_destinations(v1::SetDestinationsRequest {
            unit_code: "nyncj".into(),
            destinations: vec![destination(DestinationKind::Webhook, receiver.url("/late"), "")],
        })
        .await
        .expect("destinations");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while receiver.calls("/late").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no attempt on /late");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tried: BTreeSet<String> = receiver
        .calls("/late")
        .iter()
        .map(|c| c.headers["x-citydash-event-id"].clone())
        .collect();
    agg.kill();
    receiver.set(|b| {
        b.down.remove("/late");
    });
    agg = start_aggregator(&db, &sectors, addr).await;
    // A delivery in flight at the kill is held by its lease (the timeout and
    // 10 s), then sent by the new process.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    loop {
        let delivered: BTreeSet<String> = receiver
            .calls("/late")
            .iter()
            .filter(|c| c.status == 200)
            .map(|c| c.headers["x-citydash-event-id"].clone())
            .collect();
        if tried.is_subset(&delivered) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "after the restart {delivered:?} of {tried:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Events first tried on /late after the snapshot above are retried too,
    // and the old destinations of nyncj were removed: in the end nothing is
    // pending for nyncj at all.
    let mut after = NotificationsServiceClient::new(agg.channel_as(&admin).await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let pending = after
            .list_deliveries(v1::ListDeliveriesRequest {
                unit_code: "nyncj".into(),
                state: v1::DeliveryState::Pending as i32,
                ..Default::default()
            })
            .await
            .expect("log")
            .into_inner();
        if pending.deliveries.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still pending: {:?}",
            pending.deliveries
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
