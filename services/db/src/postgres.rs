//! The deployment backend: PostgreSQL. Writers of a change feed take a
//! transaction-scoped advisory lock before they assign sequence numbers.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::dialect::{Dialect, Migrations};
use crate::error::StoreError;

/// Key of the advisory lock that serializes the feed writers of one database.
const WRITER_LOCK: i64 = 0x6369_7479_6461_7368; // "citydash"

/// The PostgreSQL dialect.
#[derive(Debug)]
pub struct PgDialect;

/// Opens a pool on the PostgreSQL database of `url`.
async fn open_pool(url: &str) -> Result<PgPool, StoreError> {
    Ok(PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?)
}

impl Dialect for PgDialect {
    type Db = Postgres;
    const SYSTEM: &'static str = "postgresql";

    async fn open(url: &str) -> Result<PgPool, StoreError> {
        open_pool(url).await
    }

    async fn migrate(pool: &PgPool, migrations: &Migrations) -> Result<(), StoreError> {
        let mut migrator = (migrations.postgres)();
        migrator.set_ignore_missing(true);
        migrator
            .run(pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrating {} (PostgreSQL): {e}", migrations.what)))
    }

    async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        pool.begin().await
    }

    async fn begin_sequenced(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITER_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    fn rows_affected(done: &sqlx::postgres::PgQueryResult) -> u64 {
        done.rows_affected()
    }
}
