//! Fuzzes write validation: any bytes, decoded as one of the sector write
//! requests, planned against a sector that already holds two projects.
//! Planning must never panic; a refusal must name fields of items that exist;
//! an accepted batch must answer every item, and pushing it again onto the
//! state it produced must write nothing (a retry never counts twice).

#![no_main]

use citydash_agriculture::Agriculture;
use citydash_proto::v1;
use citydash_runtime::Error;
use citydash_sector::domain::Regions;
use citydash_sector::plan::{Context, Planner, ReportIndicators, ReportProgress, SetTargets, Snapshot, UpsertProjects};
use citydash_sector::spec::SectorSpec;
use citydash_sector::store::{RecordWrite, StoredRecord};
use libfuzzer_sys::fuzz_target;
use prost::Message;

/// The records `writes` leave behind on top of `base`.
fn apply(base: &[StoredRecord], writes: &[RecordWrite]) -> Vec<StoredRecord> {
    let mut records = base.to_vec();
    for w in writes {
        records.retain(|r| !(r.kind == w.kind && r.key == w.key));
        records.push(StoredRecord {
            kind: w.kind.clone(),
            key: w.key.clone(),
            version: w.expected_version + 1,
            seq: 0,
            payload: w.payload.clone(),
            updated_by: String::new(),
            request_id: String::new(),
            updated_at: 0,
            note: String::new(),
            created_at: 0,
        });
    }
    records
}

/// Plans `planner` (a batch of `items` items under `list`) on `base`, and
/// checks what a sector agency is promised.
fn check(planner: &dyn Planner, list: &str, items: usize, ctx: &Context<'_>, base: &[StoredRecord]) {
    match planner.plan(ctx, &Snapshot::new(base.to_vec())) {
        Ok(planned) => {
            assert_eq!(planned.results.len(), items, "one result per item");
            let after = apply(base, &planned.writes);
            let again = planner
                .plan(ctx, &Snapshot::new(after.clone()))
                .expect("a batch accepted once is accepted again");
            assert!(
                again.writes.is_empty(),
                "a repeated batch wrote again: {:?}",
                again.writes.iter().map(|w| &w.key).collect::<Vec<_>>()
            );
        }
        Err(Error::Invalid(violations)) => {
            assert!(!violations.is_empty(), "a refusal names at least one field");
            for v in &violations {
                let index = v
                    .field
                    .strip_prefix(list)
                    .and_then(|rest| rest.strip_prefix('['))
                    .and_then(|rest| rest.split_once(']'))
                    .and_then(|(i, _)| i.parse::<usize>().ok());
                assert!(
                    index.is_some_and(|i| i < items),
                    "violation {:?} names no item of {items} under {list}",
                    v.field
                );
                assert!(!v.description.is_empty(), "violation {:?} says nothing", v.field);
            }
        }
        Err(Error::FailedPrecondition { .. } | Error::NotFound(_)) => {}
        Err(other) => panic!("planning failed unexpectedly: {other:?}"),
    }
}

fn project(code: &str) -> v1::Project {
    v1::Project {
        code: code.to_owned(),
        name: "高标准农田".to_owned(),
        region_code: "city".to_owned(),
        responsible_unit: "市农业农村局".to_owned(),
        planned_total_investment_yuan: 10_000_000,
        ..Default::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((which, bytes)) = data.split_first() else {
        return;
    };
    let regions = Regions::default();
    let catalog = Agriculture::catalog();
    let checklists = citydash_sector::readiness::Checklists::default();
    let writer = citydash_runtime::Principal::anonymous();
    let ctx = Context {
        sector: v1::Sector::Agriculture,
        regions: &regions,
        catalog: &catalog,
        mask: None,
        today: citydash_sector::domain::city_today(),
        units: Default::default(),
        checklists: &checklists,
        principal: &writer,
    };
    // Two projects the reports can refer to.
    let known = [project("AG-1"), project("AG-2")];
    let base = apply(
        &[],
        &UpsertProjects(&known)
            .plan(&ctx, &Snapshot::default())
            .expect("the base projects are valid")
            .writes,
    );
    match which % 4 {
        0 => {
            if let Ok(r) = v1::UpsertProjectsRequest::decode(bytes) {
                check(&UpsertProjects(&r.projects), "projects", r.projects.len(), &ctx, &base);
            }
        }
        1 => {
            if let Ok(r) = v1::ReportProgressRequest::decode(bytes) {
                check(&ReportProgress(&r.reports), "reports", r.reports.len(), &ctx, &base);
            }
        }
        2 => {
            if let Ok(r) = v1::ReportIndicatorsRequest::decode(bytes) {
                check(&ReportIndicators(&r.values), "values", r.values.len(), &ctx, &base);
            }
        }
        _ => {
            if let Ok(r) = v1::SetTargetsRequest::decode(bytes) {
                check(&SetTargets(&r.targets), "targets", r.targets.len(), &ctx, &base);
            }
        }
    }
});
