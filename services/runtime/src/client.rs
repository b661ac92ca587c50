//! How a command-line client reaches a service by its URL: `http://` as
//! is, `https://` over TLS verified against the CA in `CITYDASH_TLS_CA` (a
//! PEM file: the deployment's own, as the compose TLS entry's certificate
//! is) or, without it, the public web roots. One place, so `push`,
//! `import`, `export`, `token` and `health` all speak TLS alike.

use std::time::Duration;

use anyhow::Context as _;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

/// The environment variable naming the CA file for `https://` URLs.
pub const TLS_CA_ENV: &str = "CITYDASH_TLS_CA";

/// The endpoint of `url`, with TLS for `https://`.
pub fn endpoint(url: &str) -> anyhow::Result<Endpoint> {
    let endpoint = Endpoint::from_shared(url.to_owned()).with_context(|| format!("bad URL {url:?}"))?;
    if !url.starts_with("https://") {
        return Ok(endpoint);
    }
    let tls = match std::env::var_os(TLS_CA_ENV) {
        Some(path) => {
            let pem = std::fs::read(&path)
                .with_context(|| format!("reading {TLS_CA_ENV}={}", std::path::Path::new(&path).display()))?;
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
        }
        None => ClientTlsConfig::new().with_webpki_roots(),
    };
    endpoint.tls_config(tls).context("TLS settings")
}

/// Connects to `url` within `timeout`.
pub async fn connect(url: &str, timeout: Duration) -> anyhow::Result<tonic::transport::Channel> {
    endpoint(url)?
        .connect_timeout(timeout)
        .connect()
        .await
        .with_context(|| format!("connecting to {url}"))
}
