//! The Connect protocol's unary calls, so tools that do not speak gRPC read
//! citydash: `curl`, a BI tool's API data source (DataEase, GoView), a script.
//! A POST of `application/json` (proto3 JSON mapping) or `application/proto`
//! to `/citydash.v1.CityService/GetOverview` is turned into the gRPC request
//! of the same method and sent to the port's own routes, behind the same door
//! (token, limits, audit), and the answer is turned back: the message as
//! JSON, or an error as Connect's JSON error with the gRPC details (field
//! violations, ErrorInfo) under `details`. There is one handler per method:
//! this layer only re-frames.
//!
//! Streaming methods (`WatchOverview`, `WatchChanges`) stay gRPC and grpc-web;
//! a Connect call to one is `unimplemented`. Requests in any other content
//! type pass through untouched. [`Cors`] is the browser side of the same door.

use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor};
use tonic::Code;
use tower::{Layer, Service, ServiceExt as _};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T, E> = Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send>>;

/// The descriptors a Connect call is translated with: every citydash
/// service, the health service (so a load balancer can ask over HTTP/1.1)
/// and `google.rpc` (so an error's details are shown in JSON too).
pub fn descriptors() -> &'static DescriptorPool {
    static POOL: std::sync::OnceLock<DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool = citydash_proto::descriptor_pool().clone();
        for set in [
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_types::pb::FILE_DESCRIPTOR_SET,
        ] {
            pool.decode_file_descriptor_set(set)
                .expect("the embedded descriptors decode");
        }
        pool
    })
}

/// A request body made from bytes: the gRPC request a Connect call becomes
/// is sent in the body type of the port it arrived on.
pub trait FromBytes {
    /// The body holding exactly `bytes`.
    fn from_bytes(bytes: Bytes) -> Self;
}

impl FromBytes for tonic::body::Body {
    fn from_bytes(bytes: Bytes) -> Self {
        tonic::body::Body::new(http_body_util::Full::new(bytes))
    }
}

impl FromBytes for axum::body::Body {
    fn from_bytes(bytes: Bytes) -> Self {
        axum::body::Body::from(bytes)
    }
}

/// Which Connect codec a request uses, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Json,
    Proto,
}

impl Codec {
    fn of(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
        let essence = value.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case("application/json") {
            Some(Self::Json)
        } else if essence.eq_ignore_ascii_case("application/proto") {
            Some(Self::Proto)
        } else {
            None
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Json => "application/json",
            Self::Proto => "application/proto",
        })
    }
}

/// Adds Connect unary calls to a port's gRPC routes.
#[derive(Debug, Clone, Copy)]
pub struct ConnectLayer {
    max_message_bytes: usize,
}

impl ConnectLayer {
    /// Connect calls up to `max_message_bytes` (the port's gRPC limit).
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes }
    }
}

impl<S> Layer<S> for ConnectLayer {
    type Service = Connect<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Connect {
            inner,
            max_message_bytes: self.max_message_bytes,
        }
    }
}

/// The service [`ConnectLayer`] makes.
#[derive(Debug, Clone)]
pub struct Connect<S> {
    inner: S,
    max_message_bytes: usize,
}

impl<S, B, ResBody> Service<Request<B>> for Connect<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    B: http_body::Body<Data = Bytes> + FromBytes + Send + 'static,
    B::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<axum::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let codec = (request.method() == Method::POST)
            .then(|| Codec::of(request.headers()))
            .flatten();
        let Some(codec) = codec else {
            let call = self.inner.call(request);
            return Box::pin(async move { Ok(call.await?.map(axum::body::Body::new)) });
        };
        // The ready service goes into the call; a fresh clone stays here.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let max = self.max_message_bytes;
        Box::pin(async move { unary(inner, request, codec, max).await })
    }
}

/// The method a path names, if the descriptors know it.
fn method_at(path: &str) -> Option<MethodDescriptor> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    descriptors()
        .get_service_by_name(service)?
        .methods()
        .find(|m| m.name() == method)
}

