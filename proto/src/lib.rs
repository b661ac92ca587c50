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
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/citydash_descriptor.bin"));

/// A batch write request: every one carries an idempotency key and a
/// validate-only flag (Google AIP-155 and AIP-163), so one engine function
/// serves them all.
pub trait WriteRequest: prost::Message + prost::Name + Default {
    /// Client-chosen idempotency key.
    fn request_id(&self) -> &str;
    /// Validate and report, write nothing.
    fn validate_only(&self) -> bool;
}

macro_rules! write_requests {
    ($($t:ident),+ $(,)?) => {
        $(
            impl WriteRequest for v1::$t {
                fn request_id(&self) -> &str {
                    &self.request_id
                }
                fn validate_only(&self) -> bool {
                    self.validate_only
                }
            }
        )+
    };
}

write_requests!(
    UpsertProjectsRequest,
    ReportProgressRequest,
    ReportIndicatorsRequest,
    SetTargetsRequest,
    UpsertProductionBasesRequest,
    UpsertLeadingEnterprisesRequest,
    UpsertEnterprisesRequest,
    ReportEnterpriseMonthsRequest,
    UpsertScenicAreasRequest,
    ReportScenicMonthsRequest,
    UpsertTasksRequest,
);
