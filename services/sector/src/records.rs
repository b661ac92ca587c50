//! How each kind of record is named, keyed and turned back into its proto
//! form. The natural keys here are the ones clients pass to ListRevisions.

use citydash_proto::v1::{self, record};
use prost::Message;

use crate::store::{StoreError, StoredRecord};

/// Kind of a project record.
pub const PROJECT: &str = "project";
/// Kind of a monthly progress report.
pub const PROGRESS: &str = "progress";
/// Kind of an indicator value.
pub const INDICATOR_VALUE: &str = "indicator_value";
/// Kind of an annual target.
pub const TARGET: &str = "target";

/// Key of a progress report: `CODE/2026-06`.
pub fn progress_key(project_code: &str, period: &v1::Period) -> String {
    format!("{project_code}/{:04}-{:02}", period.year, period.month)
}

/// Key of an indicator value: `INDICATOR/REGION/2026-06`.
pub fn value_key(indicator: &str, region: &str, period: &v1::Period) -> String {
    format!("{indicator}/{region}/{:04}-{:02}", period.year, period.month)
}

/// Key of an annual target: `INDICATOR/REGION/2026`.
pub fn target_key(indicator: &str, region: &str, year: i32) -> String {
    format!("{indicator}/{region}/{year:04}")
}

/// A timestamp from unix microseconds.
pub fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

/// The meta of a stored version.
pub fn meta(stored: &StoredRecord) -> v1::RecordMeta {
    v1::RecordMeta {
        version: stored.version,
        update_time: Some(timestamp(stored.updated_at)),
        updated_by: stored.updated_by.clone(),
        request_id: stored.request_id.clone(),
        sequence: stored.seq,
        correction_reason: stored.note.clone(),
        create_time: Some(timestamp(stored.created_at)),
    }
}

fn decode<M: Message + Default>(stored: &StoredRecord) -> Result<M, StoreError> {
    M::decode(stored.payload.as_slice())
        .map_err(|e| StoreError::Corrupt(format!("{} {}: {e}", stored.kind, stored.key)))
}

/// A stored project with its meta.
pub fn project(stored: &StoredRecord) -> Result<v1::Project, StoreError> {
    let mut p: v1::Project = decode(stored)?;
    p.meta = Some(meta(stored));
    Ok(p)
}

/// A stored progress report with its meta.
pub fn progress(stored: &StoredRecord) -> Result<v1::ProgressReport, StoreError> {
    let mut p: v1::ProgressReport = decode(stored)?;
    p.meta = Some(meta(stored));
    Ok(p)
}

/// A stored indicator value with its meta.
pub fn indicator_value(stored: &StoredRecord) -> Result<v1::IndicatorValue, StoreError> {
    let mut v: v1::IndicatorValue = decode(stored)?;
    v.meta = Some(meta(stored));
    Ok(v)
}

/// A stored target with its meta.
pub fn target(stored: &StoredRecord) -> Result<v1::AnnualTarget, StoreError> {
    let mut t: v1::AnnualTarget = decode(stored)?;
    t.meta = Some(meta(stored));
    Ok(t)
}

/// Attaches meta to a sector entity's payload and packs it as `Any`.
pub type EntityPacker = fn(&StoredRecord) -> Result<prost_types::Any, StoreError>;

/// The proto [`v1::Record`] of a stored version; `entities` packs sector entities.
pub fn to_record(
    stored: &StoredRecord,
    pack_entity: impl Fn(&StoredRecord) -> Option<Result<prost_types::Any, StoreError>>,
) -> Result<v1::Record, StoreError> {
    let inner = match stored.kind.as_str() {
        PROJECT => record::Record::Project(project(stored)?),
        PROGRESS => record::Record::Progress(progress(stored)?),
        INDICATOR_VALUE => record::Record::IndicatorValue(indicator_value(stored)?),
        TARGET => record::Record::Target(target(stored)?),
        other => match pack_entity(stored) {
            Some(any) => record::Record::Entity(any?),
            None => {
                return Err(StoreError::Corrupt(format!("unknown record kind {other:?}")));
            }
        },
    };
    Ok(v1::Record { record: Some(inner) })
}
