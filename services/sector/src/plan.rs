//! Turning one write request into the records it changes. Each planner reads
//! a snapshot of the records it touches, validates every item against it in
//! request order (so a later item sees an earlier one's effect), and returns
//! the writes and per-item results, or every violation found. Planning is
//! pure: nothing is written until the whole batch is known to be valid.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::Datelike;

use chrono::NaiveDate;
use citydash_proto::v1::{self, ProjectStage, WriteOutcome, project_event};
use citydash_runtime::{Error, Violations};
use prost::Message;

use crate::domain::{self, Regions};
use crate::entity::{self, SectorEntity};
use crate::mask;
use crate::plausibility;
use crate::records::{self, INDICATOR_VALUE, PROGRESS, PROJECT, TARGET};
use crate::store::{Index, RecordWrite, StoredRecord};
use crate::validate::Item;

/// What a planner may look at: the sector's configuration, the request's
/// update mask, and the city's today.
pub struct Context<'a> {
    /// The sector being written.
    pub sector: v1::Sector,
    /// Known regions.
    pub regions: &'a Regions,
    /// The indicator catalog.
    pub catalog: &'a [v1::IndicatorDefinition],
    /// The fields each item changes (AIP-134); `None`: those it sets.
    pub mask: Option<&'a prost_types::FieldMask>,
    /// Today in the city (UTC+8): no fact may be dated after it.
    pub today: NaiveDate,
    /// The responsible units as last read; empty: units are kept as pushed.
    pub units: std::sync::Arc<crate::units::Units>,
    /// The readiness checklists of the sector's projects.
    pub checklists: &'a crate::readiness::Checklists,
}

/// A project's kind and readiness items checked against the sector's
/// checklists: a known kind, each document of its checklist at most once.
fn readiness(item: &mut crate::validate::Item<'_>, p: &v1::Project, checklists: &crate::readiness::Checklists) {
    let kind = p.kind.trim();
    let Some(list) = checklists.of_kind(kind) else {
        let known: Vec<&str> = checklists
            .all()
            .iter()
            .map(|l| l.project_kind.as_str())
            .filter(|k| !k.is_empty())
            .collect();
        item.add(
            "kind",
            if known.is_empty() {
                format!("未配置的项目类型「{kind}」：本部门只有默认的入库资料清单，请留空")
            } else {
                format!("未配置的项目类型「{kind}」，可选：{}（或留空）", known.join("、"))
            },
        );
        return;
    };
    let mut seen = HashSet::new();
    for (j, r) in p.readiness.iter().enumerate() {
        let field = format!("readiness[{j}].code");
        if !list.documents.iter().any(|d| d.code == r.code) {
            let names: Vec<String> = list
                .documents
                .iter()
                .map(|d| format!("{}（{}）", d.code, d.name_zh))
                .collect();
            item.add(
                &field,
                format!("「{}」不在入库资料清单中，可选：{}", r.code, names.join("、")),
            );
        } else if !seen.insert(r.code.as_str()) {
            item.add(&field, format!("资料「{}」重复", r.code));
        }
    }
}

/// A project's fields the server owns: its dated events.
const PROJECT_SERVER_FIELDS: &[&str] = &["events", "sector"];

/// `given` laid over the latest content of the record, if there is one
/// (see [`crate::mask`]).
fn merged<M: Message + prost::Name + Default + Clone>(
    stored: Option<&[u8]>,
    given: &M,
    ctx: &Context<'_>,
    keep: &[&str],
) -> Result<M, Error> {
    match stored {
        None => Ok(given.clone()),
        Some(bytes) => {
            let old = M::decode(bytes).map_err(|e| Error::Internal(format!("stored {}: {e}", M::full_name())))?;
            Ok(mask::merge(&old, given, ctx.mask, keep))
        }
    }
}

/// Current stored versions by kind and key, and every child of the parents
/// a planner asked for (a project's progress reports).
#[derive(Default)]
pub struct Snapshot {
    records: HashMap<(String, String), StoredRecord>,
    children: HashMap<(String, String), Vec<StoredRecord>>,
}

impl Snapshot {
    /// Builds a snapshot from loaded records.
    pub fn new(records: impl IntoIterator<Item = StoredRecord>) -> Self {
        Self {
            records: records
                .into_iter()
                .map(|r| ((r.kind.clone(), r.key.clone()), r))
                .collect(),
            children: HashMap::new(),
        }
    }

    /// Adds the children of `parent` (records of `kind`).
    pub fn with_children(mut self, kind: &str, parent: &str, children: Vec<StoredRecord>) -> Self {
        self.children.insert((kind.to_owned(), parent.to_owned()), children);
        self
    }

    fn get(&self, kind: &str, key: &str) -> Option<&StoredRecord> {
        self.records.get(&(kind.to_owned(), key.to_owned()))
    }

    /// The stored children of `parent`, as loaded.
    fn children(&self, kind: &str, parent: &str) -> &[StoredRecord] {
        self.children
            .get(&(kind.to_owned(), parent.to_owned()))
            .map_or(&[], Vec::as_slice)
    }
}

/// The outcome of planning: records to write and one result per item.
pub struct Planned {
    /// Records whose content changed, each once, with the version they replace.
    pub writes: Vec<RecordWrite>,
    /// One result per request item, in order.
    pub results: Vec<v1::WriteResult>,
    /// Regions the changed records belong (or belonged) to: the writer must
    /// be allowed to write every one.
    pub regions: BTreeSet<String>,
    /// Periods (year, month) the changes fall in: a locked one refuses them.
    pub periods: BTreeSet<(i32, i32)>,
    /// Indicators whose values the request pushes: the writer must be one
    /// of the roles each names (its catalog's `writer_roles`).
    pub indicators: BTreeSet<String>,
}

