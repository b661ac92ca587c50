//! What makes a sector a sector: a [`SectorSpec`] names it, lists its
//! indicator catalog and its own entity types, and adds its own gRPC service.
//! Everything else (storage, validation of shared records, change feed,
//! `SectorService`, the process around it) comes from this crate, so adding a
//! fifth sector is one small crate implementing this trait.

use citydash_proto::v1;
use citydash_runtime::ServerLimits;
use citydash_runtime::auth::Role;
use tonic::service::RoutesBuilder;

use crate::engine::Engine;
use crate::entity::EntityType;
use crate::store::Store;

/// Describes one sector service.
pub trait SectorSpec: Send + Sync + 'static {
    /// The sector.
    const SECTOR: v1::Sector;
    /// Short name: the binary, the default database file, `citydash serve NAME`
    /// (its row of `citydash_proto::sectors`).
    const NAME: &'static str = citydash_proto::sectors::entry(Self::SECTOR).name;
    /// Default gRPC port.
    const DEFAULT_PORT: u16 = citydash_proto::sectors::entry(Self::SECTOR).default_port;
    /// The agency that owns the sector (默认责任单位 of its indicators).
    const AGENCY: &'static str = citydash_proto::sectors::entry(Self::SECTOR).agency_zh;
    /// The sector's indicator catalog, as a constant table.
    const CATALOG: &'static [IndicatorSpec];
    /// The sector's own entity types.
    fn entity_types() -> Vec<EntityType>;
    /// Adds the sector's own gRPC service to `routes`, wrapped by `ctx`, and
    /// returns its full name for health checks.
    fn add_own_service<S: Store>(engine: Engine<S>, ctx: &ServiceContext, routes: &mut RoutesBuilder) -> &'static str;
    /// The proto indicator catalog.
    fn catalog() -> Vec<v1::IndicatorDefinition> {
        catalog(Self::SECTOR, Self::CATALOG)
    }
}

/// What every gRPC service of a process is built with: its message limits.
/// (Authentication and the other limits sit in front of all routes, in the
/// runtime's `AuthLayer`.)
#[derive(Clone)]
pub struct ServiceContext {
    /// The process's limits.
    pub limits: ServerLimits,
}

/// One entry of a sector's indicator catalog, written as a constant table in
/// the sector crate.
#[derive(Debug, Clone, Copy)]
pub struct IndicatorSpec {
    /// Code, prefixed with the sector (`agri.output_value`).
    pub code: &'static str,
    /// Chinese name.
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Unit code.
    pub unit: &'static str,
    /// Unit in Chinese.
    pub unit_zh: &'static str,
    /// A level (a count at month end) rather than a cumulative total.
    pub level: bool,
    /// Whether more is better.
    pub higher_is_better: bool,
    /// The roles that may push its values; empty: every writer of the sector.
    pub writers: &'static [Role],
}

impl IndicatorSpec {
    /// A cumulative indicator (1—m月 totals) where more is better.
    pub const fn cumulative(
        code: &'static str,
        name_zh: &'static str,
        name_en: &'static str,
        unit: &'static str,
        unit_zh: &'static str,
    ) -> Self {
        Self {
            code,
            name_zh,
            name_en,
            unit,
            unit_zh,
            level: false,
            higher_is_better: true,
            writers: &[],
        }
    }

    /// A level indicator (a month-end count) where more is better.
    pub const fn level(
        code: &'static str,
        name_zh: &'static str,
        name_en: &'static str,
        unit: &'static str,
        unit_zh: &'static str,
    ) -> Self {
        Self {
            level: true,
            ..Self::cumulative(code, name_zh, name_en, unit, unit_zh)
        }
    }

    /// The same indicator, pushed only by `writers` (and an admin).
    pub const fn written_by(self, writers: &'static [Role]) -> Self {
        Self { writers, ..self }
    }

    /// The same indicator, where less is better.
    pub const fn lower_is_better(self) -> Self {
        Self {
            higher_is_better: false,
            ..self
        }
    }
}

/// The proto catalog of `sector` from its constant table.
pub fn catalog(sector: v1::Sector, specs: &[IndicatorSpec]) -> Vec<v1::IndicatorDefinition> {
    specs
        .iter()
        .map(|s| v1::IndicatorDefinition {
            code: s.code.to_owned(),
            name_zh: s.name_zh.to_owned(),
            name_en: s.name_en.to_owned(),
            unit: s.unit.to_owned(),
            unit_zh: s.unit_zh.to_owned(),
            accumulation: if s.level {
                v1::Accumulation::Level
            } else {
                v1::Accumulation::Cumulative
            } as i32,
            higher_is_better: s.higher_is_better,
            sector: sector as i32,
            writer_roles: s.writers.iter().map(|r| r.as_str().to_owned()).collect(),
        })
        .collect()
}
