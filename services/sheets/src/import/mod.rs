//! The import: an agency's own spreadsheet (CSV or XLSX) pushed through the
//! public API with its token, in batches, for `citydash import` and for the
//! clerk's import page alike. Every import is first
//! a dry run (`validate_only` on the service): the summary says what would be
//! created, updated, left unchanged and refused (line, column, reason). A
//! file with refused rows imports nothing unless the user accepts the good
//! rows. Batch request ids are hashes of their content, so re-running the
//! same file changes nothing. Rows stream: memory does not grow with the file.

pub mod header;
pub mod kinds;
pub mod values;

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context as _;
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use citydash_runtime::auth::AuthedChannel;
use prost_reflect::DynamicMessage;
use sha2::{Digest, Sha256};
use tonic::Code;
use tonic_types::StatusExt;

use crate::table::{self, Row, Source};
use crate::write::{Format, Table};
use header::Layout;
use kinds::{Kind, Lookup};

/// Rows per request.
pub const BATCH: usize = 500;

/// One import: what the sheet holds, the sheet, and what to do with it.
#[derive(Debug, Clone)]
pub struct Import {
    /// The kind's name (see [`kinds::KINDS`]).
    pub kind: String,
    /// The sheet.
    pub source: Source,
    /// Validate every row and report; write nothing.
    pub dry_run: bool,
    /// Import the good rows even when some are refused.
    pub accept_good_rows: bool,
    /// Confirm every plausibility finding (数据审核) of the sheet with this
    /// explanation; a row's own 审核说明 cell takes precedence.
    pub confirm: Option<String>,
}

/// The service refused a call outright (no token, not its agency, shed
/// load): its code and Chinese message, for a caller that answers in its own
/// protocol (the import page answers with the matching HTTP status).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceRefused {
    /// The gRPC code.
    pub code: Code,
    /// The service's message.
    pub message: String,
}

impl From<tonic::Status> for ServiceRefused {
    fn from(status: tonic::Status) -> Self {
        Self {
            code: status.code(),
            message: status.message().to_owned(),
        }
    }
}

/// A refused row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Line in the file.
    pub line: usize,
    /// The column's header (empty for the whole row).
    pub column: String,
    /// Why, in Chinese.
    pub reason: String,
}

/// A row read but not imported, and not refused either: a total (合计) row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Line in the file.
    pub line: usize,
    /// Why, in Chinese.
    pub reason: String,
}

/// What an import did or would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Data rows read (skipped rows included).
    pub rows: usize,
    /// Would be or were created.
    pub created: usize,
    /// Would be or were updated.
    pub updated: usize,
    /// Identical to what is stored.
    pub unchanged: usize,
    /// Refused rows, each reason.
    pub refused: Vec<Refusal>,
    /// Rows skipped on purpose (totals).
    pub skipped: Vec<Skipped>,
    /// Headers of the file that no column of the kind takes: their cells are not imported.
    pub ignored_columns: Vec<String>,
    /// Whether anything was written.
    pub written: bool,
}

impl Summary {
    /// Refused rows (a row may have several reasons).
    pub fn refused_rows(&self) -> usize {
        self.refused.iter().map(|r| r.line).collect::<HashSet<_>>().len()
    }

    /// The summary as the clerk reads it.
    pub fn render(&self, kind: &Kind, file: &str) -> String {
        let mut out = format!(
            "{}（{}） {}: {} 行 — 新增 {}，更新 {}，未变 {}，拒绝 {}，跳过 {}{}\n",
            kind.zh,
            kind.name,
            file,
            self.rows,
            self.created,
            self.updated,
            self.unchanged,
            self.refused_rows(),
            self.skipped.len(),
            if self.written {
                "（已写入）"
            } else {
                "（未写入）"
            }
        );
        if !self.ignored_columns.is_empty() {
            out += &format!("  未识别、未导入的列：{}\n", self.ignored_columns.join("、"));
        }
        for s in &self.skipped {
            out += &format!("  第 {} 行 已跳过: {}\n", s.line, s.reason);
        }
        for r in &self.refused {
            let column = if r.column.is_empty() {
                String::new()
            } else {
                format!("「{}」", r.column)
            };
            out += &format!("  第 {} 行 {column}: {}\n", r.line, r.reason);
        }
        out
    }
}