/// A write request that knows which records it touches and how it changes them.
pub trait Planner: Send + Sync {
    /// (kind, key) of every record the plan may read.
    fn keys(&self) -> Vec<(String, String)>;
    /// (kind, parent) of every group of records the plan reads whole (a
    /// project's progress, for the plausibility checks); none by default.
    fn parents(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Whether items name responsible units (the registry is read first).
    fn names_units(&self) -> bool {
        false
    }
    /// Validates and plans against `snapshot`.
    fn plan(&self, ctx: &Context<'_>, snapshot: &Snapshot) -> Result<Planned, Error>;
}

/// A staged record: filter columns, payload, the periods it falls in.
type Staged = (Index, Vec<u8>, BTreeSet<(i32, i32)>);

/// Records staged during planning: the latest content of each touched key.
struct Staging<'s> {
    snapshot: &'s Snapshot,
    staged: HashMap<(String, String), Staged>,
    order: Vec<(String, String)>,
    /// Regions a changed record leaves (a project moved to another region).
    left_regions: BTreeSet<String>,
}

impl<'s> Staging<'s> {
    fn new(snapshot: &'s Snapshot) -> Self {
        Self {
            snapshot,
            staged: HashMap::new(),
            order: Vec::new(),
            left_regions: BTreeSet::new(),
        }
    }

    /// The latest content of a record: staged in this batch, else stored.
    fn current(&self, kind: &str, key: &str) -> Option<&[u8]> {
        let k = (kind.to_owned(), key.to_owned());
        match self.staged.get(&k) {
            Some((_, payload, _)) => Some(payload),
            None => self.snapshot.get(kind, key).map(|r| r.payload.as_slice()),
        }
    }

    /// The latest content of every child of `parent` (records of `kind` keyed
    /// `PARENT/…`): the snapshot's, with this batch's staged ones over them.
    fn children(&self, kind: &str, parent: &str) -> Vec<&[u8]> {
        let prefix = format!("{parent}/");
        let mut by_key: HashMap<&str, &[u8]> = self
            .snapshot
            .children(kind, parent)
            .iter()
            .map(|r| (r.key.as_str(), r.payload.as_slice()))
            .collect();
        for ((k, key), (_, payload, _)) in &self.staged {
            if k == kind && key.starts_with(&prefix) {
                by_key.insert(key.as_str(), payload.as_slice());
            }
        }
        by_key.into_values().collect()
    }

    /// Stages new content and tells how it compares with the stored version.
    fn put(&mut self, kind: &str, key: &str, index: Index, payload: Vec<u8>) -> (WriteOutcome, i64) {
        self.put_dated(kind, key, index, payload, [])
    }

    /// Stages new content that falls in `periods` (year, month).
    fn put_dated(
        &mut self,
        kind: &str,
        key: &str,
        index: Index,
        payload: Vec<u8>,
        periods: impl IntoIterator<Item = (i32, i32)>,
    ) -> (WriteOutcome, i64) {
        let k = (kind.to_owned(), key.to_owned());
        let original = self.snapshot.get(kind, key);
        let result = match original {
            None => (WriteOutcome::Created, 1),
            Some(r) if r.payload == payload => (WriteOutcome::Unchanged, r.version),
            Some(r) => (WriteOutcome::Updated, r.version + 1),
        };
        let mut dated: BTreeSet<(i32, i32)> = self.staged.get(&k).map(|(_, _, p)| p.clone()).unwrap_or_default();
        dated.extend(periods);
        if !self.staged.contains_key(&k) {
            self.order.push(k.clone());
        }
        self.staged.insert(k, (index, payload, dated));
        result
    }

