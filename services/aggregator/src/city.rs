//! The city level that no sector owns: GDP, fixed-asset investment and
//! general budget revenue, their annual targets, and the peer counties'
//! figures, pushed by the statistics and finance bureaus. It is one more
//! sector on the shared engine (same validation, idempotency and revisions),
//! served by the aggregator process, whose feed the aggregator follows like
//! any other.

use citydash_proto::v1;
use citydash_runtime::Error;
use citydash_runtime::Identity;
use citydash_runtime::auth::{Revocations, Role, TokenUses};
use citydash_runtime::paging::{self, Page};
use citydash_sector::plan::UpsertEntities;
use citydash_sector::registry::UnitRecords;
use citydash_sector::revocations::RevokedRecords;
use citydash_sector::spec::{IndicatorSpec, SectorSpec, ServiceContext};
use citydash_sector::store::{Index, Store};
use citydash_sector::{Engine, EntityType};
use tonic::service::RoutesBuilder;

use crate::readstore::TokenUseLog;

/// The city indicator catalog, each figure with the bureau that pushes it
/// (DOMAIN.md, who uses it): GDP the statistics bureau, fixed-asset
/// investment development and reform, budget revenue the finance bureau.
pub const CATALOG: &[IndicatorSpec] = &[
    IndicatorSpec::cumulative("city.gdp", "地区生产总值", "Regional GDP", "yuan", "元").written_by(&[Role::Statistics]),
    IndicatorSpec::cumulative(
        crate::compute::projects::FIXED_ASSET_INVESTMENT,
        "500万元以上固定资产投资",
        "Fixed-asset investment (projects of 5 million yuan and more)",
        "yuan",
        "元",
    )
    .written_by(&[Role::DevelopmentReform]),
    IndicatorSpec::cumulative(
        "city.budget_revenue",
        "地方一般公共预算收入",
        "Local general public budget revenue",
        "yuan",
        "元",
    )
    .written_by(&[Role::Finance]),
];

/// The city level as a sector of the shared engine.
pub struct City;

impl SectorSpec for City {
    const SECTOR: v1::Sector = v1::Sector::City;
    const CATALOG: &'static [IndicatorSpec] = CATALOG;

    /// The city's own registers: the responsible units, the revoked tokens,
    /// the supervision orders.
    fn entity_types() -> Vec<EntityType> {
        vec![
            EntityType::of::<UnitRecords>(),
            EntityType::of::<RevokedRecords>(),
            EntityType::of::<crate::orders::OrderRecords>(),
        ]
    }

    /// The unit registry (`UnitsService`), beside the shared contract (the
    /// launch adds `TokensService`, which also reads the read model's record
    /// of token uses).
    fn add_own_service<S: Store>(engine: Engine<S>, ctx: &ServiceContext, routes: &mut RoutesBuilder) -> &'static str {
        routes.add_service(
            v1::units_service_server::UnitsServiceServer::new(UnitsGrpc { engine })
                .max_decoding_message_size(ctx.limits.max_message_bytes)
                .max_encoding_message_size(ctx.limits.max_message_bytes),
        );
        v1::units_service_server::SERVICE_NAME
    }
}

/// `UnitsService` over the city engine: registrations are admin-only writes
/// of [`UnitRecords`], with versions, audit and the change feed.
struct UnitsGrpc<S> {
    engine: Engine<S>,
}

#[tonic::async_trait]
impl<S: Store> v1::units_service_server::UnitsService for UnitsGrpc<S> {
    async fn register_units(
        &self,
        request: tonic::Request<v1::RegisterUnitsRequest>,
    ) -> Result<tonic::Response<v1::RegisterUnitsResponse>, tonic::Status> {
        let results = self
            .engine
            .handle_admin(Identity::with_message(request), |r| {
                Box::new(UpsertEntities::<UnitRecords> { items: &r.units })
            })
            .await?;
        Ok(tonic::Response::new(v1::RegisterUnitsResponse { results }))
    }

