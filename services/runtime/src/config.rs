//! Configuration read once at start-up from flags and `CITYDASH_*` variables.
//! Every service flattens [`ServerArgs`] into its own command line, so the
//! same setting has the same name everywhere.

use std::net::SocketAddr;
use std::time::Duration;

/// Settings of type `A` from command-line words (the first is the program
/// name), exactly as a binary reads them: for running a service inside
/// another program (the demo, the tests, the benchmarks). Bad words exit
/// with clap's message, as on the command line.
pub fn from_flags<A, I, T>(argv: I) -> A
where
    A: clap::Args + clap::FromArgMatches,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = A::augment_args(clap::Command::new("citydash")).get_matches_from(argv);
    A::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

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
    /// A file holding the database password (a container secret), put into
    /// the URL at start-up so it never sits in the environment.
    #[arg(long, env = "CITYDASH_DATABASE_PASSWORD_FILE")]
    pub database_password_file: Option<std::path::PathBuf>,
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
    /// OTLP/gRPC endpoint for spans and metrics (`http://collector:4317`); none when unset.
    #[arg(long, env = "CITYDASH_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The public key tokens are verified with (Ed25519, SPKI PEM, from
    /// `citydash token keygen`). Without it (and without a client CA) the
    /// service runs open: every caller is `anonymous`.
    #[arg(long, env = "CITYDASH_TOKEN_PUBLIC_KEY_FILE")]
    pub token_public_key_file: Option<std::path::PathBuf>,
    /// A file holding the token this service shows other services (the
    /// aggregator reading the sectors' feeds, a sector reading the city's
    /// registries); read again at each use, so it can be rotated in place.
    /// The environment's `CITYDASH_SERVICE_TOKEN` may hold the token itself
    /// (never a flag: a flag shows in `ps`).
    #[arg(long, env = "CITYDASH_SERVICE_TOKEN_FILE")]
    pub service_token_file: Option<std::path::PathBuf>,
    /// Requests a second each agency may make (0: no limit).
    #[arg(long, env = "CITYDASH_RATE_LIMIT_PER_SECOND", default_value_t = 200.0)]
    pub rate_limit_per_second: f64,
    /// Requests an agency may burst above its rate.
    #[arg(long, env = "CITYDASH_RATE_LIMIT_BURST", default_value_t = 400.0)]
    pub rate_limit_burst: f64,
    /// Refused calls a second one peer address may make (0: no limit); past
    /// its burst every call from it is shed, unaudited, until it refills.
    #[arg(long, env = "CITYDASH_REFUSALS_PER_SECOND", default_value_t = 2.0)]
    pub refusals_per_second: f64,
    /// Refused calls a peer address may burst above its rate.
    #[arg(long, env = "CITYDASH_REFUSAL_BURST", default_value_t = 60.0)]
    pub refusal_burst: f64,
    /// Requests one agency may have in flight at once (0: no limit); more are shed.
    #[arg(long, env = "CITYDASH_MAX_INFLIGHT_PER_AGENCY", default_value_t = 16)]
    pub max_inflight_per_agency: usize,
    /// Requests the service has in flight at once; more are shed.
    #[arg(long, env = "CITYDASH_MAX_INFLIGHT", default_value_t = 512)]
    pub max_inflight: usize,
    /// The server's TLS certificate (PEM); with --tls-key, the service speaks TLS.
    #[arg(long, env = "CITYDASH_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The server's TLS private key (PEM).
    #[arg(long, env = "CITYDASH_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// The CA that signs agencies' client certificates (PEM): mutual TLS,
    /// where the certificate names the agency (CN), its role (OU) and its
    /// scope (URI SANs `urn:citydash:sector:…`, `urn:citydash:region:…`).
    #[arg(long, env = "CITYDASH_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<std::path::PathBuf>,
    /// Browser origins allowed to call this service's ports (CORS), comma
    /// separated (`https://bi.example.gov.cn`), `*` for any; none by default.
    #[arg(long, env = "CITYDASH_CORS_ORIGINS", default_value = "")]
    pub cors_origins: crate::connect::Cors,
}

/// How a port meets callers from outside the process: TLS, and the browser
/// origins allowed to call it.
#[derive(Debug, Clone, Default)]
pub struct Edge {
    /// The server's TLS, if it speaks TLS.
    pub tls: Option<tonic::transport::ServerTlsConfig>,
    /// Which browser origins may call.
    pub cors: crate::connect::Cors,
}

