//! Planning `SetTargets`: an annual target of a known indicator.

use std::collections::HashMap;

use citydash_proto::v1;
use citydash_runtime::{Error, Violations};
use prost::Message;

use super::staging::*;
use crate::mask;
use crate::records::{self, TARGET};
use crate::store::Index;
use crate::validate::Item;

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
