//! The industry, tourism and social-welfare services over real gRPC: each
//! one's own entities and rules, bad input naming the field and changing
//! nothing, and the change feed carrying the sector's own entities.

use citydash_e2e::fixtures::{date, period, project};
use citydash_e2e::{Running, TestDb, feed, request_id, spawn_sector, violated_fields};
use citydash_industry::Industry;
use citydash_proto::v1::{
    self, industry_service_client::IndustryServiceClient, sector_service_client::SectorServiceClient,
    tourism_service_client::TourismServiceClient, welfare_service_client::WelfareServiceClient,
};
use citydash_sector::spec::SectorSpec;
use citydash_tourism::Tourism;
use citydash_welfare::Welfare;
use prost::{Message, Name};
use tonic::Code;

/// The entities of type `M` on a feed, in order.
fn entities<M: Message + Name + Default>(changes: &[v1::Change]) -> Vec<M> {
    changes
        .iter()
        .filter_map(|c| match c.record.as_ref()?.record.as_ref()? {
            v1::record::Record::Entity(any) if any.type_url == M::type_url() => {
                Some(M::decode(any.value.as_slice()).expect("decodes"))
            }
            _ => None,
        })
        .collect()
}

/// Every sector takes the shared contract too: one project each.
async fn push_project<Spec: SectorSpec>(svc: &Running, code: &str) {
    let mut client = SectorServiceClient::new(svc.channel().await);
    client
        .upsert_projects(v1::UpsertProjectsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            projects: vec![project(code, "city", 10_000_000)],
        })
        .await
        .expect("project");
    let got = client
        .get_project(v1::GetProjectRequest { code: code.into() })
        .await
        .expect("get")
        .into_inner()
        .project
        .expect("project");
    assert_eq!(got.sector, Spec::SECTOR as i32);
    let catalog = client
        .get_catalog(v1::GetCatalogRequest {})
        .await
        .expect("catalog")
        .into_inner();
    assert_eq!(catalog.sector, Spec::SECTOR as i32);
    assert_eq!(catalog.indicators.len(), Spec::CATALOG.len());
    assert!(catalog.indicators.iter().all(|d| d.sector == Spec::SECTOR as i32));
}

fn enterprise(code: &str, status: v1::ScaleStatus) -> v1::IndustrialEnterprise {
    v1::IndustrialEnterprise {
        code: code.into(),
        name: format!("企业 {code}"),
        region_code: "chengguan".into(),
        responsible_unit: "市工信局".into(),
        industry: "农副食品加工业".into(),
        scale_status: status as i32,
        ..Default::default()
    }
}

fn month(code: &str, m: i32, revenue: i64) -> v1::EnterpriseMonth {
    v1::EnterpriseMonth {
        enterprise_code: code.into(),
        period: period(2026, m),
        region_code: "chengguan".into(),
        responsible_unit: "市工信局".into(),
        main_revenue_yuan: revenue,
        output_value_yuan: revenue / 10 * 9,
        meta: None,
    }
}

