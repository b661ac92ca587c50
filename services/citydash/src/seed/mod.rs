//! The demo city, modelled on the speech: a highland city (全市, 城关区,
//! 东城区 and its townships) compared with two peer counties (甲县, 乙县),
//! last year in full and this year to June. It has projects in every stage —
//! funded but not started, started but not in the statistics, behind their
//! monthly plan — investment-promotion contracts, specialty bases (青稞,
//! 中药材, 藏香猪), scenic areas under creation and campaign tasks with
//! deadlines, and the supervision orders of its red alerts. Everything goes through the public push APIs with fixed
//! request ids, so seeding twice changes nothing.

mod agriculture;
mod city;
mod common;
mod industry;
mod orders;
mod tourism;
mod welfare;

pub use common::Endpoints;

use citydash_proto::v1::{self, units_service_client::UnitsServiceClient};
use citydash_runtime::auth::AuthedChannel as Channel;

/// The demo city's responsible units: (code, name, short names and
/// aliases, parent code). Every unit the seed names is here, so every push
/// resolves to a registered code.
const UNITS: &[(&str, &str, &[&str], &str)] = &[
    ("nyncj", "市农业农村局", &["农业农村局", "市农业农村局（乡村振兴）"], ""),
    ("xzfw", "乡镇农业服务中心", &["农业服务中心"], "nyncj"),
    ("gxj", "市工信局", &["工信局", "市工业和信息化局"], ""),
    ("wlj", "市文旅局", &["文旅局", "市文化和旅游局"], ""),
    ("xczxj", "市乡村振兴局", &["乡村振兴局"], ""),
    ("mzj", "市民政局", &["民政局"], ""),
    ("rsj", "市人社局", &["人社局", "市人力资源和社会保障局"], ""),
    ("zjj", "市住建局", &["住建局", "市住房和城乡建设局"], ""),
    ("ybj", "市医保局", &["医保局", "市医疗保障局"], ""),
    ("wjw", "市卫健委", &["卫健委", "市卫生健康委员会"], ""),
    ("jyj", "市教育局", &["教育局"], ""),
    ("slj", "市水利局", &["水利局"], ""),
    ("czj", "市财政局", &["财政局"], ""),
    ("fgw", "市发改委", &["发改委", "市发展和改革委员会"], ""),
    ("tjj", "市统计局", &["统计局"], ""),
    ("tcj", "市投资促进局", &["投促局", "投资促进局"], ""),
    ("zzb", "市委组织部", &["组织部"], ""),
];

/// Registers the demo's units (idempotent: the same request each time).
async fn units(admin: &Channel) -> anyhow::Result<()> {
    let units = UNITS
        .iter()
        .map(|(code, name, also, parent)| v1::ResponsibleUnit {
            code: (*code).to_owned(),
            name_zh: (*name).to_owned(),
            short_names: also.iter().take(1).map(|s| (*s).to_owned()).collect(),
            aliases: also.iter().skip(1).map(|s| (*s).to_owned()).collect(),
            parent_code: (*parent).to_owned(),
            ..Default::default()
        })
        .collect();
    UnitsServiceClient::new(admin.clone())
        .register_units(v1::RegisterUnitsRequest {
            request_id: "demo-units".to_owned(),
            validate_only: false,
            correction_reason: String::new(),
            update_mask: None,
            units,
        })
        .await?;
    Ok(())
}

/// Seeds the whole demo city.
pub async fn seed(e: &Endpoints) -> anyhow::Result<()> {
    units(&e.admin).await?;
    agriculture::seed(&e.agriculture).await?;
    industry::seed(&e.industry).await?;
    tourism::seed(&e.tourism).await?;
    welfare::seed(&e.welfare).await?;
    city::seed(e).await?;
    orders::seed(&e.admin).await?;
    Ok(())
}
