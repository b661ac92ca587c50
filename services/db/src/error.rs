//! The one error of every store, and what each kind means to a caller.

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (connection refused, pool timed out).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Database(String),
    /// A stored payload does not decode: a bug or a corrupted row.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    /// The database being away (connection refused or cut, pool exhausted,
    /// the server shutting down) is UNAVAILABLE, which clients retry; any
    /// other failure is a fault.
    fn from(err: sqlx::Error) -> Self {
        let away = match &err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // PostgreSQL's connection exceptions (08…) and shutdowns (57P…).
            sqlx::Error::Database(e) => e.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        };
        if away {
            StoreError::Unavailable(err.to_string())
        } else {
            StoreError::Database(err.to_string())
        }
    }
}

impl From<StoreError> for citydash_runtime::Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(why) => citydash_runtime::Error::Unavailable(why),
            other => citydash_runtime::Error::Internal(other.to_string()),
        }
    }
}
