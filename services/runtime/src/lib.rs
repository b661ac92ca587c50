//! What every citydash service process shares, so that the four sector
//! services and the aggregator start, log, limit, authenticate and fail the
//! same way: command-line and environment configuration, tracing set-up, the
//! gRPC server bootstrap (health, reflection, limits, graceful shutdown), the
//! principal attached to each request, and the one table that maps domain
//! errors to gRPC status codes.

pub mod auth;
pub mod client;
pub mod config;
pub mod connect;
pub mod error;
pub mod layer;
pub mod paging;
pub mod principal;
pub mod ratelimit;
pub mod server;
pub mod suggest;
pub mod telemetry;

pub use config::{LogFormat, ServerArgs, ServerLimits};
pub use error::{Error, FieldViolation, Violations};
pub use principal::{Authenticator, Identity, Principal};
pub use server::{health, serve, shutdown_signal};
