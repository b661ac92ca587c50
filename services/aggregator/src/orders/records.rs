//! Orders as records of the city engine: their kind, their registration as
//! an entity type (so the city's change feed and revisions carry them) and
//! how a stored version is read.

use citydash_proto::v1;
use citydash_runtime::Error;
use citydash_sector::SectorEntity;
use citydash_sector::store::StoredRecord;
use citydash_sector::validate::Item;

/// The record kind of an order.
pub const KIND: &str = "citydash.v1.SupervisionOrder";

/// Orders as an entity type of the city engine: registered so that the
/// city's change feed and revisions carry them. Every write goes through
/// [`super::plan`]'s planners, never through an entity upsert.
pub struct OrderRecords;

impl SectorEntity for OrderRecords {
    type Message = v1::SupervisionOrder;
    const FIELD: &'static str = "orders";

    fn code(m: &Self::Message) -> &str {
        &m.code
    }

    fn region_code(m: &Self::Message) -> &str {
        &m.region_code
    }

    fn responsible_unit(m: &Self::Message) -> &str {
        &m.responsible_unit_code
    }

    fn set_responsible_unit(m: &mut Self::Message, unit: String) {
        m.responsible_unit_code = unit;
    }

    fn meta_mut(m: &mut Self::Message) -> &mut Option<v1::RecordMeta> {
        &mut m.meta
    }

    fn validate(_m: &Self::Message, _item: &mut Item<'_>) {}
}

/// A stored order with its meta.
pub fn decode(stored: &StoredRecord) -> Result<v1::SupervisionOrder, Error> {
    Ok(citydash_sector::entity::decode::<OrderRecords>(stored)?)
}