    /// The changed records, the periods they touch, and the regions of every
    /// record the batch names, changed or not: a push naming another
    /// region's record is refused even when it would change nothing, so a
    /// replay learns nothing of records outside the caller's regions.
    fn into_writes(self) -> (Vec<RecordWrite>, BTreeSet<String>, BTreeSet<(i32, i32)>) {
        let Staging {
            snapshot,
            mut staged,
            order,
            left_regions,
        } = self;
        let mut regions = left_regions;
        let mut periods = BTreeSet::new();
        let writes = order
            .into_iter()
            .filter_map(|k| {
                let (index, payload, dated) = staged.remove(&k)?;
                regions.insert(index.region.clone());
                let original = snapshot.get(&k.0, &k.1);
                if original.is_some_and(|r| r.payload == payload) {
                    return None;
                }
                periods.extend(dated);
                Some(RecordWrite {
                    kind: k.0,
                    key: k.1,
                    index,
                    payload,
                    expected_version: original.map_or(0, |r| r.version),
                    before: original.map(|r| r.payload.clone()),
                })
            })
            .collect();
        (writes, regions, periods)
    }
}

fn result(index: usize, key: String, (outcome, version): (WriteOutcome, i64)) -> v1::WriteResult {
    v1::WriteResult {
        index: index as i32,
        key,
        outcome: outcome as i32,
        version,
    }
}

fn finish(violations: Violations, staging: Staging<'_>, results: Vec<v1::WriteResult>) -> Result<Planned, Error> {
    violations.into_result()?;
    let (writes, regions, periods) = staging.into_writes();
    Ok(Planned {
        writes,
        results,
        regions,
        periods,
        indicators: BTreeSet::new(),
    })
}

fn project_index(p: &v1::Project) -> Index {
    Index {
        region: p.region_code.clone(),
        unit: p.responsible_unit.clone(),
        stage: ProjectStage::try_from(p.stage)
            .unwrap_or(ProjectStage::Unspecified)
            .as_str_name()
            .to_owned(),
        parent: String::new(),
        year: 0,
    }
}

fn decode_project(payload: &[u8]) -> Result<v1::Project, Error> {
    v1::Project::decode(payload).map_err(|e| Error::Internal(format!("stored project: {e}")))
}

/// Notes a second item with the same key in one batch.
fn duplicate(
    item: &mut Item<'_>,
    field: &str,
    seen: &mut HashMap<String, usize>,
    key: &str,
    index: usize,
    list: &str,
) -> bool {
    if let Some(first) = seen.get(key) {
        item.add(
            field,
            format!("与本次请求的 {list}[{first}] 重复：同一记录只能出现一次"),
        );
        true
    } else {
        seen.insert(key.to_owned(), index);
        false
    }
}

/// A requested stage move or statistics change, checked against the
/// project's history and applied to it.
struct EventRequest {
    stage: ProjectStage,
    stage_date: Option<NaiveDate>,
    in_statistics: Option<bool>,
    statistics_date: Option<NaiveDate>,
    /// Latest day an event may carry (a progress report's period end).
    not_after: Option<NaiveDate>,
}

impl EventRequest {
    /// The request of an item: (stage, the date as sent, the date once
    /// checked) and the same for the statistics flag. A date that was sent
    /// but refused (already a violation) asks for no event, so the refusal
    /// is not reported twice as a missing date.
    fn new(
        (stage, sent_stage_date, stage_date): (ProjectStage, Option<&v1::Date>, Option<NaiveDate>),
        (in_statistics, sent_statistics_date, statistics_date): (Option<bool>, Option<&v1::Date>, Option<NaiveDate>),
        not_after: Option<NaiveDate>,
    ) -> Self {
        let refused = |sent: Option<&v1::Date>, checked: Option<NaiveDate>| sent.is_some() && checked.is_none();
        Self {
            stage: if refused(sent_stage_date, stage_date) {
                ProjectStage::Unspecified
            } else {
                stage
            },
            stage_date,
            in_statistics: in_statistics.filter(|_| !refused(sent_statistics_date, statistics_date)),
            statistics_date,
            not_after,
        }
    }
}

fn has_event(p: &v1::Project, event: &project_event::Event, date: NaiveDate) -> bool {
    p.events
        .iter()
        .any(|e| e.event.as_ref() == Some(event) && e.date.as_ref().and_then(domain::to_date) == Some(date))
}

fn insert_event(p: &mut v1::Project, event: project_event::Event, date: NaiveDate) {
    let at = p
        .events
        .iter()
        .position(|e| e.date.as_ref().and_then(domain::to_date).is_some_and(|d| d > date))
        .unwrap_or(p.events.len());
    p.events.insert(
        at,
        v1::ProjectEvent {
            date: Some(domain::from_date(date)),
            event: Some(event),
        },
    );
}

fn last_date_of(p: &v1::Project, is_kind: impl Fn(&project_event::Event) -> bool) -> Option<NaiveDate> {
    p.events
        .iter()
        .filter(|e| e.event.as_ref().is_some_and(&is_kind))
        .filter_map(|e| e.date.as_ref().and_then(domain::to_date))
        .max()
}

/// Applies stage and statistics events to `p`, recording violations on
/// `item`; returns the (year, month) of each event added.
fn apply_events(item: &mut Item<'_>, p: &mut v1::Project, req: &EventRequest) -> Vec<(i32, i32)> {
    let mut added = Vec::new();
    let current = ProjectStage::try_from(p.stage).unwrap_or(ProjectStage::Reserve);
    let wanted = req.stage;
    if wanted != ProjectStage::Unspecified && wanted != current {
        let event = project_event::Event::Stage(wanted as i32);
        match req.stage_date {
            Some(date) if has_event(p, &event, date) => {}
            None => item.add("stage_date", "阶段变化时必须填写阶段日期"),
            Some(_) if !domain::stage_move_allowed(current, wanted) => item.add(
                "stage",
                format!(
                    "项目阶段不能从「{}」（{}）变为「{}」（{}）",
                    domain::stage_zh(current),
                    current.as_str_name(),
                    domain::stage_zh(wanted),
                    wanted.as_str_name()
                ),
            ),
            Some(date) => {
                let last = last_date_of(p, |e| matches!(e, project_event::Event::Stage(_)));
                if last.is_some_and(|l| date < l) {
                    item.add(
                        "stage_date",
                        format!("{date} 早于项目上一次阶段变化（{}）", last.unwrap_or(date)),
                    );
                } else if req.not_after.is_some_and(|n| date > n) {
                    item.add("stage_date", format!("{date} 晚于本次报告期"));
                } else {
                    insert_event(p, event, date);
                    added.push((date.year(), date.month() as i32));
                    p.stage = wanted as i32;
                    p.stage_date = Some(domain::from_date(date));
                }
            }
        }
    }
    let flag = p.in_statistics_database.unwrap_or(false);
    if let Some(wanted) = req.in_statistics.filter(|w| *w != flag) {
        let event = project_event::Event::InStatisticsDatabase(wanted);
        match req.statistics_date {
            Some(date) if has_event(p, &event, date) => {}
            None => item.add("statistics_date", "入库状态变化时必须填写入库日期"),
            Some(date) => {
                let last = last_date_of(p, |e| matches!(e, project_event::Event::InStatisticsDatabase(_)));
                if last.is_some_and(|l| date < l) {
                    item.add("statistics_date", format!("{date} 早于上一次入库状态变化"));
                } else if req.not_after.is_some_and(|n| date > n) {
                    item.add("statistics_date", format!("{date} 晚于本次报告期"));
                } else {
                    insert_event(p, event, date);
                    added.push((date.year(), date.month() as i32));
                    p.in_statistics_database = Some(wanted);
                    p.statistics_date = Some(domain::from_date(date));
                }
            }
        }
    }
    added
}

/// Plans `UpsertProjects`.
pub struct UpsertProjects<'r>(pub &'r [v1::Project]);

