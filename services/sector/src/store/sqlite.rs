//! The embedded default backend: one SQLite file per service, in WAL mode,
//! its folder created on first start. Write transactions begin IMMEDIATE so
//! that writers queue on SQLite's lock instead of failing on upgrade.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::StoreError;
use super::sql::sql_store;

/// Writes a consistent copy of the SQLite database of `url` to the new file
/// `to` while services keep using it (`VACUUM INTO`): its online backup.
pub async fn backup(url: &str, to: &std::path::Path) -> Result<(), StoreError> {
    if to.exists() {
        return Err(StoreError::Database(format!("{} exists already", to.display())));
    }
    let target = to
        .to_str()
        .ok_or_else(|| StoreError::Database(format!("{} is not UTF-8", to.display())))?
        .to_owned();
    let pool = open_pool(url).await?;
    let copied = sqlx::query("VACUUM INTO $1").bind(target).execute(&pool).await;
    pool.close().await;
    copied?;
    Ok(())
}

/// Replaces the SQLite database of `url` with the backup `from` (made by
/// [`backup`]): checked to be a database of a citydash service, copied
/// beside the database, then moved over it with its write-ahead log removed.
/// The service using the database must be stopped.
pub async fn restore(url: &str, from: &std::path::Path) -> Result<(), StoreError> {
    let source = format!("sqlite://{}?mode=ro", from.display());
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::from_str(&source)
                .map_err(|e| StoreError::Database(format!("bad backup path {}: {e}", from.display())))?,
        )
        .await?;
    let versions: Result<i64, sqlx::Error> = sqlx::query_scalar("SELECT COUNT(*) FROM record_versions")
        .fetch_one(&pool)
        .await;
    pool.close().await;
    versions.map_err(|e| StoreError::Database(format!("{} is not a citydash database: {e}", from.display())))?;
    let file = file_of(url)?;
    let mut staged = file.clone().into_os_string();
    staged.push(".restoring");
    let staged = std::path::PathBuf::from(staged);
    let io = |what: &str, e: std::io::Error| StoreError::Unavailable(format!("{what}: {e}"));
    std::fs::copy(from, &staged).map_err(|e| io("copying the backup", e))?;
    std::fs::File::open(&staged)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("syncing the copy", e))?;
    for suffix in ["-wal", "-shm"] {
        let mut side = file.clone().into_os_string();
        side.push(suffix);
        match std::fs::remove_file(std::path::PathBuf::from(side)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("removing the write-ahead log", e)),
        }
    }
    std::fs::rename(&staged, &file).map_err(|e| io("moving the copy into place", e))?;
    Ok(())
}

/// The file of a SQLite URL.
pub fn file_of(url: &str) -> Result<std::path::PathBuf, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Database(format!("bad SQLite URL {url:?}: {e}")))?;
    Ok(options.get_filename().to_path_buf())
}

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
