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
            .any(|m| m == "citydash.rpc.requests");
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
