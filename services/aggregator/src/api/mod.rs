//! What front ends call: `CityService` over gRPC (`grpc`, with the current
//! overview served from bytes encoded once by `fastpath`) and the dashboard
//! with grpc-web on one HTTP port (`web`), the supervision orders
//! (`orders`) and the notifications (`notifications`), and the clerk's import
//! page behind the same port (`import`). Everything here reads the view, the orders,
//! the supervision reports and, for a drill-down, the sector services; nothing
//! else in the aggregator points here.

pub mod fastpath;
pub mod grpc;
pub mod import;
pub mod notifications;
pub mod orders;
pub mod web;
