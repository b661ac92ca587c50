//! The agriculture sector (农业农村局): the shared sector contract plus what
//! only agriculture keeps, specialty production bases (青稞, 中药材, 藏香猪 …)
//! and leading agricultural enterprises (龙头企业). Storage, validation of the
//! shared records and the change feed come from `citydash-sector`; this crate
//! holds the catalog, the two entities' rules and their gRPC service.

mod grpc;

use citydash_proto::v1::{self, LeadingEnterprise, ProductionBase};
use citydash_sector::spec::{IndicatorSpec, SectorSpec, ServiceContext, catalog};
use citydash_sector::store::Store;
use citydash_sector::validate::Item;
use citydash_sector::{Engine, EntityType, SectorEntity};
use tonic::service::RoutesBuilder;

/// The agriculture indicator catalog.
pub const CATALOG: &[IndicatorSpec] = &[
    IndicatorSpec {
        code: "agri.output_value",
        name_zh: "农林牧渔业总产值",
        name_en: "Gross output of agriculture, forestry, animal husbandry and fishery",
        unit: "yuan",
        unit_zh: "元",
        level: false,
        higher_is_better: true,
    },
    IndicatorSpec {
        code: "agri.value_added",
        name_zh: "农业增加值",
        name_en: "Agricultural value added",
        unit: "yuan",
        unit_zh: "元",
        level: false,
        higher_is_better: true,
    },
    IndicatorSpec {
        code: "agri.base_area_mu",
        name_zh: "特色种植基地面积",
        name_en: "Specialty planting base area",
        unit: "mu",
        unit_zh: "亩",
        level: true,
        higher_is_better: true,
    },
    IndicatorSpec {
        code: "agri.livestock_head",
        name_zh: "特色养殖存栏",
        name_en: "Specialty livestock on hand",
        unit: "head",
        unit_zh: "头",
        level: true,
        higher_is_better: true,
    },
    IndicatorSpec {
        code: "agri.leading_enterprises",
        name_zh: "农业产业化龙头企业",
        name_en: "Leading agricultural enterprises",
        unit: "count",
        unit_zh: "家",
        level: true,
        higher_is_better: true,
    },
    IndicatorSpec {
        code: "agri.rural_income",
        name_zh: "农村居民人均可支配收入",
        name_en: "Rural per-capita disposable income",
        unit: "yuan",
        unit_zh: "元",
        level: false,
        higher_is_better: true,
    },
];

/// The agriculture sector.
pub struct Agriculture;

impl SectorSpec for Agriculture {
    const SECTOR: v1::Sector = v1::Sector::Agriculture;
    const NAME: &'static str = "agriculture";
    const DEFAULT_PORT: u16 = 50061;

    fn catalog() -> Vec<v1::IndicatorDefinition> {
        catalog(Self::SECTOR, CATALOG)
    }

    fn entity_types() -> Vec<EntityType> {
        vec![EntityType::of::<Bases>(), EntityType::of::<Enterprises>()]
    }

    fn own_service_name() -> &'static str {
        grpc::SERVICE_NAME
    }

    fn add_own_service<S: Store>(
        engine: Engine<S>,
        ctx: &ServiceContext,
        routes: &mut RoutesBuilder,
    ) {
        grpc::add(engine, ctx, routes);
    }
}

/// Specialty production bases (特色种养殖基地).
pub struct Bases;

impl SectorEntity for Bases {
    type Message = ProductionBase;
    const FIELD: &'static str = "bases";
    citydash_sector::entity_fields!();

    fn validate(b: &ProductionBase, item: &mut Item<'_>) {
        item.text("name", &b.name);
        item.text("product", &b.product);
        item.non_negative("area_mu", b.area_mu);
        item.non_negative("head_count", b.head_count);
        item.non_negative("output_value_yuan", b.output_value_yuan);
        if b.area_mu == 0 && b.head_count == 0 {
            item.add(
                "area_mu",
                "a base has a planted area or a head count; both are 0",
            );
        }
        item.optional_year("established_year", b.established_year);
    }
}

/// Leading agricultural enterprises (农业产业化龙头企业).
pub struct Enterprises;

impl SectorEntity for Enterprises {
    type Message = LeadingEnterprise;
    const FIELD: &'static str = "enterprises";
    citydash_sector::entity_fields!();

    fn validate(e: &LeadingEnterprise, item: &mut Item<'_>) {
        item.text("name", &e.name);
        if let Some(v1::EnterpriseLevel::Unspecified) =
            item.known_enum::<v1::EnterpriseLevel>("level", e.level)
        {
            item.add("level", "required: national, provincial or municipal");
        }
        item.optional_text("main_products", &e.main_products);
        item.non_negative("annual_revenue_yuan", e.annual_revenue_yuan);
        item.optional_year("recognized_year", e.recognized_year);
    }
}