impl Planner for UpsertProjects<'_> {
    fn keys(&self) -> Vec<(String, String)> {
        self.0.iter().map(|p| (PROJECT.to_owned(), p.code.clone())).collect()
    }

    fn names_units(&self) -> bool {
        true
    }

    fn plan(&self, ctx: &Context<'_>, snapshot: &Snapshot) -> Result<Planned, Error> {
        let mut violations = Violations::new();
        let mut staging = Staging::new(snapshot);
        let mut results = Vec::with_capacity(self.0.len());
        let mut seen = HashMap::new();
        mask::check::<v1::Project>(ctx.mask, PROJECT_SERVER_FIELDS, &mut violations);
        for (i, given) in self.0.iter().enumerate() {
            let mut item = Item::new(&mut violations, "projects", i).on(ctx.today);
            item.code("code", &given.code);
            if duplicate(&mut item, "code", &mut seen, &given.code, i, "projects") {
                continue;
            }
            let stored = match staging.current(PROJECT, &given.code) {
                Some(bytes) => Some(decode_project(bytes)?),
                None => None,
            };
            let p = &match &stored {
                Some(old) => mask::merge(old, given, ctx.mask, PROJECT_SERVER_FIELDS),
                None => given.clone(),
            };
            item.text("name", &p.name);
            item.region("region_code", &p.region_code, ctx.regions);
            let unit = item.unit("responsible_unit", &p.responsible_unit, &ctx.units);
            item.non_negative("planned_total_investment_yuan", p.planned_total_investment_yuan);
            let start = item.date("planned_start_date", p.planned_start_date.as_ref());
            let end = item.date("planned_completion_date", p.planned_completion_date.as_ref());
            if let (Some(s), Some(e)) = (start, end)
                && e < s
            {
                item.add(
                    "planned_completion_date",
                    format!("计划竣工日期 {e} 早于计划开工日期 {s}"),
                );
            }
            let mut years = HashSet::new();
            for (j, plan) in p.plans.iter().enumerate() {
                item.year(&format!("plans[{j}].year"), plan.year);
                if !years.insert(plan.year) {
                    item.add(&format!("plans[{j}].year"), format!("{} 年的计划重复", plan.year));
                }
                if plan.monthly_plan_yuan.len() > 12 {
                    item.add(&format!("plans[{j}].monthly_plan_yuan"), "最多 12 个月");
                }
                for (m, amount) in plan.monthly_plan_yuan.iter().enumerate() {
                    item.non_negative(&format!("plans[{j}].monthly_plan_yuan[{m}]"), *amount);
                }
            }
            readiness(&mut item, p, ctx.checklists);
            if let Some(c) = &p.promotion {
                item.date("promotion.signed_date", c.signed_date.as_ref());
                if c.signed_date.is_none() {
                    item.add("promotion.signed_date", "招商项目必须填写签约日期");
                }
                item.non_negative("promotion.contracted_investment_yuan", c.contracted_investment_yuan);
                item.optional_text("promotion.investor", &c.investor);
            }
            // A stage move and an entry into the statistics database are
            // events the item asks for, never stored values laid over.
            let stage = item.known_enum::<ProjectStage>("stage", given.stage);
            let stage_date = item.fact_date("stage_date", given.stage_date.as_ref());
            let statistics_date = item.fact_date("statistics_date", given.statistics_date.as_ref());
            let mut next = v1::Project {
                code: p.code.clone(),
                name: p.name.clone(),
                sector: ctx.sector as i32,
                region_code: p.region_code.clone(),
                responsible_unit: unit.unwrap_or_default(),
                planned_total_investment_yuan: p.planned_total_investment_yuan,
                planned_start_date: p.planned_start_date,
                planned_completion_date: p.planned_completion_date,
                stage: ProjectStage::Reserve as i32,
                stage_date: None,
                in_statistics_database: Some(false),
                statistics_date: None,
                plans: p.plans.clone(),
                promotion: p.promotion.clone(),
                events: Vec::new(),
                meta: None,
                kind: p.kind.trim().to_owned(),
                readiness: p.readiness.clone(),
            };
            if let Some(old) = stored {
                if old.region_code != next.region_code {
                    // Moving a project out of a region is a write to that region too.
                    staging.left_regions.insert(old.region_code.clone());
                }
                next.stage = old.stage;
                next.stage_date = old.stage_date;
                next.in_statistics_database = old.in_statistics_database;
                next.statistics_date = old.statistics_date;
                next.events = old.events;
            }
            let added = match stage {
                Some(stage) => apply_events(
                    &mut item,
                    &mut next,
                    &EventRequest::new(
                        (stage, given.stage_date.as_ref(), stage_date),
                        (
                            given.in_statistics_database,
                            given.statistics_date.as_ref(),
                            statistics_date,
                        ),
                        None,
                    ),
                ),
                None => Vec::new(),
            };
            let index = project_index(&next);
            let outcome = staging.put_dated(PROJECT, &given.code, index, next.encode_to_vec(), added);
            results.push(result(i, given.code.clone(), outcome));
        }
        finish(violations, staging, results)
    }
}

/// Plans `ReportProgress`.
pub struct ReportProgress<'r>(pub &'r [v1::ProgressReport]);

impl Planner for ReportProgress<'_> {
    fn keys(&self) -> Vec<(String, String)> {
        let mut keys: Vec<(String, String)> = self
            .0
            .iter()
            .map(|r| (PROJECT.to_owned(), r.project_code.clone()))
            .collect();
        keys.sort();
        keys.dedup();
        keys.extend(self.0.iter().filter_map(|r| {
            r.period
                .as_ref()
                .map(|p| (PROGRESS.to_owned(), records::progress_key(&r.project_code, p)))
        }));
        keys
    }

    /// Every progress report of each project, for `investment_over_total`.
    fn parents(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|r| (PROGRESS.to_owned(), r.project_code.clone()))
            .collect()
    }

    fn plan(&self, ctx: &Context<'_>, snapshot: &Snapshot) -> Result<Planned, Error> {
        let mut violations = Violations::new();
        mask::check::<v1::ProgressReport>(ctx.mask, &[], &mut violations);
        let mut staging = Staging::new(snapshot);
        let mut results = Vec::with_capacity(self.0.len());
        let mut seen = HashMap::new();
        for (i, r) in self.0.iter().enumerate() {
            let mut item = Item::new(&mut violations, "reports", i).on(ctx.today);
            item.code("project_code", &r.project_code);
            let period = item.reported_period("period", r.period.as_ref());
            item.non_negative("investment_completed_yuan", r.investment_completed_yuan);
            item.non_negative("funds_arrived_yuan", r.funds_arrived_yuan);
            item.known_enum::<v1::ValueStatus>("status", r.status);
            item.optional_text("note", &r.note);
            let stage = item.known_enum::<ProjectStage>("stage", r.stage);
            let stage_date = item.fact_date("stage_date", r.stage_date.as_ref());
            let statistics_date = item.fact_date("statistics_date", r.statistics_date.as_ref());
            let Some(period) = period else { continue };
            let key = records::progress_key(&r.project_code, &period);
            if duplicate(&mut item, "period", &mut seen, &key, i, "reports") {
                continue;
            }
            let Some(bytes) = staging.current(PROJECT, &r.project_code) else {
                if !r.project_code.is_empty() {
                    item.add(
                        "project_code",
                        format!("没有项目「{}」：请先用 UpsertProjects 推送该项目", r.project_code),
                    );
                }
                continue;
            };
            let mut project = decode_project(bytes)?;
            let before = project.clone();
            let added = match stage {
                Some(stage) => apply_events(
                    &mut item,
                    &mut project,
                    &EventRequest::new(
                        (stage, r.stage_date.as_ref(), stage_date),
                        (r.in_statistics_database, r.statistics_date.as_ref(), statistics_date),
                        Some(domain::period_end(&period)),
                    ),
                ),
                None => Vec::new(),
            };
            if project != before {
                let index = project_index(&project);
                staging.put_dated(PROJECT, &project.code, index, project.encode_to_vec(), added);
            }
            let stored = v1::ProgressReport {
                meta: None,
                // A confirmation belongs to the push that had the finding.
                confirmations: r.confirmations.clone(),
                ..merged(staging.current(PROGRESS, &key), r, ctx, &[])?
            };
            let index = Index {
                region: project.region_code.clone(),
                unit: project.responsible_unit.clone(),
                stage: String::new(),
                parent: r.project_code.clone(),
                year: period.year,
            };
            let outcome = staging.put_dated(
                PROGRESS,
                &key,
                index,
                stored.encode_to_vec(),
                [(period.year, period.month)],
            );
            let findings = progress_findings(&staging, &project, r, &period)?;
            plausibility::require_confirmed(&mut item, &findings, &r.confirmations);
            results.push(result(i, key, outcome));
        }
        finish(violations, staging, results)
    }
}

