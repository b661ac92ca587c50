//! The city level that no sector owns: GDP, fixed-asset investment and
//! general budget revenue, their annual targets, and the peer counties'
//! figures, pushed by the statistics and finance bureaus. It is one more
//! sector on the shared engine (same validation, idempotency and revisions),
//! served by the aggregator process, whose feed the aggregator follows like
//! any other.

use citydash_proto::v1;
use citydash_runtime::auth::Role;
use citydash_sector::spec::{IndicatorSpec, SectorSpec, ServiceContext};
use citydash_sector::store::Store;
use citydash_sector::{Engine, EntityType};
use tonic::service::RoutesBuilder;

/// The city indicator catalog, each figure with the bureau that pushes it
/// (DOMAIN.md, who uses it): GDP the statistics bureau, fixed-asset
/// investment development and reform, budget revenue the finance bureau.
pub const CATALOG: &[IndicatorSpec] = &[
    IndicatorSpec::cumulative("city.gdp", "地区生产总值", "Regional GDP", "yuan", "元").written_by(&[Role::Statistics]),
    IndicatorSpec::cumulative(
        "city.fixed_asset_investment",
        "500万元以上固定资产投资",
        "Fixed-asset investment (projects of 5 million yuan and more)",
        "yuan",
        "元",
    )
    .written_by(&[Role::DevelopmentReform]),
    IndicatorSpec::cumulative(
        "city.budget_revenue",
        "地方一般公共预算收入",
        "Local general public budget revenue",
        "yuan",
        "元",
    )
    .written_by(&[Role::Finance]),
];

/// The city level as a sector of the shared engine.
pub struct City;

impl SectorSpec for City {
    const SECTOR: v1::Sector = v1::Sector::City;
    const NAME: &'static str = "city";
    const DEFAULT_PORT: u16 = 50060;
    const AGENCY: &'static str = "市统计局";
    const CATALOG: &'static [IndicatorSpec] = CATALOG;

    fn entity_types() -> Vec<EntityType> {
        Vec::new()
    }

    /// The city has no registers of its own: only the shared contract.
    fn add_own_service<S: Store>(
        _engine: Engine<S>,
        _ctx: &ServiceContext,
        _routes: &mut RoutesBuilder,
    ) -> &'static str {
        v1::sector_service_server::SERVICE_NAME
    }
}
