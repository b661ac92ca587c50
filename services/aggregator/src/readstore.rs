//! The persisted copy of the read model. A batch of changes and the feed's
//! new position commit in one transaction, so a restarted aggregator loads
//! exactly what it had stored and resumes each feed after its last stored
//! sequence: nothing applied twice, nothing missed. The aggregator takes a
//! batch into memory before storing it; a commit that failed, or whose
//! answer was lost, is stored again (idempotently) when the feed replays it.

use std::future::Future;

use citydash_db::{Dialect, Migrations, PgDialect, SqliteDialect, StoreError};
use citydash_proto::v1;
use citydash_runtime::auth::TokenUse;
use prost::Message;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, QueryBuilder, Transaction, Type};

/// A feed's stored position: where it resumes, under which generation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedPosition {
    /// The sector.
    pub sector: i32,
    /// The last stored sequence.
    pub last_seq: i64,
    /// Raised by each rebuild of the sector from sequence 0.
    pub generation: i64,
    /// The last rebuild, if any.
    pub rebuilt: Option<Rebuilt>,
}

/// When and why a sector was rebuilt from sequence 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// Unix milliseconds.
    pub at_ms: i64,
    /// Why, in Chinese.
    pub reason: String,
}

/// What a restart loads besides the changes, which stream through a callback.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Each feed's stored position.
    pub positions: Vec<FeedPosition>,
    /// Each source's catalog.
    pub catalogs: Vec<(i32, v1::GetCatalogResponse)>,
}

/// Persistence of the read model.
pub trait ReadStore: Clone + Send + Sync + 'static {
    /// Everything stored: every change (the latest version per record) is
    /// handed to `each` as it is read, so a large read model is never held
    /// twice in memory; positions and catalogs are returned.
    fn load<'a>(
        &'a self,
        each: &'a mut (dyn FnMut(i32, v1::Change) + Send),
    ) -> impl Future<Output = Result<Loaded, StoreError>> + Send + 'a;
    /// Stores changes of `sector` read under `generation` and moves its
    /// position to their last sequence, in one transaction. Idempotent, so
    /// that a batch whose commit was never acknowledged (the connection
    /// dropped after COMMIT) can be stored again when the feed replays it,
    /// and so that replicas storing the same batches leave what one would: a
    /// record keeps its highest sequence and the position never moves back.
    /// Stores nothing and answers false when the stored generation is
    /// another (a replica rebuilt the sector meanwhile).
    fn apply(
        &self,
        sector: i32,
        generation: i64,
        changes: &[v1::Change],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Rebuilds `sector` from sequence 0: when the stored generation is still
    /// `seen`, drops its records, sets its position to 0 and raises the
    /// generation, noting when and why, in one transaction; when another
    /// replica already did, changes nothing. Answers the position now.
    fn rebuild(
        &self,
        sector: i32,
        seen: i64,
        why: &Rebuilt,
    ) -> impl Future<Output = Result<FeedPosition, StoreError>> + Send;
    /// Stores a source's catalog.
    fn save_catalog(
        &self,
        sector: i32,
        catalog: &v1::GetCatalogResponse,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A stored supervision report.
    fn report(&self, date: &str) -> impl Future<Output = Result<Option<v1::SupervisionReport>, StoreError>> + Send;
    /// Stores a supervision report unless one exists for its day; returns the stored one.
    fn save_report(
        &self,
        date: &str,
        report: &v1::SupervisionReport,
    ) -> impl Future<Output = Result<v1::SupervisionReport, StoreError>> + Send;
    /// Days of the stored reports, newest first.
    fn report_dates(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// The record of which tokens were used and when, shared by every replica
/// (`TokensService.ListTokenUses`).
pub trait TokenUseLog: Clone + Send + Sync + 'static {
    /// Adds uses: a token already recorded keeps its earliest first use and
    /// takes the latest last use.
    fn note_token_uses(&self, uses: &[TokenUse]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Up to `limit` recorded tokens with ids after `after`, by id
    /// (`revoked` left false: the caller knows the revocation list).
    fn token_uses(&self, after: &str, limit: i64)
    -> impl Future<Output = Result<Vec<v1::TokenUse>, StoreError>> + Send;
}

/// A time in unix milliseconds as a protobuf timestamp.
pub(crate) fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

impl<D: Dialect> TokenUseLog for SqlReadStore<D>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    for<'q, 'r> String: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
    for<'q, 'r> i64: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
    for<'q, 'r> i32: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
    for<'q, 'r> Vec<u8>: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
{
    async fn note_token_uses(&self, uses: &[TokenUse]) -> Result<(), StoreError> {
        // One statement a token, each its own commit: a replica
        // writes a few dozen rows every 30 s.
        for u in uses {
            sqlx::query(
                "INSERT INTO token_uses (jti, subject, role, expires_at, first_used, last_used) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (jti) DO UPDATE SET \
                 first_used = CASE WHEN excluded.first_used < token_uses.first_used \
                              THEN excluded.first_used ELSE token_uses.first_used END, \
                 last_used = CASE WHEN excluded.last_used > token_uses.last_used \
                             THEN excluded.last_used ELSE token_uses.last_used END",
            )
            .bind(u.jti.clone())
            .bind(u.subject.clone())
            .bind(u.role.as_str().to_owned())
            .bind(i64::try_from(u.expires_at).unwrap_or(i64::MAX))
            .bind(u.first_ms)
            .bind(u.last_ms)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    async fn token_uses(&self, after: &str, limit: i64) -> Result<Vec<v1::TokenUse>, StoreError> {
        let rows: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT jti, subject, role, expires_at, first_used, last_used FROM token_uses \
             WHERE jti > $1 ORDER BY jti LIMIT $2",
        )
        .bind(after.to_owned())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(jti, subject, role, expires_at, first, last)| v1::TokenUse {
                jti,
                subject,
                role,
                expire_time: Some(timestamp(expires_at.saturating_mul(1000))),
                first_use_time: Some(timestamp(first)),
                last_use_time: Some(timestamp(last)),
                revoked: false,
            })
            .collect())
    }
}

/// A `feed_positions` row.
fn position_of(
    (sector, last_seq, generation, rebuilt_at, reason): (i32, i64, i64, Option<i64>, String),
) -> FeedPosition {
    FeedPosition {
        sector,
        last_seq,
        generation,
        rebuilt: rebuilt_at.map(|at_ms| Rebuilt { at_ms, reason }),
    }
}

fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, StoreError> {
    M::decode(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The read model's tables (and the notifier's, which live beside them).
static MIGRATIONS: Migrations = Migrations {
    what: "the read model",
    sqlite: || sqlx::migrate!("./migrations/sqlite"),
    postgres: || sqlx::migrate!("./migrations/postgres"),
};

/// The read model in the database of dialect `D`.
#[derive(Debug)]
pub struct SqlReadStore<D: Dialect> {
    pub(crate) pool: Pool<D::Db>,
}

/// The read model in a SQLite file.
pub type SqliteReadStore = SqlReadStore<SqliteDialect>;
/// The read model in PostgreSQL.
pub type PgReadStore = SqlReadStore<PgDialect>;

impl<D: Dialect> Clone for SqlReadStore<D> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
        }
    }
}

