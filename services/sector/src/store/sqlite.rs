//! How a sector's batch meets a SQLite file: its snapshot read with `IN
//! (…)`, its rows as multi-row `VALUES` a chunk at a time. An embedded
//! database parses a statement in the writer's own process, so there is no
//! round trip to save.

use citydash_db::SqliteDialect;
use sqlx::{QueryBuilder, Sqlite, Transaction};

use super::sql::{
    AUDIT_INSERT, CHUNK, RECORD_COLUMNS, RECORD_INSERT, RECORD_UPSERT, SectorDialect, SqlStore, VERSION_INSERT,
};
use super::{AuditRow, CommitBatch};

/// A sector store in a SQLite file.
pub type SqliteStore = SqlStore<SqliteDialect>;

impl SectorDialect for SqliteDialect {
    /// `column IN (?, …)`: SQLite has no array parameters, and plans each
    /// statement with the index of the column.
    fn push_records_in(qb: &mut QueryBuilder<Sqlite>, kind: &str, column: &str, values: &[String]) {
        qb.push("SELECT ");
        qb.push(RECORD_COLUMNS);
        qb.push(" FROM records WHERE kind = ");
        qb.push_bind(kind.to_owned());
        qb.push(" AND ");
        qb.push(column);
        qb.push(" IN (");
        let mut sep = qb.separated(", ");
        for v in values {
            sep.push_bind(v.clone());
        }
        qb.push(")");
    }

    async fn write_records(
        tx: &mut Transaction<'static, Sqlite>,
        batch: &CommitBatch,
        first_seq: i64,
    ) -> Result<u64, sqlx::Error> {
        let mut written = 0;
        for (c, chunk) in batch.writes.chunks(CHUNK).enumerate() {
            let first = first_seq + (c * CHUNK) as i64;
            let mut qb = QueryBuilder::<Sqlite>::new(RECORD_INSERT);
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
            qb.push(RECORD_UPSERT);
            let done = qb.build().execute(&mut **tx).await?;
            written += done.rows_affected();
            if done.rows_affected() != chunk.len() as u64 {
                return Ok(written);
            }
            let mut qb = QueryBuilder::<Sqlite>::new(VERSION_INSERT);
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
            qb.build().execute(&mut **tx).await?;
        }
        Ok(written)
    }

    async fn write_audit(tx: &mut Transaction<'static, Sqlite>, rows: &[AuditRow]) -> Result<(), sqlx::Error> {
        for chunk in rows.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new(AUDIT_INSERT);
            qb.push_values(chunk, |mut b, r| {
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
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuditRow, Commit, CommitBatch, PeriodLock, Store, StoredRequest};

    /// A batch of any number of months is checked against the locks in one
    /// query (issue 22, item 6: an OR chain per month grew past SQLite's
    /// expression depth at 1,000 months and failed INTERNAL).
    #[tokio::test]
    async fn the_lock_check_takes_any_number_of_months() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
        let store = SqliteStore::connect(&url).await.expect("store");
        let lock = PeriodLock {
            year: 2010,
            month: 3,
            locked_by: "admin".into(),
            reason: "定案".into(),
            locked_at: 0,
        };
        store
            .set_lock(2010, 3, Some(lock), AuditRow::default())
            .await
            .expect("lock");
        let periods: Vec<(i32, i32)> = (2000..2125).flat_map(|y| (1..=12).map(move |m| (y, m))).collect();
        assert_eq!(periods.len(), 1_500);
        let batch = CommitBatch {
            request: StoredRequest {
                principal: "agency".into(),
                request_id: "r-1".into(),
                method: "m".into(),
                fingerprint: vec![1],
                response: Vec::new(),
            },
            updated_by: "agency".into(),
            updated_at: 0,
            writes: Vec::new(),
            periods,
            correction: String::new(),
            audit: AuditRow::default(),
        };
        match store.commit(batch).await.expect("no INTERNAL") {
            Commit::Locked(locked) => assert_eq!(locked, [(2010, 3)]),
            other => panic!("expected Locked, got {other:?}"),
        }
    }
}
