//! The one store of a sector service: [`SqlStore`], generic over a
//! [`Dialect`]. The statements are named constants, portable between SQLite
//! and PostgreSQL, and every row type reads itself by column name
//! (`sqlx::FromRow`); what differs between the backends — opening and
//! migrating and how a write transaction takes the single-writer lock
//! (`citydash_db::Dialect`), how a batch's snapshot reads records by key and
//! how its rows are sent ([`SectorDialect`]) — is the dialect's.
//!
//! Reading order: [`SectorDialect`], then [`SqlStore::commit`](Store::commit),
//! the only write path of records; `sqlite.rs` and `postgres.rs` send the
//! batches of the two backends.

use std::future::Future;
use std::marker::PhantomData;

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder, Transaction, Type};

use citydash_db::{Dialect, Migrations};

use super::contract::{
    AuditRow, Commit, CommitBatch, ListQuery, PeriodLock, Store, StoreError, StoredRecord, StoredRequest,
};

/// Rows per multi-row statement: well under both drivers' bind limits.
pub(crate) const CHUNK: usize = 400;

/// Columns of a record version, the names [`StoredRecord`] reads.
pub(crate) const RECORD_COLUMNS: &str =
    "kind, key, version, seq, payload, updated_by, request_id, updated_at, note, created_at";

/// The remembered answer to a request id of one principal.
const REQUEST_SELECT: &str = "SELECT principal, request_id, method, fingerprint, response FROM requests \
     WHERE principal = $1 AND request_id = $2";

/// Remembers a request's answer, in the transaction of its writes.
const REQUEST_INSERT: &str = "INSERT INTO requests (principal, request_id, method, fingerprint, response, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// A filtered, keyset-paged list of current records; an empty filter (0 for
/// the year) matches any.
const LIST: &str = "SELECT kind, key, version, seq, payload, updated_by, request_id, updated_at, note, created_at \
     FROM records WHERE kind = $1 \
     AND ($2 = '' OR region = $2) AND ($3 = '' OR unit = $3) \
     AND ($4 = '' OR stage = $4) AND ($5 = '' OR parent = $5) \
     AND ($6 = 0 OR year = $6) AND key > $7 \
     ORDER BY key LIMIT $8";

/// Every version of one record, oldest first.
const REVISIONS: &str = "SELECT kind, key, version, seq, payload, updated_by, request_id, updated_at, note, created_at \
     FROM record_versions WHERE kind = $1 AND key = $2 ORDER BY version";

/// The change feed: versions after a sequence number, in order.
const CHANGES_AFTER: &str = "SELECT kind, key, version, seq, payload, updated_by, request_id, updated_at, note, \
     created_at FROM record_versions WHERE seq > $1 ORDER BY seq LIMIT $2";

/// The highest sequence number written, 0 when empty.
const LAST_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM record_versions";

/// The feed's identity (migration 0005).
const SOURCE_ID: &str = "SELECT id FROM source_identity WHERE only_row = 1";

/// Every locked period, in order.
const LOCKS: &str = "SELECT year, month, locked_by, reason, locked_at FROM period_locks ORDER BY year, month";

/// Locks a period, or renews its lock.
const LOCK: &str = "INSERT INTO period_locks (year, month, locked_by, reason, locked_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (year, month) DO UPDATE SET \
     locked_by = excluded.locked_by, reason = excluded.reason, locked_at = excluded.locked_at";

/// Unlocks a period.
const UNLOCK: &str = "DELETE FROM period_locks WHERE year = $1 AND month = $2";

/// The audit trail after an id, oldest first.
const AUDIT_AFTER: &str = "SELECT id, at, principal, role, method, request_id, outcome, code, reason, \
     record_type, key, before, after FROM audit WHERE id > $1 ORDER BY id LIMIT $2";

/// The columns of a new current record, in the order the dialects send them.
pub(crate) const RECORD_INSERT: &str = "INSERT INTO records (kind, key, region, unit, stage, parent, year, \
     version, seq, payload, updated_by, request_id, updated_at, note, created_at) ";

/// What makes a record write optimistic: the stored row is replaced only if
/// it is the version the write read, so a lost race writes nothing (and the
/// affected-row count tells).
pub(crate) const RECORD_UPSERT: &str = " ON CONFLICT (kind, key) DO UPDATE SET region = excluded.region, \
     unit = excluded.unit, stage = excluded.stage, parent = excluded.parent, \
     year = excluded.year, version = excluded.version, seq = excluded.seq, \
     payload = excluded.payload, updated_by = excluded.updated_by, \
     request_id = excluded.request_id, updated_at = excluded.updated_at, \
     note = excluded.note WHERE records.version = excluded.version - 1";

/// The columns of a record version, in the order the dialects send them.
pub(crate) const VERSION_INSERT: &str = "INSERT INTO record_versions (seq, kind, key, version, payload, \
     updated_by, request_id, updated_at, note, created_at) ";

