//! Planning an upsert of a sector's own entities (and of the city's
//! registers): each laid over its stored version, with a monthly report's
//! parent checked to exist in the same region.

use std::collections::HashMap;

use citydash_runtime::{Error, Violations};
use prost::Message;

use super::staging::*;
use crate::entity::{self, SectorEntity};
use crate::mask;
use crate::store::Index;
use crate::validate::Item;

/// The `region_code` of a stored record of `kind` (a full message name), read
/// by reflection: a monthly report's planner knows its parent only by kind.
pub(super) fn region_of(kind: &str, payload: &[u8]) -> Option<String> {
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
