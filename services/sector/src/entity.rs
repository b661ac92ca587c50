//! A sector's own entities (production bases, enterprises, scenic areas,
//! campaign tasks …) ride on the same engine as projects: keyed by code,
//! validated, versioned, idempotent, and on the change feed as `Any`. A sector
//! crate implements [`SectorEntity`] for each of its messages and nothing else
//! about storage. (Serving them over gRPC is `service`'s.)

use citydash_proto::v1;
use prost::{Message, Name};

use crate::records::meta;
use crate::store::{StoreError, StoredRecord};
use crate::validate::Item;

/// A message a sector service keeps beyond the shared contract. Implemented
/// on a marker type of the sector crate (the messages live in the proto
/// crate), e.g. `struct Bases; impl SectorEntity for Bases { type Message = ProductionBase; … }`.
pub trait SectorEntity: Send + Sync + 'static {
    /// The proto message stored and streamed.
    type Message: Message + Name + Default + Clone + Send + Sync + 'static;
    /// Name of the items' list in upsert requests, for violation paths.
    const FIELD: &'static str;
    /// Name of the field [`SectorEntity::code`] reads, for violation paths.
    const CODE_FIELD: &'static str = "code";
    /// The entity's own code, or for a monthly report the code of what it reports on.
    fn code(m: &Self::Message) -> &str;
    /// Natural key, unique within the entity type: the code, or for a monthly
    /// report `CODE/2026-06`.
    fn key(m: &Self::Message) -> String {
        Self::code(m).to_owned()
    }
    /// The record kind this one reports on (a monthly report's enterprise or
    /// scenic area), which must exist; `None` for a stand-alone entity.
    fn parent_kind() -> Option<String> {
        None
    }
    /// Year of a dated entity (a monthly report), 0 otherwise; lists filter on it.
    fn year(_m: &Self::Message) -> i32 {
        0
    }
    /// The period (year, month) of a monthly report, which period locks cover.
    fn period(_m: &Self::Message) -> Option<(i32, i32)> {
        None
    }
    /// Region code, checked against the configured regions.
    fn region_code(m: &Self::Message) -> &str;
    /// Responsible unit, for filters and the supervision report.
    fn responsible_unit(m: &Self::Message) -> &str;
    /// Stores the responsible unit a push named, resolved to its code.
    fn set_responsible_unit(m: &mut Self::Message, unit: String);
    /// Whether the responsible unit is resolved through the unit registry.
    fn resolves_unit() -> bool {
        true
    }
    /// Checks of the whole batch beyond each item's (a unit registration
    /// against the registry); none by default.
    fn check_batch(
        _items: &[Self::Message],
        _units: &crate::units::Units,
        _violations: &mut citydash_runtime::Violations,
    ) {
    }
    /// The output-only version information.
    fn meta_mut(m: &mut Self::Message) -> &mut Option<v1::RecordMeta>;
    /// The sector's own rules for this entity, beyond code, region and unit.
    fn validate(m: &Self::Message, item: &mut Item<'_>);
}

/// Registry entry of an entity type: its full proto name (the record kind)
/// and how to turn a stored version into `Any`.
#[derive(Debug, Clone)]
pub struct EntityType {
    /// Full proto type name, for example `citydash.v1.ProductionBase`.
    pub type_name: String,
    /// Decodes, attaches meta and packs.
    pub pack: fn(&StoredRecord) -> Result<prost_types::Any, StoreError>,
}

impl EntityType {
    /// The registry entry of `E`.
    pub fn of<E: SectorEntity>() -> Self {
        Self {
            type_name: type_name::<E>(),
            pack: pack::<E>,
        }
    }
}

/// The record kind of `E`: its full proto name.
pub fn type_name<E: SectorEntity>() -> String {
    E::Message::full_name()
}

/// A stored entity with its meta.
pub fn decode<E: SectorEntity>(stored: &StoredRecord) -> Result<E::Message, StoreError> {
    let mut e = E::Message::decode(stored.payload.as_slice())
        .map_err(|err| StoreError::Corrupt(format!("{} {}: {err}", stored.kind, stored.key)))?;
    *E::meta_mut(&mut e) = Some(meta(stored));
    Ok(e)
}

fn pack<E: SectorEntity>(stored: &StoredRecord) -> Result<prost_types::Any, StoreError> {
    let e = decode::<E>(stored)?;
    prost_types::Any::from_msg(&e).map_err(|err| StoreError::Corrupt(err.to_string()))
}

/// Declares a sector entity: a marker type implementing [`SectorEntity`] for
/// a message with the conventional fields, listed in requests as `$field`,
/// checked by the plain function `$rules`. With `monthly $code of $Parent`,
/// a monthly report keyed by the code in `$code` of an existing `$Parent`
/// and its `period`.
///
/// ```ignore
/// citydash_sector::entity!(/** Scenic areas. */ Areas: ScenicArea in areas, checked by scenic_area);
/// ```
#[macro_export]
macro_rules! entity {
    ($(#[$doc:meta])* $name:ident : $message:ident in $field:ident, checked by $rules:path) => {
        $crate::entity!(@def $(#[$doc])* $name, $message, $field, $rules, {});
    };
    ($(#[$doc:meta])* $name:ident : $message:ident in $field:ident, monthly $code:ident of $parent:ty, checked by $rules:path) => {
        $crate::entity!(@def $(#[$doc])* $name, $message, $field, $rules, {monthly $code of $parent});
    };
    (@def $(#[$doc:meta])* $name:ident, $message:ident, $field:ident, $rules:path, {$($fields:tt)*}) => {
        $(#[$doc])*
        pub struct $name;

        impl $crate::SectorEntity for $name {
            type Message = $message;
            const FIELD: &'static str = stringify!($field);
            $crate::entity_fields!($($fields)*);

            fn validate(m: &$message, item: &mut $crate::validate::Item<'_>) {
                $rules(m, item)
            }
        }
    };
}

/// Implements the accessors of [`SectorEntity`] for a message with the
/// conventional `code`, `region_code`, `responsible_unit` and `meta` fields;
/// with `monthly $field of $Parent`, for a monthly report keyed by the code
/// in `$field` of an existing `$Parent` and its `period`.
#[macro_export]
macro_rules! entity_fields {
    () => {
        fn code(m: &Self::Message) -> &str {
            &m.code
        }
        $crate::entity_fields!(@common);
    };
    (monthly $field:ident of $parent:ty) => {
        const CODE_FIELD: &'static str = stringify!($field);
        fn code(m: &Self::Message) -> &str {
            &m.$field
        }
        fn key(m: &Self::Message) -> String {
            let p = m.period.unwrap_or_default();
            format!("{}/{:04}-{:02}", m.$field, p.year, p.month)
        }
        fn parent_kind() -> Option<String> {
            Some($crate::entity::type_name::<$parent>())
        }
        fn year(m: &Self::Message) -> i32 {
            m.period.map_or(0, |p| p.year)
        }
        fn period(m: &Self::Message) -> Option<(i32, i32)> {
            m.period.map(|p| (p.year, p.month))
        }
        $crate::entity_fields!(@common);
    };
    (@common) => {
        fn region_code(m: &Self::Message) -> &str {
            &m.region_code
        }
        fn responsible_unit(m: &Self::Message) -> &str {
            &m.responsible_unit
        }
        fn set_responsible_unit(m: &mut Self::Message, unit: String) {
            m.responsible_unit = unit;
        }
        fn meta_mut(m: &mut Self::Message) -> &mut Option<$crate::proto::v1::RecordMeta> {
            &mut m.meta
        }
    };
}
