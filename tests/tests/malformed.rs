//! Requests that do not decode are the caller's fault (issue 22, item 8):
//! INVALID_ARGUMENT with reason MALFORMED_REQUEST, never INTERNAL, and
//! audited when they name a method that changes state; an oversized token
//! header is refused UNAUTHENTICATED on a connection that stays usable.

use citydash_agriculture::Agriculture;
use citydash_e2e::{TestDb, spawn_sector, token};
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use citydash_runtime::auth::Role;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic_types::StatusExt;

/// Sends and receives raw bytes, so a test can send what no client would.
#[derive(Debug, Clone, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let n = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, n).to_vec()))
    }
}

async fn call_raw(channel: tonic::transport::Channel, token: &str, path: &str, body: Vec<u8>) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let mut request = tonic::Request::new(body);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().expect("header"));
    grpc.unary(request, path.parse().expect("path"), Raw)
        .await
        .expect_err("refused")
}

#[tokio::test]
async fn undecodable_requests_are_invalid_argument_and_audited() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let mut too_deep = Vec::new();
    for _ in 0..200 {
        too_deep.push(0xab); // start group, field 21: unknown, skipped recursively
        too_deep.push(0x01);
    }
    let cases: [(&str, Vec<u8>); 3] = [
        // request_id (field 1) of two bytes that are not UTF-8
        ("invalid UTF-8", vec![0x0a, 0x02, 0xff, 0xfe]),
        // request_id announcing 16 bytes, then the message ends
        ("truncated", vec![0x0a, 0x10, b'a']),
        ("nested past the recursion limit", too_deep),
    ];
    for (what, body) in cases {
        let status = call_raw(
            svc.raw_channel().await,
            &svc.token,
            "/citydash.v1.SectorService/ReportProgress",
            body,
        )
        .await;
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        assert_eq!(
            status.get_details_error_info().map(|i| i.reason).as_deref(),
            Some("MALFORMED_REQUEST"),
            "{what}"
        );
        assert!(
            status.message().contains("请求无法解码"),
            "{what}: {}",
            status.message()
        );
    }
    // A read that does not decode is refused the same way, unaudited.
    let status = call_raw(
        svc.raw_channel().await,
        &svc.token,
        "/citydash.v1.SectorService/ListProjects",
        vec![0x12, 0x02, 0xff, 0xfe],
    )
    .await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    let admin = token("市政府办公室", Role::Admin, &[], &[]);
    let audit = SectorServiceClient::new(svc.channel_as(&admin).await)
        .list_audit(v1::ListAuditRequest::default())
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let rows: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|e| (e.principal.as_str(), e.method.as_str(), e.code.as_str()))
        .collect();
    let expected = (
        citydash_e2e::agency_of("agriculture"),
        "citydash.v1.ReportProgressRequest",
        "InvalidArgument",
    );
    assert_eq!(rows, [expected; 3]);
    svc.stop().await;
}

#[tokio::test]
async fn an_oversized_token_is_refused_and_the_connection_lives_on() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let channel = svc.raw_channel().await;
    let mut request = tonic::Request::new(v1::GetCatalogRequest {});
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", "a".repeat(64 * 1024)).parse().expect("header"),
    );
    let err = SectorServiceClient::new(channel.clone())
        .get_catalog(request)
        .await
        .expect_err("a 64 KiB token");
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    let mut request = tonic::Request::new(v1::GetCatalogRequest {});
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", svc.token).parse().expect("header"),
    );
    SectorServiceClient::new(channel)
        .get_catalog(request)
        .await
        .expect("the same connection serves the next call");
    svc.stop().await;
}

/// The dashboard port drops a client that trickles its headers (issue 22,
/// item 9): a slowloris cannot hold its sockets.
#[tokio::test]
async fn the_dashboard_port_drops_a_client_that_never_finishes_its_headers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sectors = citydash_e2e::Sectors::start().await;
    let db = TestDb::new().await;
    let web = citydash_e2e::free_addr();
    let agg = citydash_e2e::spawn_aggregator_serving_web(&db, sectors.flags(), &web.to_string()).await;
    let mut slow = tokio::net::TcpStream::connect(web).await.expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: citydash\r\n")
        .await
        .expect("half the headers");
    let mut buf = Vec::new();
    let started = std::time::Instant::now();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was still open after 20 s");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(5),
        "dropped too early"
    );
    // A client that sends whole requests is served.
    let mut fine = tokio::net::TcpStream::connect(web).await.expect("connect");
    fine.write_all(b"GET / HTTP/1.1\r\nHost: citydash\r\nConnection: close\r\n\r\n")
        .await
        .expect("a request");
    let mut page = Vec::new();
    fine.read_to_end(&mut page).await.expect("the page");
    assert!(
        page.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&page[..page.len().min(200)])
    );
    agg.stop().await;
}

/// A sector's port says what it serves (issue 18): the city view asked of a
/// sector is UNIMPLEMENTED with a message naming the port's services and
/// where CityService is.
#[tokio::test]
async fn a_method_the_port_does_not_serve_is_named() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Agriculture>(&db).await;
    let err = v1::city_service_client::CityServiceClient::new(svc.channel().await)
        .get_overview(v1::GetOverviewRequest { period: None })
        .await
        .expect_err("no CityService on a sector's port");
    assert_eq!(err.code(), Code::Unimplemented);
    assert!(
        err.message().contains("citydash.v1.AgricultureService") && err.message().contains("aggregator"),
        "{}",
        err.message()
    );
    svc.stop().await;
}
