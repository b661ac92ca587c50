//! How a sector's batch meets PostgreSQL: its snapshot read as one index
//! lookup per key, its rows as one statement per table for the whole batch,
//! each column one array parameter (`UNNEST`).

use citydash_db::PgDialect;
use sqlx::{Postgres, QueryBuilder, Transaction};

use super::sql::{AUDIT_INSERT, RECORD_COLUMNS, RECORD_INSERT, RECORD_UPSERT, SectorDialect, SqlStore, VERSION_INSERT};
use super::{AuditRow, CommitBatch, RecordWrite};

/// A sector store in a PostgreSQL database, one database per service.
pub type PgStore = SqlStore<PgDialect>;

impl SectorDialect for PgDialect {
    /// One index lookup per value: the values as one array parameter, each
    /// joined laterally to its records behind `OFFSET 0`, which keeps the
    /// planner from flattening the join. (`column = ANY($2)` let it choose
    /// by statistics, and on a table filled faster than autovacuum analyzes
    /// it, it scanned every record of the kind and tested each against the
    /// whole array: 100–280 ms a batch at 120,000 progress rows, the bench
    /// ingest's bottleneck; the lateral form takes 2 ms with or without
    /// statistics.)
    fn push_records_in(qb: &mut QueryBuilder<Postgres>, kind: &str, column: &str, values: &[String]) {
        qb.push("SELECT r.* FROM UNNEST(");
        qb.push_bind(values.to_vec());
        qb.push(") AS k(v) CROSS JOIN LATERAL (SELECT ");
        qb.push(RECORD_COLUMNS);
        qb.push(" FROM records WHERE kind = ");
        qb.push_bind(kind.to_owned());
        qb.push(" AND ");
        qb.push(column);
        qb.push(" = k.v OFFSET 0) AS r");
    }

    /// One statement for the whole batch: each column is one array parameter
    /// (`UNNEST`), so the server parses and plans the same short statement
    /// for 1 row or 10,000, and the versions are inserted from what the
    /// upsert returned, so each payload crosses the wire once.
    async fn write_records(
        tx: &mut Transaction<'static, Postgres>,
        batch: &CommitBatch,
        first_seq: i64,
    ) -> Result<u64, sqlx::Error> {
        if batch.writes.is_empty() {
            return Ok(0);
        }
        let writes = &batch.writes;
        let column = |f: fn(&RecordWrite) -> String| writes.iter().map(f).collect::<Vec<String>>();
        let mut qb = QueryBuilder::<Postgres>::new("WITH written AS (");
        qb.push(RECORD_INSERT);
        qb.push("SELECT kind, key, region, unit, stage, parent, year, version, seq, payload, ");
        let mut shared = qb.separated(", ");
        shared.push_bind(batch.updated_by.clone());
        shared.push_bind(batch.request.request_id.clone());
        shared.push_bind(batch.updated_at);
        shared.push_bind(batch.correction.clone());
        qb.push(", created_at FROM UNNEST(");
        let mut arrays = qb.separated(", ");
        arrays.push_bind(column(|w| w.kind.clone()));
        arrays.push_bind(column(|w| w.key.clone()));
        arrays.push_bind(column(|w| w.index.region.clone()));
        arrays.push_bind(column(|w| w.index.unit.clone()));
        arrays.push_bind(column(|w| w.index.stage.clone()));
        arrays.push_bind(column(|w| w.index.parent.clone()));
        arrays.push_bind(writes.iter().map(|w| w.index.year).collect::<Vec<i32>>());
        arrays.push_bind(writes.iter().map(|w| w.expected_version + 1).collect::<Vec<i64>>());
        arrays.push_bind((0..writes.len() as i64).map(|i| first_seq + i).collect::<Vec<i64>>());
        arrays.push_bind(writes.iter().map(|w| w.payload.clone()).collect::<Vec<Vec<u8>>>());
        arrays.push_bind(
            writes
                .iter()
                .map(|w| w.created_at.unwrap_or(batch.updated_at))
                .collect::<Vec<i64>>(),
        );
        qb.push(") AS t(kind, key, region, unit, stage, parent, year, version, seq, payload, created_at)");
        qb.push(RECORD_UPSERT);
        qb.push(" RETURNING seq, kind, key, version, payload, updated_by, request_id, updated_at, note, created_at) ");
        qb.push(VERSION_INSERT);
        qb.push("SELECT * FROM written");
        Ok(qb.build().execute(&mut **tx).await?.rows_affected())
    }

    /// One statement, one array parameter per column, rows kept in order.
    async fn write_audit(tx: &mut Transaction<'static, Postgres>, rows: &[AuditRow]) -> Result<(), sqlx::Error> {
        let column = |f: fn(&AuditRow) -> String| rows.iter().map(f).collect::<Vec<String>>();
        let bytes = |f: fn(&AuditRow) -> Option<Vec<u8>>| rows.iter().map(f).collect::<Vec<Option<Vec<u8>>>>();
        let mut qb = QueryBuilder::<Postgres>::new(AUDIT_INSERT);
        qb.push(
            "SELECT at, principal, role, method, request_id, outcome, code, reason, record_type, key, \
             before, after FROM UNNEST(",
        );
        let mut arrays = qb.separated(", ");
        arrays.push_bind(rows.iter().map(|r| r.at).collect::<Vec<i64>>());
        arrays.push_bind(column(|r| r.principal.clone()));
        arrays.push_bind(column(|r| r.role.clone()));
        arrays.push_bind(column(|r| r.method.clone()));
        arrays.push_bind(column(|r| r.request_id.clone()));
        arrays.push_bind(column(|r| r.outcome.clone()));
        arrays.push_bind(column(|r| r.code.clone()));
        arrays.push_bind(column(|r| r.reason.clone()));
        arrays.push_bind(column(|r| r.record_type.clone()));
        arrays.push_bind(column(|r| r.key.clone()));
        arrays.push_bind(bytes(|r| r.before.clone()));
        arrays.push_bind(bytes(|r| r.after.clone()));
        qb.push(
            ") WITH ORDINALITY AS t(at, principal, role, method, request_id, outcome, code, reason, \
             record_type, key, before, after, n) ORDER BY n",
        );
        qb.build().execute(&mut **tx).await?;
        Ok(())
    }
}
