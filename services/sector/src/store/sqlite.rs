//! The embedded default backend: one SQLite file per service, in WAL mode,
//! its folder created on first start. Write transactions begin IMMEDIATE so
//! that writers queue on SQLite's lock instead of failing on upgrade.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::StoreError;
use super::sql::sql_store;

/// A sector store in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// Opens a pool on the SQLite file of `url`, creating the file and its folder.
pub async fn open_pool(url: &str) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Database(format!("bad SQLite URL {url:?}: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    let file = options.get_filename();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?)
}

impl SqliteStore {
    /// Opens (creating file and folder if need be) and migrates the database at `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = open_pool(url).await?;
        // Another component may keep its own tables (and migrations) in the
        // same database: the aggregator's read model does.
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.set_ignore_missing(true);
        migrator
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrating SQLite: {e}")))?;
        Ok(Self { pool })
    }
}

/// Begins a write transaction that takes SQLite's write lock at once, so two
/// writers queue on the busy timeout instead of failing on lock upgrade.
pub async fn begin_immediate(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// `column IN (?, …)`: SQLite has no array parameters, and plans each
/// statement with the index of the column.
fn keys_in(qb: &mut sqlx::QueryBuilder<Sqlite>, column: &str, keys: &[String]) {
    qb.push(column);
    qb.push(" IN (");
    let mut sep = qb.separated(", ");
    for k in keys {
        sep.push_bind(k.clone());
    }
    qb.push(")");
}

sql_store!(SqliteStore, Sqlite, begin_immediate, keys_in);

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
