//! The clerk's import page (issue 18), through the dashboard's port on both
//! backends: the kinds and their templates; an XLSX sheet with a bad row is
//! refused by line and column in the dry run and writes nothing, even when
//! sent for writing; fixed, it is written once and a second upload changes
//! nothing; the statistics bureau's indicators go to the city; and every
//! refusal (no token, another agency's token, a bad mode, kind or file) is a
//! Chinese message that changes nothing.

use citydash_e2e::{Sectors, TestDb, agency_of, free_addr, sector_token, spawn_aggregator_serving_web};
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use citydash_sheets::table::{self, Source};
use citydash_sheets::write::{Format, Out, Table, to_bytes};
use std::sync::Arc;

/// One upload: the HTTP status and the JSON answer.
async fn upload(
    client: &reqwest::Client,
    base: &str,
    kind: &str,
    query: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let mut request = client.post(format!("{base}/import/{kind}?{query}")).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("an HTTP answer");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    let value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)));
    (status, value)
}

/// A projects sheet as a clerk fills the template in.
fn projects_sheet(second_region: &str) -> Vec<u8> {
    let unit = agency_of("agriculture");
    let row = |code: &str, name: &str, region: &str, amount: &str| {
        [code, name, region, unit, amount]
            .map(|t| Out::Text(t.to_owned()))
            .to_vec()
    };
    let table = Table {
        name: "项目".to_owned(),
        headers: ["项目编号", "项目名称", "所属区域", "责任单位", "计划总投资（万元）"]
            .map(str::to_owned)
            .to_vec(),
        rows: vec![
            row("AG-P1", "青稞加工园", "city", "1200"),
            row("AG-P2", "冷链中心", second_region, "800"),
        ],
        header_notes: Vec::new(),
    };
    to_bytes(&table, Format::Xlsx).expect("xlsx")
}

