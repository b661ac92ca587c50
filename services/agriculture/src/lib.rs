//! The agriculture sector (农业农村局): the shared sector contract plus what
//! only agriculture keeps, specialty production bases (青稞, 中药材, 藏香猪 …)
//! and leading agricultural enterprises (龙头企业). Storage, validation of the
//! shared records and the change feed come from `citydash-sector`; this crate
//! holds the catalog, the two entities' rules and its RPC declarations.

use citydash_proto::v1::{EnterpriseLevel, LeadingEnterprise, ProductionBase};
use citydash_sector::spec::IndicatorSpec;
use citydash_sector::store::Index;
use citydash_sector::validate::Item;

/// The agriculture indicator catalog.
pub const CATALOG: &[IndicatorSpec] = &[
    IndicatorSpec::cumulative(
        "agri.output_value",
        "农林牧渔业总产值",
        "Gross agricultural output",
        "yuan",
        "元",
    ),
    IndicatorSpec::cumulative(
        "agri.value_added",
        "农业增加值",
        "Agricultural value added",
        "yuan",
        "元",
    ),
    IndicatorSpec::level(
        "agri.base_area_mu",
        "特色种植基地面积",
        "Specialty planting area",
        "mu",
        "亩",
    ),
    IndicatorSpec::level(
        "agri.livestock_head",
        "特色养殖存栏",
        "Specialty livestock",
        "head",
        "头",
    ),
    IndicatorSpec::level(
        "agri.leading_enterprises",
        "农业产业化龙头企业",
        "Leading enterprises",
        "count",
        "家",
    ),
    IndicatorSpec::cumulative(
        "agri.rural_income",
        "农村居民人均可支配收入",
        "Rural income per head",
        "yuan",
        "元",
    ),
];

citydash_sector::entity!(
    /// Specialty production bases (特色种养殖基地).
    Bases: ProductionBase in bases, checked by production_base
);
citydash_sector::entity!(
    /// Leading agricultural enterprises (农业产业化龙头企业).
    Enterprises: LeadingEnterprise in enterprises, checked by leading_enterprise
);

fn production_base(b: &ProductionBase, item: &mut Item<'_>) {
    item.text("name", &b.name);
    item.text("product", &b.product);
    item.non_negative("area_mu", b.area_mu);
    item.non_negative("head_count", b.head_count);
    item.non_negative("output_value_yuan", b.output_value_yuan);
    if b.area_mu == 0 && b.head_count == 0 {
        item.add("area_mu", "基地须填写种植面积或存栏数，二者不能都为 0");
    }
    item.optional_year("established_year", b.established_year);
}

fn leading_enterprise(e: &LeadingEnterprise, item: &mut Item<'_>) {
    item.text("name", &e.name);
    if let Some(EnterpriseLevel::Unspecified) = item.known_enum::<EnterpriseLevel>("level", e.level) {
        item.add("level", "必填：国家级、省级或市级");
    }
    item.optional_text("main_products", &e.main_products);
    item.non_negative("annual_revenue_yuan", e.annual_revenue_yuan);
    item.optional_year("recognized_year", e.recognized_year);
}

citydash_sector::sector_service! {
    /// The agriculture sector.
    Agriculture: Agriculture, catalog CATALOG;
    AgricultureService, AgricultureServiceServer, agriculture_service_server;
    Bases {
        upsert_production_bases(UpsertProductionBasesRequest) -> UpsertProductionBasesResponse { bases };
        list_production_bases(ListProductionBasesRequest) -> ListProductionBasesResponse { bases }
            filter |r| Index { region: r.region_code.clone(), ..Index::default() };
    }
    Enterprises {
        upsert_leading_enterprises(UpsertLeadingEnterprisesRequest) -> UpsertLeadingEnterprisesResponse { enterprises };
        list_leading_enterprises(ListLeadingEnterprisesRequest) -> ListLeadingEnterprisesResponse { enterprises }
            filter |r| Index { region: r.region_code.clone(), ..Index::default() };
    }
}
