//! The ingest benchmark's yardstick: the same progress rows written by one
//! binary COPY per table into the tables and indexes a push writes
//! (`records`, `record_versions`, `audit`), in a fresh database migrated
//! like a sector's. What PostgreSQL itself allows for these rows, with no
//! validation, no gRPC and no transaction per batch.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use sqlx::Connection as _;

/// One progress row as a push stores it.
#[derive(Debug, Clone)]
pub struct StoredRow {
    /// `AG-…/2026-06`.
    pub key: String,
    /// The project code.
    pub parent: String,
    /// Report year.
    pub year: i32,
    /// The encoded report.
    pub payload: Vec<u8>,
    /// The batch's request id.
    pub request_id: String,
}

/// How long each table's COPY took.
#[derive(Debug, Clone, Copy)]
pub struct CopyTimes {
    /// `records` (the current rows, primary key and two indexes).
    pub records: Duration,
    /// `record_versions` and `audit` on top.
    pub all: Duration,
}

/// The binary COPY format: a header, tuples of length-prefixed fields, a trailer.
struct Binary(Vec<u8>);

impl Binary {
    fn new() -> Self {
        let mut b = b"PGCOPY\n\xff\r\n\0".to_vec();
        b.extend_from_slice(&0i32.to_be_bytes()); // flags
        b.extend_from_slice(&0i32.to_be_bytes()); // header extension
        Self(b)
    }
    fn tuple(&mut self, fields: i16) -> &mut Self {
        self.0.extend_from_slice(&fields.to_be_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&i32::try_from(v.len()).unwrap_or(i32::MAX).to_be_bytes());
        self.0.extend_from_slice(v);
        self
    }
    fn text(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
    fn int4(&mut self, v: i32) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }
    fn int8(&mut self, v: i64) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }
    fn null(&mut self) -> &mut Self {
        self.0.extend_from_slice(&(-1i32).to_be_bytes());
        self
    }
    fn finish(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&(-1i16).to_be_bytes());
        self.0
    }
}

/// Migrates the empty database at `url` like a sector's, then COPYs `rows`
/// into its tables and times it. The COPY data is built before the clock
/// starts.
pub async fn copy_limit(url: &str, rows: &[StoredRow]) -> anyhow::Result<CopyTimes> {
    citydash_sector::launch::migrate(url).await?;
    let now = 1_780_000_000_000_000i64;
    let (mut records, mut versions, mut audit) = (Binary::new(), Binary::new(), Binary::new());
    for (i, r) in rows.iter().enumerate() {
        let seq = i as i64 + 1;
        records
            .tuple(14)
            .text("progress")
            .text(&r.key)
            .text("")
            .text("")
            .text("")
            .text(&r.parent)
            .int4(r.year)
            .int8(1)
            .int8(seq)
            .bytes(&r.payload)
            .text("市农业农村局")
            .text(&r.request_id)
            .int8(now)
            .text("");
        versions
            .tuple(9)
            .int8(seq)
            .text("progress")
            .text(&r.key)
            .int8(1)
            .bytes(&r.payload)
            .text("市农业农村局")
            .text(&r.request_id)
            .int8(now)
            .text("");
        audit
            .tuple(12)
            .int8(now)
            .text("市农业农村局")
            .text("agency")
            .text("ReportProgress")
            .text(&r.request_id)
            .text("accepted")
            .text("OK")
            .text("")
            .text("progress")
            .text(&r.key)
            .null()
            .bytes(&r.payload);
    }
    let (records, versions, audit) = (records.finish(), versions.finish(), audit.finish());
    let mut conn = sqlx::PgConnection::connect(url).await.context("connecting for COPY")?;
    let started = Instant::now();
    copy_in(
        &mut conn,
        "COPY records (kind, key, region, unit, stage, parent, year, version, seq, payload, \
         updated_by, request_id, updated_at, note) FROM STDIN (FORMAT binary)",
        &records,
    )
    .await?;
    let records_done = started.elapsed();
    copy_in(
        &mut conn,
        "COPY record_versions (seq, kind, key, version, payload, updated_by, request_id, \
         updated_at, note) FROM STDIN (FORMAT binary)",
        &versions,
    )
    .await?;
    copy_in(
        &mut conn,
        "COPY audit (at, principal, role, method, request_id, outcome, code, reason, \
         record_type, key, before, after) FROM STDIN (FORMAT binary)",
        &audit,
    )
    .await?;
    let all = started.elapsed();
    conn.close().await?;
    Ok(CopyTimes {
        records: records_done,
        all,
    })
}

/// One `COPY … FROM STDIN` of `data`.
async fn copy_in(conn: &mut sqlx::PgConnection, statement: &str, data: &[u8]) -> anyhow::Result<()> {
    let mut copy = conn.copy_in_raw(statement).await?;
    copy.send(data).await?;
    copy.finish().await?;
    Ok(())
}