/// A secret from the command line or the environment; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl ServerArgs {
    /// The limits the server enforces.
    pub fn limits(&self) -> ServerLimits {
        ServerLimits {
            max_message_bytes: self.max_message_bytes,
            max_concurrent_streams: self.max_concurrent_streams,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            rate_per_second: self.rate_limit_per_second,
            rate_burst: self.rate_limit_burst,
            refusals_per_second: self.refusals_per_second,
            refusal_burst: self.refusal_burst,
            max_inflight_per_agency: self.max_inflight_per_agency,
            max_inflight: self.max_inflight,
        }
    }

    /// The database URL to connect to: the configured one (or `default`),
    /// with the password from `--database-password-file` when given.
    pub fn database(&self, default: &str) -> anyhow::Result<String> {
        use anyhow::Context as _;
        let url = self.database_url.clone().unwrap_or_else(|| default.to_owned());
        let Some(path) = &self.database_password_file else {
            return Ok(url);
        };
        let password = std::fs::read_to_string(path)
            .with_context(|| format!("reading the database password {}", path.display()))?;
        let encoded: String = password
            .trim()
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        // postgres://user@host/db → postgres://user:password@host/db
        let (scheme, rest) = url.split_once("://").context("the database URL has no scheme")?;
        let (auth, host) = rest
            .split_once('@')
            .context("the database URL names no user (user@host)")?;
        let user = auth.split(':').next().unwrap_or(auth);
        Ok(format!("{scheme}://{user}:{encoded}@{host}"))
    }

    /// The public key tokens are verified with, if one is configured.
    pub fn verifying_key(&self) -> anyhow::Result<Option<crate::auth::VerifyingKey>> {
        use anyhow::Context as _;
        let Some(path) = &self.token_public_key_file else {
            return Ok(None);
        };
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("reading the token public key {}", path.display()))?;
        crate::auth::VerifyingKey::from_pem(&pem)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// The token this service shows other services, if one is configured.
    pub fn service_token(&self) -> Option<crate::auth::ServiceToken> {
        match (&self.service_token_file, std::env::var(crate::auth::SERVICE_TOKEN_ENV)) {
            (Some(path), _) => Some(crate::auth::ServiceToken::File(path.clone())),
            (None, Ok(token)) if !token.trim().is_empty() => {
                Some(crate::auth::ServiceToken::Inline(token.trim().to_owned()))
            }
            _ => None,
        }
    }

    /// The authenticator these settings ask for `service` (one of
    /// [`crate::auth::services`]): client certificates (mutual TLS) and/or
    /// tokens verified for it and checked against `revoked`; open
    /// (anonymous, with a warning) when neither is configured.
    pub fn authenticator(
        &self,
        service: &str,
        revoked: crate::auth::Revocations,
    ) -> anyhow::Result<std::sync::Arc<dyn crate::Authenticator>> {
        self.authenticator_noting(service, revoked, None)
    }

    /// As [`ServerArgs::authenticator`], noting every accepted token in
    /// `uses` when given (the aggregator's record of token uses).
    pub fn authenticator_noting(
        &self,
        service: &str,
        revoked: crate::auth::Revocations,
        uses: Option<crate::auth::TokenUses>,
    ) -> anyhow::Result<std::sync::Arc<dyn crate::Authenticator>> {
        let tokens = self.verifying_key()?.map(|key| {
            let tokens = crate::auth::Tokens::new(key, service, revoked);
            match uses {
                Some(uses) => tokens.noting(uses),
                None => tokens,
            }
        });
        let certificates = self.tls_client_ca.is_some();
        if tokens.is_none() && !certificates {
            tracing::warn!(
                "no token public key and no client CA configured: authentication is OFF, every caller is anonymous"
            );
            return Ok(std::sync::Arc::new(crate::principal::Anonymous));
        }
        Ok(std::sync::Arc::new(crate::auth::Credentials { tokens, certificates }))
    }

    /// The port's TLS and CORS, as configured.
    pub fn edge(&self) -> anyhow::Result<Edge> {
        Ok(Edge {
            tls: self.tls()?,
            cors: self.cors_origins.clone(),
        })
    }

    /// The server's TLS configuration, when one is asked for.
    pub fn tls(&self) -> anyhow::Result<Option<tonic::transport::ServerTlsConfig>> {
        use anyhow::Context as _;
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let read = |p: &std::path::Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        let mut config = tonic::transport::ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(read(cert)?, read(key)?));
        if let Some(ca) = &self.tls_client_ca {
            config = config.client_ca_root(tonic::transport::Certificate::from_pem(read(ca)?));
        }
        Ok(Some(config))
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
    /// Requests a second per agency (0: none).
    pub rate_per_second: f64,
    /// Burst above the rate.
    pub rate_burst: f64,
    /// Refused calls a second per peer address (0: none).
    pub refusals_per_second: f64,
    /// Their burst.
    pub refusal_burst: f64,
    /// In-flight requests per agency (0: no limit).
    pub max_inflight_per_agency: usize,
    /// In-flight requests per service.
    pub max_inflight: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024 * 1024,
            max_concurrent_streams: 256,
            request_timeout: Duration::from_secs(30),
            rate_per_second: 200.0,
            rate_burst: 400.0,
            refusals_per_second: 2.0,
            refusal_burst: 60.0,
            max_inflight_per_agency: 16,
            max_inflight: 512,
        }
    }
}