async fn projects(agriculture: &citydash_e2e::Running) -> Vec<v1::Project> {
    SectorServiceClient::new(agriculture.channel().await)
        .list_projects(v1::ListProjectsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .projects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_clerk_imports_a_sheet_through_the_page_with_a_dry_run_first() {
    let sectors = Sectors::start().await;
    let db = TestDb::new().await;
    let web = free_addr();
    let _agg = spawn_aggregator_serving_web(&db, sectors.flags(), &web.to_string()).await;
    let base = format!("http://{web}");
    let client = reqwest::Client::new();
    let agriculture = &sectors.services[0];
    let clerk = sector_token("agriculture");

    // What can be imported, and where to.
    let kinds = client
        .get(format!("{base}/import/kinds"))
        .send()
        .await
        .expect("kinds")
        .bytes()
        .await
        .expect("body");
    let kinds: serde_json::Value = serde_json::from_slice(&kinds).expect("json");
    let names: Vec<&str> = kinds["kinds"]
        .as_array()
        .expect("kinds")
        .iter()
        .filter_map(|k| k["name"].as_str())
        .collect();
    assert!(
        names.contains(&"projects") && names.contains(&"indicators"),
        "{names:?}"
    );
    let services: Vec<&str> = kinds["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    let expected: Vec<&str> = citydash_proto::sectors::service_names().collect();
    assert_eq!(services, expected);

    // The template is a workbook with the kind's headers, the same as the command line writes.
    let template = client
        .get(format!("{base}/import/templates/projects.xlsx"))
        .send()
        .await
        .expect("template");
    assert_eq!(template.status(), 200);
    assert!(
        template.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains("filename*=UTF-8''"),
    );
    let bytes: Arc<[u8]> = Arc::from(template.bytes().await.expect("bytes").as_ref());
    let mut header = Vec::new();
    table::for_each_row(
        &Source::Bytes {
            name: "projects.xlsx".to_owned(),
            bytes,
        },
        |row| {
            header = row.cells.iter().map(table::Cell::text).collect();
            Ok(false)
        },
    )
    .expect("a workbook");
    assert_eq!(header.first().map(String::as_str), Some("项目编号"));
    let missing = client
        .get(format!("{base}/import/templates/nothing.xlsx"))
        .send()
        .await
        .expect("answer");
    assert_eq!(missing.status(), 404);

    // A sheet with a bad row: the dry run names the line and the column.
    let query = "service=agriculture&file=%E9%A1%B9%E7%9B%AE.xlsx";
    let bad = projects_sheet("nowhere");
    let (status, dry) = upload(
        &client,
        &base,
        "projects",
        &format!("{query}&mode=check"),
        Some(&clerk),
        bad.clone(),
    )
    .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["rows"], 2);
    assert_eq!(dry["created"], 1);
    assert_eq!(dry["refusedRows"], 1);
    assert_eq!(dry["refused"][0]["line"], 3, "{dry}");
    assert_eq!(dry["refused"][0]["column"], "所属区域", "{dry}");
    assert!(
        dry["refused"][0]["reason"]
            .as_str()
            .expect("reason")
            .contains("nowhere"),
        "{dry}"
    );
    assert_eq!(dry["written"], false);
    assert_eq!(dry["file"], "项目.xlsx");
    // Sent for writing as it is, it writes nothing.
    let (status, refused) = upload(
        &client,
        &base,
        "projects",
        &format!("{query}&mode=write"),
        Some(&clerk),
        bad,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(refused["written"], false);
    assert!(projects(agriculture).await.is_empty());

    // Refusals that change nothing, each a Chinese message.
    let good = projects_sheet("city");
    let industry = sector_token("industry");
    for (kind, q, token, body, status, code) in [
        (
            "projects",
            format!("{query}&mode=write"),
            None,
            good.clone(),
            401,
            "unauthenticated",
        ),
        (
            "projects",
            format!("{query}&mode=write"),
            Some(industry.as_str()),
            good.clone(),
            403,
            "permission_denied",
        ),
        (
            "projects",
            format!("{query}&mode=maybe"),
            Some(clerk.as_str()),
            good.clone(),
            400,
            "invalid_argument",
        ),
        (
            "projects",
            "service=mars&file=a.xlsx&mode=write".to_owned(),
            Some(clerk.as_str()),
            good.clone(),
            400,
            "invalid_argument",
        ),
        (
            "projects",
            "service=agriculture&file=a.txt&mode=write".to_owned(),
            Some(clerk.as_str()),
            good.clone(),
            400,
            "invalid_argument",
        ),
        (
            "nothing",
            format!("{query}&mode=write"),
            Some(clerk.as_str()),
            good.clone(),
            404,
            "not_found",
        ),
        (
            "projects",
            format!("{query}&mode=write"),
            Some(clerk.as_str()),
            b"not a workbook".to_vec(),
            422,
            "import_failed",
        ),
        (
            "projects",
            "service=agriculture&file=a.csv&mode=write".to_owned(),
            Some(clerk.as_str()),
            "备注\n无\n".as_bytes().to_vec(),
            422,
            "file_refused",
        ),
    ] {
        let (got, answer) = upload(&client, &base, kind, &q, token, body).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{kind}?{q}: {answer}"
        );
        let message = answer["message"].as_str().expect("message");
        assert!(
            message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{message}"
        );
    }
    assert!(projects(agriculture).await.is_empty());

    // Fixed: the dry run passes, the write creates both, a second upload changes nothing.
    let (_, dry) = upload(
        &client,
        &base,
        "projects",
        &format!("{query}&mode=check"),
        Some(&clerk),
        good.clone(),
    )
    .await;
    assert_eq!(
        (dry["created"].as_u64(), dry["refusedRows"].as_u64()),
        (Some(2), Some(0)),
        "{dry}"
    );
    let (status, done) = upload(
        &client,
        &base,
        "projects",
        &format!("{query}&mode=write"),
        Some(&clerk),
        good.clone(),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["created"].as_u64(), done["written"].as_bool()),
        (Some(2), Some(true)),
        "{done}"
    );
    let stored = projects(agriculture).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored
            .iter()
            .find(|p| p.code == "AG-P1")
            .map(|p| p.planned_total_investment_yuan),
        Some(12_000_000)
    );
    let (_, again) = upload(
        &client,
        &base,
        "projects",
        &format!("{query}&mode=write"),
        Some(&clerk),
        good,
    )
    .await;
    assert_eq!(
        (again["unchanged"].as_u64(), again["created"].as_u64()),
        (Some(2), Some(0)),
        "{again}"
    );

    // The statistics bureau's indicators go to the city, as CSV.
    let statistics = citydash_e2e::token("市统计局", citydash_runtime::auth::Role::Statistics, &[], &[]);
    let csv = "指标,地区,报告期,累计值,官方增速\n地区生产总值,city,2026-06,60亿元,5.2%\n";
    let (status, city) = upload(
        &client,
        &base,
        "indicators",
        "service=city&file=gdp.csv&mode=write",
        Some(&statistics),
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{city}");
    assert_eq!(
        (city["created"].as_u64(), city["written"].as_bool()),
        (Some(1), Some(true)),
        "{city}"
    );
}
