//! Revoked tokens: records of the city engine (the aggregator hosts the
//! list, admin-only writes with versions, audit and the change feed like
//! every other record), and the task that keeps a service's
//! [`Revocations`] current from it: the aggregator reads its own database
//! (shared by its replicas), a sector reads the aggregator's
//! `TokensService`. A service that cannot read the list keeps the last one
//! it read.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use citydash_proto::v1;
use citydash_runtime::auth::Revocations;

use crate::entity::SectorEntity;
use crate::store::{Index, ListQuery, Store};
use crate::validate::Item;

/// How often the aggregator reads the list from its database.
pub const CITY_REFRESH: Duration = Duration::from_secs(2);
/// How often a sector reads the list from the aggregator.
pub const SECTOR_REFRESH: Duration = Duration::from_secs(10);

/// Revoked tokens as records of the city engine, keyed by token id.
pub struct RevokedRecords;

impl SectorEntity for RevokedRecords {
    type Message = v1::RevokedToken;
    const FIELD: &'static str = "tokens";
    const CODE_FIELD: &'static str = "jti";

    fn code(m: &Self::Message) -> &str {
        &m.jti
    }

    /// A revocation holds city-wide.
    fn region_code(_m: &Self::Message) -> &str {
        "city"
    }

    /// A revocation answers to no unit: its own id fills the index.
    fn responsible_unit(m: &Self::Message) -> &str {
        &m.jti
    }

    fn set_responsible_unit(_m: &mut Self::Message, _unit: String) {}

    fn resolves_unit() -> bool {
        false
    }

    fn meta_mut(m: &mut Self::Message) -> &mut Option<v1::RecordMeta> {
        &mut m.meta
    }

    fn validate(m: &Self::Message, item: &mut Item<'_>) {
        item.text("reason", &m.reason);
        item.optional_text("subject", &m.subject);
    }
}

/// Every revoked token id in `store` (the city engine's own).
pub async fn ids_in_store<S: Store>(store: &S) -> Result<HashSet<String>, String> {
    let kind = crate::entity::type_name::<RevokedRecords>();
    let mut ids = HashSet::new();
    let mut after_key = String::new();
    loop {
        let page = store
            .list(&ListQuery {
                kind: kind.clone(),
                filter: Index::default(),
                after_key: after_key.clone(),
                limit: 1000,
            })
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last() else {
            return Ok(ids);
        };
        after_key = last.key.clone();
        ids.extend(page.into_iter().map(|r| r.key));
    }
}

/// Every revoked token id, page by page, from the `TokensService` on `channel`.
pub async fn ids_from(channel: citydash_runtime::auth::AuthedChannel) -> Result<HashSet<String>, tonic::Status> {
    let mut client = v1::tokens_service_client::TokensServiceClient::new(channel);
    let mut ids = HashSet::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_revoked_tokens(v1::ListRevokedTokensRequest {
                page_size: 1000,
                page_token,
            })
            .await?
            .into_inner();
        ids.extend(page.tokens.into_iter().map(|t| t.jti));
        if page.next_page_token.is_empty() {
            return Ok(ids);
        }
        page_token = page.next_page_token;
    }
}

/// Reads the list with `load` now and every `every`, replacing
/// `revocations` each time it reads; a failed read keeps the last list.
pub async fn keep_current<F, Fut>(revocations: Revocations, every: Duration, load: F)
where
    F: Fn() -> Fut + Send,
    Fut: Future<Output = Result<HashSet<String>, String>> + Send,
{
    let mut failing = false;
    loop {
        match load().await {
            Ok(ids) => {
                if failing {
                    tracing::info!(revoked = ids.len(), "the revocation list is read again");
                }
                failing = false;
                revocations.replace(ids);
            }
            Err(why) if !failing => {
                failing = true;
                tracing::warn!(error = %why, "reading the revocation list failed; keeping the last one read");
            }
            Err(_) => {}
        }
        tokio::time::sleep(every).await;
    }
}
