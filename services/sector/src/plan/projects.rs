//! Planning `UpsertProjects`: each project laid over its stored version,
//! validated (dates, plans, readiness against the sector's checklists) and
//! its stage events applied.

use std::collections::{HashMap, HashSet};

use citydash_proto::v1::{self, ProjectStage};
use citydash_runtime::{Error, Violations};
use prost::Message;

use super::events::*;
use super::staging::*;
use crate::mask;
use crate::records::PROJECT;
use crate::validate::Item;

/// A project's kind and readiness items checked against the sector's
/// checklists: a known kind, each document of its checklist at most once.
pub(super) fn readiness(
    item: &mut crate::validate::Item<'_>,
    p: &v1::Project,
    checklists: &crate::readiness::Checklists,
) {
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
pub(super) const PROJECT_SERVER_FIELDS: &[&str] = &["events", "sector"];

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