    async fn list_units(
        &self,
        request: tonic::Request<v1::ListUnitsRequest>,
    ) -> Result<tonic::Response<v1::ListUnitsResponse>, tonic::Status> {
        let r = request.into_inner();
        let page = self
            .engine
            .list_entities::<UnitRecords>(Index::default(), r.page_size, &r.page_token)
            .await?;
        Ok(tonic::Response::new(v1::ListUnitsResponse {
            units: page.items,
            next_page_token: page.next_page_token,
        }))
    }
}

/// `TokensService` over the city engine: revocations are admin-only writes
/// of [`RevokedRecords`], with versions, audit and the change feed; the
/// record of token uses is read from the read model, this replica's latest
/// uses written first.
pub struct TokensGrpc<S, R> {
    /// The city engine, which holds the revocations.
    pub engine: Engine<S>,
    /// Where token uses are recorded.
    pub log: R,
    /// This replica's uses not yet written.
    pub uses: TokenUses,
    /// The revocation list as this replica holds it.
    pub revoked: Revocations,
}

/// How often a replica writes the token uses it noted.
pub const TOKEN_USES_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Writes `uses` to `log` every [`TOKEN_USES_EVERY`], forever.
pub async fn keep_token_uses<R: TokenUseLog>(log: R, uses: TokenUses) {
    let mut every = tokio::time::interval(TOKEN_USES_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let noted = uses.take();
        if let Err(err) = log.note_token_uses(&noted).await {
            tracing::warn!(error = %err, tokens = noted.len(), "recording token uses failed: they are noted again on their next use");
        }
    }
}

#[tonic::async_trait]
impl<S: Store, R: TokenUseLog> v1::tokens_service_server::TokensService for TokensGrpc<S, R> {
    async fn revoke_tokens(
        &self,
        request: tonic::Request<v1::RevokeTokensRequest>,
    ) -> Result<tonic::Response<v1::RevokeTokensResponse>, tonic::Status> {
        let results = self
            .engine
            .handle_admin(Identity::with_message(request), |r| {
                Box::new(UpsertEntities::<RevokedRecords> { items: &r.tokens })
            })
            .await?;
        Ok(tonic::Response::new(v1::RevokeTokensResponse { results }))
    }

    async fn list_revoked_tokens(
        &self,
        request: tonic::Request<v1::ListRevokedTokensRequest>,
    ) -> Result<tonic::Response<v1::ListRevokedTokensResponse>, tonic::Status> {
        let r = request.into_inner();
        let page = self
            .engine
            .list_entities::<RevokedRecords>(Index::default(), r.page_size, &r.page_token)
            .await?;
        Ok(tonic::Response::new(v1::ListRevokedTokensResponse {
            tokens: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn list_token_uses(
        &self,
        request: tonic::Request<v1::ListTokenUsesRequest>,
    ) -> Result<tonic::Response<v1::ListTokenUsesResponse>, tonic::Status> {
        let (identity, r) = Identity::with_message(request);
        self.engine
            .authorize(&identity, "citydash.v1.ListTokenUsesRequest", |p| {
                p.require_admin("查看令牌使用记录")
            })
            .await?;
        let page = Page::parse(r.page_size, &r.page_token)?;
        // This replica's latest uses (the caller's own among them) first.
        self.log.note_token_uses(&self.uses.take()).await.map_err(Error::from)?;
        let mut tokens = self
            .log
            .token_uses(&page.cursor, page.size as i64 + 1)
            .await
            .map_err(Error::from)?;
        let more = tokens.len() > page.size;
        tokens.truncate(page.size);
        for t in &mut tokens {
            t.revoked = self.revoked.contains(&t.jti);
        }
        let next_page_token = match tokens.last() {
            Some(last) if more => paging::token(&last.jti),
            _ => String::new(),
        };
        Ok(tonic::Response::new(v1::ListTokenUsesResponse {
            tokens,
            next_page_token,
        }))
    }
}
