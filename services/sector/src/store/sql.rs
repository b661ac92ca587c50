//! The SQL both backends share, written once and instantiated for each
//! driver by [`sql_store!`]. The two schemas differ only in column types, and
//! the statements below are portable between SQLite and PostgreSQL; what does
//! differ (how a write transaction takes the single-writer lock) is passed in.

/// Rows per multi-row statement: well under both drivers' bind limits.
pub(crate) const CHUNK: usize = 400;

/// Columns of a current record, in the order `record_from_row` reads them.
pub(crate) const RECORD_COLUMNS: &str =
    "kind, key, version, seq, payload, updated_by, request_id, updated_at, note, created_at";

/// The remembered answer to a request id of one principal, in the column
/// order `request_from_row` reads.
pub(crate) const REQUEST_SELECT: &str = "SELECT principal, request_id, method, fingerprint, response FROM requests \
     WHERE principal = $1 AND request_id = $2";

/// Implements [`super::Store`] for a store type wrapping a `sqlx::Pool<$db>`.
/// `$begin` is a closure from the pool to a future of a transaction that
/// already holds the writer lock; `$keys_in` appends "this column is one of these
/// keys" to a query, each backend in the form its planner serves with the
/// primary key.
macro_rules! sql_store {
    ($store:ty, $db:ty, $begin:expr, $keys_in:expr) => {
        impl $store {
            fn record_from_row(row: &<$db as sqlx::Database>::Row) -> Result<$crate::store::StoredRecord, sqlx::Error> {
                use sqlx::Row as _;
                Ok($crate::store::StoredRecord {
                    kind: row.try_get(0)?,
                    key: row.try_get(1)?,
                    version: row.try_get(2)?,
                    seq: row.try_get(3)?,
                    payload: row.try_get(4)?,
                    updated_by: row.try_get(5)?,
                    request_id: row.try_get(6)?,
                    updated_at: row.try_get(7)?,
                    note: row.try_get(8)?,
                    created_at: row.try_get(9)?,
                })
            }

            fn request_from_row(row: &<$db as sqlx::Database>::Row) -> Result<$crate::store::StoredRequest, sqlx::Error> {
                use sqlx::Row as _;
                Ok($crate::store::StoredRequest {
                    principal: row.try_get(0)?,
                    request_id: row.try_get(1)?,
                    method: row.try_get(2)?,
                    fingerprint: row.try_get(3)?,
                    response: row.try_get(4)?,
                })
            }

            async fn insert_audit(
                tx: &mut sqlx::Transaction<'static, $db>,
                rows: &[$crate::store::AuditRow],
            ) -> Result<(), sqlx::Error> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO audit (at, principal, role, method, request_id, outcome, code, reason, \
                     record_type, key, before, after) ",
                );
                qb.push_values(rows, |mut b, r| {
                    b.push_bind(r.at)
                        .push_bind(r.principal.clone())
                        .push_bind(r.role.clone())
                        .push_bind(r.method.clone())
                        .push_bind(r.request_id.clone())
                        .push_bind(r.outcome.clone())
                        .push_bind(r.code.clone())
                        .push_bind(r.reason.clone())
                        .push_bind(r.record_type.clone())
                        .push_bind(r.key.clone())
                        .push_bind(r.before.clone())
                        .push_bind(r.after.clone());
                });
                qb.build().execute(&mut **tx).await?;
                Ok(())
            }

            fn records_from_rows(
                rows: Vec<<$db as sqlx::Database>::Row>,
            ) -> Result<Vec<$crate::store::StoredRecord>, $crate::store::StoreError> {
                rows.iter()
                    .map(|r| Self::record_from_row(r).map_err(Into::into))
                    .collect()
            }
        }

        impl $crate::store::Store for $store {
            #[tracing::instrument(name = "sql.get", skip_all, fields(otel.kind = "client", db.system = stringify!($db), kind, keys = keys.len()))]
            async fn get(
                &self,
                kind: &str,
                keys: &[String],
            ) -> Result<Vec<$crate::store::StoredRecord>, $crate::store::StoreError> {
                let mut out = Vec::with_capacity(keys.len());
                for chunk in keys.chunks($crate::store::sql::CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT ");
                    qb.push($crate::store::sql::RECORD_COLUMNS);
                    qb.push(" FROM records WHERE kind = ");
                    qb.push_bind(kind.to_owned());
                    qb.push(" AND ");
                    $keys_in(&mut qb, "key", chunk);
                    let rows = qb.build().fetch_all(&self.pool).await?;
                    out.extend(Self::records_from_rows(rows)?);
                }
                Ok(out)
            }

            #[tracing::instrument(name = "sql.children", skip_all, fields(otel.kind = "client", db.system = stringify!($db), kind, parents = parents.len()))]
            async fn children(
                &self,
                kind: &str,
                parents: &[String],
            ) -> Result<Vec<$crate::store::StoredRecord>, $crate::store::StoreError> {
                let mut out = Vec::new();
                for chunk in parents.chunks($crate::store::sql::CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT ");
                    qb.push($crate::store::sql::RECORD_COLUMNS);
                    qb.push(" FROM records WHERE kind = ");
                    qb.push_bind(kind.to_owned());
                    qb.push(" AND ");
                    $keys_in(&mut qb, "parent", chunk);
                    let rows = qb.build().fetch_all(&self.pool).await?;
                    out.extend(Self::records_from_rows(rows)?);
                }
                Ok(out)
            }

            #[tracing::instrument(name = "sql.list", skip_all, fields(otel.kind = "client", db.system = stringify!($db), kind = %q.kind))]
            async fn list(
                &self,
                q: &$crate::store::ListQuery,
            ) -> Result<Vec<$crate::store::StoredRecord>, $crate::store::StoreError> {
                let rows = sqlx::query(
                    "SELECT kind, key, version, seq, payload, updated_by, request_id, updated_at, note, created_at \
                     FROM records WHERE kind = $1 \
                     AND ($2 = '' OR region = $2) AND ($3 = '' OR unit = $3) \
                     AND ($4 = '' OR stage = $4) AND ($5 = '' OR parent = $5) \
                     AND ($6 = 0 OR year = $6) AND key > $7 \
                     ORDER BY key LIMIT $8",
                )
                .bind(q.kind.clone())
                .bind(q.filter.region.clone())
                .bind(q.filter.unit.clone())
                .bind(q.filter.stage.clone())
                .bind(q.filter.parent.clone())
                .bind(q.filter.year)
                .bind(q.after_key.clone())
                .bind(q.limit)
                .fetch_all(&self.pool)
                .await?;
                Self::records_from_rows(rows)
            }

            #[tracing::instrument(name = "sql.revisions", skip_all, fields(otel.kind = "client", db.system = stringify!($db), kind))]
            async fn revisions(
                &self,
                kind: &str,
                key: &str,
            ) -> Result<Vec<$crate::store::StoredRecord>, $crate::store::StoreError> {
                let rows = sqlx::query(
                    "SELECT kind, key, version, seq, payload, updated_by, request_id, updated_at, note, created_at \
                     FROM record_versions WHERE kind = $1 AND key = $2 ORDER BY version",
                )
                .bind(kind.to_owned())
                .bind(key.to_owned())
                .fetch_all(&self.pool)
                .await?;
                Self::records_from_rows(rows)
            }

            #[tracing::instrument(name = "sql.changes_after", skip_all, fields(otel.kind = "client", db.system = stringify!($db), after))]
            async fn changes_after(
                &self,
                after: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::StoredRecord>, $crate::store::StoreError> {
                let rows = sqlx::query(
                    "SELECT kind, key, version, seq, payload, updated_by, request_id, updated_at, note, created_at \
                     FROM record_versions WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Self::records_from_rows(rows)
            }

            async fn source_id(&self) -> Result<String, $crate::store::StoreError> {
                Ok(sqlx::query_scalar("SELECT id FROM source_identity WHERE only_row = 1")
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn last_seq(&self) -> Result<i64, $crate::store::StoreError> {
                let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM record_versions")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(seq)
            }

            async fn request(
                &self,
                principal: &str,
                request_id: &str,
            ) -> Result<Option<$crate::store::StoredRequest>, $crate::store::StoreError> {
                let row = sqlx::query($crate::store::sql::REQUEST_SELECT)
                    .bind(principal.to_owned())
                    .bind(request_id.to_owned())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(Self::request_from_row).transpose()?)
            }

            #[tracing::instrument(name = "sql.commit", skip_all, fields(otel.kind = "client", db.system = stringify!($db), writes = batch.writes.len()))]
            async fn commit(
                &self,
                batch: $crate::store::CommitBatch,
            ) -> Result<$crate::store::Commit, $crate::store::StoreError> {
                let begin = $begin;
                let mut tx = begin(&self.pool).await?;
                let previous = sqlx::query($crate::store::sql::REQUEST_SELECT)
                    .bind(batch.request.principal.clone())
                    .bind(batch.request.request_id.clone())
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(previous) = previous.as_ref().map(Self::request_from_row).transpose()? {
                    tx.rollback().await?;
                    return Ok($crate::store::Commit::Duplicate(previous));
                }
                if !batch.periods.is_empty() && batch.correction.is_empty() {
                    // The locks are a few rows (months of closed years), the
                    // batch's months any number: read every lock, match here.
                    let locks: Vec<(i32, i32)> = sqlx::query_as("SELECT year, month FROM period_locks ORDER BY year, month")
                        .fetch_all(&mut *tx)
                        .await?;
                    let locked: Vec<(i32, i32)> = locks.into_iter().filter(|p| batch.periods.contains(p)).collect();
                    if !locked.is_empty() {
                        tx.rollback().await?;
                        return Ok($crate::store::Commit::Locked(locked));
                    }
                }
                let mut seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM record_versions")
                    .fetch_one(&mut *tx)
                    .await?;
                for chunk in batch.writes.chunks($crate::store::sql::CHUNK) {
                    let first = seq + 1;
                    seq += chunk.len() as i64;
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO records (kind, key, region, unit, stage, parent, year, \
                         version, seq, payload, updated_by, request_id, updated_at, note, created_at) ",
                    );
                    qb.push_values(chunk.iter().enumerate(), |mut b, (i, w)| {
                        b.push_bind(w.kind.clone())
                            .push_bind(w.key.clone())
                            .push_bind(w.index.region.clone())
                            .push_bind(w.index.unit.clone())
                            .push_bind(w.index.stage.clone())
                            .push_bind(w.index.parent.clone())
                            .push_bind(w.index.year)
                            .push_bind(w.expected_version + 1)
                            .push_bind(first + i as i64)
                            .push_bind(w.payload.clone())
                            .push_bind(batch.updated_by.clone())
                            .push_bind(batch.request.request_id.clone())
                            .push_bind(batch.updated_at)
                            .push_bind(batch.correction.clone())
                            .push_bind(w.created_at.unwrap_or(batch.updated_at));
                    });
                    qb.push(
                        " ON CONFLICT (kind, key) DO UPDATE SET region = excluded.region, \
                         unit = excluded.unit, stage = excluded.stage, parent = excluded.parent, \
                         year = excluded.year, version = excluded.version, seq = excluded.seq, \
                         payload = excluded.payload, updated_by = excluded.updated_by, \
                         request_id = excluded.request_id, updated_at = excluded.updated_at, \
                         note = excluded.note WHERE records.version = excluded.version - 1",
                    );
                    let done = qb.build().execute(&mut *tx).await?;
                    if done.rows_affected() != chunk.len() as u64 {
                        tx.rollback().await?;
                        return Ok($crate::store::Commit::Conflict);
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO record_versions (seq, kind, key, version, payload, \
                         updated_by, request_id, updated_at, note, created_at) ",
                    );
                    qb.push_values(chunk.iter().enumerate(), |mut b, (i, w)| {
                        b.push_bind(first + i as i64)
                            .push_bind(w.kind.clone())
                            .push_bind(w.key.clone())
                            .push_bind(w.expected_version + 1)
                            .push_bind(w.payload.clone())
                            .push_bind(batch.updated_by.clone())
                            .push_bind(batch.request.request_id.clone())
                            .push_bind(batch.updated_at)
                            .push_bind(batch.correction.clone())
                            .push_bind(w.created_at.unwrap_or(batch.updated_at));
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                // One audit row per record written, or one for a request that changed nothing.
                let rows: Vec<$crate::store::AuditRow> = if batch.writes.is_empty() {
                    vec![batch.audit.clone()]
                } else {
                    batch
                        .writes
                        .iter()
                        .map(|w| $crate::store::AuditRow {
                            record_type: w.kind.clone(),
                            key: w.key.clone(),
                            before: w.before.clone(),
                            after: Some(w.payload.clone()),
                            ..batch.audit.clone()
                        })
                        .collect()
                };
                for chunk in rows.chunks($crate::store::sql::CHUNK) {
                    Self::insert_audit(&mut tx, chunk).await?;
                }
                sqlx::query(
                    "INSERT INTO requests (principal, request_id, method, fingerprint, response, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(batch.request.principal.clone())
                .bind(batch.request.request_id.clone())
                .bind(batch.request.method.clone())
                .bind(batch.request.fingerprint.clone())
                .bind(batch.request.response.clone())
                .bind(batch.updated_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::store::Commit::Done { last_seq: seq })
            }

            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn append_audit(&self, row: $crate::store::AuditRow) -> Result<(), $crate::store::StoreError> {
                let begin = $begin;
                let mut tx = begin(&self.pool).await?;
                Self::insert_audit(&mut tx, std::slice::from_ref(&row)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn audit_after(
                &self,
                after: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::AuditRow>, $crate::store::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT id, at, principal, role, method, request_id, outcome, code, reason, \
                     record_type, key, before, after FROM audit WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::store::AuditRow {
                            id: r.try_get(0)?,
                            at: r.try_get(1)?,
                            principal: r.try_get(2)?,
                            role: r.try_get(3)?,
                            method: r.try_get(4)?,
                            request_id: r.try_get(5)?,
                            outcome: r.try_get(6)?,
                            code: r.try_get(7)?,
                            reason: r.try_get(8)?,
                            record_type: r.try_get(9)?,
                            key: r.try_get(10)?,
                            before: r.try_get(11)?,
                            after: r.try_get(12)?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }

            async fn locks(&self) -> Result<Vec<$crate::store::PeriodLock>, $crate::store::StoreError> {
                let rows: Vec<(i32, i32, String, String, i64)> = sqlx::query_as(
                    "SELECT year, month, locked_by, reason, locked_at FROM period_locks ORDER BY year, month",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(year, month, locked_by, reason, locked_at)| $crate::store::PeriodLock {
                        year,
                        month,
                        locked_by,
                        reason,
                        locked_at,
                    })
                    .collect())
            }

            async fn set_lock(
                &self,
                year: i32,
                month: i32,
                lock: Option<$crate::store::PeriodLock>,
                audit: $crate::store::AuditRow,
            ) -> Result<(), $crate::store::StoreError> {
                let begin = $begin;
                let mut tx = begin(&self.pool).await?;
                match lock {
                    Some(l) => {
                        sqlx::query(
                            "INSERT INTO period_locks (year, month, locked_by, reason, locked_at) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (year, month) DO UPDATE SET \
                             locked_by = excluded.locked_by, reason = excluded.reason, locked_at = excluded.locked_at",
                        )
                        .bind(year)
                        .bind(month)
                        .bind(l.locked_by)
                        .bind(l.reason)
                        .bind(l.locked_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM period_locks WHERE year = $1 AND month = $2")
                            .bind(year)
                            .bind(month)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                Self::insert_audit(&mut tx, std::slice::from_ref(&audit)).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use sql_store;
