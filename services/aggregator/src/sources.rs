//! The sector services the aggregator reads: one lazily connecting channel
//! per sector, showing the aggregator's service token (issued to it by the
//! operator: it holds no key to mint one). The feeds follow them and the
//! drill-down reads a project from them; neither knows how they connect.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use citydash_runtime::auth::{AuthedChannel, ServiceToken, authed};
use tonic::Status;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

/// Deadline of a call and of opening a stream.
pub const CALL_DEADLINE: Duration = Duration::from_secs(5);

/// A sector service reached over gRPC.
pub struct SectorLink {
    sector: v1::Sector,
    url: String,
    channel: Channel,
    token: Option<ServiceToken>,
}

/// The sector services by sector.
pub type SectorLinks = Arc<BTreeMap<i32, Arc<SectorLink>>>;

impl SectorLink {
    /// A lazily connecting link to `sector` at `url` (`http://host:port`, or
    /// `https://` with `tls`), showing `token` when there is one.
    pub fn new(
        sector: v1::Sector,
        url: &str,
        token: Option<ServiceToken>,
        tls: Option<ClientTlsConfig>,
    ) -> anyhow::Result<Self> {
        let mut endpoint = Endpoint::from_shared(url.to_owned())?;
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls)?;
        }
        let channel = endpoint
            .connect_timeout(CALL_DEADLINE)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true)
            .connect_lazy();
        Ok(Self {
            sector,
            url: url.to_owned(),
            channel,
            token,
        })
    }

    /// The sector it reaches.
    pub fn sector(&self) -> v1::Sector {
        self.sector
    }

    /// Its address, for logs.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A client showing the service token as of now (its file is read
    /// again, so a rotated token is used from the next connection).
    pub fn client(&self) -> Result<SectorServiceClient<AuthedChannel>, Status> {
        let token = self
            .token
            .as_ref()
            .map(ServiceToken::current)
            .transpose()
            .map_err(Status::unavailable)?;
        let channel = authed(self.channel.clone(), token.as_deref()).map_err(Status::internal)?;
        Ok(SectorServiceClient::new(channel))
    }
}
