//! Keys and tokens (issue 22, item 10): tokens are signed with a private key
//! no service holds (the services verify with the public key), carry their
//! audience and id, and an admin can revoke one: the aggregator refuses it
//! within seconds, a sector within its refresh of the list; the revocation
//! is audited like every write.

use std::time::Duration;

use citydash_e2e::{request_id, test_signing_key, token};
use citydash_proto::v1::{
    self, sector_service_client::SectorServiceClient, tokens_service_client::TokensServiceClient,
};
use citydash_runtime::auth::{Claims, Role};
use tonic::Code;

fn claims_of(token: &str) -> Claims {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&json).expect("claims")
}

async fn catalog(channel: citydash_runtime::auth::AuthedChannel) -> Result<(), tonic::Status> {
    SectorServiceClient::new(channel)
        .get_catalog(v1::GetCatalogRequest {})
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_revoked_token_is_refused_everywhere_and_a_narrowed_one_outside_its_audience() {
    let (agg, agri, _agg_db, _agri_db) = citydash_e2e::spawn_agriculture_reading_the_city().await;

    let stolen = token("市农业农村局", Role::Agency, &["agriculture"], &[]);
    let claims = claims_of(&stolen);
    assert_eq!(claims.jti.len(), 32);
    assert!(claims.nbf <= claims.iat + 1 && claims.aud.contains(&"agriculture".to_owned()));
    catalog(agri.channel_as(&stolen).await).await.expect("valid at first");
    catalog(agg.channel_as(&stolen).await).await.expect("valid at first");

    // Only the admin revokes; the revocation is a versioned, audited write.
    let revoke = v1::RevokeTokensRequest {
        request_id: request_id(),
        validate_only: false,
        tokens: vec![v1::RevokedToken {
            jti: claims.jti.clone(),
            subject: claims.sub.clone(),
            reason: "令牌泄露".into(),
            meta: None,
        }],
        correction_reason: String::new(),
        update_mask: None,
    };
    let err = TokensServiceClient::new(agg.channel_as(&stolen).await)
        .revoke_tokens(revoke.clone())
        .await
        .expect_err("an agency cannot revoke");
    assert_eq!(err.code(), Code::PermissionDenied);
    let admin = token("市政府办公室", Role::Admin, &[], &[]);
    let mut tokens = TokensServiceClient::new(agg.channel_as(&admin).await);
    tokens.revoke_tokens(revoke).await.expect("the admin revokes");
    let listed = tokens
        .list_revoked_tokens(v1::ListRevokedTokensRequest::default())
        .await
        .expect("list")
        .into_inner()
        .tokens;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].meta.as_ref().map(|m| m.updated_by.as_str()),
        Some("市政府办公室")
    );

    // Refused on every service within the refresh of its list.
    for (name, running, within) in [("aggregator", &agg, 5), ("agriculture", &agri, 15)] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(within);
        loop {
            match catalog(running.channel_as(&stolen).await).await {
                Err(status) => {
                    assert_eq!(status.code(), Code::Unauthenticated, "{name}");
                    assert!(status.message().contains("吊销"), "{name}: {}", status.message());
                    break;
                }
                Ok(()) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "{name} still accepts a revoked token"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    // Another token of the same agency is not affected.
    catalog(
        agri.channel_as(&token("市农业农村局", Role::Agency, &["agriculture"], &[]))
            .await,
    )
    .await
    .expect("a fresh token");

    // A token narrowed to the city view is refused by a sector.
    let mut narrowed = Claims::new("大屏", Role::Viewer, vec![], vec![], Duration::from_secs(600));
    narrowed.aud = vec!["city".to_owned()];
    let narrowed = test_signing_key().issue(&narrowed).expect("token");
    let err = catalog(agri.channel_as(&narrowed).await)
        .await
        .expect_err("not for agriculture");
    assert_eq!(err.code(), Code::Unauthenticated);
    catalog(agg.channel_as(&narrowed).await).await.expect("for the city");

    // A token not valid yet is refused.
    let mut later = Claims::new(
        "市农业农村局",
        Role::Agency,
        vec!["agriculture".into()],
        vec![],
        Duration::from_secs(7200),
    );
    later.nbf += 3600;
    let later = test_signing_key().issue(&later).expect("token");
    let err = catalog(agri.channel_as(&later).await).await.expect_err("not before");
    assert!(err.message().contains("尚未生效"), "{}", err.message());
    agri.stop().await;
    agg.stop().await;
}

/// The admin lists the tokens in use (issue 18: a screen's credential listed
/// with its last use): every token the aggregator accepted, with whom it was
/// issued to, its role, its expiry and its first and last use, paged by id,
/// with the revoked ones marked; nobody else may list them.
#[tokio::test]
async fn the_admin_lists_the_tokens_in_use_with_their_last_use_and_revocation() {
    let db = citydash_e2e::TestDb::new().await;
    let agg = citydash_e2e::spawn_aggregator_with(&db, Vec::new()).await;
    let screen = token("会议室大屏", Role::Viewer, &[], &[]);
    let agency = token("市农业农村局", Role::Agency, &["agriculture"], &[]);
    let admin = token("市政府办公室", Role::Admin, &[], &[]);
    let (screen_claims, agency_claims) = (claims_of(&screen), claims_of(&agency));
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    catalog(agg.channel_as(&screen).await).await.expect("the screen reads");
    tokio::time::sleep(Duration::from_millis(20)).await;
    catalog(agg.channel_as(&screen).await).await.expect("and again");
    catalog(agg.channel_as(&agency).await).await.expect("the agency reads");

    // Not for a viewer or an agency.
    for other in [&screen, &agency] {
        let err = TokensServiceClient::new(agg.channel_as(other).await)
            .list_token_uses(v1::ListTokenUsesRequest::default())
            .await
            .expect_err("admin only");
        assert_eq!(err.code(), Code::PermissionDenied);
        assert!(err.message().contains("不是管理员"), "{}", err.message());
    }

    let mut tokens = TokensServiceClient::new(agg.channel_as(&admin).await);
    let list = |page_size: i32, page_token: String| v1::ListTokenUsesRequest { page_size, page_token };
    let all = tokens
        .list_token_uses(list(0, String::new()))
        .await
        .expect("list")
        .into_inner();
    assert!(all.next_page_token.is_empty());
    let ids: Vec<&str> = all.tokens.iter().map(|t| t.jti.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ordered by id");
    let used = all
        .tokens
        .iter()
        .find(|t| t.jti == screen_claims.jti)
        .expect("the screen's token is listed");
    assert_eq!((used.subject.as_str(), used.role.as_str()), ("会议室大屏", "viewer"));
    assert_eq!(
        used.expire_time.as_ref().map(|t| t.seconds),
        Some(screen_claims.exp as i64)
    );
    let (first, last) = (used.first_use_time.expect("first"), used.last_use_time.expect("last"));
    assert!(
        first.seconds >= before && (last.seconds, last.nanos) > (first.seconds, first.nanos),
        "{first:?} {last:?}"
    );
    assert!(!used.revoked);
    assert!(
        all.tokens
            .iter()
            .any(|t| t.jti == agency_claims.jti && t.role == "agency")
    );
    assert!(
        all.tokens.iter().any(|t| t.role == "admin"),
        "the admin's own call is noted too"
    );

    // Paged by id: the pages together are the list.
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = tokens
            .list_token_uses(list(1, page_token))
            .await
            .expect("a page")
            .into_inner();
        assert!(page.tokens.len() <= 1);
        paged.extend(page.tokens.into_iter().map(|t| t.jti));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(paged, sorted);
    let err = tokens
        .list_token_uses(list(-1, String::new()))
        .await
        .expect_err("negative size");
    assert_eq!(err.code(), Code::InvalidArgument);

    // A revoked token is marked once this replica holds the revocation.
    tokens
        .revoke_tokens(v1::RevokeTokensRequest {
            request_id: request_id(),
            tokens: vec![v1::RevokedToken {
                jti: screen_claims.jti.clone(),
                subject: screen_claims.sub.clone(),
                reason: "大屏更换".into(),
                meta: None,
            }],
            ..Default::default()
        })
        .await
        .expect("revoke");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let all = tokens
            .list_token_uses(list(0, String::new()))
            .await
            .expect("list")
            .into_inner();
        if all.tokens.iter().any(|t| t.jti == screen_claims.jti && t.revoked) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the revoked token is never marked"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    agg.stop().await;
}

/// Files holding keys or tokens are their owner's alone.
#[test]
fn key_and_token_files_are_written_0600() {
    use std::os::unix::fs::PermissionsExt as _;
    let keys = citydash_e2e::test_keys();
    for file in [
        keys.service_token_file.clone(),
        keys.public_key_file.with_file_name("token-signing.pem"),
    ] {
        let mode = std::fs::metadata(&file).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
}