/// A file refused whole before any row is sent: no header row, or a column
/// the kind requires is not in it. Nothing is written; `citydash import`
/// exits with `EXIT_FILE_REFUSED`, the page answers 422.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct FileRefused {
    /// The file.
    pub file: String,
    /// Why, in Chinese.
    pub reason: String,
}

/// Whether a row is a total (合计, 小计, 总计): such rows sum the others and are skipped.
fn total_row(row: &Row) -> Option<String> {
    row.cells.iter().find_map(|c| {
        let table::Cell::Text(t) = c else { return None };
        let t: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        ["合计", "小计", "总计"]
            .iter()
            .any(|w| t.starts_with(w) && t.chars().count() <= 8)
            .then(|| format!("「{t}」行是汇总行，不作为数据导入"))
    })
}

/// Builds the item of one data row, or the reasons it cannot be read.
fn item(layout: &Layout, kind: &Kind, row: &Row, lookup: &Lookup) -> Result<DynamicMessage, Vec<Refusal>> {
    let desc = kinds::message(kind.item);
    let mut msg = DynamicMessage::new(desc.clone());
    let mut refusals = Vec::new();
    for (i, c, unit) in &layout.columns {
        let cell = row.cells.get(*i).cloned().unwrap_or(table::Cell::Empty);
        if cell.is_blank() {
            if c.required {
                refusals.push(Refusal {
                    line: row.line,
                    column: c.zh.to_owned(),
                    reason: "必填，不能为空".to_owned(),
                });
            }
            continue;
        }
        let text = match (&cell, c.ty) {
            // A date cell Excel stored as a serial number.
            (table::Cell::Number(n), kinds::Ty::Date) => format!("{}", *n as i64),
            _ => cell.text(),
        };
        let Some(fk) = kinds::field_kind(&desc, c.field) else {
            continue;
        };
        match kinds::read(c, &text, unit, &fk, lookup).and_then(|v| kinds::set_path(&mut msg, c.field, v)) {
            Ok(()) => {}
            Err(reason) => refusals.push(Refusal {
                line: row.line,
                column: c.zh.to_owned(),
                reason,
            }),
        }
    }
    if refusals.is_empty() { Ok(msg) } else { Err(refusals) }
}

/// What one row of a file is.
#[derive(Debug, Clone)]
pub enum Read {
    /// A data row and its item.
    Item(DynamicMessage),
    /// A data row that cannot be read, and why.
    Refused(Vec<Refusal>),
    /// A row skipped on purpose (a total), and why.
    Skipped(Skipped),
}

/// Turns a file's rows into items, one row at a time: rows up to the header
/// row (the first naming at least two known columns) are skipped, then each
/// data row is read against that header. The one place a row becomes an
/// item, for the import and for its fuzz target.
pub struct RowReader {
    kind: &'static Kind,
    layout: Option<Layout>,
}

impl RowReader {
    /// A reader for a file of `kind`.
    pub fn new(kind: &'static Kind) -> Self {
        Self { kind, layout: None }
    }

    /// The header row, once found.
    pub fn layout(&self) -> Option<&Layout> {
        self.layout.as_ref()
    }

    /// `None` for a blank row or a row before or at the header; for a data
    /// row, its item, the reasons it cannot be read, or why it is skipped.
    pub fn read(&mut self, row: &Row, lookup: &Lookup) -> Option<Read> {
        if row.cells.iter().all(table::Cell::is_blank) {
            return None;
        }
        let Some(layout) = &self.layout else {
            let headers: Vec<String> = row.cells.iter().map(table::Cell::text).collect();
            self.layout = Layout::of(self.kind, &headers);
            return None;
        };
        if let Some(reason) = total_row(row) {
            return Some(Read::Skipped(Skipped { line: row.line, reason }));
        }
        Some(match item(layout, self.kind, row, lookup) {
            Ok(msg) => Read::Item(msg),
            Err(refusals) => Read::Refused(refusals),
        })
    }
}

