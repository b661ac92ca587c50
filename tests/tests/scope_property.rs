//! The property of issue 22, item 1, over every record kind a sector keeps:
//! whatever a region-scoped token sends for a record of another region (the
//! record moved into its own region, rewritten in place, or sent unchanged;
//! a monthly report naming the token's region), the push is refused and the
//! stored record stays as it was.

use citydash_e2e::fixtures::{period, progress, project, started};
use citydash_e2e::{Sectors, request_id, token};
use citydash_proto::v1::{
    self, agriculture_service_client::AgricultureServiceClient, industry_service_client::IndustryServiceClient,
    sector_service_client::SectorServiceClient, tourism_service_client::TourismServiceClient,
    welfare_service_client::WelfareServiceClient,
};
use citydash_runtime::auth::{AuthedChannel, Role};
use proptest::prelude::*;
use tonic::Code;

/// Every record kind a push can write, by the service that keeps it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Project,
    Progress,
    ProductionBase,
    LeadingEnterprise,
    Enterprise,
    EnterpriseMonth,
    ScenicArea,
    ScenicMonth,
    Task,
}

const KINDS: [Kind; 9] = [
    Kind::Project,
    Kind::Progress,
    Kind::ProductionBase,
    Kind::LeadingEnterprise,
    Kind::Enterprise,
    Kind::EnterpriseMonth,
    Kind::ScenicArea,
    Kind::ScenicMonth,
    Kind::Task,
];

impl Kind {
    /// The sector (index into `Sectors::services`) and its agency.
    fn sector(self) -> (usize, &'static str) {
        match self {
            Kind::Project | Kind::Progress | Kind::ProductionBase | Kind::LeadingEnterprise => (0, "agriculture"),
            Kind::Enterprise | Kind::EnterpriseMonth => (1, "industry"),
            Kind::ScenicArea | Kind::ScenicMonth => (2, "tourism"),
            Kind::Task => (3, "welfare"),
        }
    }
}

fn ids() -> (String, bool, String) {
    (request_id(), false, String::new())
}

