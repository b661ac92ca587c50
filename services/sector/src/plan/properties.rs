//! Properties of the planners over generated batches.

use proptest::prelude::*;

use chrono::NaiveDate;
use citydash_proto::v1::{self, ProjectStage};
use citydash_runtime::Error;
use prost::Message;

use crate::domain::Regions;
use crate::records::PROJECT;
use crate::store::StoredRecord;

use super::staging::*;
use super::*;

static CHECKLISTS: std::sync::LazyLock<crate::readiness::Checklists> =
    std::sync::LazyLock::new(crate::readiness::Checklists::default);
static WRITER: std::sync::LazyLock<citydash_runtime::Principal> =
    std::sync::LazyLock::new(citydash_runtime::Principal::anonymous);

fn ctx(regions: &Regions) -> Context<'_> {
    Context {
        sector: v1::Sector::Agriculture,
        regions,
        catalog: &[],
        mask: None,
        today: NaiveDate::from_ymd_opt(2026, 7, 1).expect("date"),
        units: Default::default(),
        checklists: &CHECKLISTS,
        principal: &WRITER,
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
        created_at: 0,
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
