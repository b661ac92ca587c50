//! The engine behind the shared sector contract, used by all four sector
//! services: validation of every push, the project lifecycle, idempotent
//! all-or-nothing batch writes that append to the change feed in the same
//! transaction, reads with paging, revision history, and the gRPC
//! `SectorService` on top. A sector crate adds only its catalog and its own
//! entities (see [`spec::SectorSpec`] and [`entity::SectorEntity`]).

/// The contracts, re-exported for sector crates and macros.
pub use citydash_proto as proto;
#[doc(hidden)]
pub use citydash_runtime::Identity as __Identity;
#[doc(hidden)]
pub use tonic as __tonic;

pub mod domain;
pub mod engine;
pub mod entity;
pub mod mask;
pub mod plan;
pub mod plausibility;
pub mod readiness;
pub mod records;
pub mod registry;
pub mod revocations;
pub mod service;
pub mod store;
#[cfg(test)]
mod testdata;
pub mod units;
pub mod validate;

pub use engine::{Engine, EngineOptions, FeedItem, Page, SectorInfo};
pub use entity::{EntityType, SectorEntity};
pub mod grpc;
pub mod launch;
pub mod spec;
