//! The notifier's tables, in the aggregator's database beside the read
//! model: destinations, the outbox (one row per event and destination) and
//! the attempts. Queuing is insert-if-absent by (event id, destination), so
//! an event derived again is queued once; sending claims a row with a lease
//! by a conditional update, so two aggregators on one database never send it
//! at once, and a crashed one's lease runs out and the row is sent again.

use std::future::Future;

use citydash_db::{Dialect, StoreError};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Type};

use crate::readstore::SqlReadStore;

/// A destination as stored: its address and secret are secrets, so `Debug`
/// shows neither.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredDestination {
    /// Derived from the unit, kind and address.
    pub id: String,
    /// The unit it belongs to.
    pub unit_code: String,
    /// `v1::DestinationKind` value.
    pub kind: i32,
    /// The address.
    pub url: String,
    /// The signing secret; empty for none.
    pub secret: String,
    /// Attempts failed in a row.
    pub consecutive_failures: i32,
    /// Unix seconds it has failed since; 0 when it does not.
    pub failing_since: i64,
    /// The last attempt's error.
    pub last_error: String,
}

impl std::fmt::Debug for StoredDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredDestination")
            .field("id", &self.id)
            .field("unit_code", &self.unit_code)
            .field("kind", &self.kind)
            .field("url", &"<redacted>")
            .field("secret", &if self.secret.is_empty() { "" } else { "<redacted>" })
            .field("consecutive_failures", &self.consecutive_failures)
            .finish()
    }
}

/// One event queued for one destination.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Queued {
    /// The event's stable id.
    pub event_id: String,
    /// The destination.
    pub destination_id: String,
    /// `v1::NotificationEvent` value.
    pub event: i32,
    /// The unit told.
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// The text.
    pub text: String,
    /// Unix seconds it was queued.
    pub created_at: i64,
    /// 1 pending, 2 delivered, 3 cancelled.
    pub state: i32,
    /// Attempts made.
    pub attempts: i32,
    /// Unix milliseconds of the next attempt.
    pub next_attempt_at: i64,
}

/// Pending.
pub const PENDING: i32 = 1;
/// Accepted by its destination.
pub const DELIVERED: i32 = 2;
/// Its destination was removed first.
pub const CANCELLED: i32 = 3;

/// One attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Unix milliseconds.
    pub at: i64,
    /// Accepted.
    pub ok: bool,
    /// The HTTP status, 0 without an answer.
    pub http_status: i32,
    /// Why it failed.
    pub error: String,
}

/// Attempts failed in a row from which a destination is failing.
pub const FAILING_AFTER: i32 = 3;