#[tokio::test]
async fn industry_keeps_the_enterprise_register_and_monthly_figures() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Industry>(&db).await;
    push_project::<Industry>(&svc, "IN-001").await;
    let mut client = IndustryServiceClient::new(svc.channel().await);

    let mut reached = enterprise("E-001", v1::ScaleStatus::AboveScale);
    reached.reached_scale_date = date(2026, 4, 1);
    let mut candidate = enterprise("E-002", v1::ScaleStatus::Candidate);
    candidate.expected_year = 2026;
    client
        .upsert_enterprises(v1::UpsertEnterprisesRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            enterprises: vec![reached, candidate.clone()],
        })
        .await
        .expect("register");

    // A candidate cannot have reached scale; an above-scale firm has no expected year.
    let mut wrong = candidate.clone();
    wrong.code = "E-003".into();
    wrong.reached_scale_date = date(2026, 5, 1);
    let mut wrong2 = enterprise("E-004", v1::ScaleStatus::AboveScale);
    wrong2.expected_year = 2027;
    let unset = enterprise("E-005", v1::ScaleStatus::Unspecified);
    let err = client
        .upsert_enterprises(v1::UpsertEnterprisesRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            enterprises: vec![wrong, wrong2, unset],
        })
        .await
        .expect_err("bad register");
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        [
            "enterprises[0].reached_scale_date",
            "enterprises[1].expected_year",
            "enterprises[2].scale_status"
        ]
    );

    // Monthly figures: negative revenue and an unknown enterprise are refused, all or nothing.
    let err = client
        .report_enterprise_months(v1::ReportEnterpriseMonthsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            months: vec![
                month("E-001", 1, 3_000_000),
                month("E-001", 2, -1),
                month("E-999", 2, 1),
            ],
        })
        .await
        .expect_err("bad months");
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, ["months[1].main_revenue_yuan", "months[2].enterprise_code"]);
    client
        .report_enterprise_months(v1::ReportEnterpriseMonthsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            months: (1..=6)
                .map(|m| month("E-001", m, 2_000_000 + i64::from(m) * 100_000))
                .collect(),
        })
        .await
        .expect("months");
    let listed = client
        .list_enterprise_months(v1::ListEnterpriseMonthsRequest {
            enterprise_code: "E-001".into(),
            year: 2026,
            page_size: 4,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.months.len(), 4);
    assert_eq!(listed.months[0].main_revenue_yuan, 2_100_000);
    assert!(!listed.next_page_token.is_empty());

    let changes = feed(&svc).await;
    let register: Vec<v1::IndustrialEnterprise> = entities(&changes);
    assert_eq!(
        register.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(),
        ["E-001", "E-002"]
    );
    let months: Vec<v1::EnterpriseMonth> = entities(&changes);
    assert_eq!(months.len(), 6);
    assert_eq!(
        changes.len(),
        1 + 2 + 6,
        "project, register, months; nothing from refused batches"
    );
    svc.stop().await;
}

fn area(code: &str, level: v1::ScenicLevel, target: v1::ScenicLevel) -> v1::ScenicArea {
    v1::ScenicArea {
        code: code.into(),
        name: format!("景区 {code}"),
        region_code: "dongcheng".into(),
        responsible_unit: "市文旅局".into(),
        level: level as i32,
        target_level: target as i32,
        target_year: if target == v1::ScenicLevel::Unspecified {
            0
        } else {
            2026
        },
        meta: None,
    }
}

