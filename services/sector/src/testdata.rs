//! Records the unit tests of several modules share.

use citydash_proto::v1;
use citydash_proto::v1::ProjectStage;

/// A project as stored before a partial update: plans, a contract, planned dates.
pub fn stored_project() -> v1::Project {
    v1::Project {
        code: "P-1".into(),
        name: "项目".into(),
        region_code: "city".into(),
        responsible_unit: "市农业农村局".into(),
        planned_total_investment_yuan: 1_000_000,
        planned_start_date: Some(v1::Date {
            year: 2026,
            month: 3,
            day: 1,
        }),
        planned_completion_date: Some(v1::Date {
            year: 2027,
            month: 6,
            day: 30,
        }),
        plans: vec![v1::InvestmentPlan {
            year: 2026,
            monthly_plan_yuan: vec![500_000; 12],
        }],
        promotion: Some(v1::PromotionContract {
            signed_date: Some(v1::Date {
                year: 2026,
                month: 1,
                day: 5,
            }),
            investor: "某公司".into(),
            contracted_investment_yuan: 9_000_000,
        }),
        sector: v1::Sector::Agriculture as i32,
        in_statistics_database: Some(false),
        stage: ProjectStage::Reserve as i32,
        ..Default::default()
    }
}
