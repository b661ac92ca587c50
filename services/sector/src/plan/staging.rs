//! What every planner shares: the context it may look at, the snapshot of
//! stored records it reads, the staging of the batch's writes (so a later
//! item sees an earlier one's effect), and the per-item results.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use citydash_proto::v1::{self, ProjectStage, WriteOutcome};
use citydash_runtime::{Error, Violations};
use prost::Message;

use crate::domain::Regions;
use crate::mask;
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
    /// Who writes: a planner that [`Planner::authorizes`] checks it.
    pub principal: &'a citydash_runtime::Principal,
}

/// `given` laid over the latest content of the record, if there is one
/// (see [`crate::mask`]).
pub(super) fn merged<M: Message + prost::Name + Default + Clone>(
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

    /// The stored record of `kind` and `key`, if the plan asked for it and it exists.
    pub fn get(&self, kind: &str, key: &str) -> Option<&StoredRecord> {
        self.records.get(&(kind.to_owned(), key.to_owned()))
    }

    /// The stored children of `parent`, as loaded.
    pub(super) fn children(&self, kind: &str, parent: &str) -> &[StoredRecord] {
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
    /// Whether the plan authorizes the caller itself, from the records it
    /// reads (a supervision order is answered by its own unit, whatever
    /// service hosts it): the engine then skips its sector check, and the
    /// planner's PERMISSION_DENIED is audited like every refusal.
    fn authorizes(&self) -> bool {
        false
    }
    /// Validates and plans against `snapshot`.
    fn plan(&self, ctx: &Context<'_>, snapshot: &Snapshot) -> Result<Planned, Error>;
}

/// A staged record: filter columns, payload, the periods it falls in.
type Staged = (Index, Vec<u8>, BTreeSet<(i32, i32)>);

/// Records staged during planning: the latest content of each touched key.
pub(super) struct Staging<'s> {
    snapshot: &'s Snapshot,
    staged: HashMap<(String, String), Staged>,
    order: Vec<(String, String)>,
    /// Regions a changed record leaves (a project moved to another region).
    pub(super) left_regions: BTreeSet<String>,
}

impl<'s> Staging<'s> {
    pub(super) fn new(snapshot: &'s Snapshot) -> Self {
        Self {
            snapshot,
            staged: HashMap::new(),
            order: Vec::new(),
            left_regions: BTreeSet::new(),
        }
    }

    /// The latest content of a record: staged in this batch, else stored.
    pub(super) fn current(&self, kind: &str, key: &str) -> Option<&[u8]> {
        let k = (kind.to_owned(), key.to_owned());
        match self.staged.get(&k) {
            Some((_, payload, _)) => Some(payload),
            None => self.snapshot.get(kind, key).map(|r| r.payload.as_slice()),
        }
    }

    /// The latest content of every child of `parent` (records of `kind` keyed
    /// `PARENT/…`): the snapshot's, with this batch's staged ones over them.
    pub(super) fn children(&self, kind: &str, parent: &str) -> Vec<&[u8]> {
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
    pub(super) fn put(&mut self, kind: &str, key: &str, index: Index, payload: Vec<u8>) -> (WriteOutcome, i64) {
        self.put_dated(kind, key, index, payload, [])
    }

    /// Stages new content that falls in `periods` (year, month).
    pub(super) fn put_dated(
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
    pub(super) fn into_writes(self) -> (Vec<RecordWrite>, BTreeSet<String>, BTreeSet<(i32, i32)>) {
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
                    created_at: original.map(|r| r.created_at),
                })
            })
            .collect();
        (writes, regions, periods)
    }
}

pub(super) fn result(index: usize, key: String, (outcome, version): (WriteOutcome, i64)) -> v1::WriteResult {
    v1::WriteResult {
        index: index as i32,
        key,
        outcome: outcome as i32,
        version,
    }
}

pub(super) fn finish(
    violations: Violations,
    staging: Staging<'_>,
    results: Vec<v1::WriteResult>,
) -> Result<Planned, Error> {
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

pub(super) fn project_index(p: &v1::Project) -> Index {
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

pub(super) fn decode_project(payload: &[u8]) -> Result<v1::Project, Error> {
    v1::Project::decode(payload).map_err(|e| Error::Internal(format!("stored project: {e}")))
}

/// Notes a second item with the same key in one batch.
pub(super) fn duplicate(
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

pub(super) fn known_indicator<'c>(
    item: &mut Item<'_>,
    ctx: &'c Context<'_>,
    code: &str,
) -> Option<&'c v1::IndicatorDefinition> {
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
