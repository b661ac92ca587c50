//! What every backend provides: the [`Store`] trait the engine sees and the
//! rows it speaks in (each row type reads itself from a result row by column
//! name). The generic store in `sql` implements it over either backend's
//! dialect; nothing here knows either.

use std::future::Future;

pub use citydash_db::StoreError;

/// Columns that lists filter on, taken from the record when it is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    /// Region code.
    pub region: String,
    /// Responsible unit.
    pub unit: String,
    /// Current stage name (projects only).
    pub stage: String,
    /// Project code of a progress report, indicator code of a value or target.
    pub parent: String,
    /// Year of a dated record, 0 otherwise.
    pub year: i32,
}

/// One stored version of a record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredRecord {
    /// Record kind: "project", "progress", "indicator_value", "target" or an entity type name.
    pub kind: String,
    /// Natural key within the kind.
    pub key: String,
    /// 1 for the first version.
    pub version: i64,
    /// Change-feed sequence number of this version.
    pub seq: i64,
    /// The encoded protobuf, without its meta.
    pub payload: Vec<u8>,
    /// Principal that wrote it.
    pub updated_by: String,
    /// Request that wrote it.
    pub request_id: String,
    /// Unix time in microseconds.
    pub updated_at: i64,
    /// An admin's correction reason, when this version corrected a locked period.
    pub note: String,
    /// When the record's first version was written, unix microseconds.
    pub created_at: i64,
}

/// One record to write in a commit.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    /// Record kind.
    pub kind: String,
    /// Natural key.
    pub key: String,
    /// Filter columns.
    pub index: Index,
    /// The encoded protobuf, without its meta.
    pub payload: Vec<u8>,
    /// The version this write replaces; 0 for a new record. The commit fails
    /// with [`Commit::Conflict`] if the stored version differs.
    pub expected_version: i64,
    /// The stored payload it replaces, for the audit trail.
    pub before: Option<Vec<u8>>,
    /// When the record it replaces was first written (unix microseconds);
    /// `None` for a new record, which takes the commit's time.
    pub created_at: Option<i64>,
}

/// One row of the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    /// Increasing id (assigned by the store).
    pub id: i64,
    /// Unix time in microseconds.
    pub at: i64,
    /// The verified principal; empty without valid credentials.
    pub principal: String,
    /// Its role.
    pub role: String,
    /// The request message type.
    pub method: String,
    /// The request id.
    pub request_id: String,
    /// "accepted" or "refused".
    pub outcome: String,
    /// The gRPC code of a refusal, empty when accepted.
    pub code: String,
    /// Why refused, or the correction reason.
    pub reason: String,
    /// The record written.
    pub record_type: String,
    /// Its key.
    pub key: String,
    /// Payload before.
    pub before: Option<Vec<u8>>,
    /// Payload after.
    pub after: Option<Vec<u8>>,
}

/// A locked period.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PeriodLock {
    /// Year.
    pub year: i32,
    /// Month.
    pub month: i32,
    /// Who locked it.
    pub locked_by: String,
    /// Why.
    pub reason: String,
    /// Unix time in microseconds.
    pub locked_at: i64,
}

/// The remembered answer to a write request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredRequest {
    /// The principal that sent it: request ids are scoped to their sender,
    /// so one agency's id never answers (or blocks) another's.
    pub principal: String,
    /// Client-chosen idempotency key.
    pub request_id: String,
    /// Full gRPC method name.
    pub method: String,
    /// Hash of the request, to tell a retry from a reused id.
    pub fingerprint: Vec<u8>,
    /// The encoded response.
    pub response: Vec<u8>,
}

/// Everything one write request changes, committed atomically.
#[derive(Debug, Clone)]
pub struct CommitBatch {
    /// The request and its answer.
    pub request: StoredRequest,
    /// Principal writing.
    pub updated_by: String,
    /// Unix time in microseconds.
    pub updated_at: i64,
    /// The records, in order; each gets the next sequence number.
    pub writes: Vec<RecordWrite>,
    /// The periods the writes touch: refused with [`Commit::Locked`] if any
    /// is locked, unless `correction` is set.
    pub periods: Vec<(i32, i32)>,
    /// An admin's correction reason: writes to locked periods are accepted
    /// and the reason kept with each version.
    pub correction: String,
    /// The audit row written for each record (its record fields are filled in
    /// per write; one row alone when nothing changed).
    pub audit: AuditRow,
}

/// How a commit ended.
#[derive(Debug, Clone)]
pub enum Commit {
    /// Written; the last sequence number assigned (unchanged if nothing was written).
    Done {
        /// Highest sequence number after the commit.
        last_seq: i64,
    },
    /// A request with this id was committed before; nothing was written.
    Duplicate(StoredRequest),
    /// Another writer changed one of the records first; nothing was written.
    Conflict,
    /// These periods are locked; nothing was written.
    Locked(Vec<(i32, i32)>),
}

/// A filtered, keyset-paged list of current records of one kind.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Record kind.
    pub kind: String,
    /// Filters; empty (or 0 for year) means any.
    pub filter: Index,
    /// Only keys greater than this.
    pub after_key: String,
    /// At most this many.
    pub limit: i64,
}

/// The persistence the engine needs. Handlers and the engine see only this
/// trait; the backend is picked once at start-up.
pub trait Store: Clone + Send + Sync + 'static {
    /// Current versions of the given keys of one kind (missing keys are absent).
    fn get(&self, kind: &str, keys: &[String]) -> impl Future<Output = Result<Vec<StoredRecord>, StoreError>> + Send;
    /// Current versions of every record of `kind` whose parent is one of
    /// `parents` (a project's progress reports), in no particular order.
    fn children(
        &self,
        kind: &str,
        parents: &[String],
    ) -> impl Future<Output = Result<Vec<StoredRecord>, StoreError>> + Send;
    /// A page of current records.
    fn list(&self, query: &ListQuery) -> impl Future<Output = Result<Vec<StoredRecord>, StoreError>> + Send;
    /// Every version of one record, oldest first.
    fn revisions(&self, kind: &str, key: &str) -> impl Future<Output = Result<Vec<StoredRecord>, StoreError>> + Send;
    /// Versions with a sequence number above `after`, in order, at most `limit`.
    fn changes_after(
        &self,
        after: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<StoredRecord>, StoreError>> + Send;
    /// The identity of this database's change feed: made with the database,
    /// kept by its backups (GetCatalog's `source_id`).
    fn source_id(&self) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// The highest sequence number written, 0 when empty.
    fn last_seq(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// The remembered answer to `principal`'s request id, if any.
    fn request(
        &self,
        principal: &str,
        request_id: &str,
    ) -> impl Future<Output = Result<Option<StoredRequest>, StoreError>> + Send;
    /// Writes a batch and its request record in one transaction.
    fn commit(&self, batch: CommitBatch) -> impl Future<Output = Result<Commit, StoreError>> + Send;
    /// Checks the database answers.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Appends an audit row on its own (a refused write).
    fn append_audit(&self, row: AuditRow) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Audit rows with an id above `after`, oldest first.
    fn audit_after(&self, after: i64, limit: i64) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;
    /// Every locked period.
    fn locks(&self) -> impl Future<Output = Result<Vec<PeriodLock>, StoreError>> + Send;
    /// Locks (`Some`) or unlocks (`None`) a period, with its audit row, in one transaction.
    fn set_lock(
        &self,
        year: i32,
        month: i32,
        lock: Option<PeriodLock>,
        audit: AuditRow,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
