//! Persistence of a sector service: one [`Store`] trait that the engine sees,
//! implemented once by [`SqlStore`] over either backend's dialect, the
//! backend chosen once from the URL.
//!
//! The model is deliberately small: every record (project, progress report,
//! indicator value, target, sector entity) is a row keyed by kind and natural
//! key, holding the encoded protobuf plus the few columns lists filter on.
//! Every version is appended to `record_versions`, whose sequence number *is*
//! the change feed, in the same transaction as the current row: a write and
//! its change either both commit or neither does.

mod contract;
pub mod postgres;
pub mod sql;
pub mod sqlite;

pub use contract::{
    AuditRow, Commit, CommitBatch, Index, ListQuery, PeriodLock, RecordWrite, Store, StoreError, StoredRecord,
    StoredRequest,
};
pub use postgres::PgStore;
pub use sql::{SectorDialect, SqlStore};
pub use sqlite::SqliteStore;