/// Writes record `code` of `kind` in `region` with the figure `n`
/// (creating its parent first, for a monthly report, when `parent`).
async fn write(
    ch: AuthedChannel,
    kind: Kind,
    code: &str,
    region: &str,
    n: i64,
    parent: bool,
) -> Result<(), tonic::Status> {
    let (request_id, validate_only, correction_reason) = ids();
    let unit = "市农业农村局".to_owned();
    match kind {
        Kind::Project => SectorServiceClient::new(ch)
            .upsert_projects(v1::UpsertProjectsRequest {
                request_id,
                validate_only,
                correction_reason,
                update_mask: None,
                projects: vec![started(project(code, region, 10_000_000 + n))],
            })
            .await
            .map(|_| ()),
        Kind::Progress => {
            if parent {
                Box::pin(write(ch.clone(), Kind::Project, code, region, 0, false)).await?;
            }
            SectorServiceClient::new(ch)
                .report_progress(v1::ReportProgressRequest {
                    request_id,
                    validate_only,
                    correction_reason,
                    update_mask: None,
                    reports: vec![progress(code, 2026, 3, 100_000 + n)],
                })
                .await
                .map(|_| ())
        }
        Kind::ProductionBase => AgricultureServiceClient::new(ch)
            .upsert_production_bases(v1::UpsertProductionBasesRequest {
                request_id,
                validate_only,
                correction_reason,
                update_mask: None,
                bases: vec![v1::ProductionBase {
                    code: code.into(),
                    name: "青稞基地".into(),
                    region_code: region.into(),
                    responsible_unit: unit,
                    product: "青稞".into(),
                    area_mu: 1_000 + n,
                    ..Default::default()
                }],
            })
            .await
            .map(|_| ()),
        Kind::LeadingEnterprise => AgricultureServiceClient::new(ch)
            .upsert_leading_enterprises(v1::UpsertLeadingEnterprisesRequest {
                request_id,
                validate_only,
                correction_reason,
                update_mask: None,
                enterprises: vec![v1::LeadingEnterprise {
                    code: code.into(),
                    name: "龙头企业".into(),
                    region_code: region.into(),
                    responsible_unit: unit,
                    level: v1::EnterpriseLevel::Provincial as i32,
                    annual_revenue_yuan: 1_000 + n,
                    ..Default::default()
                }],
            })
            .await
            .map(|_| ()),
        Kind::Enterprise => IndustryServiceClient::new(ch)
            .upsert_enterprises(v1::UpsertEnterprisesRequest {
                request_id,
                validate_only,
                correction_reason,
                update_mask: None,
                enterprises: vec![v1::IndustrialEnterprise {
                    code: code.into(),
                    name: "建材厂".into(),
                    region_code: region.into(),
                    responsible_unit: "市工信局".into(),
                    industry: format!("建材{n}"),
                    scale_status: v1::ScaleStatus::AboveScale as i32,
                    ..Default::default()
                }],
            })
            .await
            .map(|_| ()),
        Kind::EnterpriseMonth => {
            if parent {
                Box::pin(write(ch.clone(), Kind::Enterprise, code, region, 0, false)).await?;
            }
            IndustryServiceClient::new(ch)
                .report_enterprise_months(v1::ReportEnterpriseMonthsRequest {
                    request_id,
                    validate_only,
                    correction_reason,
                    update_mask: None,
                    months: vec![v1::EnterpriseMonth {
                        enterprise_code: code.into(),
                        period: period(2026, 3),
                        region_code: region.into(),
                        responsible_unit: "市工信局".into(),
                        main_revenue_yuan: 1_000 + n,
                        ..Default::default()
                    }],
                })
                .await
                .map(|_| ())
        }
        Kind::ScenicArea => TourismServiceClient::new(ch)
            .upsert_scenic_areas(v1::UpsertScenicAreasRequest {
                request_id,
                validate_only,
                correction_reason,
                update_mask: None,
                areas: vec![v1::ScenicArea {
                    code: code.into(),
                    name: format!("景区{n}"),
                    region_code: region.into(),
                    responsible_unit: "市文旅局".into(),
                    level: v1::ScenicLevel::A3 as i32,
                    ..Default::default()
                }],
            })
            .await
            .map(|_| ()),
        Kind::ScenicMonth => {
            if parent {
                Box::pin(write(ch.clone(), Kind::ScenicArea, code, region, 0, false)).await?;
            }
            TourismServiceClient::new(ch)
                .report_scenic_months(v1::ReportScenicMonthsRequest {
                    request_id,
                    validate_only,
                    correction_reason,
                    update_mask: None,
                    months: vec![v1::ScenicMonth {
                        scenic_area_code: code.into(),
                        period: period(2026, 3),
                        region_code: region.into(),
                        responsible_unit: "市文旅局".into(),
                        visitors: 1_000 + n,
                        ..Default::default()
                    }],
                })
                .await
                .map(|_| ())
        }
        Kind::Task => WelfareServiceClient::new(ch)
            .upsert_tasks(v1::UpsertTasksRequest {
                request_id,
                validate_only,
                correction_reason,
                update_mask: None,
                tasks: vec![v1::WelfareTask {
                    code: code.into(),
                    title: format!("整改事项{n}"),
                    region_code: region.into(),
                    responsible_unit: "市乡村振兴局".into(),
                    kind: v1::TaskKind::Rectification as i32,
                    open_date: citydash_e2e::fixtures::date(2026, 3, 1),
                    deadline: citydash_e2e::fixtures::date(2026, 9, 30),
                    status: v1::TaskStatus::InProgress as i32,
                    ..Default::default()
                }],
            })
            .await
            .map(|_| ()),
    }
}

