//! The read benchmark's yardstick: a minimal tonic server with one unary
//! method that answers every call with the same payload of a given size
//! (`citydash bench echo-server`). What it serves per second at a
//! concurrency is what tonic, HTTP/2 and loopback allow for a message that
//! large; the overview's figure is set beside it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::codegen::http;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

/// The echo method's path.
const PATH: &str = "/citydash.bench.Echo/Echo";

/// `citydash bench echo-server`.
#[derive(Debug, Clone, clap::Args)]
pub struct EchoArgs {
    /// Where to listen.
    #[arg(long)]
    pub listen: SocketAddr,
    /// Size of every answer's payload.
    #[arg(long)]
    pub payload_bytes: usize,
}

/// The echo method's message, both ways: opaque bytes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BytesValue {
    /// The payload.
    #[prost(bytes = "vec", tag = "1")]
    pub value: Vec<u8>,
}

/// The echo service: every call answers `payload`.
#[derive(Clone)]
struct Echo {
    payload: Arc<Vec<u8>>,
}

impl tonic::server::NamedService for Echo {
    const NAME: &'static str = "citydash.bench.Echo";
}

struct Unary(Arc<Vec<u8>>);

impl tonic::server::UnaryService<BytesValue> for Unary {
    type Response = BytesValue;
    type Future = std::future::Ready<Result<Response<BytesValue>, Status>>;

    fn call(&mut self, _request: Request<BytesValue>) -> Self::Future {
        std::future::ready(Ok(Response::new(BytesValue {
            value: self.0.as_ref().clone(),
        })))
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for Echo {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let payload = Arc::clone(&self.payload);
        Box::pin(async move {
            if request.uri().path() != PATH {
                return Ok(Status::unimplemented(request.uri().path().to_owned()).into_http());
            }
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<BytesValue, BytesValue>::default());
            Ok(grpc.unary(Unary(payload), request).await)
        })
    }
}

/// Serves the echo until the process is stopped.
pub async fn serve(args: &EchoArgs) -> anyhow::Result<()> {
    let echo = Echo {
        payload: Arc::new(vec![0x5a; args.payload_bytes]),
    };
    // Health, so that the suite starts it like any service.
    let (_, health) = tonic_health::server::health_reporter();
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(echo)
        .serve(args.listen)
        .await?;
    Ok(())
}

/// One echo call on `channel`.
pub async fn call(channel: Channel) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::from_static(PATH);
    grpc.unary(
        Request::new(BytesValue::default()),
        path,
        ProstCodec::<BytesValue, BytesValue>::default(),
    )
    .await
    .map(|_| ())
}