impl<D: Dialect> SqlReadStore<D> {
    /// Opens and migrates the read-model tables of `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = D::open(url).await?;
        D::migrate(&pool, &MIGRATIONS).await?;
        Ok(Self { pool })
    }
}

// The bounds of this and the other impls of the read store say what it asks
// of a driver: connections that run queries, and the four column types it
// binds and reads by position. Both of sqlx's drivers in use meet them.
impl<D: Dialect> SqlReadStore<D>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    for<'q, 'r> String: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
    for<'q, 'r> i64: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
    for<'q, 'r> i32: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
    for<'q, 'r> Vec<u8>: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
{
    /// Makes sure `sector`'s row exists (at `generation` when new) and
    /// locks it for the transaction; answers its stored generation.
    async fn lock_generation(
        tx: &mut Transaction<'static, D::Db>,
        sector: i32,
        generation: i64,
    ) -> Result<i64, StoreError> {
        sqlx::query(
            "INSERT INTO feed_positions (sector, last_seq, generation) VALUES ($1, 0, $2) \
             ON CONFLICT (sector) DO NOTHING",
        )
        .bind(sector)
        .bind(generation)
        .execute(&mut **tx)
        .await?;
        // An update that changes nothing takes the row's lock on
        // PostgreSQL (SQLite's transaction holds the database's).
        Ok(
            sqlx::query_scalar("UPDATE feed_positions SET last_seq = last_seq WHERE sector = $1 RETURNING generation")
                .bind(sector)
                .fetch_one(&mut **tx)
                .await?,
        )
    }
}

