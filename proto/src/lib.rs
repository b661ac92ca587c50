//! The citydash contracts: the generated messages, clients and servers of
//! `proto/citydash/v1`, plus the descriptor set that server reflection serves.
//! Generated types stop at each service's `grpc.rs`; domain code works on them
//! only through the sector engine.

/// Version 1 of the citydash API.
pub mod v1 {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    tonic::include_proto!("citydash.v1");
}

/// The encoded `FileDescriptorSet` of every citydash proto, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/citydash_descriptor.bin"));
