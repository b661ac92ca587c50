//! The citydash contracts: the generated messages, clients and servers of
//! `proto/citydash/v1`, plus the descriptor set that server reflection serves.
//! Generated types stop at each service's `grpc.rs`; domain code works on them
//! only through the sector engine.

/// Version 1 of the citydash API.
pub mod v1 {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    tonic::include_proto!("citydash.v1");
}

pub mod sectors;

/// The encoded `FileDescriptorSet` of every citydash proto, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/citydash_descriptor.bin"));

/// The descriptors of every citydash message (and the well-known types they
/// use), for code that works on messages by field name: partial updates and
/// the spreadsheet import.
pub fn descriptor_pool() -> &'static prost_reflect::DescriptorPool {
    static POOL: std::sync::OnceLock<prost_reflect::DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        prost_reflect::DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("the embedded descriptors decode")
    })
}

/// A batch write request: every one carries an idempotency key and a
/// validate-only flag (Google AIP-155 and AIP-163), so one engine function
/// serves them all.
pub trait WriteRequest: prost::Message + prost::Name + Default {
    /// Client-chosen idempotency key.
    fn request_id(&self) -> &str;
    /// Validate and report, write nothing.
    fn validate_only(&self) -> bool;
    /// An admin's reason for correcting a locked period; empty otherwise.
    fn correction_reason(&self) -> &str;
    /// The fields to change (AIP-134); `None`: the fields each item sets.
    fn update_mask(&self) -> Option<&prost_types::FieldMask>;
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
                fn correction_reason(&self) -> &str {
                    &self.correction_reason
                }
                fn update_mask(&self) -> Option<&prost_types::FieldMask> {
                    self.update_mask.as_ref()
                }
            }
        )+

        /// Full names of every batch write request message.
        pub const WRITE_REQUESTS: &[&str] = &[$(concat!("citydash.v1.", stringify!($t))),+];
    };
}

/// The paths of the change feeds: a stream open on one counts against its
/// agency's in-flight limit for as long as it lasts.
pub const FEED_METHODS: &[&str] = &["/citydash.v1.SectorService/WatchChanges"];

/// Full names of the admin requests that change state without records.
pub const ADMIN_REQUESTS: &[&str] = &[
    "citydash.v1.LockPeriodRequest",
    "citydash.v1.UnlockPeriodRequest",
    "citydash.v1.TakeSnapshotRequest",
];

/// The paths (`/citydash.v1.SectorService/UpsertProjects`) of every method
/// that changes state: batch writes and admin requests. Every call to one is
/// audited, refused or not.
pub fn audited_methods() -> std::collections::HashSet<String> {
    use prost::Message;
    let Ok(set) = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET) else {
        return Default::default();
    };
    let mut out = std::collections::HashSet::new();
    for file in &set.file {
        let package = file.package();
        for service in &file.service {
            for method in &service.method {
                let input = method.input_type().trim_start_matches('.');
                if WRITE_REQUESTS.contains(&input) || ADMIN_REQUESTS.contains(&input) {
                    out.insert(format!("/{package}.{}/{}", service.name(), method.name()));
                }
            }
        }
    }
    out
}

/// The request message type (`citydash.v1.ReportProgressRequest`) of a
/// method path (`/citydash.v1.SectorService/ReportProgress`): the name the
/// audit trail gives a method.
pub fn request_type(path: &str) -> Option<String> {
    let (service, method) = path.trim_start_matches('/').split_once('/')?;
    let service = descriptor_pool().get_service_by_name(service)?;
    let method = service.methods().find(|m| m.name() == method)?;
    Some(method.input().full_name().to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_path_names_its_request_type() {
        assert_eq!(
            super::request_type("/citydash.v1.SectorService/ReportProgress").as_deref(),
            Some("citydash.v1.ReportProgressRequest")
        );
        assert_eq!(super::request_type("/citydash.v1.SectorService/Nothing"), None);
    }

    #[test]
    fn every_write_and_admin_method_is_audited() {
        let methods = super::audited_methods();
        assert!(methods.contains("/citydash.v1.SectorService/UpsertProjects"));
        assert!(methods.contains("/citydash.v1.SectorService/LockPeriod"));
        assert!(methods.contains("/citydash.v1.WelfareService/UpsertTasks"));
        assert!(methods.contains("/citydash.v1.UnitsService/RegisterUnits"));
        assert!(!methods.contains("/citydash.v1.SectorService/ListProjects"));
        assert!(!methods.contains("/citydash.v1.CityService/GetOverview"));
        assert_eq!(methods.len(), super::WRITE_REQUESTS.len() + super::ADMIN_REQUESTS.len());
    }
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
    RegisterUnitsRequest,
    RevokeTokensRequest,
    FilePlanRequest,
    ReportOrderRequest,
    OpenOrderRequest,
    CloseOrderRequest,
);

/// The write a snapshot makes on the supervision orders: the aggregator's
/// own, not an RPC, so not among [`WRITE_REQUESTS`].
impl WriteRequest for v1::SnapshotOrdersRequest {
    fn request_id(&self) -> &str {
        &self.request_id
    }
    fn validate_only(&self) -> bool {
        false
    }
    fn correction_reason(&self) -> &str {
        ""
    }
    fn update_mask(&self) -> Option<&prost_types::FieldMask> {
        None
    }
}