/// The plausibility findings of a progress report `r` of `project` (its
/// stage as of this push), with the batch staged so far.
fn progress_findings(
    staging: &Staging<'_>,
    project: &v1::Project,
    r: &v1::ProgressReport,
    period: &v1::Period,
) -> Result<Vec<plausibility::Finding>, Error> {
    let mut findings = Vec::new();
    let end = domain::period_end(period);
    let stage = domain::stage_on(project, end);
    if r.investment_completed_yuan > 0 && !domain::is_started(stage) {
        findings.push(plausibility::Finding {
            code: plausibility::INVESTMENT_BEFORE_START,
            field: "investment_completed_yuan",
            text: format!(
                "项目「{}」截至{end}尚未开工（{}），却报送了{}年{}月完成投资{}元",
                project.code,
                domain::stage_zh(stage),
                period.year,
                period.month,
                r.investment_completed_yuan
            ),
        });
    }
    if r.funds_arrived_yuan > 0 && project.promotion.is_none() {
        findings.push(plausibility::Finding {
            code: plausibility::FUNDS_WITHOUT_CONTRACT,
            field: "funds_arrived_yuan",
            text: format!(
                "项目「{}」没有招商合同，却报送了到位资金{}元",
                project.code, r.funds_arrived_yuan
            ),
        });
    }
    if project.planned_total_investment_yuan > 0 {
        let mut total: i128 = 0;
        for bytes in staging.children(PROGRESS, &project.code) {
            let report =
                v1::ProgressReport::decode(bytes).map_err(|e| Error::Internal(format!("stored progress: {e}")))?;
            total += i128::from(report.investment_completed_yuan);
        }
        if total > i128::from(project.planned_total_investment_yuan) {
            findings.push(plausibility::Finding {
                code: plausibility::INVESTMENT_OVER_TOTAL,
                field: "investment_completed_yuan",
                text: format!(
                    "项目「{}」累计完成投资{total}元，超过计划总投资{}元",
                    project.code, project.planned_total_investment_yuan
                ),
            });
        }
    }
    Ok(findings)
}

fn known_indicator<'c>(item: &mut Item<'_>, ctx: &'c Context<'_>, code: &str) -> Option<&'c v1::IndicatorDefinition> {
    if code.is_empty() {
        item.add("indicator_code", "必填，不能为空");
        return None;
    }
    let def = ctx.catalog.iter().find(|d| d.code == code);
    if def.is_none() {
        let names = ctx.catalog.iter().flat_map(|d| [d.code.as_str(), d.name_zh.as_str()]);
        let near = citydash_runtime::suggest::closest(code, names, 3);
        let hint = if near.is_empty() {
            "见 GetCatalog".to_owned()
        } else {
            format!("是否为：{}？", near.join("、"))
        };
        item.add(
            "indicator_code",
            format!("指标「{code}」不在本部门的指标目录中（{hint}）"),
        );
    }
    def
}

/// Plans `ReportIndicators`.
pub struct ReportIndicators<'r>(pub &'r [v1::IndicatorValue]);

/// The month `back` months before `p`.
fn months_before(p: &v1::Period, back: i32) -> v1::Period {
    let total = p.year * 12 + (p.month - 1) - back;
    v1::Period {
        year: total.div_euclid(12),
        month: total.rem_euclid(12) + 1,
    }
}

/// How many months before a value the plausibility checks read: the same
/// month last year, the earlier months of the year, and the 12 months whose
/// own monthly figures (each a difference of two cumulative values) make the
/// history of `growth_outlier`.
const VALUE_HISTORY_MONTHS: i32 = 13;

