//! The sector engine: runs planned writes against the store with idempotency
//! and all-or-nothing semantics, serves reads with paging, and streams the
//! change feed. One engine serves one sector; handlers call it and never see
//! the backend.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use citydash_proto::WriteRequest;
use citydash_proto::v1;
use citydash_runtime::paging;
use citydash_runtime::{Error, Identity, Principal};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, mpsc, watch};

use crate::domain::Regions;
use crate::entity::{self, EntityType, SectorEntity};
use crate::plan::{Context, Planner, Snapshot};
use crate::records;
use crate::store::{AuditRow, Commit, CommitBatch, Index, ListQuery, PeriodLock, Store, StoredRecord, StoredRequest};
use crate::units::UnitDirectory;
use crate::validate;

/// Changes read from the store per round trip of a change-feed stream.
const FEED_BATCH: i64 = 500;
/// The door's refusals of calls no handler saw (requests that do not
/// decode) are audited by the engine like its own.
impl<S: Store> citydash_runtime::layer::RefusalAudit for Engine<S> {
    fn refused(
        &self,
        identity: Identity,
        path: String,
        error: Error,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let engine = self.clone();
        Box::pin(async move {
            let principal = match &identity {
                Identity::Verified(p) => Some(p),
                Identity::Unauthenticated(_) => None,
            };
            let row = AuditRow {
                at: now_micros(),
                principal: principal.map(|p| p.name.clone()).unwrap_or_default(),
                role: principal.map(|p| p.role.as_str().to_owned()).unwrap_or_default(),
                method: citydash_proto::request_type(&path).unwrap_or(path),
                ..AuditRow::default()
            };
            // The caller gets the decode failure whether or not the row
            // could be written.
            let _ = engine.refuse(row, error).await;
        })
    }
}

/// Bytes of one page of the audit trail (a quarter of a default client's
/// 4 MiB message limit): a page ends early rather than grow past it.
pub const MAX_AUDIT_PAGE_BYTES: usize = 1024 * 1024;
/// How often a write is retried when another replica changed a record first.
const CONFLICT_RETRIES: usize = 5;

/// What a sector is: its name, catalog, regions and own entity types.
#[derive(Debug, Clone)]
pub struct SectorInfo {
    /// The sector.
    pub sector: v1::Sector,
    /// Its short name ("agriculture", "city"), as tokens scope it.
    pub name: String,
    /// The agency that owns it.
    pub agency: String,
    /// Its indicator catalog.
    pub catalog: Vec<v1::IndicatorDefinition>,
    /// Regions accepted in pushes.
    pub regions: Regions,
    /// Its own entity types.
    pub entity_types: Vec<EntityType>,
    /// The readiness checklists of its projects.
    pub checklists: crate::readiness::Checklists,
}

impl SectorInfo {
    /// The catalog the service publishes (`GetCatalog`): what front ends
    /// and the aggregator need to read its records without a hard-coded list.
    pub fn catalog_response(&self) -> v1::GetCatalogResponse {
        v1::GetCatalogResponse {
            sector: self.sector as i32,
            indicators: self.catalog.clone(),
            regions: self.regions.all().to_vec(),
            entity_types: self.entity_types.iter().map(|t| t.type_name.clone()).collect(),
            agency_zh: self.agency.clone(),
            readiness_checklists: self.checklists.all().to_vec(),
            source_id: String::new(),
        }
    }
}

/// Tuning of an engine, and where it reads the unit registry.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How often a change-feed stream re-reads the store even without a local
    /// write (writes by other replicas reach it this way).
    pub feed_poll: Duration,
    /// The responsible units pushes are resolved against.
    pub units: Arc<UnitDirectory>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            feed_poll: Duration::from_millis(500),
            units: Arc::new(UnitDirectory::none()),
        }
    }
}

struct Inner<S> {
    store: S,
    info: SectorInfo,
    options: EngineOptions,
    /// Serializes this process's writes so planning never races a commit.
    write_lock: Mutex<()>,
    /// The identity of the store's change feed, read at start-up.
    source_id: String,
    /// The highest sequence number this process knows is committed.
    feed: watch::Sender<i64>,
    /// Set when the process shuts down, so change-feed streams end and a
    /// graceful shutdown does not wait on them forever.
    closing: watch::Sender<bool>,
}