/// One Connect unary call: the request re-framed as gRPC, sent to `inner`,
/// the answer re-framed as Connect.
async fn unary<S, B, ResBody>(
    inner: S,
    request: Request<B>,
    codec: Codec,
    max: usize,
) -> Result<Response<axum::body::Body>, S::Error>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    B: http_body::Body<Data = Bytes> + FromBytes,
    B::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    let path = request.uri().path().to_owned();
    let Some(method) = method_at(&path) else {
        let status = tonic::Status::unimplemented(format!("没有方法 {path}"));
        return Ok(error_response(&status, StatusCode::NOT_FOUND));
    };
    if method.is_client_streaming() || method.is_server_streaming() {
        let status = tonic::Status::unimplemented(format!(
            "{} 是流式方法：请用 gRPC 或 grpc-web 调用，Connect 只提供一问一答的方法",
            method.full_name()
        ));
        return Ok(connect_error(&status));
    }
    if let Some(encoding) = request.headers().get(header::CONTENT_ENCODING)
        && encoding != "identity"
    {
        let status = tonic::Status::unimplemented(format!(
            "不支持压缩的请求（Content-Encoding: {}）：请发送未压缩的请求体",
            String::from_utf8_lossy(encoding.as_bytes())
        ));
        return Ok(connect_error(&status));
    }
    let (mut parts, body) = request.into_parts();
    let bytes = match http_body_util::Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            let status = tonic::Status::resource_exhausted(format!("请求体超过上限 {max} 字节"));
            return Ok(connect_error(&status));
        }
        Err(err) => {
            let status = tonic::Status::invalid_argument(format!("请求体读取失败：{err}"));
            return Ok(connect_error(&status));
        }
    };
    let message = match codec {
        Codec::Proto => bytes,
        Codec::Json => match from_json(&method, &bytes) {
            Ok(message) => message,
            Err(status) => return Ok(connect_error(&status)),
        },
    };
    let Ok(length) = u32::try_from(message.len()) else {
        let status = tonic::Status::resource_exhausted(format!("请求体超过上限 {max} 字节"));
        return Ok(connect_error(&status));
    };
    let mut frame = Vec::with_capacity(message.len() + 5);
    frame.push(0);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&message);

    let timeout = parts
        .headers
        .get("connect-timeout-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    for name in [
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::ACCEPT_ENCODING,
        header::HeaderName::from_static("connect-protocol-version"),
        header::HeaderName::from_static("connect-timeout-ms"),
    ] {
        parts.headers.remove(name);
    }
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    parts.headers.insert(header::TE, HeaderValue::from_static("trailers"));
    if let Some(ms) = timeout
        && let Ok(value) = HeaderValue::from_str(&format!("{}m", ms.min(99_999_999)))
    {
        parts.headers.insert("grpc-timeout", value);
    }
    parts.version = http::Version::HTTP_2;
    let response = inner
        .oneshot(Request::from_parts(parts, B::from_bytes(frame.into())))
        .await?;

    let (parts, body) = response.into_parts();
    let collected = match body.collect().await {
        Ok(collected) => collected,
        Err(err) => {
            let err: BoxError = err.into();
            let status = tonic::Status::internal(format!("读取应答失败：{err}"));
            return Ok(connect_error(&status));
        }
    };
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let data = collected.to_bytes();
    let status = tonic::Status::from_header_map(&trailers).or_else(|| tonic::Status::from_header_map(&parts.headers));
    match status {
        Some(status) if status.code() != Code::Ok => return Ok(connect_error(&status)),
        None => {
            let status = tonic::Status::internal("应答没有 grpc-status");
            return Ok(connect_error(&status));
        }
        Some(_) => {}
    }
    let Some(message) = unframe(&data) else {
        let status = tonic::Status::internal("应答的 gRPC 帧不完整");
        return Ok(connect_error(&status));
    };
    let body = match codec {
        Codec::Proto => Bytes::copy_from_slice(message),
        Codec::Json => match to_json(&method, message) {
            Ok(json) => json,
            Err(status) => return Ok(connect_error(&status)),
        },
    };
    let mut out = Response::new(axum::body::Body::from(body));
    for (name, value) in metadata(&parts.headers) {
        out.headers_mut().append(name.clone(), value.clone());
    }
    for (name, value) in metadata(&trailers) {
        if let Ok(name) = header::HeaderName::try_from(format!("trailer-{name}")) {
            out.headers_mut().append(name, value.clone());
        }
    }
    out.headers_mut().insert(header::CONTENT_TYPE, codec.content_type());
    Ok(out)
}

/// The response metadata a client may read: everything but the gRPC framing.
fn metadata(headers: &HeaderMap) -> impl Iterator<Item = (&header::HeaderName, &HeaderValue)> {
    headers.iter().filter(|(name, _)| {
        let name = name.as_str();
        !(name.starts_with("grpc-") || name == "content-type" || name == "content-length" || name == "te")
    })
}

/// The one message of an uncompressed gRPC answer.
fn unframe(data: &[u8]) -> Option<&[u8]> {
    let (&flag, rest) = data.split_first()?;
    if flag != 0 || rest.len() < 4 {
        return None;
    }
    let (length, message) = rest.split_at(4);
    let length = usize::try_from(u32::from_be_bytes(length.try_into().ok()?)).ok()?;
    message.get(..length)
}