impl Planner for ReportIndicators<'_> {
    fn keys(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter_map(|v| v.period.as_ref().map(|p| (v, p)))
            .filter(|(_, p)| domain::period_is_valid(p))
            .flat_map(|(v, p)| {
                (0..=VALUE_HISTORY_MONTHS).map(move |back| {
                    (
                        INDICATOR_VALUE.to_owned(),
                        records::value_key(&v.indicator_code, &v.region_code, &months_before(p, back)),
                    )
                })
            })
            .collect()
    }

    fn plan(&self, ctx: &Context<'_>, snapshot: &Snapshot) -> Result<Planned, Error> {
        let mut violations = Violations::new();
        mask::check::<v1::IndicatorValue>(ctx.mask, &[], &mut violations);
        let mut indicators = BTreeSet::new();
        let mut staging = Staging::new(snapshot);
        let mut results = Vec::with_capacity(self.0.len());
        let mut seen = HashMap::new();
        for (i, v) in self.0.iter().enumerate() {
            let mut item = Item::new(&mut violations, "values", i).on(ctx.today);
            known_indicator(&mut item, ctx, &v.indicator_code);
            item.region("region_code", &v.region_code, ctx.regions);
            let period = item.reported_period("period", v.period.as_ref());
            item.non_negative("value", v.value);
            item.known_enum::<v1::ValueStatus>("status", v.status);
            if let Some(bp) = v.official_yoy_growth_bp
                && !(-10_000..=1_000_000).contains(&bp)
            {
                item.add("official_yoy_growth_bp", format!("增速 {bp} 个基点超出合理范围"));
            }
            let Some(period) = period else { continue };
            let key = records::value_key(&v.indicator_code, &v.region_code, &period);
            if duplicate(&mut item, "period", &mut seen, &key, i, "values") {
                continue;
            }
            let index = Index {
                region: v.region_code.clone(),
                unit: String::new(),
                stage: String::new(),
                parent: v.indicator_code.clone(),
                year: period.year,
            };
            let stored = v1::IndicatorValue {
                meta: None,
                // A confirmation belongs to the push that had the finding.
                confirmations: v.confirmations.clone(),
                ..merged(staging.current(INDICATOR_VALUE, &key), v, ctx, &[])?
            };
            let outcome = staging.put_dated(
                INDICATOR_VALUE,
                &key,
                index,
                stored.encode_to_vec(),
                [(period.year, period.month)],
            );
            if let Some(def) = ctx.catalog.iter().find(|d| d.code == v.indicator_code) {
                let findings = value_findings(&staging, def, &stored, &period)?;
                plausibility::require_confirmed(&mut item, &findings, &v.confirmations);
            }
            results.push(result(i, key, outcome));
            indicators.insert(v.indicator_code.clone());
        }
        let mut planned = finish(violations, staging, results)?;
        planned.indicators = indicators;
        Ok(planned)
    }
}

/// The plausibility findings of indicator value `v` (as it will be stored)
/// of `def` at `period`, against the values stored or staged before it.
fn value_findings(
    staging: &Staging<'_>,
    def: &v1::IndicatorDefinition,
    v: &v1::IndicatorValue,
    period: &v1::Period,
) -> Result<Vec<plausibility::Finding>, Error> {
    let at = |p: &v1::Period| -> Result<Option<i64>, Error> {
        match staging.current(INDICATOR_VALUE, &records::value_key(&def.code, &v.region_code, p)) {
            None => Ok(None),
            Some(bytes) => v1::IndicatorValue::decode(bytes)
                .map(|x| Some(x.value))
                .map_err(|e| Error::Internal(format!("stored value: {e}"))),
        }
    };
    let cumulative = def.accumulation == v1::Accumulation::Cumulative as i32;
    let mut findings = Vec::new();
    if cumulative {
        let mut highest: Option<(i32, i64)> = None;
        for m in 1..period.month {
            if let Some(x) = at(&v1::Period {
                year: period.year,
                month: m,
            })? && highest.is_none_or(|(_, h)| x > h)
            {
                highest = Some((m, x));
            }
        }
        if let Some((m, earlier)) = highest
            && v.value < earlier
        {
            findings.push(plausibility::Finding {
                code: plausibility::CUMULATIVE_DECREASED,
                field: "value",
                text: format!(
                    "「{}」{}年1—{}月累计{}{}，低于1—{m}月的{earlier}{}",
                    def.name_zh, period.year, period.month, v.value, def.unit_zh, def.unit_zh
                ),
            });
        }
    }
    let last_year = at(&months_before(period, 12))?;
    if let (Some(bp), Some(prev)) = (v.official_yoy_growth_bp, last_year)
        && prev > 0
    {
        let computed = (v.value as f64 - prev as f64) / prev as f64 * 10_000.0;
        if (f64::from(bp) - computed).abs() > plausibility::OFFICIAL_GROWTH_TOLERANCE_BP {
            findings.push(plausibility::Finding {
                code: plausibility::GROWTH_OUTLIER,
                field: "official_yoy_growth_bp",
                text: format!(
                    "「{}」报送增速{:.1}%，与按上年同期计算的{:.1}%相差超过30个百分点",
                    def.name_zh,
                    f64::from(bp) / 100.0,
                    computed / 100.0
                ),
            });
        }
    }
    // The month's own figure: a level as it is, a cumulative value less the month before.
    let own = |p: &v1::Period, value: Option<i64>| -> Result<Option<f64>, Error> {
        let Some(value) = value else { return Ok(None) };
        if !cumulative || p.month == 1 {
            return Ok(Some(value as f64));
        }
        Ok(at(&months_before(p, 1))?.map(|before| (value - before) as f64))
    };
    let mut history = Vec::with_capacity(12);
    for back in 1..=12 {
        let p = months_before(period, back);
        match own(&p, at(&p)?)? {
            Some(x) => history.push(x),
            None => break,
        }
    }
    if let Some(x) = own(period, Some(v.value))?
        && let Some((median, mad)) = plausibility::is_outlier(x, &history)
    {
        findings.push(plausibility::Finding {
            code: plausibility::GROWTH_OUTLIER,
            field: "value",
            text: format!(
                "「{}」{}年{}月当月值{x:.0}{}，偏离近12个月中位数{median:.0}{}超过{}倍绝对中位差（{mad:.0}）",
                def.name_zh,
                period.year,
                period.month,
                def.unit_zh,
                def.unit_zh,
                plausibility::MAD_LIMIT
            ),
        });
    }
    Ok(findings)
}

/// Plans `SetTargets`.
pub struct SetTargets<'r>(pub &'r [v1::AnnualTarget]);

