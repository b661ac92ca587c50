//! The clerk's import page behind the dashboard's port: the kinds and their
//! templates, and the upload of a sheet, dry run first, then the write. The
//! sheet goes through `citydash_sheets::import`, the code `citydash import`
//! runs, to the service that owns the data (a sector, or this aggregator for
//! city indicators) with the clerk's own token: that service checks the
//! token, writes, audits and refuses exactly as for the command line. The
//! aggregator only carries the file; it grants nothing itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use citydash_proto::sectors;
use citydash_runtime::auth::authed;
use citydash_runtime::connect::code_name;
use citydash_sheets::import::{self, FileRefused, Import, ServiceRefused, Summary, kinds};
use citydash_sheets::table::Source;
use citydash_sheets::write::Format;
use serde_json::{Value, json};
use tonic::transport::Channel;

/// The largest sheet the page takes (a year of a big sector's monthly
/// progress is a few megabytes).
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;

/// Imports running at once; more are told to wait (429), so uploads cannot
/// take the machine from the screens.
const CONCURRENT_IMPORTS: usize = 2;

/// Refusals listed in one answer; the count says how many there were.
const LISTED_REFUSALS: usize = 1000;

/// The services a sheet can go to, each by its lazily connecting channel
/// (without the aggregator's own client certificate, so the service sees
/// the clerk's token, not the aggregator).
pub struct Importer {
    targets: BTreeMap<&'static str, Channel>,
    running: tokio::sync::Semaphore,
}

impl Importer {
    /// An importer sending to `targets`, by service name (`sectors::named`).
    pub fn new(targets: impl IntoIterator<Item = (&'static str, Channel)>) -> Self {
        Self {
            targets: targets.into_iter().collect(),
            running: tokio::sync::Semaphore::new(CONCURRENT_IMPORTS),
        }
    }

    /// The page's data routes (the page itself is one of the dashboard's
    /// assets).
    pub fn router(self: Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route("/import/kinds", get(catalog))
            .route("/import/templates/{file}", get(template))
            .route("/import/{kind}", post(upload))
            .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
            .with_state(self)
    }
}

/// An answer the page shows: an HTTP status and a Chinese message, with
/// the gRPC code when a service gave one.
fn refusal(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({ "code": code, "message": message.into() }))).into_response()
}

/// `GET /import/kinds`: what can be imported, the columns of each, and the
/// services a sheet can go to.
async fn catalog(State(importer): State<Arc<Importer>>) -> Json<Value> {
    let kinds: Vec<Value> = kinds::KINDS
        .iter()
        .map(|k| {
            let columns: Vec<Value> = k
                .columns
                .iter()
                .map(|c| json!({ "zh": c.zh, "en": c.en, "required": c.required }))
                .collect();
            json!({ "name": k.name, "zh": k.zh, "columns": columns })
        })
        .collect();
    let services: Vec<Value> = sectors::SECTORS
        .iter()
        .chain([&sectors::CITY])
        .filter(|s| importer.targets.contains_key(s.name))
        .map(|s| json!({ "name": s.name, "zh": s.name_zh, "agency": s.agency_zh }))
        .collect();
    Json(json!({ "kinds": kinds, "services": services, "maxBytes": MAX_UPLOAD_BYTES }))
}

/// `GET /import/templates/{kind}.xlsx` (or `.csv`): the kind's empty sheet.
async fn template(Path(file): Path<String>) -> Response {
    let Some((name, _)) = file.rsplit_once('.') else {
        return refusal(StatusCode::NOT_FOUND, "not_found", "模板名应为 类别.xlsx 或 类别.csv");
    };
    let (Some(kind), Some(format)) = (kinds::kind(name), Format::of(&file)) else {
        return refusal(StatusCode::NOT_FOUND, "not_found", format!("没有模板「{file}」"));
    };
    match import::template_bytes(kind, format) {
        Ok(bytes) => {
            let ext = if format == Format::Xlsx { "xlsx" } else { "csv" };
            let download = format!("{}导入模板.{ext}", kind.zh);
            let disposition = format!(
                "attachment; filename=\"{}.{ext}\"; filename*=UTF-8''{}",
                kind.name,
                percent_encode(&download)
            );
            (
                [
                    (header::CONTENT_TYPE, format.content_type().to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::CACHE_CONTROL, "no-cache".to_owned()),
                ],
                bytes,
            )
                .into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, kind = kind.name, "writing a template failed");
            refusal(StatusCode::INTERNAL_SERVER_ERROR, "internal", "模板生成失败")
        }
    }
}