/// The columns of an audit row, in the order the dialects send them.
pub(crate) const AUDIT_INSERT: &str = "INSERT INTO audit (at, principal, role, method, request_id, outcome, code, \
     reason, record_type, key, before, after) ";

/// What a backend adds to its [`Dialect`] for a sector: how a batch's
/// snapshot reads records by key, and how its rows are sent. Everything
/// else about storing a sector is [`SqlStore`]'s, written once.
pub trait SectorDialect: Dialect {
    /// Appends the select of the current records of `kind` whose `column`
    /// (key or parent) is one of `values` (distinct), its columns
    /// [`RECORD_COLUMNS`], in a form the backend's planner serves with the
    /// column's index whatever its statistics say.
    fn push_records_in(qb: &mut QueryBuilder<Self::Db>, kind: &str, column: &str, values: &[String]);

    /// Writes `batch`'s records and one version of each, numbered from
    /// `first_seq` in the batch's order, and answers how many records were
    /// written: fewer than the batch holds when another writer replaced one
    /// first ([`RECORD_UPSERT`]), and the caller then rolls back.
    fn write_records<'a>(
        tx: &'a mut Transaction<'static, Self::Db>,
        batch: &'a CommitBatch,
        first_seq: i64,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a;

    /// Appends audit rows, in order.
    fn write_audit<'a>(
        tx: &'a mut Transaction<'static, Self::Db>,
        rows: &'a [AuditRow],
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'a;
}

/// The sector store's tables.
static MIGRATIONS: Migrations = Migrations {
    what: "the sector store",
    sqlite: || sqlx::migrate!("./migrations/sqlite"),
    postgres: || sqlx::migrate!("./migrations/postgres"),
};

/// A sector's store in the database of dialect `D`.
#[derive(Debug)]
pub struct SqlStore<D: SectorDialect> {
    pool: Pool<D::Db>,
    dialect: PhantomData<D>,
}

impl<D: SectorDialect> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            dialect: PhantomData,
        }
    }
}

impl<D: SectorDialect> SqlStore<D> {
    /// Opens and migrates the database at `url` (a SQLite file and its
    /// folder are created on first start).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = D::open(url).await?;
        D::migrate(&pool, &MIGRATIONS).await?;
        Ok(Self {
            pool,
            dialect: PhantomData,
        })
    }
}

/// One audit row per record a batch writes, or its one row when it changed
/// nothing.
fn audit_rows(batch: &CommitBatch) -> Vec<AuditRow> {
    if batch.writes.is_empty() {
        return vec![batch.audit.clone()];
    }
    batch
        .writes
        .iter()
        .map(|w| AuditRow {
            record_type: w.kind.clone(),
            key: w.key.clone(),
            before: w.before.clone(),
            after: Some(w.payload.clone()),
            ..batch.audit.clone()
        })
        .collect()
}