/// Gives an item without a confirmation of its own the file's `--confirm`
/// explanation, on kinds whose items can carry one.
fn confirm_all(msg: &mut DynamicMessage, confirm: Option<&str>) {
    use prost_reflect::ReflectMessage;
    let Some(text) = confirm else { return };
    let Some(field) = msg.descriptor().get_field_by_name("confirmations") else {
        return;
    };
    if !msg.has_field(&field) {
        msg.set_field(
            &field,
            prost_reflect::Value::List(vec![prost_reflect::Value::Message(kinds::confirmation(text))]),
        );
    }
}

/// The header of the column that fills `field` (a violation's field path).
fn column_of(kind: &Kind, layout: &Layout, field: &str) -> String {
    layout
        .columns
        .iter()
        .find(|(_, c, _)| field == c.field || field.starts_with(&format!("{}.", c.field)))
        .map(|(_, c, _)| c.zh.to_owned())
        .or_else(|| kind.columns.iter().find(|c| c.field == field).map(|c| c.zh.to_owned()))
        .unwrap_or_else(|| field.to_owned())
}

/// Remembers each item's key and the line that first had it, so a row that
/// repeats one is refused naming that line. Keys are kept as hashes: a file
/// of a million rows costs a few megabytes.
struct Keys {
    first: HashMap<u64, usize>,
}

impl Keys {
    fn new() -> Self {
        Self { first: HashMap::new() }
    }

    /// `Some(line)` of the row with the same key, else records this one.
    fn repeat(&mut self, kind: &Kind, msg: &DynamicMessage, line: usize) -> Option<usize> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for field in kind.key {
            format!("{:?}", kinds::get_path(msg, field)).hash(&mut h);
        }
        let first = *self.first.entry(h.finish()).or_insert(line);
        (first != line).then_some(first)
    }
}

/// The service's regions and indicators.
async fn lookup(channel: AuthedChannel) -> anyhow::Result<Lookup> {
    let catalog = SectorServiceClient::new(channel)
        .get_catalog(v1::GetCatalogRequest {})
        .await
        .map_err(ServiceRefused::from)
        .context("reading the service's catalog")?
        .into_inner();
    Ok(Lookup::from_catalog(&catalog))
}

/// The batch's request id: a hash of its content and the columns it changes, so the same rows retried
/// or re-imported are the same request.
fn batch_id(kind: &Kind, mask: &[&str], items: &[DynamicMessage]) -> String {
    let mut h = Sha256::new();
    h.update(kind.name.as_bytes());
    for field in mask {
        h.update(field.as_bytes());
        h.update([0]);
    }
    for i in items {
        h.update(prost::Message::encode_to_vec(i));
    }
    format!("import-{}", &hex::encode(h.finalize())[..32])
}

