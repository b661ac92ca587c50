//! Planning `ReportProgress`: a project's month of investment and funds,
//! its stage moves, and the plausibility findings against its history.

use std::collections::HashMap;

use citydash_proto::v1::{self, ProjectStage};
use citydash_runtime::{Error, Violations};
use prost::Message;

use super::events::*;
use super::staging::*;
use crate::domain::{self};
use crate::mask;
use crate::plausibility;
use crate::records::{self, PROGRESS, PROJECT};
use crate::store::Index;
use crate::validate::Item;

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
pub(super) fn progress_findings(
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