// The bounds below say what the generic store asks of a driver: connections
// that run queries, the five column types it binds, and the rows it reads.
// Both of sqlx's drivers in use meet them.
impl<D: SectorDialect> Store for SqlStore<D>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> String: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> i64: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> i32: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> Vec<u8>: Encode<'q, D::Db> + Type<D::Db>,
    for<'r> StoredRecord: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> StoredRequest: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> AuditRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> PeriodLock: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> (i64,): FromRow<'r, <D::Db as Database>::Row>,
    for<'r> (String,): FromRow<'r, <D::Db as Database>::Row>,
{
    #[tracing::instrument(name = "sql.get", skip_all, fields(otel.kind = "client", db.system = D::SYSTEM, kind, keys = keys.len()))]
    async fn get(&self, kind: &str, keys: &[String]) -> Result<Vec<StoredRecord>, StoreError> {
        self.of_keys(kind, "key", keys).await
    }

    #[tracing::instrument(name = "sql.children", skip_all, fields(otel.kind = "client", db.system = D::SYSTEM, kind, parents = parents.len()))]
    async fn children(&self, kind: &str, parents: &[String]) -> Result<Vec<StoredRecord>, StoreError> {
        self.of_keys(kind, "parent", parents).await
    }

    #[tracing::instrument(name = "sql.list", skip_all, fields(otel.kind = "client", db.system = D::SYSTEM, kind = %q.kind))]
    async fn list(&self, q: &ListQuery) -> Result<Vec<StoredRecord>, StoreError> {
        Ok(sqlx::query_as(LIST)
            .bind(q.kind.clone())
            .bind(q.filter.region.clone())
            .bind(q.filter.unit.clone())
            .bind(q.filter.stage.clone())
            .bind(q.filter.parent.clone())
            .bind(q.filter.year)
            .bind(q.after_key.clone())
            .bind(q.limit)
            .fetch_all(&self.pool)
            .await?)
    }

    #[tracing::instrument(name = "sql.revisions", skip_all, fields(otel.kind = "client", db.system = D::SYSTEM, kind))]
    async fn revisions(&self, kind: &str, key: &str) -> Result<Vec<StoredRecord>, StoreError> {
        Ok(sqlx::query_as(REVISIONS)
            .bind(kind.to_owned())
            .bind(key.to_owned())
            .fetch_all(&self.pool)
            .await?)
    }

    #[tracing::instrument(name = "sql.changes_after", skip_all, fields(otel.kind = "client", db.system = D::SYSTEM, after))]
    async fn changes_after(&self, after: i64, limit: i64) -> Result<Vec<StoredRecord>, StoreError> {
        Ok(sqlx::query_as(CHANGES_AFTER)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn source_id(&self) -> Result<String, StoreError> {
        Ok(sqlx::query_scalar(SOURCE_ID).fetch_one(&self.pool).await?)
    }

    async fn last_seq(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(LAST_SEQ).fetch_one(&self.pool).await?)
    }

    async fn request(&self, principal: &str, request_id: &str) -> Result<Option<StoredRequest>, StoreError> {
        Ok(sqlx::query_as(REQUEST_SELECT)
            .bind(principal.to_owned())
            .bind(request_id.to_owned())
            .fetch_optional(&self.pool)
            .await?)
    }

    #[tracing::instrument(name = "sql.commit", skip_all, fields(otel.kind = "client", db.system = D::SYSTEM, writes = batch.writes.len()))]
    async fn commit(&self, batch: CommitBatch) -> Result<Commit, StoreError> {
        let mut tx = D::begin_sequenced(&self.pool).await?;
        let previous: Option<StoredRequest> = sqlx::query_as(REQUEST_SELECT)
            .bind(batch.request.principal.clone())
            .bind(batch.request.request_id.clone())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(previous) = previous {
            tx.rollback().await?;
            return Ok(Commit::Duplicate(previous));
        }
        if !batch.periods.is_empty() && batch.correction.is_empty() {
            // The locks are a few rows (months of closed years), the batch's
            // months any number: read every lock, match here.
            let locks: Vec<PeriodLock> = sqlx::query_as(LOCKS).fetch_all(&mut *tx).await?;
            let locked: Vec<(i32, i32)> = locks
                .into_iter()
                .map(|l| (l.year, l.month))
                .filter(|p| batch.periods.contains(p))
                .collect();
            if !locked.is_empty() {
                tx.rollback().await?;
                return Ok(Commit::Locked(locked));
            }
        }
        let last: i64 = sqlx::query_scalar(LAST_SEQ).fetch_one(&mut *tx).await?;
        let written = D::write_records(&mut tx, &batch, last + 1).await?;
        if written != batch.writes.len() as u64 {
            tx.rollback().await?;
            return Ok(Commit::Conflict);
        }
        D::write_audit(&mut tx, &audit_rows(&batch)).await?;
        sqlx::query(REQUEST_INSERT)
            .bind(batch.request.principal.clone())
            .bind(batch.request.request_id.clone())
            .bind(batch.request.method.clone())
            .bind(batch.request.fingerprint.clone())
            .bind(batch.request.response.clone())
            .bind(batch.updated_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Commit::Done {
            last_seq: last + batch.writes.len() as i64,
        })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn append_audit(&self, row: AuditRow) -> Result<(), StoreError> {
        let mut tx = D::begin_sequenced(&self.pool).await?;
        D::write_audit(&mut tx, std::slice::from_ref(&row)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_after(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        Ok(sqlx::query_as(AUDIT_AFTER)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn locks(&self) -> Result<Vec<PeriodLock>, StoreError> {
        Ok(sqlx::query_as(LOCKS).fetch_all(&self.pool).await?)
    }

    async fn set_lock(
        &self,
        year: i32,
        month: i32,
        lock: Option<PeriodLock>,
        audit: AuditRow,
    ) -> Result<(), StoreError> {
        let mut tx = D::begin_sequenced(&self.pool).await?;
        let change = match lock {
            Some(l) => sqlx::query(LOCK)
                .bind(year)
                .bind(month)
                .bind(l.locked_by)
                .bind(l.reason)
                .bind(l.locked_at),
            None => sqlx::query(UNLOCK).bind(year).bind(month),
        };
        change.execute(&mut *tx).await?;
        D::write_audit(&mut tx, std::slice::from_ref(&audit)).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl<D: SectorDialect> SqlStore<D>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> String: Encode<'q, D::Db> + Type<D::Db>,
    for<'r> StoredRecord: FromRow<'r, <D::Db as Database>::Row>,
{
    /// Current records of `kind` whose `column` (key or parent) is one of
    /// `keys`, read a chunk at a time.
    async fn of_keys(&self, kind: &str, column: &str, keys: &[String]) -> Result<Vec<StoredRecord>, StoreError> {
        let mut distinct = keys.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let mut out = Vec::with_capacity(distinct.len());
        for chunk in distinct.chunks(CHUNK) {
            let mut qb = QueryBuilder::<D::Db>::new("");
            D::push_records_in(&mut qb, kind, column, chunk);
            out.extend(qb.build_query_as::<StoredRecord>().fetch_all(&self.pool).await?);
        }
        Ok(out)
    }
}
