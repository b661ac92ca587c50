//! The web dashboard's port: the built dashboard (embedded in the binary, so
//! `cargo run` needs no npm), CityService, OrdersService and
//! NotificationsService over grpc-web and Connect (JSON for other tools), on
//! one HTTP port, so the page reads the same contracts as any other front end.

use std::future::Future;

use super::fastpath::FastPath;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tonic::service::Routes;

use citydash_runtime::connect::{ConnectLayer, Cors};
use citydash_runtime::layer::AuthLayer;

use super::grpc::CityGrpc;
use super::import::Importer;
use super::notifications::NotificationsGrpc;
use super::orders::OrdersGrpc;
use crate::notify::Notifier;
use crate::notify::outbox::Outbox;
use crate::orders::Orders;
use crate::readstore::ReadStore;
use citydash_proto::v1::notifications_service_server::NotificationsServiceServer;
use citydash_proto::v1::orders_service_server::OrdersServiceServer;
use citydash_sector::store::Store;
use std::sync::Arc;

const INDEX_HTML: &str = include_str!("../../../../dashboard/dist/index.html");
const APP_JS: &str = include_str!("../../../../dashboard/dist/app.js");
const STYLE_CSS: &str = include_str!("../../../../dashboard/dist/style.css");
const IMPORT_HTML: &str = include_str!("../../../../dashboard/dist/import.html");
const IMPORT_JS: &str = include_str!("../../../../dashboard/dist/import.js");

/// One embedded file of the page with its validator, computed once when the
/// router is built: the names carry no hash, so a browser revalidates each
/// time (`no-cache`) and gets 304 while the binary is the same.
#[derive(Clone)]
struct Asset {
    content_type: &'static str,
    body: &'static str,
    etag: String,
}

impl Asset {
    fn new(content_type: &'static str, body: &'static str) -> Self {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut hasher);
        let etag = format!("\"{:016x}\"", hasher.finish());
        Self {
            content_type,
            body,
            etag,
        }
    }

    /// The file, or 304 when the browser holds this version.
    fn answer(&self, request: &axum::http::HeaderMap) -> axum::response::Response {
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|tag| tag.trim() == self.etag));
        let headers = [
            (header::CONTENT_TYPE, self.content_type.to_owned()),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
            (header::ETAG, self.etag.clone()),
        ];
        if fresh {
            (axum::http::StatusCode::NOT_MODIFIED, headers).into_response()
        } else {
            (headers, self.body).into_response()
        }
    }

    fn route(self) -> axum::routing::MethodRouter {
        get(move |h: axum::http::HeaderMap| async move { self.answer(&h) })
    }
}

/// The dashboard, grpc-web and Connect router, and the clerk's import page.
#[allow(clippy::too_many_arguments)]
pub fn router<S: Store, R: ReadStore + Outbox>(
    city: CityGrpc<R>,
    orders: Arc<Orders<S, R>>,
    notifier: Arc<Notifier<S, R>>,
    importer: Arc<Importer>,
    max_message_bytes: usize,
    auth: AuthLayer,
    cors: &Cors,
) -> axum::Router {
    let city = FastPath::new(city, max_message_bytes);
    let orders = OrdersServiceServer::new(OrdersGrpc(orders))
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes);
    let notifications = NotificationsServiceServer::new(NotificationsGrpc(notifier))
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes);
    // The page and its assets are public; the data behind them needs a token
    // (the page sends the one in its URL), exactly as on the gRPC port.
    // grpc-web and Connect outside the door, so that refusals at the door
    // (no token, shed load) reach the browser or the tool in its framing.
    let assets = axum::Router::new()
        .route("/", Asset::new("text/html; charset=utf-8", INDEX_HTML).route())
        .route("/app.js", Asset::new("text/javascript; charset=utf-8", APP_JS).route())
        .route("/style.css", Asset::new("text/css; charset=utf-8", STYLE_CSS).route())
        .route("/import", Asset::new("text/html; charset=utf-8", IMPORT_HTML).route())
        .route(
            "/import.js",
            Asset::new("text/javascript; charset=utf-8", IMPORT_JS).route(),
        )
        .layer(tower_http::compression::CompressionLayer::new());
    let app = Routes::new(city)
        .add_service(orders)
        .add_service(notifications)
        .into_axum_router()
        .layer(auth)
        .layer(tonic_web::GrpcWebLayer::new())
        // Outside grpc-web, which refuses any other HTTP/1.1 call: a
        // Connect call reaches it already turned into gRPC.
        .layer(ConnectLayer::new(max_message_bytes))
        .merge(assets)
        // The sheets carry the clerk's token to the service that owns the
        // data, which checks it: they go around the door, not through it.
        .merge(importer.router())
        // Anything else (a browser's favicon.ico, a mistyped path, a
        // method this port does not serve) is 404, not a gRPC framing error.
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "未找到 / not found") });
    match cors.layer() {
        Some(cors) => app.layer(cors),
        None => app,
    }
}

/// How long a connection may take to send a request's headers: a client
/// that trickles them (slowloris) is dropped, not left holding a socket.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves the dashboard's [`router`] on `listener` until `shutdown`
/// resolves, then lets open connections finish (up to 10 s). Each
/// connection gets TCP_NODELAY (small grpc-web answers must not wait for the
/// browser's delayed ACK), the header read timeout, and its peer address for
/// the door's limits.
pub async fn serve(
    app: axum::Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt as _;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "dashboard listening");
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "accepting a dashboard connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(error = %err, "cannot set TCP_NODELAY");
        }
        let info = tonic::transport::server::TcpConnectInfo {
            local_addr: tcp.local_addr().ok(),
            remote_addr: Some(peer),
        };
        let service = app
            .clone()
            .map_request(move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(info.clone());
                request.map(axum::body::Body::new)
            });
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(tcp),
                hyper_util::service::TowerToHyperService::new(service),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, %peer, "dashboard connection ended");
            }
        });
    }
    if tokio::time::timeout(std::time::Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("dashboard connections still open after 10 s: closing");
    }
    Ok(())
}