impl Planner for SetTargets<'_> {
    fn keys(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|t| {
                (
                    TARGET.to_owned(),
                    records::target_key(&t.indicator_code, &t.region_code, t.year),
                )
            })
            .collect()
    }

    fn names_units(&self) -> bool {
        true
    }

    fn plan(&self, ctx: &Context<'_>, snapshot: &Snapshot) -> Result<Planned, Error> {
        let mut violations = Violations::new();
        mask::check::<v1::AnnualTarget>(ctx.mask, &[], &mut violations);
        let mut staging = Staging::new(snapshot);
        let mut results = Vec::with_capacity(self.0.len());
        let mut seen = HashMap::new();
        for (i, t) in self.0.iter().enumerate() {
            let mut item = Item::new(&mut violations, "targets", i).on(ctx.today);
            known_indicator(&mut item, ctx, &t.indicator_code);
            item.region("region_code", &t.region_code, ctx.regions);
            item.year("year", t.year);
            item.non_negative("value", t.value);
            let unit = item.optional_unit("responsible_unit", &t.responsible_unit, &ctx.units);
            let key = records::target_key(&t.indicator_code, &t.region_code, t.year);
            if duplicate(&mut item, "year", &mut seen, &key, i, "targets") {
                continue;
            }
            let index = Index {
                region: t.region_code.clone(),
                unit: String::new(),
                stage: String::new(),
                parent: t.indicator_code.clone(),
                year: t.year,
            };
            let mut stored = v1::AnnualTarget {
                meta: None,
                ..merged(staging.current(TARGET, &key), t, ctx, &[])?
            };
            if let Some(unit) = unit.filter(|_| !t.responsible_unit.trim().is_empty()) {
                stored.responsible_unit = unit;
            }
            let outcome = staging.put(TARGET, &key, index, stored.encode_to_vec());
            results.push(result(i, key, outcome));
        }
        finish(violations, staging, results)
    }
}