/// The stored record `code` of `kind`, encoded (meta included: a rewrite
/// would change its version).
async fn stored(ch: AuthedChannel, kind: Kind, code: &str) -> Option<Vec<u8>> {
    use prost::Message as _;
    let all = 1000;
    match kind {
        Kind::Project => SectorServiceClient::new(ch)
            .list_projects(v1::ListProjectsRequest {
                page_size: all,
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner()
            .projects
            .into_iter()
            .find(|p| p.code == code)
            .map(|p| p.encode_to_vec()),
        Kind::Progress => SectorServiceClient::new(ch)
            .list_progress(v1::ListProgressRequest {
                page_size: all,
                project_code: code.into(),
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner()
            .reports
            .first()
            .map(|r| r.encode_to_vec()),
        Kind::ProductionBase => AgricultureServiceClient::new(ch)
            .list_production_bases(v1::ListProductionBasesRequest {
                page_size: all,
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner()
            .bases
            .into_iter()
            .find(|b| b.code == code)
            .map(|b| b.encode_to_vec()),
        Kind::LeadingEnterprise => AgricultureServiceClient::new(ch)
            .list_leading_enterprises(v1::ListLeadingEnterprisesRequest {
                page_size: all,
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner()
            .enterprises
            .into_iter()
            .find(|e| e.code == code)
            .map(|e| e.encode_to_vec()),
        Kind::Enterprise => IndustryServiceClient::new(ch)
            .list_enterprises(v1::ListEnterprisesRequest {
                page_size: all,
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner()
            .enterprises
            .into_iter()
            .find(|e| e.code == code)
            .map(|e| e.encode_to_vec()),
        Kind::EnterpriseMonth => IndustryServiceClient::new(ch)
            .list_enterprise_months(v1::ListEnterpriseMonthsRequest {
                page_size: all,
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner()
            .months
            .into_iter()
            .find(|m| m.enterprise_code == code)
            .map(|m| m.encode_to_vec()),
        Kind::ScenicArea => TourismServiceClient::new(ch)
            .list_scenic_areas(v1::ListScenicAreasRequest {
                page_size: all,
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner()
            .areas
            .into_iter()
            .find(|a| a.code == code)
            .map(|a| a.encode_to_vec()),
        Kind::ScenicMonth => TourismServiceClient::new(ch)
            .list_scenic_months(v1::ListScenicMonthsRequest {
                page_size: all,
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner()
            .months
            .into_iter()
            .find(|m| m.scenic_area_code == code)
            .map(|m| m.encode_to_vec()),
        Kind::Task => WelfareServiceClient::new(ch)
            .list_tasks(v1::ListTasksRequest {
                page_size: all,
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner()
            .tasks
            .into_iter()
            .find(|t| t.code == code)
            .map(|t| t.encode_to_vec()),
    }
}

#[test]
fn a_region_scoped_token_never_changes_a_record_outside_its_regions() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sectors = rt.block_on(Sectors::start());
    let n = std::sync::atomic::AtomicU32::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    let case = (
        0..KINDS.len(),
        prop_oneof!["chengguan", "dongcheng", "city"],
        any::<bool>(),
    );
    runner
        .run(&case, |(k, region, changed)| {
            let kind = KINDS[k];
            let code = format!("P{:03}", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            rt.block_on(async {
                let (i, sector) = kind.sector();
                let svc = &sectors.services[i];
                let owner = svc.channel().await;
                write(owner.clone(), kind, &code, "dongcheng", 0, true)
                    .await
                    .unwrap_or_else(|e| panic!("{kind:?}: the city-wide agency writes dongcheng: {e:?}"));
                let before = stored(owner.clone(), kind, &code).await.expect("stored");
                let scoped = token("城关区的单位", Role::Agency, &[sector], &["chengguan"]);
                let attempt = write(
                    svc.channel_as(&scoped).await,
                    kind,
                    &code,
                    &region,
                    i64::from(changed),
                    false,
                )
                .await;
                let err = attempt.expect_err("a push touching a dongcheng record");
                prop_assert!(
                    matches!(err.code(), Code::PermissionDenied | Code::InvalidArgument),
                    "{kind:?} into {region} (changed: {changed}): {err:?}"
                );
                let after = stored(owner, kind, &code).await.expect("still stored");
                prop_assert_eq!(before, after, "{:?} into {} changed the stored record", kind, region);
                Ok(())
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async move {
        for s in sectors.services {
            s.stop().await;
        }
    });
}
