//! A sector's own entities (production bases, enterprises, scenic areas,
//! campaign tasks …) ride on the same engine as projects: keyed by code,
//! validated, versioned, idempotent, and on the change feed as `Any`. A sector
//! crate implements [`SectorEntity`] for each of its messages and nothing else
//! about storage.

use citydash_proto::v1;
use prost::{Message, Name};

use citydash_runtime::Principal;
use tonic::{Request, Status};

use crate::engine::{Engine, Page};
use crate::plan::UpsertEntities;
use crate::records::meta;
use crate::store::{Store, StoreError, StoredRecord};
use crate::validate::Item;

/// A message a sector service keeps beyond the shared contract. Implemented
/// on a marker type of the sector crate (the messages live in the proto
/// crate), e.g. `struct Bases; impl SectorEntity for Bases { type Message = ProductionBase; … }`.
pub trait SectorEntity: Send + Sync + 'static {
    /// The proto message stored and streamed.
    type Message: Message + Name + Default + Clone + Send + Sync + 'static;
    /// Name of the items' list in upsert requests, for violation paths.
    const FIELD: &'static str;
    /// Natural key, unique within the entity type.
    fn code(m: &Self::Message) -> &str;
    /// Region code, checked against the configured regions.
    fn region_code(m: &Self::Message) -> &str;
    /// Responsible unit, for filters and the supervision report.
    fn responsible_unit(m: &Self::Message) -> &str;
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

/// Picks a write request's id, validate-only flag and items.
pub type RequestParts<R, M> = fn(&R) -> (&str, bool, &[M]);

/// Serves an upsert RPC of a sector entity: `parts` picks the request's id,
/// validate-only flag and items.
pub async fn upsert_rpc<E: SectorEntity, S: Store, R: Message + Name>(
    engine: &Engine<S>,
    request: Request<R>,
    parts: RequestParts<R, E::Message>,
) -> Result<Vec<v1::WriteResult>, Status> {
    let principal = Principal::of(&request);
    let req = request.into_inner();
    let (request_id, validate_only, items) = parts(&req);
    let planner = UpsertEntities::<E> { items };
    Ok(engine
        .write(&principal, &req, request_id, validate_only, &planner)
        .await?)
}

/// Serves a list RPC of a sector entity: items of `E` in `region_code` (all
/// regions when empty), a page at a time.
pub async fn list_rpc<E: SectorEntity, S: Store>(
    engine: &Engine<S>,
    region_code: &str,
    page_size: i32,
    page_token: &str,
) -> Result<Page<E::Message>, Status> {
    Ok(engine
        .list_entities::<E>(region_code, page_size, page_token)
        .await?)
}

/// Implements the four accessors of [`SectorEntity`] for a message with the
/// conventional `code`, `region_code`, `responsible_unit` and `meta` fields.
#[macro_export]
macro_rules! entity_fields {
    () => {
        fn code(m: &Self::Message) -> &str {
            &m.code
        }
        fn region_code(m: &Self::Message) -> &str {
            &m.region_code
        }
        fn responsible_unit(m: &Self::Message) -> &str {
            &m.responsible_unit
        }
        fn meta_mut(m: &mut Self::Message) -> &mut Option<$crate::proto::v1::RecordMeta> {
            &mut m.meta
        }
    };
}
