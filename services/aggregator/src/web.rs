//! The web dashboard's port: the built dashboard (embedded in the binary, so
//! `cargo run` needs no npm) and CityService over grpc-web, on one HTTP port,
//! so the page reads the same contract as any other front end.

use std::future::Future;

use crate::fastpath::FastPath;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tonic::service::Routes;

use citydash_runtime::layer::AuthLayer;

use crate::grpc::CityGrpc;
use crate::readstore::ReadStore;

const INDEX_HTML: &str = include_str!("../../../dashboard/dist/index.html");
const APP_JS: &str = include_str!("../../../dashboard/dist/app.js");
const STYLE_CSS: &str = include_str!("../../../dashboard/dist/style.css");

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// The dashboard and grpc-web router.
pub fn router<R: ReadStore>(city: CityGrpc<R>, max_message_bytes: usize, auth: AuthLayer) -> axum::Router {
    let city = FastPath::new(city, max_message_bytes);
    // The page and its assets are public; the data behind them needs a token
    // (the page sends the one in its URL), exactly as on the gRPC port.
    // grpc-web outermost, so that refusals at the door (no token, shed load)
    // reach the browser in grpc-web framing too.
    Routes::new(city)
        .into_axum_router()
        .layer(auth)
        .layer(tonic_web::GrpcWebLayer::new())
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }))
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
}

/// Serves the dashboard on `listener` until `shutdown` resolves.
pub async fn serve<R: ReadStore>(
    city: CityGrpc<R>,
    max_message_bytes: usize,
    auth: AuthLayer,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "dashboard listening");
    // TCP_NODELAY on every connection, as on the gRPC port: small grpc-web
    // answers must not wait for the browser's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(error = %err, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, router(city, max_message_bytes, auth))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
