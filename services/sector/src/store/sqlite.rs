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