/// Validates (or writes) one batch; adds its outcomes or refusals to `summary`.
async fn flush(
    kind: &Kind,
    channel: &AuthedChannel,
    layout: &Layout,
    batch: &mut Vec<(usize, DynamicMessage)>,
    validate_only: bool,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut rows = std::mem::take(batch);
    loop {
        let items: Vec<DynamicMessage> = rows.iter().map(|(_, m)| m.clone()).collect();
        let mask: Vec<&str> = layout.columns.iter().map(|(_, c, _)| c.field).collect();
        let id = batch_id(kind, &mask, &items);
        let request = kinds::request(kind, &id, validate_only, items, &mask);
        match (kind.send)(channel.clone(), request).await {
            Ok(results) => {
                for r in results {
                    match v1::WriteOutcome::try_from(r.outcome) {
                        Ok(v1::WriteOutcome::Created) => summary.created += 1,
                        Ok(v1::WriteOutcome::Updated) => summary.updated += 1,
                        _ => summary.unchanged += 1,
                    }
                }
                return Ok(());
            }
            Err(status) if status.code() == Code::InvalidArgument => {
                let violations = status
                    .get_details_bad_request()
                    .map(|b| b.field_violations)
                    .unwrap_or_default();
                let mut bad = HashSet::new();
                for v in &violations {
                    // `projects[3].region_code` → item 3, field region_code.
                    let parsed = v
                        .field
                        .strip_prefix(kind.list)
                        .and_then(|rest| rest.strip_prefix('['))
                        .and_then(|rest| {
                            let (index, field) = rest.split_once(']')?;
                            Some((index.parse::<usize>().ok()?, field.trim_start_matches('.').to_owned()))
                        });
                    let Some((index, field)) = parsed else {
                        anyhow::bail!("服务拒绝了整批数据：{}", status.message());
                    };
                    let Some((line, _)) = rows.get(index) else { continue };
                    bad.insert(index);
                    let reason = if v.reason == citydash_runtime::error::reason::PLAUSIBILITY_UNCONFIRMED {
                        format!(
                            "{}（导入时在「审核说明」列写明理由，或为整个文件统一填写审核说明：命令行用 --confirm，导入页填「数据审核说明」）",
                            v.description
                        )
                    } else {
                        v.description.clone()
                    };
                    summary.refused.push(Refusal {
                        line: *line,
                        column: column_of(kind, layout, &field),
                        reason,
                    });
                }
                if bad.is_empty() {
                    anyhow::bail!("服务拒绝了整批数据：{}", status.message());
                }
                // Validate the rest again, without the refused rows.
                rows = rows
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !bad.contains(i))
                    .map(|(_, r)| r)
                    .collect();
                if rows.is_empty() {
                    return Ok(());
                }
                if !validate_only {
                    anyhow::bail!("试运行通过的行在写入时被拒绝，其后的行未写入：{}", status.message());
                }
            }
            Err(status) => return Err(ServiceRefused::from(status).into()),
        }
    }
}

/// One pass over the file: validate (`validate_only`) or write, skipping
/// the lines in `skip`.
#[allow(clippy::too_many_arguments)]
async fn pass(
    kind: &'static Kind,
    source: &Source,
    channel: &AuthedChannel,
    lookup: &Lookup,
    validate_only: bool,
    skip: &HashSet<usize>,
    confirm: Option<&str>,
    progress: &(dyn Fn(usize) + Sync),
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    let mut rows = RowReader::new(kind);
    // Rows are read synchronously; batches are sent as they fill.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Row>(BATCH * 2);
    let reader_source = source.clone();
    let reader = tokio::task::spawn_blocking(move || {
        table::for_each_row(&reader_source, |row| Ok(tx.blocking_send(row).is_ok()))
    });
    let mut batch = Vec::with_capacity(BATCH);
    let mut keys = Keys::new();
    let refused_file = |reason: String| FileRefused {
        file: source.display(),
        reason,
    };
    while let Some(row) = rx.recv().await {
        let had_header = rows.layout().is_some();
        let read = rows.read(&row, lookup);
        if !had_header && let Some(why) = rows.layout().and_then(Layout::missing_message) {
            drop(rx);
            let _ = reader.await;
            return Err(refused_file(why).into());
        }
        let Some(read) = read else {
            continue;
        };
        summary.rows += 1;
        progress(summary.rows);
        if skip.contains(&row.line) {
            continue;
        }
        match read {
            Read::Item(mut msg) => match keys.repeat(kind, &msg, row.line) {
                Some(first) => {
                    let columns: Vec<&str> = kind
                        .key
                        .iter()
                        .filter_map(|f| kind.columns.iter().find(|c| c.field == *f))
                        .map(|c| c.zh)
                        .collect();
                    summary.refused.push(Refusal {
                        line: row.line,
                        column: columns.first().map(|c| (*c).to_owned()).unwrap_or_default(),
                        reason: format!(
                            "与第 {first} 行重复（{}相同），同一记录只能出现一次",
                            columns.join("、")
                        ),
                    });
                }
                None => {
                    confirm_all(&mut msg, confirm);
                    batch.push((row.line, msg));
                }
            },
            Read::Refused(refusals) => summary.refused.extend(refusals),
            Read::Skipped(skipped) => summary.skipped.push(skipped),
        }
        if batch.len() >= BATCH {
            let layout = rows.layout().expect("a data row comes after the header");
            flush(kind, channel, layout, &mut batch, validate_only, &mut summary).await?;
        }
    }
    reader.await.context("reading the file")??;
    let Some(l) = rows.layout() else {
        let expected: Vec<&str> = kind.columns.iter().filter(|c| c.required).map(|c| c.zh).collect();
        return Err(refused_file(format!(
            "没有找到表头行（应有「{}」等列）；整个文件未导入。",
            expected.join("」「")
        ))
        .into());
    };
    summary.ignored_columns = l.ignored.clone();
    flush(kind, channel, l, &mut batch, validate_only, &mut summary).await?;
    summary.refused.sort_by_key(|r| r.line);
    Ok(summary)
}