/// The engine behind one sector service. Cheap to clone.
pub struct Engine<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for Engine<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// One item of a change-feed stream.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// The next change (boxed: heartbeats are small and frequent).
    Change(Box<v1::Change>),
    /// Nothing new; the last sequence committed.
    Heartbeat(i64),
}

/// A page of results and the token of the next one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// Pushes accepted and refused, per agency (an OTLP metric).
fn pushes() -> &'static opentelemetry::metrics::Counter<u64> {
    static PUSHES: std::sync::OnceLock<opentelemetry::metrics::Counter<u64>> = std::sync::OnceLock::new();
    PUSHES.get_or_init(|| {
        opentelemetry::global::meter("citydash")
            .u64_counter("citydash.pushes")
            .with_description("Write requests accepted and refused, per agency")
            .build()
    })
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn fingerprint(method: &str, request: &impl Message) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(request.encode_to_vec());
    h.finalize().to_vec()
}

/// The limit and the key to continue after that a list call asks for.
fn page_bounds(page_size: i32, page_token: &str) -> Result<(i64, String), Error> {
    let page = paging::Page::parse(page_size, page_token)?;
    Ok((page.size as i64, page.cursor))
}

impl<S: Store> Engine<S> {
    /// An engine over `store` for the sector `info` describes.
    pub async fn new(store: S, info: SectorInfo, options: EngineOptions) -> Result<Self, Error> {
        let last = store.last_seq().await?;
        let source_id = store.source_id().await?;
        let (feed, _) = watch::channel(last);
        let (closing, _) = watch::channel(false);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                info,
                options,
                source_id,
                write_lock: Mutex::new(()),
                feed,
                closing,
            }),
        })
    }

    /// Ends every change-feed stream; called when the process shuts down.
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
    }

    /// The sector this engine serves.
    pub fn info(&self) -> &SectorInfo {
        &self.inner.info
    }

    /// The catalog a follower reads first: the sector's, with the identity
    /// of its change feed.
    pub fn catalog(&self) -> v1::GetCatalogResponse {
        v1::GetCatalogResponse {
            source_id: self.inner.source_id.clone(),
            ..self.inner.info.catalog_response()
        }
    }

    /// Checks that a follower resuming after `after` holds this source's
    /// changes: the identity it names (if any) is this store's, and the
    /// change it holds at `after` (if it says) is the one stored there. A
    /// database replaced, or restored from a backup taken before the
    /// follower's position, fails with `FEED_DIVERGED`: the follower
    /// rebuilds from 0 rather than trust a position that means nothing now.
    pub async fn check_resume(&self, after: i64, source_id: &str, held: Option<&v1::Change>) -> Result<(), Error> {
        let diverged = |message: String| Error::FailedPrecondition {
            reason: citydash_runtime::error::reason::FEED_DIVERGED,
            message,
        };
        if !source_id.is_empty() && source_id != self.inner.source_id {
            return Err(diverged(format!(
                "来源数据库已更换（标识 {source_id} → {}），请从序号 0 重建",
                self.inner.source_id
            )));
        }
        let Some(held) = held.filter(|_| after > 0) else {
            return Ok(());
        };
        let here = self.inner.store.changes_after(after - 1, 1).await?;
        let same = here.first().is_some_and(|stored| {
            stored.seq == after
                && stored.seq == held.sequence
                && stored.kind == held.record_type
                && stored.key == held.key
                && records::meta(stored).update_time == held.time
        });
        if same {
            Ok(())
        } else {
            Err(diverged(format!(
                "序号 {after} 处的变更与订阅方已读取的不一致（数据库可能恢复自更早的备份），请从序号 0 重建"
            )))
        }
    }

    /// The store, for health checks.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// Runs a planned write for `identity`: refuses (and audits) callers
    /// without valid credentials or outside their sector and regions; replays
    /// the first answer for a known request_id; otherwise validates the whole
    /// batch and commits it with its change-feed entries, its audit rows and
    /// its answer in one transaction. Every refusal leaves an audit row;
    /// replays and validate-only requests leave none.
    pub async fn write<R: WriteRequest>(
        &self,
        identity: &Identity,
        request: &R,
        planner: &dyn Planner,
    ) -> Result<Vec<v1::WriteResult>, Error> {
        let (request_id, validate_only) = (request.request_id(), request.validate_only());
        // Request message names are unique per RPC, so they name the method.
        let method = R::full_name();
        let audit = |principal: Option<&Principal>| AuditRow {
            at: now_micros(),
            principal: principal.map(|p| p.name.clone()).unwrap_or_default(),
            role: principal.map(|p| p.role.as_str().to_owned()).unwrap_or_default(),
            method: method.clone(),
            // Bounded: a refused request's id may be anything a caller sent.
            request_id: bounded(request_id, validate::MAX_REQUEST_ID_LEN),
            ..AuditRow::default()
        };
        let principal = match identity {
            Identity::Verified(p) => p,
            Identity::Unauthenticated(why) => {
                return Err(self.refuse(audit(None), Error::Unauthenticated(why.clone())).await);
            }
        };
        if !planner.authorizes() && !principal.may_write_sector(&self.inner.info.name) {
            let err = Error::PermissionDenied(format!(
                "{}（{}）无权写入 {} 部门的数据",
                principal.name,
                principal.role.as_str(),
                self.inner.info.name
            ));
            return Err(self.refuse(audit(Some(principal)), err).await);
        }
        let projects = planner
            .keys()
            .iter()
            .any(|(kind, _)| kind == crate::records::PROJECT || kind == crate::records::PROGRESS);
        if projects && !principal.may_write_projects(&self.inner.info.name) {
            let err = Error::PermissionDenied(format!(
                "{}（{}）无权写入 {} 的项目：市级项目由发展改革部门报送",
                principal.name,
                principal.role.as_str(),
                self.inner.info.name
            ));
            return Err(self.refuse(audit(Some(principal)), err).await);
        }
        let correction = request.correction_reason().trim().to_owned();
        if !correction.is_empty() && !principal.is_admin() {
            let err = Error::PermissionDenied("只有管理员可以更正已锁定期间的数据".to_owned());
            return Err(self.refuse(audit(Some(principal)), err).await);
        }
        if let Err(err) = validate::request_id(request_id) {
            return Err(self.refuse(audit(Some(principal)), err).await);
        }
        let mut shape = citydash_runtime::Violations::new();
        validate::every_request(request, &mut shape);
        if let Err(err) = shape.into_result() {
            return Err(if validate_only {
                err
            } else {
                self.refuse(audit(Some(principal)), err).await
            });
        }
        let fingerprint = fingerprint(&method, request);
        let store = &self.inner.store;
        if !validate_only && let Some(previous) = store.request(&principal.name, request_id).await? {
            return self
                .replay(&previous, &method, &fingerprint, audit(Some(principal)))
                .await;
        }
        let mut ctx = Context {
            sector: self.inner.info.sector,
            regions: &self.inner.info.regions,
            catalog: &self.inner.info.catalog,
            mask: request.update_mask(),
            today: crate::domain::city_today(),
            units: self.inner.options.units.current(),
            checklists: &self.inner.info.checklists,
            principal,
        };
        let _guard = self.inner.write_lock.lock().await;
        let directory = &self.inner.options.units;
        let unavailable =
            |why: String| Error::Unavailable(format!("责任单位名录暂不可用，请稍后用同一 request_id 重试：{why}"));
        if planner.names_units() {
            ctx.units = directory.refresh().await.map_err(unavailable)?;
        }
        let mut units_reread = false;
        for attempt in 0..CONFLICT_RETRIES {
            let snapshot = self.snapshot(&planner.keys(), &planner.parents()).await?;
            let planned = match planner.plan(&ctx, &snapshot) {
                Ok(planned) => planned,
                // A unit registered a moment ago: read the registry once more before refusing.
                Err(Error::Invalid(v))
                    if directory.configured()
                        && !units_reread
                        && v.iter().any(|f| f.field.ends_with(".responsible_unit")) =>
                {
                    units_reread = true;
                    ctx.units = directory.refresh_now().await.map_err(unavailable)?;
                    continue;
                }
                Err(err) if validate_only => return Err(err),
                Err(err) => return Err(self.refuse(audit(Some(principal)), err).await),
            };
            if let Some(err) = self.indicator_writer(principal, &planned.indicators) {
                return Err(self.refuse(audit(Some(principal)), err).await);
            }
            if let Some(region) = planned.regions.iter().find(|r| !principal.may_write_region(r)) {
                let err = Error::PermissionDenied(format!("{} 无权写入区域「{region}」的数据", principal.name));
                return Err(self.refuse(audit(Some(principal)), err).await);
            }
            if validate_only {
                // A dry run says what the write would: a locked period refuses it too.
                if correction.is_empty() {
                    let locks = store.locks().await?;
                    let locked: Vec<(i32, i32)> = planned
                        .periods
                        .iter()
                        .copied()
                        .filter(|(y, m)| locks.iter().any(|l| l.year == *y && l.month == *m))
                        .collect();
                    if !locked.is_empty() {
                        return Err(locked_error(&locked));
                    }
                }
                return Ok(planned.results);
            }
            let response = v1::UpsertProjectsResponse {
                results: planned.results.clone(),
            };
            let batch = CommitBatch {
                request: StoredRequest {
                    principal: principal.name.clone(),
                    request_id: request_id.to_owned(),
                    method: method.clone(),
                    fingerprint: fingerprint.clone(),
                    response: response.encode_to_vec(),
                },
                updated_by: principal.name.clone(),
                updated_at: now_micros(),
                writes: planned.writes,
                periods: planned.periods.iter().copied().collect(),
                audit: AuditRow {
                    outcome: "accepted".to_owned(),
                    reason: correction.clone(),
                    ..audit(Some(principal))
                },
                correction: correction.clone(),
            };
            let written = batch.writes.len();
            let units_written = batch
                .writes
                .iter()
                .any(|w| w.kind == entity::type_name::<crate::registry::UnitRecords>());
            match store.commit(batch).await? {
                Commit::Done { last_seq } => {
                    if units_written {
                        directory.invalidate();
                    }
                    pushes().add(
                        1,
                        &[
                            opentelemetry::KeyValue::new("principal", principal.name.clone()),
                            opentelemetry::KeyValue::new("outcome", "accepted"),
                        ],
                    );
                    tracing::info!(
                        method,
                        request_id,
                        principal = %principal.name,
                        items = planned.results.len(),
                        written,
                        last_seq,
                        corrected = !correction.is_empty(),
                        "write committed"
                    );
                    self.inner.feed.send_if_modified(|seq| {
                        let newer = last_seq > *seq;
                        if newer {
                            *seq = last_seq;
                        }
                        newer
                    });
                    return Ok(planned.results);
                }
                Commit::Duplicate(previous) => {
                    return self
                        .replay(&previous, &method, &fingerprint, audit(Some(principal)))
                        .await;
                }
                Commit::Locked(periods) => {
                    let err = locked_error(&periods);
                    return Err(self.refuse(audit(Some(principal)), err).await);
                }
                Commit::Conflict => {
                    tracing::warn!(method, request_id, attempt, "write conflict, retrying");
                }
            }
        }
        Err(Error::Unavailable(
            "写入期间记录持续被修改，请用同一 request_id 重试".to_owned(),
        ))
    }

    /// The refusal of a push of indicator values by a role the catalog does
    /// not name for one of them (budget revenue is the finance bureau's).
    fn indicator_writer(&self, principal: &Principal, indicators: &BTreeSet<String>) -> Option<Error> {
        if principal.is_admin() {
            return None;
        }
        let role = principal.role.as_str();
        indicators.iter().find_map(|code| {
            let def = self.inner.info.catalog.iter().find(|d| &d.code == code)?;
            (!def.writer_roles.is_empty() && !def.writer_roles.iter().any(|r| r == role)).then(|| {
                Error::PermissionDenied(format!(
                    "{}（{role}）无权报送「{}」：该指标由 {} 报送",
                    principal.name,
                    def.name_zh,
                    def.writer_roles.join("、")
                ))
            })
        })
    }

    /// Answers a retry from its remembered result; a request id reused for
    /// other content or another method is refused with its audit row.
    async fn replay(
        &self,
        previous: &StoredRequest,
        method: &str,
        fingerprint: &[u8],
        row: AuditRow,
    ) -> Result<Vec<v1::WriteResult>, Error> {
        match replay(previous, method, fingerprint) {
            Ok(results) => Ok(results),
            Err(err) => Err(self.refuse(row, err).await),
        }
    }

    /// Audits a refused write and returns the error to send. When the audit
    /// row cannot be written the caller gets UNAVAILABLE (retryable), never a
    /// refusal without its row.
    async fn refuse(&self, row: AuditRow, err: Error) -> Error {
        pushes().add(
            1,
            &[
                opentelemetry::KeyValue::new("principal", row.principal.clone()),
                opentelemetry::KeyValue::new("outcome", "refused"),
            ],
        );
        let (code, message) = err.as_sent();
        let row = AuditRow {
            outcome: "refused".to_owned(),
            code,
            // The message may repeat what the caller sent: no NUL reaches a TEXT column.
            reason: validate::visible(&message).into_owned(),
            ..row
        };
        tracing::info!(principal = %row.principal, method = %row.method, code = %row.code, reason = %row.reason, "write refused");
        match self.inner.store.append_audit(row).await {
            Ok(()) => err,
            Err(e) => e.into(),
        }
    }

    /// Serves a write RPC: the identity the auth layer attached, the planner
    /// that `plan` builds from the message, then [`Engine::write`].
    pub async fn handle<R: WriteRequest>(
        &self,
        (identity, req): (Identity, R),
        plan: for<'a> fn(&'a R) -> Box<dyn Planner + 'a>,
    ) -> Result<Vec<v1::WriteResult>, Error> {
        let planner = plan(&req);
        self.write(&identity, &req, planner.as_ref()).await
    }

    /// Serves a write RPC only an admin may call (the unit registry): the
    /// refusal of anyone else is audited like every other.
    pub async fn handle_admin<R: WriteRequest>(
        &self,
        (identity, req): (Identity, R),
        plan: for<'a> fn(&'a R) -> Box<dyn Planner + 'a>,
    ) -> Result<Vec<v1::WriteResult>, Error> {
        if let Identity::Verified(_) = &identity {
            self.admin(&identity, &R::full_name()).await?;
        }
        let planner = plan(&req);
        self.write(&identity, &req, planner.as_ref()).await
    }

    /// The unit registry this engine resolves pushes against.
    pub fn units(&self) -> &UnitDirectory {
        &self.inner.options.units
    }

    /// The verified admin behind `identity`, or the refusal (audited).
    async fn admin(&self, identity: &Identity, method: &str) -> Result<Principal, Error> {
        self.authorize(identity, method, |p| {
            if p.is_admin() {
                Ok(())
            } else {
                Err(Error::PermissionDenied(format!("{} 不是管理员", p.name)))
            }
        })
        .await
    }

    /// The verified principal behind `identity` if `check` lets it call
    /// `method` (a request type's full name), or the refusal, audited like
    /// every other: for state changes that are not record writes.
    pub async fn authorize(
        &self,
        identity: &Identity,
        method: &str,
        check: impl FnOnce(&Principal) -> Result<(), Error>,
    ) -> Result<Principal, Error> {
        let row = |p: Option<&Principal>| AuditRow {
            at: now_micros(),
            principal: p.map(|p| p.name.clone()).unwrap_or_default(),
            role: p.map(|p| p.role.as_str().to_owned()).unwrap_or_default(),
            method: method.to_owned(),
            ..AuditRow::default()
        };
        match identity {
            Identity::Unauthenticated(why) => Err(self.refuse(row(None), Error::Unauthenticated(why.clone())).await),
            Identity::Verified(p) => match check(p) {
                Ok(()) => Ok(p.clone()),
                Err(err) => Err(self.refuse(row(Some(p)), err).await),
            },
        }
    }

    /// Locks (`lock`) or unlocks a period; admin only; audited.
    pub async fn set_lock(
        &self,
        identity: &Identity,
        method: &str,
        period: Option<&v1::Period>,
        reason: &str,
        lock: bool,
    ) -> Result<Option<PeriodLock>, Error> {
        let admin = self.admin(identity, method).await?;
        // The audit row of this call, accepted or refused.
        let row = || AuditRow {
            at: now_micros(),
            principal: admin.name.clone(),
            role: admin.role.as_str().to_owned(),
            method: method.to_owned(),
            record_type: "period_lock".to_owned(),
            ..AuditRow::default()
        };
        // A bad request of the admin's is refused and audited like any other.
        let refused = |err: Error| self.refuse(row(), err);
        let Some(period) = period.filter(|p| crate::domain::period_is_valid(p)) else {
            return Err(refused(Error::invalid("period", "必须是有效的月份")).await);
        };
        if lock && reason.trim().is_empty() {
            return Err(refused(Error::invalid("reason", "必填：说明锁定该期间的原因")).await);
        }
        let entry = lock.then(|| PeriodLock {
            year: period.year,
            month: period.month,
            locked_by: admin.name.clone(),
            reason: reason.trim().to_owned(),
            locked_at: now_micros(),
        });
        let audit = AuditRow {
            outcome: "accepted".to_owned(),
            reason: reason.trim().to_owned(),
            key: format!("{:04}-{:02}", period.year, period.month),
            ..row()
        };
        self.inner
            .store
            .set_lock(period.year, period.month, entry.clone(), audit)
            .await?;
        tracing::info!(admin = %admin.name, year = period.year, month = period.month, lock, "period lock changed");
        Ok(entry)
    }

    /// The proto form of an audit row, its payloads decoded as records.
    fn audit_entry(&self, row: AuditRow) -> v1::AuditEntry {
        let record = |payload: Option<Vec<u8>>| {
            let stored = StoredRecord {
                kind: row.record_type.clone(),
                key: row.key.clone(),
                version: 0,
                seq: 0,
                payload: payload?,
                updated_by: row.principal.clone(),
                request_id: row.request_id.clone(),
                updated_at: row.at,
                note: String::new(),
                created_at: row.at,
            };
            self.to_record(&stored).ok()
        };
        v1::AuditEntry {
            id: row.id,
            time: Some(records::timestamp(row.at)),
            principal: row.principal.clone(),
            role: row.role.clone(),
            method: row.method.clone(),
            request_id: row.request_id.clone(),
            outcome: match row.outcome.as_str() {
                "accepted" => v1::AuditOutcome::Accepted,
                "refused" => v1::AuditOutcome::Refused,
                _ => v1::AuditOutcome::Unspecified,
            } as i32,
            code: row.code.clone(),
            reason: row.reason.clone(),
            record_type: row.record_type.clone(),
            key: row.key.clone(),
            before: record(row.before.clone()),
            after: record(row.after.clone()),
        }
    }

    /// Every locked period.
    pub async fn locks(&self) -> Result<Vec<PeriodLock>, Error> {
        Ok(self.inner.store.locks().await?)
    }

    /// A page of the audit trail, at most `page_size` rows and about
    /// [`MAX_AUDIT_PAGE_BYTES`]; admin only.
    pub async fn audit(
        &self,
        identity: &Identity,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<v1::AuditEntry>, String), Error> {
        match identity {
            Identity::Verified(p) if p.is_admin() => {}
            Identity::Verified(p) => {
                return Err(Error::PermissionDenied(format!("{} 无权查看审计记录", p.name)));
            }
            Identity::Unauthenticated(why) => return Err(Error::Unauthenticated(why.clone())),
        }
        let (limit, after) = page_bounds(page_size, page_token)?;
        let after: i64 = if after.is_empty() {
            0
        } else {
            after
                .parse()
                .map_err(|_| Error::invalid("page_token", "不是本服务签发的分页令牌"))?
        };
        let rows = self.inner.store.audit_after(after, limit + 1).await?;
        let mut more = rows.len() as i64 > limit;
        let mut entries = Vec::new();
        let mut bytes = 0;
        for row in rows.into_iter().take(limit as usize) {
            let entry = self.audit_entry(row);
            let len = entry.encoded_len();
            // Bounded in bytes as well as rows: every default client reads the page.
            if !entries.is_empty() && bytes + len > MAX_AUDIT_PAGE_BYTES {
                more = true;
                break;
            }
            bytes += len;
            entries.push(entry);
        }
        let next = match entries.last() {
            Some(last) if more => paging::token(&last.id.to_string()),
            _ => String::new(),
        };
        Ok((entries, next))
    }

    async fn snapshot(&self, keys: &[(String, String)], parents: &[(String, String)]) -> Result<Snapshot, Error> {
        let mut by_kind: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (kind, key) in keys {
            by_kind.entry(kind.as_str()).or_default().push(key.clone());
        }
        let mut loaded = Vec::new();
        for (kind, mut keys) in by_kind {
            keys.sort();
            keys.dedup();
            loaded.extend(self.inner.store.get(kind, &keys).await?);
        }
        let mut snapshot = Snapshot::new(loaded);
        let mut parents_by_kind: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (kind, parent) in parents {
            parents_by_kind.entry(kind.as_str()).or_default().push(parent.clone());
        }
        for (kind, mut parents) in parents_by_kind {
            parents.sort();
            parents.dedup();
            let mut grouped: BTreeMap<String, Vec<StoredRecord>> =
                parents.iter().map(|p| (p.clone(), Vec::new())).collect();
            for child in self.inner.store.children(kind, &parents).await? {
                let parent = child.key.split('/').next().unwrap_or_default().to_owned();
                grouped.entry(parent).or_default().push(child);
            }
            for (parent, children) in grouped {
                snapshot = snapshot.with_children(kind, &parent, children);
            }
        }
        Ok(snapshot)
    }

    /// A page of current records of one kind.
    pub async fn list(
        &self,
        kind: &str,
        filter: Index,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<StoredRecord>, Error> {
        let (limit, after_key) = page_bounds(page_size, page_token)?;
        let mut rows = self
            .inner
            .store
            .list(&ListQuery {
                kind: kind.to_owned(),
                filter,
                after_key,
                limit: limit + 1,
            })
            .await?;
        let next_page_token = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| paging::token(&r.key)).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Page {
            items: rows,
            next_page_token,
        })
    }

    /// One project by code.
    pub async fn project(&self, code: &str) -> Result<v1::Project, Error> {
        if code.is_empty() {
            return Err(Error::invalid("code", "必填，不能为空"));
        }
        let found = self.inner.store.get(records::PROJECT, &[code.to_owned()]).await?;
        match found.first() {
            Some(r) => Ok(records::project(r)?),
            None => Err(Error::NotFound(format!("没有项目「{code}」"))),
        }
    }

    /// A page of a sector entity type.
    pub async fn list_entities<E: SectorEntity>(
        &self,
        filter: Index,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<E::Message>, Error> {
        let page = self
            .list(&entity::type_name::<E>(), filter, page_size, page_token)
            .await?;
        let items = page.items.iter().map(entity::decode::<E>).collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_page_token: page.next_page_token,
        })
    }

    /// Every version of one record, oldest first.
    pub async fn revisions(&self, record_type: &str, key: &str) -> Result<Vec<v1::Record>, Error> {
        let known = [
            records::PROJECT,
            records::PROGRESS,
            records::INDICATOR_VALUE,
            records::TARGET,
        ]
        .contains(&record_type)
            || self.inner.info.entity_types.iter().any(|t| t.type_name == record_type);
        if !known {
            return Err(Error::invalid(
                "record_type",
                format!("「{record_type}」不是本部门的记录类型"),
            ));
        }
        if key.is_empty() {
            return Err(Error::invalid("key", "必填，不能为空"));
        }
        let versions = self.inner.store.revisions(record_type, key).await?;
        if versions.is_empty() {
            return Err(Error::NotFound(format!("没有记录 {record_type}「{key}」")));
        }
        versions.iter().map(|r| self.to_record(r)).collect()
    }

    /// The proto form of a stored version.
    pub fn to_record(&self, stored: &StoredRecord) -> Result<v1::Record, Error> {
        let types = &self.inner.info.entity_types;
        Ok(records::to_record(stored, |r| {
            types.iter().find(|t| t.type_name == r.kind).map(|t| (t.pack)(r))
        })?)
    }

    /// Streams every change after `after`: the backlog, then live changes as
    /// this process commits them (and, by polling, as other replicas do),
    /// with a heartbeat after `heartbeat` without a change when asked. The
    /// stream ends with an error item when the store fails; the client
    /// resumes from the last sequence it saw.
    pub fn watch(&self, after: i64, heartbeat: Option<Duration>) -> mpsc::Receiver<Result<FeedItem, Error>> {
        let (tx, rx) = mpsc::channel(256);
        let engine = self.clone();
        tokio::spawn(async move {
            let mut last = after;
            let mut last_sent = tokio::time::Instant::now();
            let mut live = engine.inner.feed.subscribe();
            let mut closing = engine.inner.closing.subscribe();
            loop {
                if *closing.borrow_and_update() {
                    return;
                }
                let batch = match engine.inner.store.changes_after(last, FEED_BATCH).await {
                    Ok(batch) => batch,
                    Err(err) => {
                        let _ = tx.send(Err(err.into())).await;
                        return;
                    }
                };
                let full = batch.len() as i64 == FEED_BATCH;
                for stored in batch {
                    let change = engine.to_record(&stored).map(|record| v1::Change {
                        sequence: stored.seq,
                        sector: engine.inner.info.sector as i32,
                        record: Some(record),
                        record_type: stored.kind.clone(),
                        key: stored.key.clone(),
                        time: records::meta(&stored).update_time,
                    });
                    last = stored.seq;
                    last_sent = tokio::time::Instant::now();
                    if tx.send(change.map(|c| FeedItem::Change(Box::new(c)))).await.is_err() {
                        return;
                    }
                }
                if full {
                    continue;
                }
                if let Some(every) = heartbeat
                    && last_sent.elapsed() >= every
                {
                    last_sent = tokio::time::Instant::now();
                    if tx.send(Ok(FeedItem::Heartbeat(last))).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    changed = live.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep(engine.inner.options.feed_poll) => {},
                    () = tx.closed() => return,
                    _ = closing.changed() => return,
                }
            }
        });
        rx
    }
}

