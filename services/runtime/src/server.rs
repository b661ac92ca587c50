//! The gRPC server bootstrap every service uses: the caller's routes plus
//! server reflection (v1 and v1alpha, so grpcurl and Postman work), explicit
//! limits, and graceful shutdown. The health service is created by the caller
//! with [`health`] so it can report NOT_SERVING when its database is down.

use std::future::Future;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::transport::Server;

use crate::config::{Edge, ServerLimits};
use crate::connect::ConnectLayer;
use crate::layer::AuthLayer;

pub use tonic_health::ServingStatus;
pub use tonic_health::server::HealthReporter;

/// A health reporter and the standard `grpc.health.v1.Health` service it feeds.
pub fn health() -> (
    HealthReporter,
    tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
) {
    tonic_health::server::health_reporter()
}

/// The most header bytes a request may carry; a token has at most
/// [`crate::auth::MAX_TOKEN_BYTES`] of them.
pub const MAX_HEADER_LIST_BYTES: u32 = 256 * 1024;

/// Serves `routes` (plus reflection) on `listener` behind `auth` until
/// `shutdown` resolves, then lets in-flight requests finish. The port also
/// answers Connect unary calls (HTTP/1.1 or 2, JSON or proto) to the same
/// routes, and CORS preflights as `edge` allows.
pub async fn serve(
    routes: Routes,
    services: &[&str],
    limits: ServerLimits,
    auth: AuthLayer,
    edge: Edge,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    // Reflection lists what this port serves, no more (every service's
    // descriptors are registered, so each one it lists resolves).
    let advertised: Vec<&str> = services.iter().copied().chain(["grpc.health.v1.Health"]).collect();
    let reflection = || {
        advertised.iter().fold(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(citydash_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET),
            |b, name| b.with_service_name(*name),
        )
    };
    let reflection_v1 = reflection().build_v1().context("building reflection v1")?;
    let reflection_v1alpha = reflection().build_v1alpha().context("building reflection v1alpha")?;
    let routes = routes.add_service(reflection_v1).add_service(reflection_v1alpha);
    // A method this port does not serve is UNIMPLEMENTED with a message that
    // says what the port does serve (a CityService call on a sector's port).
    let offered = services.join("、");
    let routes = Routes::from(routes.into_axum_router().fallback(move |uri: http::Uri| {
        let offered = offered.clone();
        async move {
            tonic::Status::unimplemented(format!(
                "本端口没有方法 {}：这里提供 {offered}（CityService 由汇总服务 aggregator 提供）",
                uri.path()
            ))
            .into_http::<axum::body::Body>()
        }
    }));
    let addr = listener.local_addr().context("reading listener address")?;
    tracing::info!(%addr, ?limits, tls = edge.tls.is_some(), cors = ?edge.cors, "gRPC server listening");
    let mut builder = Server::builder();
    if let Some(tls) = edge.tls {
        builder = builder.tls_config(tls).context("configuring TLS")?;
    }
    // `Server::tcp_nodelay` only reaches sockets tonic accepts itself; these
    // come from our listener, so each gets TCP_NODELAY here. Without it a
    // small answer waits for the client's delayed ACK: ~40 ms a call.
    let incoming = TcpListenerStream::new(listener).map(|accepted| {
        if let Ok(stream) = &accepted
            && let Err(err) = stream.set_nodelay(true)
        {
            tracing::warn!(error = %err, "cannot set TCP_NODELAY");
        }
        accepted
    });
    builder
        // Headers up to 256 KiB are read (hyper's 16 KiB default drops the
        // whole connection with GOAWAY): an oversized token is refused by
        // the door, UNAUTHENTICATED, and the connection serves on.
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        // HTTP/1.1 for Connect's JSON calls (curl, a BI tool); gRPC itself
        // still needs HTTP/2.
        .accept_http1(true)
        // Outermost the browsers' preflight, then Connect turning its calls
        // into gRPC ones, so the door below checks them like any other.
        .layer(tower::util::option_layer(edge.cors.layer()))
        .layer(ConnectLayer::new(limits.max_message_bytes))
        .layer(auth)
        .timeout(limits.request_timeout)
        .max_concurrent_streams(limits.max_concurrent_streams)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .context("serving gRPC")?;
    tracing::info!(%addr, "gRPC server stopped");
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM, whichever comes first. The
/// handlers are installed when this is called, inside the runtime, not when
/// the future is first awaited: a service that is PID 1 of a container
/// ignores a signal that comes before its handler (the kernel's rule for a
/// namespace's init), so a stop sent while it was still starting (seeding
/// the demo, say) would be lost and the container left running.
#[cfg(unix)]
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind: SignalKind, name: &'static str| {
        let handler = signal(kind);
        async move {
            match handler {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(err) => {
                    tracing::error!(error = %err, signal = name, "cannot listen for the signal");
                    std::future::pending::<()>().await;
                }
            }
        }
    };
    let interrupt = listen(SignalKind::interrupt(), "SIGINT");
    let terminate = listen(SignalKind::terminate(), "SIGTERM");
    async move {
        tokio::select! {
            () = interrupt => tracing::info!("Ctrl-C received, shutting down"),
            () = terminate => tracing::info!("SIGTERM received, shutting down"),
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!("Ctrl-C received, shutting down"),
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    }
}