/// A JSON request as the method's input message, encoded. An empty body is
/// the empty message.
fn from_json(method: &MethodDescriptor, bytes: &[u8]) -> Result<Bytes, tonic::Status> {
    let input = method.input();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Bytes::new());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let message = DynamicMessage::deserialize(input.clone(), &mut deserializer)
        .and_then(|m| deserializer.end().map(|()| m))
        .map_err(|err| {
            let details = tonic_types::ErrorDetails::with_error_info(
                crate::error::reason::MALFORMED_REQUEST,
                crate::error::ERROR_DOMAIN,
                [("message".to_owned(), input.full_name().to_owned())],
            );
            <tonic::Status as tonic_types::StatusExt>::with_error_details(
                Code::InvalidArgument,
                format!(
                    "请求的 JSON 不是 {} 消息（proto3 JSON 映射，字段名用 lowerCamelCase）：{err}",
                    input.name()
                ),
                details,
            )
        })?;
    Ok(message.encode_to_vec().into())
}

/// The method's output message as proto3 JSON (default values left out, 64-bit
/// integers as strings, enums by name: the mapping every protobuf library reads).
fn to_json(method: &MethodDescriptor, message: &[u8]) -> Result<Bytes, tonic::Status> {
    let message = DynamicMessage::decode(method.output(), message)
        .map_err(|err| tonic::Status::internal(format!("应答无法解码：{err}")))?;
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::new(&mut out);
    message
        .serialize_with_options(&mut serializer, &prost_reflect::SerializeOptions::new())
        .map_err(|err| tonic::Status::internal(format!("应答无法写成 JSON：{err}")))?;
    Ok(out.into())
}

/// Connect's name and HTTP status of a gRPC code; the clerk's import page
/// answers a service's refusal with them too.
pub fn code_name(code: Code) -> (&'static str, StatusCode) {
    match code {
        Code::Ok => ("ok", StatusCode::OK),
        Code::Cancelled => ("canceled", StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST)),
        Code::Unknown => ("unknown", StatusCode::INTERNAL_SERVER_ERROR),
        Code::InvalidArgument => ("invalid_argument", StatusCode::BAD_REQUEST),
        Code::DeadlineExceeded => ("deadline_exceeded", StatusCode::GATEWAY_TIMEOUT),
        Code::NotFound => ("not_found", StatusCode::NOT_FOUND),
        Code::AlreadyExists => ("already_exists", StatusCode::CONFLICT),
        Code::PermissionDenied => ("permission_denied", StatusCode::FORBIDDEN),
        Code::ResourceExhausted => ("resource_exhausted", StatusCode::TOO_MANY_REQUESTS),
        Code::FailedPrecondition => ("failed_precondition", StatusCode::BAD_REQUEST),
        Code::Aborted => ("aborted", StatusCode::CONFLICT),
        Code::OutOfRange => ("out_of_range", StatusCode::BAD_REQUEST),
        Code::Unimplemented => ("unimplemented", StatusCode::NOT_IMPLEMENTED),
        Code::Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        Code::Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
        Code::DataLoss => ("data_loss", StatusCode::INTERNAL_SERVER_ERROR),
        Code::Unauthenticated => ("unauthenticated", StatusCode::UNAUTHORIZED),
    }
}

/// A gRPC status as Connect's error, at the HTTP status its code maps to.
fn connect_error(status: &tonic::Status) -> Response<axum::body::Body> {
    error_response(status, code_name(status.code()).1)
}

/// A gRPC status as Connect's JSON error: `code`, `message` and each detail
/// with its type, its bytes (base64) and, for the types citydash sends, its
/// JSON under `debug`.
fn error_response(status: &tonic::Status, http_status: StatusCode) -> Response<axum::body::Body> {
    let details: Vec<serde_json::Value> = tonic_types::pb::Status::decode(status.details())
        .map(|s| s.details)
        .unwrap_or_default()
        .into_iter()
        .map(|any| {
            let name = any.type_url.rsplit('/').next().unwrap_or_default().to_owned();
            let mut detail = serde_json::json!({
                "type": name,
                "value": base64::engine::general_purpose::STANDARD_NO_PAD.encode(&any.value),
            });
            let debug = descriptors()
                .get_message_by_name(&name)
                .and_then(|d| DynamicMessage::decode(d, any.value.as_slice()).ok())
                .and_then(|m| serde_json::to_value(&m).ok());
            if let Some(debug) = debug {
                detail["debug"] = debug;
            }
            detail
        })
        .collect();
    let mut body = serde_json::json!({
        "code": code_name(status.code()).0,
        "message": status.message(),
    });
    if !details.is_empty() {
        body["details"] = serde_json::Value::Array(details);
    }
    let mut response = Response::new(axum::body::Body::from(body.to_string()));
    *response.status_mut() = http_status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Which browser origins may call a port (CORS): none unless configured,
/// so a page on another site cannot use a viewer's token by accident.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers: only same-origin pages and non-browser clients.
    #[default]
    Off,
    /// Any origin (`*`): the data still needs a token.
    Any,
    /// These origins (`https://bi.example.gov.cn`), exactly.
    Origins(Vec<HeaderValue>),
}