/// `text` cut to at most `max` bytes (on a character boundary), marked with
/// its full length when cut, hidden characters shown as U+FFFD: what an
/// audit row keeps of a caller's value.
fn bounded(text: &str, max: usize) -> String {
    let text = validate::visible(text);
    if text.len() <= max {
        return text.into_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…（共 {} 字节）", &text[..end], text.len())
}

/// The refusal of a write into locked periods.
fn locked_error(periods: &[(i32, i32)]) -> Error {
    let list: Vec<String> = periods.iter().map(|(y, m)| format!("{y}-{m:02}")).collect();
    Error::FailedPrecondition {
        reason: citydash_runtime::error::reason::PERIOD_LOCKED,
        message: format!(
            "{} 已锁定：该期统计数据已公布；管理员可填写 correction_reason 进行更正",
            list.join("、")
        ),
    }
}

fn replay(previous: &StoredRequest, method: &str, fingerprint: &[u8]) -> Result<Vec<v1::WriteResult>, Error> {
    if previous.method != method || previous.fingerprint != fingerprint {
        return Err(Error::invalid(
            "request_id",
            format!(
                "该 request_id 已被另一请求（{}）使用；新数据请使用新的编号",
                previous.method
            ),
        ));
    }
    let response = v1::UpsertProjectsResponse::decode(previous.response.as_slice())
        .map_err(|e| Error::Internal(format!("stored response: {e}")))?;
    tracing::info!(method, request_id = %previous.request_id, "replayed a retried request");
    Ok(response.results)
}
