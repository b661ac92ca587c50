//! What a store may ask of a backend without knowing which: the URL's
//! [`Backend`], a component's [`Migrations`], and the [`Dialect`].

use std::future::Future;

use sqlx::migrate::Migrator;
use sqlx::{Database, Pool, Transaction};

use crate::error::StoreError;

/// Which backend a database URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:` URLs: the embedded default.
    Sqlite,
    /// `postgres:` or `postgresql:` URLs: the deployment's.
    Postgres,
}

impl Backend {
    /// The backend of `url`, or an error naming the accepted schemes.
    pub fn of(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!("database URL must start with sqlite: or postgres: (got {url:?})")
        }
    }
}

/// A component's migrations for both backends: each store embeds its own
/// two folders and the dialect runs the one it speaks.
#[derive(Debug)]
pub struct Migrations {
    /// What the migrations are of, for the error of a failed run.
    pub what: &'static str,
    /// `sqlx::migrate!` of the SQLite folder (a function: a `Migrator` is
    /// set up for its run and cannot be copied).
    pub sqlite: fn() -> Migrator,
    /// `sqlx::migrate!` of the PostgreSQL folder.
    pub postgres: fn() -> Migrator,
}

/// What differs between the backends, for every store: generic stores are
/// written once over this trait and instantiated for both.
pub trait Dialect: std::fmt::Debug + Send + Sync + 'static {
    /// The sqlx driver.
    type Db: Database;
    /// The backend's `db.system` in the stores' spans (OTel's name).
    const SYSTEM: &'static str;

    /// Opens a pool on `url` (a SQLite file and its folder are created).
    fn open(url: &str) -> impl Future<Output = Result<Pool<Self::Db>, StoreError>> + Send;

    /// Brings `migrations`' tables up to date. Several components keep their
    /// tables in one database (the aggregator's city store and read model
    /// do), so migrations another component applied are not an error.
    fn migrate(pool: &Pool<Self::Db>, migrations: &Migrations) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Begins a write transaction. On SQLite it takes the database's write
    /// lock at once, so that two writers queue on the busy timeout instead
    /// of failing on the lock's upgrade.
    fn begin_write(
        pool: &Pool<Self::Db>,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;

    /// Begins a write transaction that also holds the single-writer lock of
    /// the database's change feed, so that sequence order is commit order
    /// even with several replicas: a feed reader can never see sequence 11
    /// committed while 10 is still in flight.
    fn begin_sequenced(
        pool: &Pool<Self::Db>,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;

    /// How many rows a statement changed (each driver answers it in its own
    /// result type).
    fn rows_affected(done: &<Self::Db as Database>::QueryResult) -> u64;
}

#[cfg(test)]
mod tests {
    use super::Backend;

    /// Both spellings of PostgreSQL's scheme select it, and any other URL is
    /// refused by naming the schemes that are accepted.
    #[test]
    fn a_url_names_its_backend() {
        assert_eq!(Backend::of("sqlite://data/a.db?mode=rwc").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::of("postgres://u@h/db").ok(), Some(Backend::Postgres));
        assert_eq!(Backend::of("postgresql://u@h/db").ok(), Some(Backend::Postgres));
        let refused = Backend::of("mysql://u@h/db").expect_err("refused").to_string();
        assert!(
            refused.contains("sqlite:") && refused.contains("postgres:"),
            "{refused}"
        );
    }
}
