//! The database plumbing every citydash store shares, so that a sector's
//! store, the aggregator's read model and its notification outbox open,
//! lock and migrate a database the same way: the [`Backend`] a URL names,
//! the [`Dialect`] each backend speaks, and the [`StoreError`] they all
//! answer with. The stores themselves (their tables and statements) live
//! with their owners; nothing here knows a table but SQLite's backup check.

mod dialect;
mod error;
pub mod postgres;
pub mod sqlite;

pub use dialect::{Backend, Dialect, Migrations};
pub use error::StoreError;
pub use postgres::PgDialect;
pub use sqlite::SqliteDialect;
