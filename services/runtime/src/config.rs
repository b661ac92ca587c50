//! Configuration read once at start-up from flags and `CITYDASH_*` variables.
//! Every service flattens [`ServerArgs`] into its own command line, so the
//! same setting has the same name everywhere.

use std::net::SocketAddr;
use std::time::Duration;

/// How logs are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Settings shared by every service process.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Address the gRPC server listens on; each service has its own default port.
    #[arg(long, env = "CITYDASH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Database URL: `sqlite://path?mode=rwc` (the embedded default) or `postgres://…`.
    #[arg(long, env = "CITYDASH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Largest gRPC message accepted or sent, in bytes.
    #[arg(long, env = "CITYDASH_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Most concurrent HTTP/2 streams per connection.
    #[arg(long, env = "CITYDASH_MAX_CONCURRENT_STREAMS", default_value_t = 256)]
    pub max_concurrent_streams: u32,
    /// Deadline for a unary request, in seconds (streams are not cut).
    #[arg(long, env = "CITYDASH_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Log format on stdout.
    #[arg(long, env = "CITYDASH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl ServerArgs {
    /// The limits the server enforces.
    pub fn limits(&self) -> ServerLimits {
        ServerLimits {
            max_message_bytes: self.max_message_bytes,
            max_concurrent_streams: self.max_concurrent_streams,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
        }
    }
}

/// Explicit limits of one gRPC server.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Largest message decoded or encoded.
    pub max_message_bytes: usize,
    /// Most concurrent streams per HTTP/2 connection.
    pub max_concurrent_streams: u32,
    /// Deadline for unary requests.
    pub request_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024 * 1024,
            max_concurrent_streams: 256,
            request_timeout: Duration::from_secs(30),
        }
    }
}
