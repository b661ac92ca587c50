//! The SQL both backends share, written once and instantiated for each
//! driver by [`sql_store!`]. The two schemas differ only in column types, and
//! the statements below are portable between SQLite and PostgreSQL; what does
//! differ (how a write transaction takes the single-writer lock) is passed in.

/// Rows per multi-row statement: well under both drivers' bind limits.
pub(crate) const CHUNK: usize = 400;

/// Columns of a current record, in the order `record_from_row` reads them.
pub(crate) const RECORD_COLUMNS: &str = "kind, key, version, seq, payload, updated_by, request_id, updated_at";

/// Implements [`super::Store`] for a store type wrapping a `sqlx::Pool<$db>`.
/// `$begin` is a closure from the pool to a future of a transaction that
/// already holds the writer lock.
macro_rules! sql_store {
    ($store:ty, $db:ty, $begin:expr) => {
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
                })
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
                    qb.push(" AND key IN (");
                    let mut sep = qb.separated(", ");
                    for k in chunk {
                        sep.push_bind(k.clone());
                    }
                    qb.push(")");
                    let rows = qb.build().fetch_all(&self.pool).await?;
                    out.extend(Self::records_from_rows(rows)?);
                }
                Ok(out)
            }

            async fn list(
                &self,
                q: &$crate::store::ListQuery,
            ) -> Result<Vec<$crate::store::StoredRecord>, $crate::store::StoreError> {
                let rows = sqlx::query(
                    "SELECT kind, key, version, seq, payload, updated_by, request_id, updated_at \
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

            async fn revisions(
                &self,
                kind: &str,
                key: &str,
            ) -> Result<Vec<$crate::store::StoredRecord>, $crate::store::StoreError> {
                let rows = sqlx::query(
                    "SELECT kind, key, version, seq, payload, updated_by, request_id, updated_at \
                     FROM record_versions WHERE kind = $1 AND key = $2 ORDER BY version",
                )
                .bind(kind.to_owned())
                .bind(key.to_owned())
                .fetch_all(&self.pool)
                .await?;
                Self::records_from_rows(rows)
            }

            async fn changes_after(
                &self,
                after: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::StoredRecord>, $crate::store::StoreError> {
                let rows = sqlx::query(
                    "SELECT kind, key, version, seq, payload, updated_by, request_id, updated_at \
                     FROM record_versions WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Self::records_from_rows(rows)
            }

            async fn last_seq(&self) -> Result<i64, $crate::store::StoreError> {
                let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM record_versions")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(seq)
            }

            async fn request(
                &self,
                request_id: &str,
            ) -> Result<Option<$crate::store::StoredRequest>, $crate::store::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query(
                    "SELECT request_id, method, fingerprint, response FROM requests \
                     WHERE request_id = $1",
                )
                .bind(request_id.to_owned())
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| {
                    Ok($crate::store::StoredRequest {
                        request_id: r.try_get(0)?,
                        method: r.try_get(1)?,
                        fingerprint: r.try_get(2)?,
                        response: r.try_get(3)?,
                    })
                })
                .transpose()
                .map_err(|e: sqlx::Error| e.into())
            }

            async fn commit(
                &self,
                batch: $crate::store::CommitBatch,
            ) -> Result<$crate::store::Commit, $crate::store::StoreError> {
                let begin = $begin;
                let mut tx = begin(&self.pool).await?;
                if let Some(previous) = {
                    use sqlx::Row as _;
                    let row = sqlx::query(
                        "SELECT request_id, method, fingerprint, response FROM requests \
                         WHERE request_id = $1",
                    )
                    .bind(batch.request.request_id.clone())
                    .fetch_optional(&mut *tx)
                    .await?;
                    row.map(|r| -> Result<_, sqlx::Error> {
                        Ok($crate::store::StoredRequest {
                            request_id: r.try_get(0)?,
                            method: r.try_get(1)?,
                            fingerprint: r.try_get(2)?,
                            response: r.try_get(3)?,
                        })
                    })
                    .transpose()?
                } {
                    tx.rollback().await?;
                    return Ok($crate::store::Commit::Duplicate(previous));
                }
                let mut seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM record_versions")
                    .fetch_one(&mut *tx)
                    .await?;
                for chunk in batch.writes.chunks($crate::store::sql::CHUNK) {
                    let first = seq + 1;
                    seq += chunk.len() as i64;
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO records (kind, key, region, unit, stage, parent, year, \
                         version, seq, payload, updated_by, request_id, updated_at) ",
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
                            .push_bind(batch.updated_at);
                    });
                    qb.push(
                        " ON CONFLICT (kind, key) DO UPDATE SET region = excluded.region, \
                         unit = excluded.unit, stage = excluded.stage, parent = excluded.parent, \
                         year = excluded.year, version = excluded.version, seq = excluded.seq, \
                         payload = excluded.payload, updated_by = excluded.updated_by, \
                         request_id = excluded.request_id, updated_at = excluded.updated_at \
                         WHERE records.version = excluded.version - 1",
                    );
                    let done = qb.build().execute(&mut *tx).await?;
                    if done.rows_affected() != chunk.len() as u64 {
                        tx.rollback().await?;
                        return Ok($crate::store::Commit::Conflict);
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO record_versions (seq, kind, key, version, payload, \
                         updated_by, request_id, updated_at) ",
                    );
                    qb.push_values(chunk.iter().enumerate(), |mut b, (i, w)| {
                        b.push_bind(first + i as i64)
                            .push_bind(w.kind.clone())
                            .push_bind(w.key.clone())
                            .push_bind(w.expected_version + 1)
                            .push_bind(w.payload.clone())
                            .push_bind(batch.updated_by.clone())
                            .push_bind(batch.request.request_id.clone())
                            .push_bind(batch.updated_at);
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                sqlx::query(
                    "INSERT INTO requests (request_id, method, fingerprint, response, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
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
        }
    };
}

pub(crate) use sql_store;
