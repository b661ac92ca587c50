//! The tourism sector (文旅局): the shared sector contract plus scenic areas
//! with their A-level rating and creation target (A级景区创建), and each
//! area's monthly visitors and revenue. Region-wide visitors and revenue are
//! indicators of the catalog; key tourism projects are ordinary projects.

use citydash_proto::v1::{ScenicArea, ScenicLevel, ScenicMonth};
use citydash_sector::spec::IndicatorSpec;
use citydash_sector::store::Index;
use citydash_sector::validate::Item;

/// The tourism indicator catalog.
pub const CATALOG: &[IndicatorSpec] = &[
    IndicatorSpec::cumulative(
        "tourism.visitors",
        "接待游客",
        "Visitors received",
        "person_time",
        "人次",
    ),
    IndicatorSpec::cumulative("tourism.revenue", "旅游总收入", "Tourism revenue", "yuan", "元"),
    IndicatorSpec::cumulative(
        "tourism.overnight_visitors",
        "过夜游客",
        "Overnight visitors",
        "person_time",
        "人次",
    ),
    IndicatorSpec::level(
        "tourism.a_level_scenic_areas",
        "A级景区",
        "A-level scenic areas",
        "count",
        "个",
    ),
];

citydash_sector::entity!(
    /// Scenic areas.
    Areas: ScenicArea in areas, checked by scenic_area
);
citydash_sector::entity!(
    /// Scenic areas' monthly visitors and revenue.
    AreaMonths: ScenicMonth in months, monthly scenic_area_code of Areas, checked by scenic_month
);

fn scenic_area(a: &ScenicArea, item: &mut Item<'_>) {
    item.text("name", &a.name);
    let level = item.known_enum::<ScenicLevel>("level", a.level);
    if level == Some(ScenicLevel::Unspecified) {
        item.add("level", "必填（尚未评级的景区填 SCENIC_LEVEL_NONE 未评级）");
    }
    match (level, item.known_enum::<ScenicLevel>("target_level", a.target_level)) {
        (_, Some(ScenicLevel::Unspecified)) if a.target_year != 0 => {
            item.add("target_year", "只有填写创建目标等级时才填写目标年份")
        }
        (_, Some(ScenicLevel::Unspecified)) => {}
        (Some(current), Some(target)) if target <= current => item.add(
            "target_level",
            format!(
                "创建目标 {} 不高于当前等级 {}",
                target.as_str_name(),
                current.as_str_name()
            ),
        ),
        _ => item.optional_year("target_year", a.target_year),
    }
}

fn scenic_month(m: &ScenicMonth, item: &mut Item<'_>) {
    item.reported_period("period", m.period.as_ref());
    item.non_negative("visitors", m.visitors);
    item.non_negative("revenue_yuan", m.revenue_yuan);
}

citydash_sector::sector_service! {
    /// The tourism sector.
    Tourism: Tourism, catalog CATALOG;
    TourismService, TourismServiceServer, tourism_service_server;
    Areas {
        upsert_scenic_areas(UpsertScenicAreasRequest) -> UpsertScenicAreasResponse { areas };
        list_scenic_areas(ListScenicAreasRequest) -> ListScenicAreasResponse { areas }
            filter |r| Index { region: r.region_code.clone(), ..Index::default() };
    }
    AreaMonths {
        report_scenic_months(ReportScenicMonthsRequest) -> ReportScenicMonthsResponse { months };
        list_scenic_months(ListScenicMonthsRequest) -> ListScenicMonthsResponse { months }
            filter |r| Index { parent: r.scenic_area_code.clone(), year: r.year, ..Index::default() };
    }
}