impl std::str::FromStr for Cors {
    type Err = String;

    /// A comma-separated list of origins, `*` for any, empty for none.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let items: Vec<&str> = s.split(',').map(str::trim).filter(|o| !o.is_empty()).collect();
        if items.is_empty() {
            return Ok(Self::Off);
        }
        if items == ["*"] {
            return Ok(Self::Any);
        }
        items
            .iter()
            .map(|origin| {
                let (scheme, host) = origin
                    .split_once("://")
                    .ok_or_else(|| format!("{origin:?} is not an origin (scheme://host[:port])"))?;
                if !matches!(scheme, "http" | "https") || host.is_empty() || host.contains('/') || *origin == "*" {
                    return Err(format!("{origin:?} is not an origin (scheme://host[:port])"));
                }
                HeaderValue::from_str(origin).map_err(|err| format!("{origin:?}: {err}"))
            })
            .collect::<Result<_, _>>()
            .map(Self::Origins)
    }
}

impl Cors {
    /// The layer answering preflights and adding CORS headers, if any
    /// origin is allowed. Browsers may send the token, the Connect and
    /// grpc-web headers, and read the gRPC status headers.
    pub fn layer(&self) -> Option<tower_http::cors::CorsLayer> {
        use tower_http::cors::{AllowOrigin, CorsLayer};
        let origins = match self {
            Self::Off => return None,
            Self::Any => AllowOrigin::any(),
            Self::Origins(list) => AllowOrigin::list(list.clone()),
        };
        let headers = [
            "authorization",
            "content-type",
            "connect-protocol-version",
            "connect-timeout-ms",
            "grpc-timeout",
            "x-grpc-web",
            "x-user-agent",
        ]
        .map(header::HeaderName::from_static);
        let exposed = ["grpc-status", "grpc-message", "grpc-status-details-bin"].map(header::HeaderName::from_static);
        Some(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
                .allow_headers(headers)
                .expose_headers(exposed)
                .max_age(std::time::Duration::from_secs(7200)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_as_connect_writes_them() {
        assert_eq!(
            code_name(Code::InvalidArgument),
            ("invalid_argument", StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            code_name(Code::Unauthenticated),
            ("unauthenticated", StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            code_name(Code::ResourceExhausted),
            ("resource_exhausted", StatusCode::TOO_MANY_REQUESTS)
        );
    }

    #[test]
    fn frames_are_read_exactly() {
        assert_eq!(unframe(&[0, 0, 0, 0, 2, 7, 8]), Some(&[7u8, 8][..]));
        assert_eq!(unframe(&[0, 0, 0, 0, 3, 7, 8]), None, "short");
        assert_eq!(unframe(&[1, 0, 0, 0, 0]), None, "compressed");
        assert_eq!(unframe(&[]), None);
    }

    #[test]
    fn origins_are_checked() {
        assert_eq!("".parse::<Cors>(), Ok(Cors::Off));
        assert_eq!("*".parse::<Cors>(), Ok(Cors::Any));
        assert!(
            matches!("https://bi.example.cn, http://127.0.0.1:3000".parse::<Cors>(), Ok(Cors::Origins(o)) if o.len() == 2)
        );
        assert!("bi.example.cn".parse::<Cors>().is_err());
        assert!("https://bi.example.cn/path".parse::<Cors>().is_err());
        assert!("ftp://bi.example.cn".parse::<Cors>().is_err());
    }

    #[test]
    fn every_citydash_method_is_known() {
        let method = method_at("/citydash.v1.CityService/GetOverview").expect("known");
        assert!(!method.is_server_streaming());
        assert!(method_at("/citydash.v1.CityService/WatchOverview").is_some_and(|m| m.is_server_streaming()));
        assert!(method_at("/grpc.health.v1.Health/Check").is_some());
        assert!(method_at("/citydash.v1.CityService/Nope").is_none());
        assert!(method_at("/favicon.ico").is_none());
        assert!(descriptors().get_message_by_name("google.rpc.BadRequest").is_some());
    }
}
