//! Arbitrary projects for the property tests of the formulas: any mix of
//! stages reached in any month, statistics flags, sizes on both sides of the
//! qualifying line, monthly plans met or not, promotion contracts.

use citydash_proto::v1::{self, ProjectStage, project_event::Event, record::Record};
use proptest::prelude::*;

use crate::model::CityModel;

/// One project: (sector 1–4, month of its events, stages reached (0 =
/// declared … 3 = suspended), plan multiple (0 = no plan), in the
/// statistics, planned total yuan, promotion contract signed).
pub type Spec = (i32, i32, usize, i64, bool, i64, bool);

/// Up to `max` projects.
pub fn projects(max: usize) -> impl Strategy<Value = Vec<Spec>> {
    proptest::collection::vec(spec(), 0..max)
}

/// One project.
pub fn spec() -> impl Strategy<Value = Spec> {
    (
        1..=4i32,
        1..=12i32,
        0..4usize,
        0..3i64,
        any::<bool>(),
        0..20_000_000i64,
        any::<bool>(),
    )
}

fn date(month: i32, day: i32) -> Option<v1::Date> {
    Some(v1::Date { year: 2026, month, day })
}

/// The feed changes that put project `P{i}` as `spec` describes into a
/// model: the project, then one month of its progress; with its sector.
pub fn changes(i: usize, spec: &Spec) -> [(i32, v1::Change); 2] {
    let &(sector, month, reached, plan_x, in_stats, planned, signed) = spec;
    let stages = [
        ProjectStage::Declared,
        ProjectStage::Funded,
        ProjectStage::Started,
        ProjectStage::Suspended,
    ];
    let mut events: Vec<v1::ProjectEvent> = stages[..=reached]
        .iter()
        .map(|s| v1::ProjectEvent {
            date: date(month, 1),
            event: Some(Event::Stage(*s as i32)),
        })
        .collect();
    if in_stats {
        events.push(v1::ProjectEvent {
            date: date(month, 2),
            event: Some(Event::InStatisticsDatabase(true)),
        });
    }
    let code = format!("P{i}");
    let project = v1::Project {
        code: code.clone(),
        responsible_unit: format!("unit {}", i % 3),
        planned_total_investment_yuan: planned,
        planned_start_date: date(month, 10),
        plans: vec![v1::InvestmentPlan {
            year: 2026,
            monthly_plan_yuan: vec![planned / 12 * plan_x; 12],
        }],
        promotion: signed.then(|| v1::PromotionContract {
            signed_date: date(month, 3),
            investor: "investor".to_owned(),
            contracted_investment_yuan: planned,
        }),
        events,
        ..Default::default()
    };
    let change = |r| v1::Change {
        record: Some(v1::Record { record: Some(r) }),
        ..Default::default()
    };
    let progress = v1::ProgressReport {
        project_code: code,
        period: Some(v1::Period { year: 2026, month }),
        investment_completed_yuan: planned / 10,
        funds_arrived_yuan: planned / 20,
        ..Default::default()
    };
    [
        (sector, change(Record::Project(project))),
        (sector, change(Record::Progress(progress))),
    ]
}

/// A model holding `projects`, project `i` as [`changes`] puts it.
pub fn model(projects: &[Spec]) -> CityModel {
    let mut model = CityModel::default();
    for (i, spec) in projects.iter().enumerate() {
        for (sector, change) in changes(i, spec) {
            model.apply(sector, &change);
        }
    }
    model
}