/// Runs an import; returns its summary. Refused rows without
/// `accept_good_rows` write nothing. `progress` hears the rows read so far
/// in each pass (the dry run, then the write).
pub async fn run(
    import: &Import,
    channel: AuthedChannel,
    progress: &(dyn Fn(usize) + Sync),
) -> anyhow::Result<Summary> {
    let kind = kinds::kind(&import.kind).with_context(|| {
        let names: Vec<&str> = kinds::KINDS.iter().map(|k| k.name).collect();
        format!("unknown kind {:?}: one of {}", import.kind, names.join(", "))
    })?;
    let lookup = lookup(channel.clone()).await?;
    let confirm = import.confirm.as_deref().filter(|c| !c.trim().is_empty());
    let source = &import.source;
    let checked = pass(
        kind,
        source,
        &channel,
        &lookup,
        true,
        &HashSet::new(),
        confirm,
        progress,
    )
    .await?;
    let refused: HashSet<usize> = checked.refused.iter().map(|r| r.line).collect();
    if import.dry_run || (!refused.is_empty() && !import.accept_good_rows) {
        return Ok(checked);
    }
    pass(kind, source, &channel, &lookup, false, &refused, confirm, progress).await?;
    // The dry run says what changes; the write pass may replay batches an
    // earlier run already wrote (same content, same request id), whose
    // stored answers describe that first run.
    Ok(Summary {
        written: true,
        ..checked
    })
}

/// The empty sheet of a kind, as clerks fill it in: its Chinese headers
/// (money columns say 元) and no data; in XLSX each header carries a note
/// saying whether the column is required.
pub fn template(kind: &Kind) -> Table {
    let headers: Vec<String> = kind
        .columns
        .iter()
        .map(|c| {
            let unit = if c.ty == kinds::Ty::Money { "（元）" } else { "" };
            format!("{}{unit}", c.zh)
        })
        .collect();
    let header_notes = kind
        .columns
        .iter()
        .map(|c| if c.required { "必填" } else { "选填" }.to_owned())
        .collect();
    Table {
        name: kind.zh.to_owned(),
        headers,
        rows: Vec::new(),
        header_notes,
    }
}

/// The template of a kind as a file in `format`.
pub fn template_bytes(kind: &Kind, format: Format) -> anyhow::Result<Vec<u8>> {
    crate::write::to_bytes(&template(kind), format)
}

/// Counts by outcome, for tests and callers that print their own summary.
pub fn counts(s: &Summary) -> BTreeMap<&'static str, usize> {
    BTreeMap::from([
        ("created", s.created),
        ("updated", s.updated),
        ("unchanged", s.unchanged),
        ("refused", s.refused_rows()),
    ])
}