#[tokio::test]
async fn tourism_keeps_scenic_areas_under_creation_and_their_months() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Tourism>(&db).await;
    push_project::<Tourism>(&svc, "TO-001").await;
    let mut client = TourismServiceClient::new(svc.channel().await);
    client
        .upsert_scenic_areas(v1::UpsertScenicAreasRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            areas: vec![
                area("S-01", v1::ScenicLevel::A3, v1::ScenicLevel::A4),
                area("S-02", v1::ScenicLevel::None, v1::ScenicLevel::Unspecified),
            ],
        })
        .await
        .expect("areas");
    let err = client
        .upsert_scenic_areas(v1::UpsertScenicAreasRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            areas: vec![
                area("S-03", v1::ScenicLevel::A4, v1::ScenicLevel::A3),
                area("S-04", v1::ScenicLevel::A4, v1::ScenicLevel::A4),
                area("S-05", v1::ScenicLevel::Unspecified, v1::ScenicLevel::Unspecified),
            ],
        })
        .await
        .expect_err("targets not above");
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        ["areas[0].target_level", "areas[1].target_level", "areas[2].level"]
    );

    let scenic_month = |m: i32, visitors: i64| v1::ScenicMonth {
        scenic_area_code: "S-01".into(),
        period: period(2026, m),
        region_code: "dongcheng".into(),
        responsible_unit: "市文旅局".into(),
        visitors,
        revenue_yuan: visitors * 150,
        meta: None,
    };
    let err = client
        .report_scenic_months(v1::ReportScenicMonthsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            months: vec![scenic_month(5, -3)],
        })
        .await
        .expect_err("negative visitors");
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, ["months[0].revenue_yuan", "months[0].visitors"]);
    client
        .report_scenic_months(v1::ReportScenicMonthsRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            months: vec![scenic_month(5, 42_000), scenic_month(6, 61_000)],
        })
        .await
        .expect("months");
    let under_creation = client
        .list_scenic_areas(v1::ListScenicAreasRequest {
            region_code: "dongcheng".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .areas;
    assert_eq!(under_creation.len(), 2);
    assert_eq!(under_creation[0].target_level, v1::ScenicLevel::A4 as i32);

    let changes = feed(&svc).await;
    let months: Vec<v1::ScenicMonth> = entities(&changes);
    assert_eq!(months.iter().map(|m| m.visitors).collect::<Vec<_>>(), [42_000, 61_000]);
    assert_eq!(entities::<v1::ScenicArea>(&changes).len(), 2);
    svc.stop().await;
}

fn task(code: &str, status: v1::TaskStatus, done: Option<v1::Date>) -> v1::WelfareTask {
    v1::WelfareTask {
        code: code.into(),
        title: format!("任务 {code}"),
        region_code: "xiang".into(),
        responsible_unit: "市乡村振兴局".into(),
        kind: v1::TaskKind::Campaign as i32,
        campaign: "第三个百日会战".into(),
        open_date: date(2026, 4, 1),
        deadline: date(2026, 7, 10),
        status: status as i32,
        done_date: done,
        meta: None,
    }
}

#[tokio::test]
async fn welfare_keeps_campaign_tasks_with_deadlines_and_status() {
    let db = TestDb::new().await;
    let svc = spawn_sector::<Welfare>(&db).await;
    push_project::<Welfare>(&svc, "WF-HOSPITAL").await;
    let mut client = WelfareServiceClient::new(svc.channel().await);
    let mut rectification = task("R-01", v1::TaskStatus::InProgress, None);
    rectification.kind = v1::TaskKind::Rectification as i32;
    rectification.responsible_unit = "市民政局".into();
    client
        .upsert_tasks(v1::UpsertTasksRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            tasks: vec![task("T-01", v1::TaskStatus::Done, date(2026, 6, 20)), rectification],
        })
        .await
        .expect("tasks");

    let mut early_deadline = task("T-03", v1::TaskStatus::Open, None);
    early_deadline.deadline = date(2026, 3, 1);
    let err = client
        .upsert_tasks(v1::UpsertTasksRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            tasks: vec![
                task("T-02", v1::TaskStatus::Done, date(2026, 3, 31)),
                early_deadline,
                task("T-04", v1::TaskStatus::Done, None),
                task("T-05", v1::TaskStatus::Open, date(2026, 5, 1)),
            ],
        })
        .await
        .expect_err("bad tasks");
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        [
            "tasks[0].done_date",
            "tasks[1].deadline",
            "tasks[2].done_date",
            "tasks[3].done_date"
        ]
    );
    assert!(err.message().contains("之前完成"), "{}", err.message());

    let by_unit = client
        .list_tasks(v1::ListTasksRequest {
            responsible_unit: "市民政局".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .tasks;
    assert_eq!(by_unit.iter().map(|t| t.code.as_str()).collect::<Vec<_>>(), ["R-01"]);

    // Closing the rectification item is a new version on the feed.
    let mut closed = by_unit[0].clone();
    closed.status = v1::TaskStatus::Done as i32;
    closed.done_date = date(2026, 6, 28);
    client
        .upsert_tasks(v1::UpsertTasksRequest {
            update_mask: None,
            request_id: request_id(),
            validate_only: false,
            correction_reason: String::new(),
            tasks: vec![closed],
        })
        .await
        .expect("close");
    let tasks: Vec<v1::WelfareTask> = entities(&feed(&svc).await);
    let versions: Vec<(String, i64)> = tasks
        .iter()
        .map(|t| (t.code.clone(), t.meta.as_ref().map_or(0, |m| m.version)))
        .collect();
    assert_eq!(
        versions,
        [("T-01".to_owned(), 1), ("R-01".to_owned(), 1), ("R-01".to_owned(), 2)]
    );
    svc.stop().await;
}
