//! A door for other tools (issue 18): every port answers the Connect
//! protocol's unary calls, so `curl` and a BI tool's API source read citydash
//! without gRPC. Through the public ports, on both backends: the JSON of
//! GetOverview is the overview gRPC answers; errors are Connect's JSON with
//! the field violations; streaming and unknown methods are refused by name;
//! a preflight from an allowed origin gets the CORS headers and one from
//! another origin does not; the page's files are compressed and revalidated.

use citydash_e2e::fixtures::{date, period, project};
use citydash_e2e::{Sectors, TestDb, free_addr, last_sequence, request_id, spawn_aggregator_serving_web, synced};
use citydash_proto::v1::{self, city_service_client::CityServiceClient, sector_service_client::SectorServiceClient};
use prost::Message as _;

const ORIGIN: &str = "https://bi.example.gov.cn";

/// One Connect call: the HTTP status, the headers and the body.
async fn call(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = client
        .post(url)
        .header("content-type", content_type)
        .header("connect-protocol-version", "1")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("an HTTP answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.expect("body").to_vec())
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(body)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tools_read_the_overview_as_json_and_get_errors_they_can_act_on() {
    let sectors = Sectors::start().await;
    let db = TestDb::new().await;
    let web = free_addr();
    let mut flags = sectors.flags();
    flags.extend(["--cors-origins".to_owned(), ORIGIN.to_owned()]);
    let agg = spawn_aggregator_serving_web(&db, flags, &web.to_string()).await;
    let agriculture = &sectors.services[0];
    SectorServiceClient::new(agriculture.channel().await)
        .upsert_projects(v1::UpsertProjectsRequest {
            request_id: request_id(),
            projects: vec![v1::Project {
                stage: v1::ProjectStage::Funded as i32,
                stage_date: date(2026, 3, 1),
                ..project("AG-C1", "city", 8_000_000)
            }],
            ..Default::default()
        })
        .await
        .expect("a project");
    let june = period(2026, 6);
    synced(&agg, &sectors, june).await;
    let grpc = CityServiceClient::new(agg.channel().await)
        .get_overview(v1::GetOverviewRequest { period: june })
        .await
        .expect("overview")
        .into_inner();
    assert!(grpc.overview.is_some());

    let client = reqwest::Client::new();
    let pool = citydash_proto::descriptor_pool();
    let response_type = pool
        .get_message_by_name("citydash.v1.GetOverviewResponse")
        .expect("descriptor");
    // The gRPC port (HTTP/1.1 here) and the dashboard's port answer alike.
    for base in [format!("http://{}", agg.addr), format!("http://{web}")] {
        let url = format!("{base}/citydash.v1.CityService/GetOverview");
        let (status, headers, body) = call(
            &client,
            url.clone(),
            Some(&agg.token),
            "application/json",
            br#"{"period":{"year":2026,"month":6}}"#.to_vec(),
        )
        .await;
        assert_eq!(status, 200, "{base}: {}", String::from_utf8_lossy(&body));
        assert_eq!(headers["content-type"], "application/json");
        let mut de = serde_json::Deserializer::from_slice(&body);
        let answer = prost_reflect::DynamicMessage::deserialize(response_type.clone(), &mut de)
            .expect("proto3 JSON of GetOverviewResponse")
            .transcode_to::<v1::GetOverviewResponse>()
            .expect("the same message");
        assert_eq!(answer, grpc, "{base}: the JSON is the gRPC answer");
        // Field names are lowerCamelCase, 64-bit integers strings.
        let value = json(&body);
        assert!(value["overview"].is_object(), "{value}");

        // The binary codec too.
        let (status, headers, body) = call(
            &client,
            url.clone(),
            Some(&agg.token),
            "application/proto",
            v1::GetOverviewRequest { period: june }.encode_to_vec(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/proto");
        assert_eq!(v1::GetOverviewResponse::decode(body.as_slice()).expect("proto"), grpc);

        // No token: the door's refusal, in Connect's framing.
        let (status, _, body) = call(&client, url.clone(), None, "application/json", b"{}".to_vec()).await;
        assert_eq!(status, 401);
        assert_eq!(json(&body)["code"], "unauthenticated");

        // A misspelt field names itself, in Chinese.
        let (status, _, body) = call(
            &client,
            url.clone(),
            Some(&agg.token),
            "application/json",
            br#"{"perod":{"year":2026,"month":6}}"#.to_vec(),
        )
        .await;
        assert_eq!(status, 400);
        let error = json(&body);
        assert_eq!(error["code"], "invalid_argument");
        let message = error["message"].as_str().expect("message");
        assert!(
            message.contains("perod") && message.contains("请求的 JSON"),
            "{message}"
        );
        assert_eq!(error["details"][0]["type"], "google.rpc.ErrorInfo");
        assert_eq!(error["details"][0]["debug"]["reason"], "MALFORMED_REQUEST");

        // A stream stays gRPC and grpc-web.
        let (status, _, body) = call(
            &client,
            format!("{base}/citydash.v1.CityService/WatchOverview"),
            Some(&agg.token),
            "application/json",
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(status, 501);
        assert!(json(&body)["message"].as_str().is_some_and(|m| m.contains("流式")));

        // A path no service has is 404.
        let (status, _, body) = call(
            &client,
            format!("{base}/citydash.v1.CityService/GetNothing"),
            Some(&agg.token),
            "application/json",
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));

        // A preflight from the allowed origin gets the CORS headers…
        let preflight = |origin: &'static str| {
            client
                .request(reqwest::Method::OPTIONS, url.clone())
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization,content-type")
                .send()
        };
        let allowed = preflight(ORIGIN).await.expect("preflight");
        assert!(allowed.status().is_success(), "{}", allowed.status());
        assert_eq!(allowed.headers()["access-control-allow-origin"], ORIGIN);
        let methods = allowed.headers()["access-control-allow-methods"]
            .to_str()
            .expect("ascii");
        assert!(methods.contains("POST"), "{methods}");
        let allowed_headers = allowed.headers()["access-control-allow-headers"]
            .to_str()
            .expect("ascii");
        assert!(allowed_headers.contains("authorization"), "{allowed_headers}");
        // …and one from another site does not.
        let other = preflight("https://elsewhere.example.com").await.expect("preflight");
        assert!(other.headers().get("access-control-allow-origin").is_none());
    }

    // A sector's port: its own writes over Connect, refused with the
    // violations a clerk reads, and nothing written.
    let before = last_sequence(agriculture).await;
    let bad = serde_json::json!({
        "requestId": request_id(),
        "projects": [{
            "code": "AG-C2",
            "name": "项目 AG-C2",
            "regionCode": "atlantis",
            "responsibleUnit": "市农业农村局",
            "plannedTotalInvestmentYuan": "8000000",
        }],
    });
    let (status, _, body) = call(
        &client,
        format!("http://{}/citydash.v1.SectorService/UpsertProjects", agriculture.addr),
        Some(&agriculture.token),
        "application/json",
        bad.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let error = json(&body);
    assert_eq!(error["code"], "invalid_argument");
    let fields: Vec<&str> = error["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["type"] == "google.rpc.BadRequest")
        .flat_map(|d| d["debug"]["fieldViolations"].as_array().into_iter().flatten())
        .filter_map(|v| v["field"].as_str())
        .collect();
    assert!(fields.contains(&"projects[0].region_code"), "{error}");
    assert_eq!(
        last_sequence(agriculture).await,
        before,
        "a refused write changes nothing"
    );
    // CORS is off unless configured: the sector's port sends no CORS headers.
    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{}/citydash.v1.SectorService/UpsertProjects", agriculture.addr),
        )
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("an answer");
    assert!(preflight.headers().get("access-control-allow-origin").is_none());
    // The city's view asked of a sector says where it is.
    let (status, _, body) = call(
        &client,
        format!("http://{}/citydash.v1.CityService/GetOverview", agriculture.addr),
        Some(&agriculture.token),
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 501);
    assert!(
        json(&body)["message"]
            .as_str()
            .is_some_and(|m| m.contains("aggregator"))
    );

    // The page's files: compressed for a browser that asks, revalidated.
    let page = client
        .get(format!("http://{web}/app.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("app.js");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-encoding"], "gzip");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let etag = page.headers()["etag"].clone();
    let again = client
        .get(format!("http://{web}/app.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("app.js again");
    assert_eq!(again.status(), 304);
    let missing = client
        .get(format!("http://{web}/favicon.ico"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
    agg.stop().await;
}