/// RFC 5987 encoding of a download's file name.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `POST /import/{kind}?service=…&file=…&mode=check|write[&accept_good_rows=true][&confirm=…]`
/// with the sheet as the body and the clerk's token as `Authorization:
/// Bearer …`: the dry run's summary (`mode=check`), or the import's.
async fn upload(
    State(importer): State<Arc<Importer>>,
    Path(kind_name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(kind) = kinds::kind(&kind_name) else {
        let names: Vec<&str> = kinds::KINDS.iter().map(|k| k.name).collect();
        return refusal(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("没有「{kind_name}」这类数据：应为 {} 之一", names.join("、")),
        );
    };
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return refusal(StatusCode::UNAUTHORIZED, "unauthenticated", "请先填写本单位的令牌");
    };
    let service = query.get("service").map(String::as_str).unwrap_or_default();
    let Some(channel) = importer.targets.get(service) else {
        let names: Vec<&str> = importer.targets.keys().copied().collect();
        return refusal(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            format!("service：请选择数据所属的服务（{}）", names.join("、")),
        );
    };
    let file = query.get("file").cloned().unwrap_or_default();
    if Format::of(&file).is_none() {
        return refusal(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            format!("file：只能导入 .xlsx 或 .csv 文件，「{file}」不是"),
        );
    }
    if body.is_empty() {
        return refusal(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            format!("「{file}」是空文件"),
        );
    }
    let dry_run = match query.get("mode").map(String::as_str) {
        Some("check") => true,
        Some("write") => false,
        _ => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "invalid_argument",
                "mode：应为 check（试运行）或 write（导入）",
            );
        }
    };
    let channel = match authed(channel.clone(), Some(token)) {
        Ok(c) => c,
        Err(reason) => return refusal(StatusCode::UNAUTHORIZED, "unauthenticated", reason),
    };
    let Ok(_permit) = importer.running.try_acquire() else {
        return refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "resource_exhausted",
            "正在处理其他导入，请稍后再试",
        );
    };
    let request = Import {
        kind: kind.name.to_owned(),
        source: Source::Bytes {
            name: file.clone(),
            bytes: Arc::from(body.as_ref()),
        },
        dry_run,
        accept_good_rows: query.get("accept_good_rows").is_some_and(|v| v == "true"),
        confirm: query.get("confirm").cloned().filter(|c| !c.trim().is_empty()),
    };
    match import::run(&request, channel, &|_| {}).await {
        Ok(summary) => {
            tracing::info!(
                kind = kind.name,
                service,
                rows = summary.rows,
                refused = summary.refused_rows(),
                written = summary.written,
                "sheet imported from the page"
            );
            Json(answer(kind, &file, &summary)).into_response()
        }
        Err(err) => {
            if let Some(refused) = err.downcast_ref::<FileRefused>() {
                return refusal(StatusCode::UNPROCESSABLE_ENTITY, "file_refused", refused.reason.clone());
            }
            if let Some(refused) = err.downcast_ref::<ServiceRefused>() {
                let (code, status) = code_name(refused.code);
                return refusal(status, code, refused.message.clone());
            }
            tracing::warn!(error = %format!("{err:#}"), kind = kind.name, service, "import from the page failed");
            refusal(StatusCode::UNPROCESSABLE_ENTITY, "import_failed", format!("{err:#}"))
        }
    }
}

/// The summary as the page reads it.
fn answer(kind: &kinds::Kind, file: &str, summary: &Summary) -> Value {
    let refused: Vec<Value> = summary
        .refused
        .iter()
        .take(LISTED_REFUSALS)
        .map(|r| json!({ "line": r.line, "column": r.column, "reason": r.reason }))
        .collect();
    let skipped: Vec<Value> = summary
        .skipped
        .iter()
        .map(|s| json!({ "line": s.line, "reason": s.reason }))
        .collect();
    json!({
        "kind": kind.name,
        "kindZh": kind.zh,
        "file": file,
        "rows": summary.rows,
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "refusedRows": summary.refused_rows(),
        "refusals": summary.refused.len(),
        "refused": refused,
        "skipped": skipped,
        "ignoredColumns": summary.ignored_columns,
        "written": summary.written,
    })
}
