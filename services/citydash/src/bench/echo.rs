//! The yardsticks of the read and fan-out benchmarks: a minimal tonic
//! server (`citydash bench echo-server`) with a unary method that answers
//! every call with the same payload of a given size, and a stream that sends
//! that payload to every subscriber on each tick. What it serves per second
//! at a concurrency, and the CPU it spends per delivery, are what tonic,
//! HTTP/2 and loopback allow for a message that large; the overview's
//! figures are set beside them.

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
/// The stream's path: the payload on subscribing and on every tick.
const STREAM_PATH: &str = "/citydash.bench.Echo/Stream";
/// The tick's path: one more message on every open stream.
const TICK_PATH: &str = "/citydash.bench.Echo/Tick";

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

/// A stream's message: the payload, shared (each delivery copies it only
/// into its connection's frames, as an encoded overview is).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SharedBytes {
    /// The payload.
    #[prost(bytes = "bytes", tag = "1")]
    pub value: prost::bytes::Bytes,
}

/// The echo service: every call answers `payload`; every tick sends
/// `shared` on every stream.
#[derive(Clone)]
struct Echo {
    payload: Arc<Vec<u8>>,
    shared: prost::bytes::Bytes,
    ticks: tokio::sync::broadcast::Sender<()>,
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

/// A subscription: the payload now and on every tick.
struct Subscribe(Echo);

impl tonic::server::ServerStreamingService<BytesValue> for Subscribe {
    type Response = SharedBytes;
    type ResponseStream = futures::stream::BoxStream<'static, Result<SharedBytes, Status>>;
    type Future = std::future::Ready<Result<Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, _request: Request<BytesValue>) -> Self::Future {
        let state = (self.0.ticks.subscribe(), self.0.shared.clone(), true);
        let stream = futures::stream::unfold(state, |(mut ticks, shared, first)| async move {
            if !first {
                loop {
                    match ticks.recv().await {
                        Ok(()) => break,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
            let message = SharedBytes { value: shared.clone() };
            Some((Ok(message), (ticks, shared, false)))
        });
        std::future::ready(Ok(Response::new(Box::pin(stream) as Self::ResponseStream)))
    }
}

/// A tick: one message on every open stream.
struct Tick(tokio::sync::broadcast::Sender<()>);

impl tonic::server::UnaryService<BytesValue> for Tick {
    type Response = BytesValue;
    type Future = std::future::Ready<Result<Response<BytesValue>, Status>>;

    fn call(&mut self, _request: Request<BytesValue>) -> Self::Future {
        // No stream open is not an error: the suite ticks once without any.
        let _ = self.0.send(());
        std::future::ready(Ok(Response::new(BytesValue::default())))
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
        let echo = self.clone();
        Box::pin(async move {
            match request.uri().path() {
                PATH => {
                    let mut grpc = tonic::server::Grpc::new(ProstCodec::<BytesValue, BytesValue>::default());
                    Ok(grpc.unary(Unary(echo.payload), request).await)
                }
                STREAM_PATH => {
                    let mut grpc = tonic::server::Grpc::new(ProstCodec::<SharedBytes, BytesValue>::default());
                    Ok(grpc.server_streaming(Subscribe(echo), request).await)
                }
                TICK_PATH => {
                    let mut grpc = tonic::server::Grpc::new(ProstCodec::<BytesValue, BytesValue>::default());
                    Ok(grpc.unary(Tick(echo.ticks), request).await)
                }
                other => Ok(Status::unimplemented(other.to_owned()).into_http()),
            }
        })
    }
}

/// Serves the echo until the process is stopped.
pub async fn serve(args: &EchoArgs) -> anyhow::Result<()> {
    let echo = Echo {
        payload: Arc::new(vec![0x5a; args.payload_bytes]),
        shared: prost::bytes::Bytes::from(vec![0x5a; args.payload_bytes]),
        ticks: tokio::sync::broadcast::channel(16).0,
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
    unary(channel, PATH).await
}

/// One call of the unary method at `path`, its answer dropped.
async fn unary(channel: Channel, path: &'static str) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
    grpc.unary(
        Request::new(BytesValue::default()),
        http::uri::PathAndQuery::from_static(path),
        ProstCodec::<BytesValue, BytesValue>::default(),
    )
    .await
    .map(|_| ())
}

/// Subscribes to the echo's stream on `channel`: the messages it receives.
pub async fn subscribe(channel: Channel) -> Result<tonic::Streaming<SharedBytes>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::from_static(STREAM_PATH);
    let answer = grpc
        .server_streaming(
            Request::new(BytesValue::default()),
            path,
            ProstCodec::<BytesValue, SharedBytes>::default(),
        )
        .await?;
    Ok(answer.into_inner())
}

/// One tick on `channel`: every open stream gets one more message.
pub async fn tick(channel: Channel) -> Result<(), Status> {
    unary(channel, TICK_PATH).await
}
