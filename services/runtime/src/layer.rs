//! The door of every service: authentication, then per-agency rate and
//! concurrency limits and a global in-flight limit, as one tower layer in
//! front of all gRPC (and grpc-web) routes. Health and reflection stay open.
//! A request without valid credentials is refused here with UNAUTHENTICATED,
//! except state-changing ones, which go on marked unauthenticated so the
//! engine can audit the refusal. Over a limit a request is shed at once with
//! RESOURCE_EXHAUSTED: no queue grows.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::config::ServerLimits;
use crate::error::Error as Refusal;
use crate::principal::{Authenticator, Identity};
use crate::ratelimit::TokenBuckets;

/// The request metrics every service exports, named and attributed as the
/// OpenTelemetry RPC semantic conventions (v1.37) have them:
/// `rpc.server.duration` in milliseconds with `rpc.system`, `rpc.service`,
/// `rpc.method` and `rpc.grpc.status_code` (its count is the number of calls).
struct Metrics {
    duration: opentelemetry::metrics::Histogram<f64>,
}

fn metrics() -> &'static Metrics {
    static METRICS: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(|| {
        let meter = opentelemetry::global::meter("citydash");
        Metrics {
            duration: meter
                .f64_histogram("rpc.server.duration")
                .with_unit("ms")
                .with_description("Measures the duration of inbound RPC")
                .build(),
        }
    })
}

/// The attributes of one served call: `/pkg.Service/Method` split into
/// service and method, and the gRPC status the answer carries in its
/// headers (a refusal, answered trailers-only); an answer whose status comes
/// in the trailers, a success, counts as OK (0).
fn rpc_attributes(path: &str, headers: Option<&http::HeaderMap>) -> [opentelemetry::KeyValue; 4] {
    use opentelemetry::KeyValue;
    let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or((path, ""));
    let code = headers
        .and_then(|h| h.get("grpc-status"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    [
        KeyValue::new("rpc.system", "grpc"),
        KeyValue::new("rpc.service", service.to_owned()),
        KeyValue::new("rpc.method", method.to_owned()),
        KeyValue::new("rpc.grpc.status_code", code),
    ]
}

/// Where the door reports a refusal no handler saw (a request to an audited
/// method that did not decode), so that the service audits it like its own.
pub trait RefusalAudit: Send + Sync + 'static {
    /// Audits the refusal of `identity`'s call of `path` with `error`.
    fn refused(&self, identity: Identity, path: String, error: Refusal) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

struct Shared {
    authenticator: Arc<dyn Authenticator>,
    audit: Option<Arc<dyn RefusalAudit>>,
    audited: HashSet<String>,
    buckets: TokenBuckets,
    refusals: TokenBuckets,
    per_agency: usize,
    agencies: Mutex<HashMap<String, Arc<Semaphore>>>,
    global: Arc<Semaphore>,
}

/// The authentication and limits layer.
#[derive(Clone)]
pub struct AuthLayer {
    shared: Arc<Shared>,
}

impl AuthLayer {
    /// A layer authenticating with `authenticator` under `limits`.
    pub fn new(authenticator: Arc<dyn Authenticator>, limits: &ServerLimits) -> Self {
        Self {
            shared: Arc::new(Shared {
                authenticator,
                audit: None,
                audited: citydash_proto::audited_methods(),
                buckets: TokenBuckets::new(limits.rate_per_second, limits.rate_burst),
                refusals: TokenBuckets::new(limits.refusals_per_second, limits.refusal_burst),
                per_agency: limits.max_inflight_per_agency,
                agencies: Mutex::new(HashMap::new()),
                global: Arc::new(Semaphore::new(limits.max_inflight.max(1))),
            }),
        }
    }
}

impl AuthLayer {
    /// The same layer, auditing with `audit` the refusals of audited methods
    /// that no handler saw. Call before the layer is cloned.
    pub fn auditing(mut self, audit: Arc<dyn RefusalAudit>) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.audit = Some(audit);
        }
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service the layer wraps around a router.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

fn refuse<B: Default>(err: Refusal) -> http::Response<B> {
    Status::from(err).into_http()
}

/// The caller's IP address, as the key of its refusal budget.
fn peer_of<B>(request: &http::Request<B>) -> Option<String> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let ext = request.extensions();
    ext.get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            ext.get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|i| i.get_ref().remote_addr())
        })
        .map(|a| a.ip().to_string())
}

