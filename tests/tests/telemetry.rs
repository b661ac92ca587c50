//! One trace across services: a front end's call to the aggregator, carrying
//! a W3C `traceparent`, continues in the aggregator's server span, in the
//! sector service it calls for the drill-down, and in that service's SQL
//! spans; all exported over OTLP/gRPC to a receiver in this test. Request
//! metrics go out over OTLP too.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use citydash_e2e::fixtures::project;
use citydash_e2e::{Sectors, TestDb, request_id, spawn_aggregator};
use citydash_proto::v1::{self, city_service_client::CityServiceClient, sector_service_client::SectorServiceClient};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tonic::{Request, Response, Status};

/// A received span: trace id, name, `rpc.method` attribute.
type SpanSeen = (Vec<u8>, String, String);

/// What the receiver got.
#[derive(Clone, Default)]
struct Received {
    spans: Arc<Mutex<Vec<SpanSeen>>>,
    metrics: Arc<Mutex<Vec<String>>>,
}

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut spans = self.spans.lock().expect("lock");
        for rs in request.into_inner().resource_spans {
            for ss in rs.scope_spans {
                for s in ss.spans {
                    let method = s
                        .attributes
                        .iter()
                        .find(|a| a.key == "rpc.method")
                        .and_then(|a| match a.value.as_ref().and_then(|v| v.value.as_ref()) {
                            Some(Value::StringValue(m)) => Some(m.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    spans.push((s.trace_id, s.name, method));
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Received {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let mut names = self.metrics.lock().expect("lock");
        for rm in request.into_inner().resource_metrics {
            for sm in rm.scope_metrics {
                names.extend(sm.metrics.into_iter().map(|m| m.name));
            }
        }
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_front_end_request_is_one_trace_through_the_aggregator_and_a_sector() {
    // The receiver, then the exporters pointing at it (metrics every half second).
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(received.clone()))
        .add_service(MetricsServiceServer::new(received.clone()))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);
    let _telemetry = citydash_runtime::telemetry::init_with(
        citydash_runtime::LogFormat::Text,
        Some(&format!("http://{addr}")),
        "citydash-e2e",
        Duration::from_millis(500),
    );

    let sectors = Sectors::start().await;
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator(&agg_db, &sectors).await;
    SectorServiceClient::new(sectors.services[0].channel().await)
        .upsert_projects(v1::UpsertProjectsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            projects: vec![project("AG-T1", "city", 6_000_000)],
        })
        .await
        .expect("push");

    // A front end's call with its own trace id.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = Request::new(v1::GetSectorProjectRequest {
        sector: v1::Sector::Agriculture as i32,
        code: "AG-T1".into(),
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01").parse().expect("header"),
    );
    let reply = CityServiceClient::new(agg.channel().await)
        .get_sector_project(request)
        .await
        .expect("drill-down")
        .into_inner();
    assert_eq!(reply.project.map(|p| p.code), Some("AG-T1".to_owned()));

    let want = hex_bytes(trace_id);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let in_trace: Vec<(String, String)> = received
            .spans
            .lock()
            .expect("lock")
            .iter()
            .filter(|(t, _, _)| *t == want)
            .map(|(_, n, m)| (n.clone(), m.clone()))
            .collect();
        let aggregator = in_trace
            .iter()
            .any(|(_, m)| m == "/citydash.v1.CityService/GetSectorProject");
        let sector = in_trace
            .iter()
            .any(|(_, m)| m == "/citydash.v1.SectorService/GetProject");
        let sql = in_trace.iter().any(|(n, _)| n == "sql.get");
        let metrics = received
            .metrics
            .lock()
            .expect("lock")
            .iter()
            .any(|m| m == "rpc.server.duration");
        if aggregator && sector && sql && metrics {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "trace incomplete: {in_trace:?}; metrics: {:?}",
            received.metrics.lock().expect("lock")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    agg.stop().await;
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A log line written inside a request's span carries that request's trace
/// id (issue 19): a sector service as an OS process, logging JSON, with the
/// standard `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at this test's receiver;
/// a push carrying a `traceparent`; the service's line about the write has
/// the caller's trace id and the server span's id, and the span reaches the
/// receiver under that trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_line_inside_a_request_carries_the_request_trace_id() {
    use std::io::BufRead as _;
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let collector = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(received.clone()))
            .add_service(MetricsServiceServer::new(received.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let db = TestDb::new().await;
    let addr = citydash_e2e::free_addr();
    let mut child = std::process::Command::new(citydash_e2e::citydash_binary())
        .arg("serve")
        .arg("agriculture")
        .args(citydash_e2e::sector_args(&db.url))
        .args(["--listen", &addr.to_string(), "--log-format", "json"])
        .env("RUST_LOG", "info")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}"))
        .env("OTEL_SERVICE_NAME", "agriculture-under-test")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("citydash serve");
    /// Kills the service however the test ends, so no orphan holds the test's output.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().expect("stdout");
    let _child = Killed(child);
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).expect("endpoint");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let channel = loop {
        if let Ok(c) = endpoint.connect().await {
            break c;
        }
        assert!(tokio::time::Instant::now() < deadline, "the service never listened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let channel =
        citydash_runtime::auth::authed(channel, Some(&citydash_e2e::sector_token("agriculture"))).expect("token");

    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let id = request_id();
    let mut request = Request::new(v1::UpsertProjectsRequest {
        request_id: id.clone(),
        projects: vec![project("AG-L1", "city", 6_000_000)],
        ..Default::default()
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-b7ad6b7169203331-01").parse().expect("header"),
    );
    SectorServiceClient::new(channel)
        .upsert_projects(request)
        .await
        .expect("push");

    // The service's line about this write, among its JSON lines.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let line = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = lines_rx.recv_timeout(left).expect("the service logged the write");
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if json["fields"]["request_id"] == id.as_str() {
            break json;
        }
    };
    // Inside the server span (`spans` lists the line's spans, outermost first).
    let rpc = line["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == "rpc"))
        .unwrap_or_else(|| panic!("the line is inside the request's span: {line}"));
    assert_eq!(rpc["trace_id"], trace_id, "{line}");
    let span_id = rpc["span_id"].as_str().expect("the server span's id");
    assert_eq!(span_id.len(), 16, "{line}");
    assert_ne!(
        span_id, "b7ad6b7169203331",
        "the server's own span, child of the caller's"
    );

    // The same trace reaches the collector named by the standard variable.
    let want = hex_bytes(trace_id);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !received.spans.lock().expect("lock").iter().any(|(t, _, _)| *t == want) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no span of the trace was exported"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
