//! The overview of the current period, served from bytes encoded once per
//! version. Every screen in the building reads or watches the same overview:
//! cloning and encoding it again for each request and each subscriber cost
//! more than the rest of the call. `GetOverviewResponse` and
//! `WatchOverviewResponse` both carry the overview as field 1, so one
//! encoding serves both. This wraps the generated `CityServiceServer`:
//! those two methods of the current period go out as the stored bytes, an
//! explicit other period is computed as before, and every other method goes
//! to the generated server unchanged (authentication and limits sit outside
//! and apply to all).

use std::convert::Infallible;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut as _, Bytes};
use citydash_proto::v1::{self, city_service_server::CityServiceServer};
use futures::future::BoxFuture;
use tokio_stream::{Stream, StreamExt as _, wrappers::WatchStream};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http;
use tonic::server::NamedService;
use tonic::{Request, Response, Status};

use super::grpc::CityGrpc;
use crate::readstore::ReadStore;
use crate::view::{Published, View};

const GET_OVERVIEW: &str = "/citydash.v1.CityService/GetOverview";
const WATCH_OVERVIEW: &str = "/citydash.v1.CityService/WatchOverview";

/// Decodes requests with prost and writes answers that are already encoded.
struct EncodedCodec<U>(PhantomData<U>);

impl<U> Default for EncodedCodec<U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

/// Copies pre-encoded bytes into the frame.
struct BytesEncoder;

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

/// Decodes one request message.
struct MessageDecoder<U>(PhantomData<U>);

impl<U: prost::Message + Default> Decoder for MessageDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(format!("decoding the request: {e}")))
    }
}

impl<U: prost::Message + Default + Send + 'static> Codec for EncodedCodec<U> {
    type Encode = Bytes;
    type Decode = U;
    type Encoder = BytesEncoder;
    type Decoder = MessageDecoder<U>;

    fn encoder(&mut self) -> BytesEncoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> MessageDecoder<U> {
        MessageDecoder(PhantomData)
    }
}

/// `CityServiceServer` with the overview's two methods served from bytes.
pub struct FastPath<R: ReadStore> {
    inner: CityServiceServer<CityGrpc<R>>,
    city: CityGrpc<R>,
    max_message_bytes: usize,
}

impl<R: ReadStore> Clone for FastPath<R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            city: self.city.clone(),
            max_message_bytes: self.max_message_bytes,
        }
    }
}

impl<R: ReadStore> FastPath<R> {
    /// Serves `city`, with messages up to `max_message_bytes` either way.
    pub fn new(city: CityGrpc<R>, max_message_bytes: usize) -> Self {
        let inner = CityServiceServer::new(city.clone())
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes);
        Self {
            inner,
            city,
            max_message_bytes,
        }
    }
}

impl<R: ReadStore> NamedService for FastPath<R> {
    const NAME: &'static str = <CityServiceServer<CityGrpc<R>> as NamedService>::NAME;
}

/// The overview of `period` (the current one when unset) as bytes.
async fn encoded_for<R: ReadStore>(view: &Arc<View<R>>, period: Option<v1::Period>) -> Result<Bytes, Status> {
    let current = view.published();
    Ok(match period {
        Some(p) if current.overview.period.as_ref() != Some(&p) => Published::new(view.overview(&p).await?).encoded,
        _ => current.encoded,
    })
}

struct GetOverview<R: ReadStore>(CityGrpc<R>);

impl<R: ReadStore> tonic::server::UnaryService<v1::GetOverviewRequest> for GetOverview<R> {
    type Response = Bytes;
    type Future = BoxFuture<'static, Result<Response<Bytes>, Status>>;

    fn call(&mut self, request: Request<v1::GetOverviewRequest>) -> Self::Future {
        let checked = self.0.checked_period(request.into_inner().period);
        let view = Arc::clone(self.0.view());
        Box::pin(async move { Ok(Response::new(encoded_for(&view, checked?).await?)) })
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, Status>> + Send + 'static>>;

struct WatchOverview<R: ReadStore>(CityGrpc<R>);

impl<R: ReadStore> tonic::server::ServerStreamingService<v1::WatchOverviewRequest> for WatchOverview<R> {
    type Response = Bytes;
    type ResponseStream = ByteStream;
    type Future = std::future::Ready<Result<Response<ByteStream>, Status>>;

    fn call(&mut self, request: Request<v1::WatchOverviewRequest>) -> Self::Future {
        let city = &self.0;
        let period = match city.checked_period(request.into_inner().period) {
            Ok(p) => p,
            Err(status) => return std::future::ready(Err(status)),
        };
        let view = Arc::clone(city.view());
        let closed = view.closed();
        let updates = WatchStream::new(view.subscribe());
        let stream: ByteStream = match period {
            // The current period: every subscriber gets the same bytes.
            None => Box::pin(futures::StreamExt::take_until(updates.map(|p| Ok(p.encoded)), closed)),
            // A fixed period: recomputed on every change, sent when it differs.
            Some(wanted) => {
                let recomputed = futures::StreamExt::then(updates, move |current| {
                    let view = Arc::clone(&view);
                    async move {
                        if current.overview.period.as_ref() == Some(&wanted) {
                            Ok(current)
                        } else {
                            Ok(Published::new(view.overview(&wanted).await?))
                        }
                    }
                });
                let mut last: Option<Arc<v1::Overview>> = None;
                let changed = futures::StreamExt::filter_map(recomputed, move |next: Result<Published, Status>| {
                    let out = match next {
                        Ok(next) if last.as_ref().is_some_and(|l| **l == *next.overview) => None,
                        Ok(next) => {
                            last = Some(Arc::clone(&next.overview));
                            Some(Ok(next.encoded))
                        }
                        Err(status) => Some(Err(status)),
                    };
                    std::future::ready(out)
                });
                Box::pin(futures::StreamExt::take_until(changed, closed))
            }
        };
        std::future::ready(Ok(Response::new(stream)))
    }
}

/// A gRPC method handler that decodes `U` and writes pre-encoded answers,
/// with the service's message size limits.
fn grpc<U: prost::Message + Default + Send + 'static>(max: usize) -> tonic::server::Grpc<EncodedCodec<U>> {
    tonic::server::Grpc::new(EncodedCodec::<U>::default())
        .max_decoding_message_size(max)
        .max_encoding_message_size(max)
}

impl<R: ReadStore> tower::Service<http::Request<tonic::body::Body>> for FastPath<R> {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let max = self.max_message_bytes;
        match request.uri().path() {
            GET_OVERVIEW => {
                let city = self.city.clone();
                Box::pin(async move { Ok(grpc(max).unary(GetOverview(city), request).await) })
            }
            WATCH_OVERVIEW => {
                let city = self.city.clone();
                Box::pin(async move { Ok(grpc(max).server_streaming(WatchOverview(city), request).await) })
            }
            _ => {
                let mut inner = self.inner.clone();
                Box::pin(async move { tower::Service::call(&mut inner, request).await })
            }
        }
    }
}