/// The `region_code` of a stored record of `kind` (a full message name), read
/// by reflection: a monthly report's planner knows its parent only by kind.
fn region_of(kind: &str, payload: &[u8]) -> Option<String> {
    let desc = citydash_proto::descriptor_pool().get_message_by_name(kind)?;
    let msg = prost_reflect::DynamicMessage::decode(desc, payload).ok()?;
    match &*msg.get_field_by_name("region_code")? {
        prost_reflect::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Plans an upsert of a sector's own entities.
pub struct UpsertEntities<'r, E: SectorEntity> {
    /// The items.
    pub items: &'r [E::Message],
}

impl<E: SectorEntity> Planner for UpsertEntities<'_, E> {
    fn keys(&self) -> Vec<(String, String)> {
        let kind = entity::type_name::<E>();
        let mut keys: Vec<(String, String)> = self.items.iter().map(|e| (kind.clone(), E::key(e))).collect();
        if let Some(parent) = E::parent_kind() {
            keys.extend(self.items.iter().map(|e| (parent.clone(), E::code(e).to_owned())));
        }
        keys
    }

    fn names_units(&self) -> bool {
        true
    }

    fn plan(&self, ctx: &Context<'_>, snapshot: &Snapshot) -> Result<Planned, Error> {
        let kind = entity::type_name::<E>();
        let parent = E::parent_kind();
        let mut violations = Violations::new();
        mask::check::<E::Message>(ctx.mask, &[], &mut violations);
        E::check_batch(self.items, &ctx.units, &mut violations);
        let mut staging = Staging::new(snapshot);
        let mut results = Vec::with_capacity(self.items.len());
        let mut seen = HashMap::new();
        for (i, given) in self.items.iter().enumerate() {
            let code = E::code(given);
            let key = E::key(given);
            let mut item = Item::new(&mut violations, E::FIELD, i).on(ctx.today);
            item.code(E::CODE_FIELD, code);
            if duplicate(&mut item, E::CODE_FIELD, &mut seen, &key, i, E::FIELD) {
                continue;
            }
            let old_region = match staging.current(&kind, &key) {
                Some(bytes) => Some(
                    E::region_code(
                        &E::Message::decode(bytes).map_err(|e| Error::Internal(format!("stored {kind}: {e}")))?,
                    )
                    .to_owned(),
                ),
                None => None,
            };
            let e = &merged(staging.current(&kind, &key), given, ctx, &[])?;
            // A record moved out of a region is a write to that region too.
            if let Some(old) = old_region.filter(|old| old != E::region_code(e)) {
                staging.left_regions.insert(old);
            }
            if let Some(parent) = &parent
                && !code.is_empty()
            {
                let short = parent.rsplit('.').next().unwrap_or(parent);
                match staging.current(parent, code) {
                    None => item.add(E::CODE_FIELD, format!("没有 {short}「{code}」：请先推送它")),
                    // A monthly report belongs to its parent's region, whatever the push says.
                    Some(bytes) => {
                        if let Some(region) = region_of(parent, bytes)
                            && region != E::region_code(e)
                        {
                            item.add(
                                "region_code",
                                format!("「{}」与{short}「{code}」所属区域「{region}」不一致", E::region_code(e)),
                            );
                        }
                    }
                }
            }
            item.region("region_code", E::region_code(e), ctx.regions);
            let unit = if E::resolves_unit() {
                item.unit("responsible_unit", E::responsible_unit(e), &ctx.units)
            } else {
                item.text("responsible_unit", E::responsible_unit(e));
                None
            };
            E::validate(e, &mut item);
            let mut stored = e.clone();
            *E::meta_mut(&mut stored) = None;
            if let Some(unit) = unit {
                E::set_responsible_unit(&mut stored, unit);
            }
            let index = Index {
                region: E::region_code(e).to_owned(),
                unit: E::responsible_unit(&stored).to_owned(),
                stage: String::new(),
                parent: if parent.is_some() {
                    code.to_owned()
                } else {
                    String::new()
                },
                year: E::year(e),
            };
            let outcome = staging.put_dated(&kind, &key, index, stored.encode_to_vec(), E::period(e));
            results.push(result(i, key, outcome));
        }
        finish(violations, staging, results)
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    static CHECKLISTS: std::sync::LazyLock<crate::readiness::Checklists> =
        std::sync::LazyLock::new(crate::readiness::Checklists::default);

    fn ctx(regions: &Regions) -> Context<'_> {
        Context {
            sector: v1::Sector::Agriculture,
            regions,
            catalog: &[],
            mask: None,
            today: NaiveDate::from_ymd_opt(2026, 7, 1).expect("date"),
            units: Default::default(),
            checklists: &CHECKLISTS,
        }
    }

    fn good(i: usize) -> v1::Project {
        v1::Project {
            code: format!("P-{i}"),
            name: "项目".into(),
            region_code: "city".into(),
            responsible_unit: "市农业农村局".into(),
            planned_total_investment_yuan: 1_000_000,
            ..Default::default()
        }
    }

    /// One way to break a project, and the field that must be named.
    fn breakage() -> impl Strategy<Value = (u8, i64)> {
        (0u8..6, any::<i64>())
    }

    fn broken(mut p: v1::Project, (how, n): (u8, i64)) -> (v1::Project, &'static str) {
        match how {
            0 => {
                p.planned_total_investment_yuan = -(n.unsigned_abs() as i64).max(1);
                (p, "planned_total_investment_yuan")
            }
            1 => {
                p.region_code = format!("nowhere{n}");
                (p, "region_code")
            }
            2 => {
                p.code = String::new();
                (p, "code")
            }
            3 => {
                p.stage = ProjectStage::Started as i32;
                p.stage_date = None;
                (p, "stage_date")
            }
            4 => {
                p.planned_start_date = Some(v1::Date {
                    year: 2026,
                    month: ((n.rem_euclid(20)) + 13) as i32,
                    day: 1,
                });
                (p, "planned_start_date")
            }
            _ => {
                p.name = String::new();
                (p, "name")
            }
        }
    }

    /// Other values for every field a partial update may name.
    fn other_values() -> v1::Project {
        v1::Project {
            code: "P-1".into(),
            name: "新名称".into(),
            region_code: "city".into(),
            responsible_unit: "市发改委".into(),
            planned_total_investment_yuan: 7_000_000,
            planned_start_date: Some(v1::Date {
                year: 2026,
                month: 4,
                day: 1,
            }),
            planned_completion_date: Some(v1::Date {
                year: 2028,
                month: 1,
                day: 31,
            }),
            plans: vec![v1::InvestmentPlan {
                year: 2026,
                monthly_plan_yuan: vec![1; 12],
            }],
            promotion: Some(v1::PromotionContract {
                signed_date: Some(v1::Date {
                    year: 2026,
                    month: 2,
                    day: 1,
                }),
                investor: "另一公司".into(),
                contracted_investment_yuan: 1_000_000,
            }),
            ..Default::default()
        }
    }

    /// The fields a partial update names, by path, and how to copy one.
    const FIELDS: [&str; 8] = [
        "name",
        "responsible_unit",
        "planned_total_investment_yuan",
        "planned_start_date",
        "planned_completion_date",
        "plans",
        "promotion",
        "region_code",
    ];

    fn copy(field: &str, from: &v1::Project, to: &mut v1::Project) {
        match field {
            "name" => to.name = from.name.clone(),
            "responsible_unit" => to.responsible_unit = from.responsible_unit.clone(),
            "planned_total_investment_yuan" => to.planned_total_investment_yuan = from.planned_total_investment_yuan,
            "planned_start_date" => to.planned_start_date = from.planned_start_date,
            "planned_completion_date" => to.planned_completion_date = from.planned_completion_date,
            "plans" => to.plans = from.plans.clone(),
            "promotion" => to.promotion = from.promotion.clone(),
            _ => to.region_code = from.region_code.clone(),
        }
    }

    /// The project a plan writes for `item` over [`stored_project`].
    fn planned(item: v1::Project, mask: Option<&prost_types::FieldMask>) -> v1::Project {
        let regions = Regions::default();
        let stored = crate::testdata::stored_project();
        let snapshot = Snapshot::new([StoredRecord {
            kind: PROJECT.to_owned(),
            key: stored.code.clone(),
            version: 1,
            seq: 1,
            payload: stored.encode_to_vec(),
            updated_by: String::new(),
            request_id: String::new(),
            updated_at: 0,
            note: String::new(),
        }]);
        let ctx = Context { mask, ..ctx(&regions) };
        let planned = UpsertProjects(&[item]).plan(&ctx, &snapshot).expect("a valid update");
        match planned.writes.first() {
            Some(w) => v1::Project::decode(w.payload.as_slice()).expect("decodes"),
            None => stored,
        }
    }

    proptest! {
        /// For any subset of a project's fields in an update, with a mask
        /// naming them or without one, the named fields take the new value
        /// and every other field keeps its stored value, even where the
        /// item (with a mask) carries something else for it.
        #[test]
        fn fields_not_named_keep_their_value(named in prop::collection::vec(any::<bool>(), FIELDS.len()), with_mask: bool) {
            let other = other_values();
            let stored = crate::testdata::stored_project();
            let chosen: Vec<&str> = FIELDS.iter().zip(&named).filter(|(_, n)| **n).map(|(f, _)| *f).collect();
            let (item, mask) = if with_mask {
                // Every field carries a new value; only the mask says which count.
                (other.clone(), Some(prost_types::FieldMask { paths: chosen.iter().map(|f| (*f).to_owned()).collect() }))
            } else {
                let mut item = v1::Project { code: stored.code.clone(), ..Default::default() };
                for f in &chosen {
                    copy(f, &other, &mut item);
                }
                (item, None)
            };
            let got = planned(item, mask.as_ref());
            let mut want = stored.clone();
            for f in &chosen {
                copy(f, &other, &mut want);
            }
            prop_assert_eq!(got, want);
        }

        /// Any batch with a broken item is refused as a whole, naming that
        /// item's field, and plans no write at all.
        #[test]
        fn a_broken_item_refuses_the_batch_and_names_its_field(
            size in 1usize..8,
            at in any::<prop::sample::Index>(),
            how in breakage(),
        ) {
            let regions = Regions::default();
            let bad = at.index(size);
            let mut items: Vec<v1::Project> = (0..size).map(good).collect();
            let (item, field) = broken(items[bad].clone(), how);
            items[bad] = item;
            let result = UpsertProjects(&items).plan(&ctx(&regions), &Snapshot::default());
            let Err(Error::Invalid(violations)) = result else {
                return Err(TestCaseError::fail(format!("accepted a broken item: {items:?}")));
            };
            let wanted = format!("projects[{bad}].{field}");
            prop_assert!(violations.iter().any(|v| v.field == wanted), "{:?} lacks {}", violations, wanted);
        }
    }
}