/// The notifier's persistence.
pub trait Outbox: Clone + Send + Sync + 'static {
    /// Replaces the destinations of `unit` by `destinations` in one
    /// transaction, cancelling what was pending for the removed ones.
    fn set_destinations(
        &self,
        unit: &str,
        destinations: &[StoredDestination],
        by: &str,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every destination, by unit and id.
    fn destinations(&self) -> impl Future<Output = Result<Vec<StoredDestination>, StoreError>> + Send;
    /// Queues what is not queued yet; returns how many rows were new.
    fn enqueue(&self, rows: &[Queued]) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Claims up to `limit` pending rows due by `now_ms` that no live lease
    /// holds, leasing them to `owner` until `lease_until_ms`.
    fn claim(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Queued>, StoreError>> + Send;
    /// Records an attempt on a claimed row and its outcome (delivered, or
    /// pending again from `retry_at_ms`), and the destination's failure count.
    fn record(
        &self,
        row: &Queued,
        attempt: &Attempt,
        retry_at_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Rows newest first, after `offset`, with their attempts.
    fn deliveries(
        &self,
        unit: &str,
        event_id: &str,
        state: i32,
        offset: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(Queued, Vec<Attempt>)>, StoreError>> + Send;
    /// Rows still pending.
    fn pending(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
}

// The outbox's rows read themselves by column name; the bounds are the read
// store's (readstore.rs) and names as column indexes.
impl<D: Dialect> Outbox for SqlReadStore<D>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    for<'q, 'r> String: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
    for<'q, 'r> i64: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
    for<'q, 'r> i32: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
{
    async fn set_destinations(
        &self,
        unit: &str,
        destinations: &[StoredDestination],
        by: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        let kept: Vec<String> = destinations.iter().map(|d| d.id.clone()).collect();
        let old: Vec<String> = sqlx::query_scalar("SELECT id FROM notify_destinations WHERE unit_code = $1")
            .bind(unit.to_owned())
            .fetch_all(&mut *tx)
            .await?;
        for gone in old.iter().filter(|id| !kept.contains(id)) {
            sqlx::query("DELETE FROM notify_destinations WHERE id = $1")
                .bind(gone.clone())
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE notify_outbox SET state = $1 WHERE destination_id = $2 AND state = $3")
                .bind(CANCELLED)
                .bind(gone.clone())
                .bind(PENDING)
                .execute(&mut *tx)
                .await?;
        }
        for d in destinations {
            sqlx::query(
                "INSERT INTO notify_destinations (id, unit_code, kind, url, secret, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (id) DO UPDATE SET secret = excluded.secret, \
                 updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            )
            .bind(d.id.clone())
            .bind(d.unit_code.clone())
            .bind(d.kind)
            .bind(d.url.clone())
            .bind(d.secret.clone())
            .bind(by.to_owned())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn destinations(&self) -> Result<Vec<StoredDestination>, StoreError> {
        let rows = sqlx::query_as(
            "SELECT id, unit_code, kind, url, secret, consecutive_failures, failing_since, last_error \
             FROM notify_destinations ORDER BY unit_code, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    async fn enqueue(&self, rows: &[Queued]) -> Result<u64, StoreError> {
        let mut added = 0;
        for chunk in rows.chunks(200) {
            let mut qb = sqlx::QueryBuilder::<D::Db>::new(
                "INSERT INTO notify_outbox (event_id, destination_id, event, unit_code, unit_name, \
                 text, created_at, state, attempts, next_attempt_at) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(r.event_id.clone())
                    .push_bind(r.destination_id.clone())
                    .push_bind(r.event)
                    .push_bind(r.unit_code.clone())
                    .push_bind(r.unit_name.clone())
                    .push_bind(r.text.clone())
                    .push_bind(r.created_at)
                    .push_bind(r.state)
                    .push_bind(r.attempts)
                    .push_bind(r.next_attempt_at);
            });
            qb.push(" ON CONFLICT (event_id, destination_id) DO NOTHING");
            added += D::rows_affected(&qb.build().execute(&self.pool).await?);
        }
        Ok(added)
    }

    async fn claim(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        owner: &str,
        limit: i64,
    ) -> Result<Vec<Queued>, StoreError> {
        let rows: Vec<Queued> = sqlx::query_as(
            "SELECT event_id, destination_id, event, unit_code, unit_name, text, created_at, state, \
             attempts, next_attempt_at FROM notify_outbox WHERE state = $1 AND next_attempt_at <= $2 \
             AND lease_until < $2 ORDER BY next_attempt_at, created_at LIMIT $3",
        )
        .bind(PENDING)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::new();
        for row in rows {
            // Only one claimant's update matches: the lease check is in it.
            let done = sqlx::query(
                "UPDATE notify_outbox SET lease_until = $1, lease_owner = $2 \
                 WHERE event_id = $3 AND destination_id = $4 AND state = $5 AND lease_until < $6",
            )
            .bind(lease_until_ms)
            .bind(owner.to_owned())
            .bind(row.event_id.clone())
            .bind(row.destination_id.clone())
            .bind(PENDING)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
            if D::rows_affected(&done) == 1 {
                claimed.push(row);
            }
        }
        Ok(claimed)
    }

    async fn record(&self, row: &Queued, attempt: &Attempt, retry_at_ms: i64) -> Result<(), StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO notify_attempts (event_id, destination_id, at, ok, http_status, error) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(row.event_id.clone())
        .bind(row.destination_id.clone())
        .bind(attempt.at)
        .bind(i32::from(attempt.ok))
        .bind(attempt.http_status)
        .bind(attempt.error.clone())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE notify_outbox SET attempts = attempts + 1, lease_until = 0, lease_owner = '', \
             state = CASE WHEN $1 = 1 THEN $2 ELSE state END, next_attempt_at = $3 \
             WHERE event_id = $4 AND destination_id = $5 AND state = $6",
        )
        .bind(i32::from(attempt.ok))
        .bind(DELIVERED)
        .bind(retry_at_ms)
        .bind(row.event_id.clone())
        .bind(row.destination_id.clone())
        .bind(PENDING)
        .execute(&mut *tx)
        .await?;
        if attempt.ok {
            sqlx::query(
                "UPDATE notify_destinations SET consecutive_failures = 0, failing_since = 0, last_error = '' \
                 WHERE id = $1",
            )
            .bind(row.destination_id.clone())
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(
                "UPDATE notify_destinations SET consecutive_failures = consecutive_failures + 1, \
                 failing_since = CASE WHEN consecutive_failures + 1 >= $1 AND failing_since = 0 \
                 THEN $2 ELSE failing_since END, last_error = $3 WHERE id = $4",
            )
            .bind(FAILING_AFTER)
            .bind(attempt.at / 1000)
            .bind(attempt.error.clone())
            .bind(row.destination_id.clone())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn deliveries(
        &self,
        unit: &str,
        event_id: &str,
        state: i32,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<(Queued, Vec<Attempt>)>, StoreError> {
        let rows: Vec<Queued> = sqlx::query_as(
            "SELECT event_id, destination_id, event, unit_code, unit_name, text, created_at, state, \
             attempts, next_attempt_at FROM notify_outbox WHERE ($1 = '' OR unit_code = $1) \
             AND ($2 = '' OR event_id = $2) AND ($3 = 0 OR state = $3) \
             ORDER BY created_at DESC, event_id, destination_id LIMIT $4 OFFSET $5",
        )
        .bind(unit.to_owned())
        .bind(event_id.to_owned())
        .bind(state)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let attempts: Vec<(i64, i32, i32, String)> = sqlx::query_as(
                "SELECT at, ok, http_status, error FROM notify_attempts \
                 WHERE event_id = $1 AND destination_id = $2 ORDER BY id",
            )
            .bind(row.event_id.clone())
            .bind(row.destination_id.clone())
            .fetch_all(&self.pool)
            .await?;
            let attempts = attempts
                .into_iter()
                .map(|(at, ok, http_status, error)| Attempt {
                    at,
                    ok: ok == 1,
                    http_status,
                    error,
                })
                .collect();
            out.push((row, attempts));
        }
        Ok(out)
    }

    async fn pending(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM notify_outbox WHERE state = $1")
                .bind(PENDING)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
