//! The embedded default: one SQLite file per service, in WAL mode, its
//! folder created on first start; its online backup and restore. Write
//! transactions begin IMMEDIATE, and the database's one write lock is also
//! the change feed's single-writer lock.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::dialect::{Dialect, Migrations};
use crate::error::StoreError;

/// The SQLite dialect.
#[derive(Debug)]
pub struct SqliteDialect;

/// Opens a pool on the SQLite file of `url`, creating the file and its folder.
async fn open_pool(url: &str) -> Result<SqlitePool, StoreError> {
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

impl Dialect for SqliteDialect {
    type Db = Sqlite;
    const SYSTEM: &'static str = "sqlite";

    async fn open(url: &str) -> Result<SqlitePool, StoreError> {
        open_pool(url).await
    }

    async fn migrate(pool: &SqlitePool, migrations: &Migrations) -> Result<(), StoreError> {
        let mut migrator = (migrations.sqlite)();
        migrator.set_ignore_missing(true);
        migrator
            .run(pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrating {} (SQLite): {e}", migrations.what)))
    }

    async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    async fn begin_sequenced(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        Self::begin_write(pool).await
    }

    fn rows_affected(done: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        done.rows_affected()
    }
}

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