/// Whether a (trailers-only) response refuses the caller for what it sent
/// or who it is: such answers count against the peer's refusal budget.
/// Failures of the service (UNAVAILABLE, INTERNAL) and sheds do not.
fn refused(headers: &http::HeaderMap) -> bool {
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from);
    matches!(
        code,
        Some(
            tonic::Code::InvalidArgument
                | tonic::Code::Unauthenticated
                | tonic::Code::PermissionDenied
                | tonic::Code::FailedPrecondition
                | tonic::Code::OutOfRange
                | tonic::Code::AlreadyExists
                | tonic::Code::NotFound
        )
    )
}

pin_project_lite::pin_project! {
    /// A response body that holds the call's in-flight permits until it
    /// ends: a change-feed stream counts against its agency's in-flight
    /// limit for as long as it is open, not only until its headers.
    pub struct Guarded<B> {
        #[pin]
        inner: B,
        permits: Vec<OwnedSemaphorePermit>,
    }
}

impl<B: Default> Default for Guarded<B> {
    fn default() -> Self {
        Self::from(B::default())
    }
}

impl<B> From<B> for Guarded<B> {
    fn from(inner: B) -> Self {
        Self {
            inner,
            permits: Vec::new(),
        }
    }
}

impl<B: http_body::Body> http_body::Body for Guarded<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for AuthService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<Guarded<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path().to_owned();
        if path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.") {
            let call = self.inner.call(request);
            return Box::pin(async move { call.await.map(|r| r.map(Guarded::from)) });
        }
        let shared = Arc::clone(&self.shared);
        let peer = peer_of(&request);
        let charge = {
            let (shared, peer) = (Arc::clone(&shared), peer.clone());
            move || {
                if let Some(peer) = &peer {
                    shared.refusals.charge(peer);
                }
            }
        };
        let client_cert = request
            .extensions()
            .get::<tonic::transport::server::TlsConnectInfo<tonic::transport::server::TcpConnectInfo>>()
            .and_then(|info| info.peer_certs())
            .and_then(|certs| certs.first().map(|c| c.to_vec()));
        let identity = match shared
            .authenticator
            .authenticate(request.headers(), client_cert.as_deref())
        {
            Ok(p) => Identity::Verified(p),
            // A peer refused too often loses its anonymous calls first:
            // shed here, unaudited, so they cannot fill the audit trail.
            // Verified callers are accountable and limited per agency.
            Err(_) if peer.as_ref().is_some_and(|p| !shared.refusals.has(p)) => {
                tracing::warn!(peer = peer.as_deref().unwrap_or_default(), %path, "shed: this address was refused too often");
                return Box::pin(async move {
                    Ok(refuse(Refusal::ResourceExhausted(
                        "本地址被拒绝的请求过多，请稍后重试".to_owned(),
                    )))
                });
            }
            Err(why) if shared.audited.contains(&path) => Identity::Unauthenticated(why),
            Err(why) => {
                charge();
                tracing::info!(%path, reason = %why, "refused: unauthenticated");
                return Box::pin(async move { Ok(refuse(Refusal::Unauthenticated(why))) });
            }
        };
        let mut permits: Vec<OwnedSemaphorePermit> = Vec::with_capacity(2);
        if let Identity::Verified(p) = &identity {
            if !shared.buckets.allow(&p.name) {
                tracing::warn!(principal = %p.name, %path, "rate limited");
                return Box::pin(async move {
                    Ok(refuse(Refusal::ResourceExhausted(
                        "本单位的请求超过频率限制，请稍后重试".to_owned(),
                    )))
                });
            }
            if shared.per_agency > 0 {
                let semaphore = {
                    let mut agencies = shared.agencies.lock().unwrap_or_else(|e| e.into_inner());
                    Arc::clone(
                        agencies
                            .entry(p.name.clone())
                            .or_insert_with(|| Arc::new(Semaphore::new(shared.per_agency))),
                    )
                };
                match semaphore.try_acquire_owned() {
                    Ok(permit) => permits.push(permit),
                    Err(_) => {
                        tracing::warn!(principal = %p.name, %path, "shed: too many requests in flight for this agency");
                        return Box::pin(async move {
                            Ok(refuse(Refusal::ResourceExhausted(
                                "本单位同时进行的请求过多，请稍后重试".to_owned(),
                            )))
                        });
                    }
                }
            }
        }
        match Arc::clone(&shared.global).try_acquire_owned() {
            Ok(permit) => permits.push(permit),
            Err(_) => {
                tracing::warn!(%path, "shed: service at its in-flight limit");
                return Box::pin(async move {
                    Ok(refuse(Refusal::ResourceExhausted("服务繁忙，请稍后重试".to_owned())))
                });
            }
        }
        let principal = match &identity {
            Identity::Verified(p) => p.name.clone(),
            Identity::Unauthenticated(_) => String::new(),
        };
        let audited = shared.audited.contains(&path).then(|| identity.clone());
        request.extensions_mut().insert(identity);
        // Continue the caller's trace (W3C traceparent), if it sent one, and
        // name it on the span, so every log line of the request carries it
        // (`trace_id`, and `span_id` when spans are exported).
        let parent = crate::telemetry::caller_context(request.headers());
        let span = tracing::info_span!(
            "rpc",
            otel.kind = "server",
            rpc.method = %path,
            principal = %principal,
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
        );
        crate::telemetry::continue_trace(&span, parent);
        // Take the clone that was made ready, leave a fresh one for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let started = std::time::Instant::now();
        Box::pin(
            async move {
                let held = if citydash_proto::FEED_METHODS.contains(&path.as_str()) {
                    permits
                } else {
                    drop(permits);
                    Vec::new()
                };
                let mut response = inner
                    .call(request)
                    .await
                    .map(|r| r.map(|inner| Guarded { inner, permits: held }));
                if let Ok(r) = &response
                    && refused(r.headers())
                {
                    charge();
                }
                // A request that does not decode is the caller's fault:
                // INVALID_ARGUMENT, audited where it names an audited method.
                let failure = response
                    .as_ref()
                    .ok()
                    .and_then(|r| Status::from_header_map(r.headers()))
                    .and_then(|status| crate::error::decode_failure(&status));
                if let Some(err) = failure {
                    tracing::info!(path = %path, reason = %err, "refused: the request does not decode");
                    charge();
                    if let (Some(identity), Some(audit)) = (audited, &shared.audit) {
                        audit.refused(identity, path.clone(), err.clone()).await;
                    }
                    response = Ok(refuse(err));
                }
                let attributes = rpc_attributes(&path, response.as_ref().ok().map(|r| r.headers()));
                metrics()
                    .duration
                    .record(started.elapsed().as_secs_f64() * 1000.0, &attributes);
                response
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::rpc_attributes;

    #[test]
    fn a_call_is_attributed_as_the_rpc_conventions_say() {
        let mut refused = http::HeaderMap::new();
        refused.insert("grpc-status", http::HeaderValue::from_static("3"));
        let attributes = rpc_attributes("/citydash.v1.SectorService/UpsertProjects", Some(&refused));
        let pairs: Vec<(String, String)> = attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("rpc.system", "grpc"),
                ("rpc.service", "citydash.v1.SectorService"),
                ("rpc.method", "UpsertProjects"),
                ("rpc.grpc.status_code", "3"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let ok = rpc_attributes("/citydash.v1.CityService/GetOverview", Some(&http::HeaderMap::new()));
        assert_eq!(ok[3].value.to_string(), "0", "a status in the trailers is a success");
    }
}
