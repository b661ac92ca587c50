//! The one lease of the aggregator's replicas: the work that must happen once
//! across them (taking and storing the day's supervision report, opening
//! its orders, deriving and sending notifications) runs only on the replica
//! that holds it. Every replica follows the feeds and serves reads and the
//! city engine's writes; the lease decides nothing else.
//!
//! On PostgreSQL the lease is a session advisory lock held on a connection of
//! its own: the replica that holds it keeps the connection and checks it
//! every [`CHECK`]; when that replica dies, PostgreSQL ends its session and
//! frees the lock, and the next replica to try (every [`CHECK`]) takes it over.
//! On SQLite, which serves one machine, it is an exclusive lock on the file
//! `<database>.lease` beside the database, freed by the kernel when the
//! process ends. An in-memory database has no one to share with: its lease is
//! always held.
//!
//! The lease keeps the work to one replica; it is not what keeps the work
//! correct. Each piece is idempotent in the database already (a report is
//! stored insert-if-absent, a snapshot's orders are one write under a fixed
//! request id, a notification is queued insert-if-absent and claimed by a
//! conditional update), so the moment of a hand-over, when a replica cut off
//! from PostgreSQL has not noticed yet, repeats work at worst and loses none.

use std::time::Duration;

use sqlx::Connection as _;
use tokio::sync::watch;

/// The health-service name whose status says whether a replica holds the
/// lease (SERVING) or not (NOT_SERVING), so an operator can ask which
/// replica does the work done once.
pub const HEALTH_NAME: &str = "citydash.aggregator.Lease";

/// How often the holder checks its hold and the others try to take it.
pub const CHECK: Duration = Duration::from_secs(1);

/// The advisory-lock key of the lease (the bytes of "cdlease1").
const KEY: i64 = 0x6364_6c65_6173_6531;

/// This replica's view of the lease.
#[derive(Debug, Clone)]
pub struct Lease {
    held: watch::Receiver<bool>,
}

impl Lease {
    /// A lease that is always held: one process alone on its database.
    pub fn always() -> Self {
        Self {
            held: watch::channel(true).1,
        }
    }

    /// Whether this replica holds the lease now.
    pub fn is_held(&self) -> bool {
        *self.held.borrow()
    }

    /// Waits until this replica holds the lease.
    pub async fn acquired(&mut self) {
        // The sender lives as long as the task keeping the lease; if it
        // ended, the lease is never coming.
        if self.held.wait_for(|held| *held).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Waits until the lease changes hands (to or from this replica) and
    /// says whether it is held now; `None` once it can no longer change.
    pub async fn changed(&mut self) -> Option<bool> {
        self.held.changed().await.ok()?;
        Some(*self.held.borrow_and_update())
    }

    /// Keeps trying to hold the lease of the database at `url` for as long
    /// as the returned task runs.
    pub fn keep(url: &str) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = watch::channel(false);
        let task = if url.starts_with("sqlite:") {
            match lease_file(url) {
                Some(path) => tokio::spawn(keep_file(path, tx)),
                None => {
                    tx.send_replace(true);
                    tokio::spawn(async move {
                        // Hold the sender: the lease stays held.
                        tx.closed().await;
                    })
                }
            }
        } else {
            tokio::spawn(keep_postgres(url.to_owned(), tx))
        };
        (Self { held: rx }, task)
    }
}

/// Marks the lease held or not, logging each change.
fn set(tx: &watch::Sender<bool>, held: bool) {
    if tx.send_replace(held) != held {
        if held {
            tracing::info!("this aggregator holds the lease: it takes the reports and sends the notifications");
        } else {
            tracing::warn!("this aggregator lost the lease: another replica takes over the work done once");
        }
    }
}

/// The advisory lock, on a connection of its own.
async fn keep_postgres(url: String, tx: watch::Sender<bool>) {
    loop {
        match sqlx::PgConnection::connect(&url).await {
            Ok(mut conn) => {
                hold_postgres(&mut conn, &tx).await;
                set(&tx, false);
                // Closing the connection frees the lock if it was held.
                let _ = tokio::time::timeout(CHECK, conn.close()).await;
            }
            Err(err) => tracing::warn!(error = %err, "the lease's connection to PostgreSQL failed"),
        }
        tokio::time::sleep(CHECK).await;
    }
}

/// Tries the lock every [`CHECK`] until it is taken, then checks the session
/// every [`CHECK`]; returns when the connection fails.
async fn hold_postgres(conn: &mut sqlx::PgConnection, tx: &watch::Sender<bool>) {
    let mut held = false;
    loop {
        let sql = if held {
            "SELECT true"
        } else {
            "SELECT pg_try_advisory_lock($1)"
        };
        let answer = tokio::time::timeout(
            CHECK * 2,
            sqlx::query_scalar::<_, bool>(sql).bind(KEY).fetch_one(&mut *conn),
        )
        .await;
        match answer {
            Ok(Ok(now)) => {
                held = held || now;
                set(tx, held);
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "the lease's session failed");
                return;
            }
            Err(_) => {
                tracing::warn!("the lease's session did not answer");
                return;
            }
        }
        tokio::time::sleep(CHECK).await;
    }
}

/// The lock file of a SQLite database: `<file>.lease`, or none for an
/// in-memory database.
fn lease_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let file = rest.split('?').next().unwrap_or_default();
    if file.is_empty() || file == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    let mut path = std::path::PathBuf::from(file).into_os_string();
    path.push(".lease");
    Some(path.into())
}

/// The exclusive lock on the lease file, tried every [`CHECK`] until taken,
/// then held (the kernel frees it with the process).
async fn keep_file(path: std::path::PathBuf, tx: watch::Sender<bool>) {
    loop {
        let opened = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path);
        match opened {
            Ok(file) => match file.try_lock() {
                Ok(()) => {
                    set(&tx, true);
                    // Hold the file (and its lock) until the task ends.
                    tx.closed().await;
                    drop(file);
                    return;
                }
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(err)) => {
                    tracing::warn!(path = %path.display(), error = %err, "the lease file cannot be locked");
                }
            },
            Err(err) => tracing::warn!(path = %path.display(), error = %err, "the lease file cannot be opened"),
        }
        tokio::time::sleep(CHECK).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_database_has_its_lease_file_beside_it_and_memory_has_none() {
        assert_eq!(
            lease_file("sqlite://data/aggregator.db?mode=rwc"),
            Some("data/aggregator.db.lease".into())
        );
        assert_eq!(lease_file("sqlite:/tmp/a.db"), Some("/tmp/a.db.lease".into()));
        assert_eq!(lease_file("sqlite::memory:"), None);
        assert_eq!(lease_file("sqlite://file?mode=memory"), None);
    }

    #[tokio::test]
    async fn one_of_two_holders_of_a_lease_file_holds_it_until_it_stops() {
        let dir = std::env::temp_dir().join(format!("citydash-lease-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let url = format!("sqlite://{}/agg.db?mode=rwc", dir.display());
        let (mut first, first_task) = Lease::keep(&url);
        first.acquired().await;
        let (mut second, second_task) = Lease::keep(&url);
        tokio::time::sleep(CHECK * 2).await;
        assert!(first.is_held() && !second.is_held(), "held once");
        first_task.abort();
        let _ = first_task.await;
        tokio::time::timeout(CHECK * 5, second.acquired())
            .await
            .expect("handed over when the holder stops");
        second_task.abort();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