impl<D: Dialect> ReadStore for SqlReadStore<D>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    for<'q, 'r> String: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
    for<'q, 'r> i64: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
    for<'q, 'r> i32: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
    for<'q, 'r> Vec<u8>: Encode<'q, D::Db> + Decode<'r, D::Db> + Type<D::Db>,
{
    async fn load<'a>(&'a self, each: &'a mut (dyn FnMut(i32, v1::Change) + Send)) -> Result<Loaded, StoreError> {
        use futures::TryStreamExt as _;
        let mut rows =
            sqlx::query_as::<_, (i32, Vec<u8>)>("SELECT sector, change FROM feed_records ORDER BY sector, seq")
                .fetch(&self.pool);
        while let Some((sector, bytes)) = rows.try_next().await? {
            each(sector, decode(&bytes)?);
        }
        drop(rows);
        let rows: Vec<(i32, i64, i64, Option<i64>, String)> =
            sqlx::query_as("SELECT sector, last_seq, generation, rebuilt_at, rebuild_reason FROM feed_positions")
                .fetch_all(&self.pool)
                .await?;
        let positions = rows.into_iter().map(position_of).collect();
        let rows: Vec<(i32, Vec<u8>)> = sqlx::query_as("SELECT sector, catalog FROM feed_catalogs")
            .fetch_all(&self.pool)
            .await?;
        let catalogs = rows
            .into_iter()
            .map(|(s, b)| Ok((s, decode(&b)?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(Loaded { positions, catalogs })
    }

    async fn apply(&self, sector: i32, generation: i64, changes: &[v1::Change]) -> Result<bool, StoreError> {
        let Some(last) = changes.iter().map(|c| c.sequence).max() else {
            return Ok(true);
        };
        let mut tx = D::begin_write(&self.pool).await?;
        // The feed's row first, locked: replicas storing one sector
        // take their turns, and one that follows an older generation
        // stores nothing.
        if Self::lock_generation(&mut tx, sector, generation).await? != generation {
            return Ok(false);
        }
        for chunk in changes.chunks(400) {
            let mut qb =
                QueryBuilder::<D::Db>::new("INSERT INTO feed_records (sector, record_type, key, seq, change) ");
            // A batch may carry two versions of one record; the later wins.
            let mut latest: std::collections::BTreeMap<(&str, &str), &v1::Change> = Default::default();
            for c in chunk {
                latest.insert((c.record_type.as_str(), c.key.as_str()), c);
            }
            qb.push_values(latest.values(), |mut b, c| {
                b.push_bind(sector)
                    .push_bind(c.record_type.clone())
                    .push_bind(c.key.clone())
                    .push_bind(c.sequence)
                    .push_bind(c.encode_to_vec());
            });
            qb.push(
                " ON CONFLICT (sector, record_type, key) DO UPDATE SET seq = excluded.seq, \
                 change = excluded.change WHERE feed_records.seq < excluded.seq",
            );
            qb.build().execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO feed_positions (sector, last_seq) VALUES ($1, $2) \
             ON CONFLICT (sector) DO UPDATE SET last_seq = excluded.last_seq \
             WHERE feed_positions.last_seq < excluded.last_seq",
        )
        .bind(sector)
        .bind(last)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn rebuild(&self, sector: i32, seen: i64, why: &Rebuilt) -> Result<FeedPosition, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        if Self::lock_generation(&mut tx, sector, seen).await? == seen {
            sqlx::query("DELETE FROM feed_records WHERE sector = $1")
                .bind(sector)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE feed_positions SET last_seq = 0, generation = generation + 1, \
                 rebuilt_at = $2, rebuild_reason = $3 WHERE sector = $1",
            )
            .bind(sector)
            .bind(why.at_ms)
            .bind(why.reason.clone())
            .execute(&mut *tx)
            .await?;
        }
        let row: (i32, i64, i64, Option<i64>, String) = sqlx::query_as(
            "SELECT sector, last_seq, generation, rebuilt_at, rebuild_reason FROM feed_positions \
             WHERE sector = $1",
        )
        .bind(sector)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(position_of(row))
    }

    async fn save_catalog(&self, sector: i32, catalog: &v1::GetCatalogResponse) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO feed_catalogs (sector, catalog) VALUES ($1, $2) \
             ON CONFLICT (sector) DO UPDATE SET catalog = excluded.catalog",
        )
        .bind(sector)
        .bind(catalog.encode_to_vec())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn report(&self, date: &str) -> Result<Option<v1::SupervisionReport>, StoreError> {
        let row: Option<Vec<u8>> = sqlx::query_scalar("SELECT report FROM supervision_reports WHERE report_date = $1")
            .bind(date.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|b| decode(&b)).transpose()
    }

    async fn save_report(
        &self,
        date: &str,
        report: &v1::SupervisionReport,
    ) -> Result<v1::SupervisionReport, StoreError> {
        sqlx::query(
            "INSERT INTO supervision_reports (report_date, report) VALUES ($1, $2) \
             ON CONFLICT (report_date) DO NOTHING",
        )
        .bind(date.to_owned())
        .bind(report.encode_to_vec())
        .execute(&self.pool)
        .await?;
        self.report(date)
            .await?
            .ok_or_else(|| StoreError::Database(format!("report {date} vanished")))
    }

    async fn report_dates(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT report_date FROM supervision_reports ORDER BY report_date DESC")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
