//! The unit registry's own records: responsible units kept by the city
//! engine as records like any other (versions, audit, idempotency, the
//! change feed), and the checks of a registration against the registry.
//! Above `units` (the registry as read) and `entity` (how a record kind is
//! kept), so neither points back here.

use citydash_proto::v1;

use std::sync::Arc;

use crate::entity::SectorEntity;
use crate::units::{Loader, Units, spellings};
use crate::validate::Item;

/// Responsible units as records of the city engine: versions, audit,
/// idempotency and the change feed like every other record.
pub struct UnitRecords;

impl SectorEntity for UnitRecords {
    type Message = v1::ResponsibleUnit;
    const FIELD: &'static str = "units";

    fn code(m: &Self::Message) -> &str {
        &m.code
    }

    /// A unit belongs to the city as a whole.
    fn region_code(_m: &Self::Message) -> &str {
        "city"
    }

    /// A unit answers for itself.
    fn responsible_unit(m: &Self::Message) -> &str {
        &m.code
    }

    /// A unit's own code is not resolved: it is the key.
    fn set_responsible_unit(_m: &mut Self::Message, _unit: String) {}

    fn resolves_unit() -> bool {
        false
    }

    fn meta_mut(m: &mut Self::Message) -> &mut Option<v1::RecordMeta> {
        &mut m.meta
    }

    fn check_batch(items: &[Self::Message], units: &Units, violations: &mut citydash_runtime::Violations) {
        check_registration(items, units, violations);
    }

    fn validate(m: &Self::Message, item: &mut Item<'_>) {
        item.text("name_zh", &m.name_zh);
        for (i, s) in m.short_names.iter().enumerate() {
            item.text(&format!("short_names[{i}]"), s);
        }
        for (i, s) in m.aliases.iter().enumerate() {
            item.text(&format!("aliases[{i}]"), s);
        }
        item.optional_text("notification_address", &m.notification_address);
        if m.parent_code == m.code && !m.code.is_empty() {
            item.add("parent_code", "单位不能隶属于自身");
        }
    }
}

/// The checks of a registration against the registry (`units`, as last read)
/// and the rest of the batch: a parent is registered, and no name, short
/// name or alias belongs to another unit, so every name resolves to one code.
pub fn check_registration(batch: &[v1::ResponsibleUnit], units: &Units, violations: &mut citydash_runtime::Violations) {
    let mut after = units.clone();
    for u in batch {
        after.insert(u.clone());
    }
    for (i, u) in batch.iter().enumerate() {
        let mut item = Item::new(violations, "units", i);
        if !u.parent_code.is_empty() && after.get(&u.parent_code).is_none() {
            item.add("parent_code", format!("上级单位「{}」未登记", u.parent_code));
        }
        let named = [("name_zh", u.name_zh.as_str())]
            .into_iter()
            .chain(u.short_names.iter().map(|s| ("short_names", s.as_str())))
            .chain(u.aliases.iter().map(|s| ("aliases", s.as_str())));
        for (field, name) in named {
            let owners: Vec<&str> = batch
                .iter()
                .chain(units.all().filter(|o| !batch.iter().any(|b| b.code == o.code)))
                .filter(|o| o.code != u.code && spellings(o).any(|s| s.trim() == name.trim()))
                .map(|o| o.code.as_str())
                .collect();
            if let Some(other) = owners.first() {
                item.add(
                    field,
                    format!("名称「{name}」已属于单位「{other}」，同一名称只能指向一个单位"),
                );
            }
        }
    }
}

/// Reads the registry from `store`, the city engine's own (the aggregator
/// hosts the registry; the sectors read it over gRPC).
pub fn units_in_store<S: crate::store::Store>(store: S) -> Loader {
    Arc::new(move || {
        let store = store.clone();
        Box::pin(async move {
            let kind = crate::entity::type_name::<UnitRecords>();
            let mut units = Vec::new();
            let mut after_key = String::new();
            loop {
                let page = store
                    .list(&crate::store::ListQuery {
                        kind: kind.clone(),
                        filter: crate::store::Index::default(),
                        after_key: after_key.clone(),
                        limit: 1000,
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                let Some(last) = page.last() else {
                    return Ok(units);
                };
                after_key = last.key.clone();
                for r in &page {
                    units.push(crate::entity::decode::<UnitRecords>(r).map_err(|e| e.to_string())?);
                }
            }
        })
    })
}
