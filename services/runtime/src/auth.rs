//! Signed agency tokens: who an agency is, its role, its scope (sectors and
//! regions) and the services it may be shown to (`aud`), signed with EdDSA
//! (Ed25519). Services hold only the public key: none of them, the
//! aggregator included, can mint a token; only whoever holds the private key
//! (`citydash token issue`) can. Every token has an id (`jti`) that the
//! admin can revoke, and a validity window (`nbf`..`exp`). Identity comes only
//! from a verified token, never from a request field.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::principal::{Authenticator, Principal};

/// The longest token read: longer ones are refused unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The issuer every citydash token names.
pub const ISSUER: &str = "citydash";

/// The services a token can name in `aud`: the sectors and the city (the
/// aggregator), as `citydash_proto::sectors` lists them.
pub fn services() -> Vec<&'static str> {
    citydash_proto::sectors::service_names().collect()
}

pub use crate::principal::Role;

/// The claims of a citydash token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The agency or user, e.g. "市农业农村局".
    pub sub: String,
    /// Its role.
    pub role: Role,
    /// Sectors it may write ("agriculture" …), for agencies.
    #[serde(default)]
    pub sectors: Vec<String>,
    /// Regions it may write; empty for all.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Responsible units (codes) an agency answers for on supervision
    /// orders; empty (and absent) for every unit of its sectors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
    /// The services (of [`services`]) that accept it.
    pub aud: Vec<String>,
    /// The token's id: what a revocation names.
    pub jti: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Not valid before, seconds since the epoch.
    pub nbf: u64,
    /// Expires at, seconds since the epoch.
    pub exp: u64,
    /// Always [`ISSUER`].
    pub iss: String,
}

impl Claims {
    /// Claims for `sub` valid for `ttl` from now, with a fresh id, for every
    /// service ([`services`]): a caller reads the whole city, and what it may
    /// write is its role's and scope's to say, so a write outside them is
    /// PERMISSION_DENIED, not a token refused. A token narrowed to some
    /// services (`citydash token issue --audience`) is refused by the others.
    pub fn new(sub: &str, role: Role, sectors: Vec<String>, regions: Vec<String>, ttl: Duration) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let aud = services().into_iter().map(str::to_owned).collect();
        Self {
            sub: sub.to_owned(),
            role,
            sectors,
            regions,
            units: Vec::new(),
            aud,
            jti: random_id(),
            iat: now,
            nbf: now,
            exp: now + ttl.as_secs(),
            iss: ISSUER.to_owned(),
        }
    }
}

/// 16 random bytes, hex-encoded: a token id.
fn random_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The private key that signs tokens (Ed25519, PKCS#8 PEM). Only the
/// issuer holds it. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct SigningKey(EncodingKey);

impl SigningKey {
    /// The key of a PKCS#8 PEM text (`citydash token keygen` writes one).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        EncodingKey::from_ed_pem(pem.as_bytes())
            .map(Self)
            .map_err(|e| format!("not an Ed25519 private key (PKCS#8 PEM): {e}"))
    }

    /// Signs `claims`.
    pub fn issue(&self, claims: &Claims) -> Result<String, String> {
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &self.0).map_err(|e| e.to_string())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// The public key every service verifies tokens with (Ed25519, SPKI PEM).
#[derive(Clone)]
pub struct VerifyingKey(DecodingKey);

impl VerifyingKey {
    /// The key of an SPKI PEM text (`citydash token keygen` writes one).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        DecodingKey::from_ed_pem(pem.as_bytes())
            .map(Self)
            .map_err(|e| format!("not an Ed25519 public key (SPKI PEM): {e}"))
    }

    /// Verifies a token for `service`: signature, issuer, audience, the
    /// validity window (30 s of leeway for clocks) and an id.
    pub fn verify(&self, token: &str, service: &str) -> Result<Claims, String> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[service]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.0, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "令牌已过期，请重新签发".to_owned(),
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => "令牌尚未生效（nbf）".to_owned(),
                jsonwebtoken::errors::ErrorKind::InvalidSignature => "令牌签名无效".to_owned(),
                jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                    format!("该令牌不能用于本服务（{service}）：请签发 aud 含 {service} 的令牌")
                }
                _ => format!("令牌无效：{e}"),
            })?;
        if claims.jti.is_empty() {
            return Err("令牌缺少编号（jti），请重新签发".to_owned());
        }
        Ok(claims)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifyingKey(Ed25519)")
    }
}

/// A fresh key pair: (private PKCS#8 PEM, public SPKI PEM).
pub fn generate_key_pair() -> Result<(String, String), String> {
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    use ed25519_dalek::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let private = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| e.to_string())?;
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?;
    Ok((private.to_string(), public))
}

/// The environment variable that may hold a service's own token.
pub const SERVICE_TOKEN_ENV: &str = "CITYDASH_SERVICE_TOKEN";

/// The token a service shows other services: from the environment, or a
/// file read again at each use (rotated in place without a restart).
#[derive(Clone)]
pub enum ServiceToken {
    /// The token itself.
    Inline(String),
    /// A file holding it.
    File(std::path::PathBuf),
}

impl ServiceToken {
    /// The token as of now.
    pub fn current(&self) -> Result<String, String> {
        match self {
            ServiceToken::Inline(token) => Ok(token.clone()),
            ServiceToken::File(path) => std::fs::read_to_string(path)
                .map(|t| t.trim().to_owned())
                .map_err(|e| format!("reading the service token {}: {e}", path.display())),
        }
    }
}

impl fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceToken::Inline(_) => f.write_str("ServiceToken(<redacted>)"),
            ServiceToken::File(path) => write!(f, "ServiceToken(file {})", path.display()),
        }
    }
}

/// The ids of revoked tokens, shared by a service's authenticator and the
/// task that keeps it current (from the city's revocation list).
#[derive(Debug, Clone, Default)]
pub struct Revocations(Arc<RwLock<HashSet<String>>>);

impl Revocations {
    /// Whether the token `jti` is revoked.
    pub fn contains(&self, jti: &str) -> bool {
        self.0.read().unwrap_or_else(|e| e.into_inner()).contains(jti)
    }

    /// Replaces the list.
    pub fn replace(&self, ids: HashSet<String>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = ids;
    }
}

/// How many verified tokens an authenticator keeps (full, it starts
/// afresh). A token whose signature, issuer and audience were verified is
/// kept so that a caller sending it again (a screen, an agency's batches)
/// pays the Ed25519 verification once; on every hit the validity window is
/// checked again and the revocation list read, so a kept token expires and
/// is revoked like any other.
pub const MAX_CACHED_TOKENS: usize = 4_096;

/// Authenticates callers by the bearer token in `authorization`: verified
/// for this service, and not revoked.
#[derive(Debug, Clone)]
pub struct Tokens {
    key: VerifyingKey,
    service: String,
    revoked: Revocations,
    verified: Arc<std::sync::Mutex<std::collections::HashMap<String, Claims>>>,
    uses: Option<TokenUses>,
}

impl Tokens {
    /// Verifies tokens for `service` (one of [`services`]) with `key`,
    /// refusing those in `revoked`.
    pub fn new(key: VerifyingKey, service: &str, revoked: Revocations) -> Self {
        Self {
            key,
            service: service.to_owned(),
            revoked,
            verified: Arc::default(),
            uses: None,
        }
    }

    /// Notes every token it accepts in `uses` (the aggregator keeps who
    /// used which token, and when, for `TokensService.ListTokenUses`).
    pub fn noting(mut self, uses: TokenUses) -> Self {
        self.uses = Some(uses);
        self
    }

    /// The claims of `token`: from the cache while inside their validity
    /// window (30 s of leeway, as the verification allows), else verified.
    fn claims(&self, token: &str) -> Result<Claims, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut cache = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(claims) = cache.get(token) {
            if claims.nbf <= now + 30 && now <= claims.exp + 30 {
                return Ok(claims.clone());
            }
            cache.remove(token);
        }
        drop(cache);
        let claims = self.key.verify(token, &self.service)?;
        let mut cache = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED_TOKENS {
            cache.clear();
        }
        cache.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    /// The principal a request's bearer token names.
    pub fn verify(&self, headers: &http::HeaderMap) -> Result<Principal, String> {
        let value = headers
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| "缺少凭据：请发送 `authorization: Bearer <令牌>`".to_owned())?;
        let token = value
            .to_str()
            .ok()
            // The scheme is case-insensitive (RFC 7235): `bearer` is `Bearer`.
            .and_then(|v| {
                v.split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, token)| token)
            })
            .ok_or_else(|| "authorization 头的格式应为 `Bearer <令牌>`".to_owned())?;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(format!("令牌过长（{} 字节，至多 {MAX_TOKEN_BYTES} 字节）", token.len()));
        }
        let claims = self.claims(token.trim())?;
        if self.revoked.contains(&claims.jti) {
            return Err("令牌已被吊销，请向管理员申请新的令牌".to_owned());
        }
        if let Some(uses) = &self.uses {
            uses.seen(&claims, now_ms());
        }
        Ok(Principal {
            name: claims.sub,
            role: claims.role,
            sectors: claims.sectors,
            regions: claims.regions,
            units: claims.units,
        })
    }
}

/// The URI SAN prefix naming a sector a certificate may write.
pub const SAN_SECTOR: &str = "urn:citydash:sector:";
/// The URI SAN prefix naming a responsible unit a certificate answers for.
pub const SAN_UNIT: &str = "urn:citydash:unit:";
/// The URI SAN prefix naming a region a certificate may write.
pub const SAN_REGION: &str = "urn:citydash:region:";

/// The principal a verified client certificate names: the agency in its
/// common name, the role in its organizational unit, the scope in URI SANs.
pub fn principal_of_certificate(der: &[u8]) -> Result<Principal, String> {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| format!("无法读取客户端证书：{e}"))?;
    let subject = cert.subject();
    let name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or_else(|| "客户端证书没有通用名称（CN）".to_owned())?
        .to_owned();
    let unit = subject
        .iter_organizational_unit()
        .next()
        .and_then(|ou| ou.as_str().ok())
        .ok_or_else(|| "客户端证书没有写明角色（OU）".to_owned())?;
    let role = <Role as clap::ValueEnum>::from_str(unit, true)
        .map_err(|_| format!("客户端证书的角色「{unit}」不是 citydash 的角色"))?;
    let (mut sectors, mut regions, mut units) = (Vec::new(), Vec::new(), Vec::new());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for general in &san.value.general_names {
            if let GeneralName::URI(uri) = general {
                if let Some(s) = uri.strip_prefix(SAN_SECTOR) {
                    sectors.push(s.to_owned());
                } else if let Some(r) = uri.strip_prefix(SAN_REGION) {
                    regions.push(r.to_owned());
                } else if let Some(u) = uri.strip_prefix(SAN_UNIT) {
                    units.push(u.to_owned());
                }
            }
        }
    }
    Ok(Principal {
        name,
        role,
        sectors,
        regions,
        units,
    })
}

/// Milliseconds since the epoch, now.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// How many distinct tokens [`TokenUses`] holds between two hand-overs;
/// more are not noted until the next (a flood of fresh tokens cannot grow
/// the service's memory).
pub const MAX_NOTED_TOKENS: usize = 10_000;

/// One token's use as a service saw it: its claims that say whose it is,
/// and the first and last time it was accepted (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    /// The token's id.
    pub jti: String,
    /// Whom it was issued to.
    pub subject: String,
    /// Its role.
    pub role: Role,
    /// When it expires, seconds since the epoch.
    pub expires_at: u64,
    /// First accepted, ms since the epoch.
    pub first_ms: i64,
    /// Last accepted, ms since the epoch.
    pub last_ms: i64,
}

/// The tokens accepted since they were last handed on, by id: noted on
/// every accepted call (a map update), taken every few seconds by whoever
/// stores them.
#[derive(Debug, Clone, Default)]
pub struct TokenUses(Arc<std::sync::Mutex<std::collections::HashMap<String, TokenUse>>>);

impl TokenUses {
    /// Notes that the token of `claims` was accepted at `now_ms`.
    pub fn seen(&self, claims: &Claims, now_ms: i64) {
        let mut noted = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(u) = noted.get_mut(&claims.jti) {
            u.last_ms = u.last_ms.max(now_ms);
            return;
        }
        if noted.len() < MAX_NOTED_TOKENS {
            noted.insert(
                claims.jti.clone(),
                TokenUse {
                    jti: claims.jti.clone(),
                    subject: claims.sub.clone(),
                    role: claims.role,
                    expires_at: claims.exp,
                    first_ms: now_ms,
                    last_ms: now_ms,
                },
            );
        }
    }

    /// Every use noted since the last call, emptying the list.
    pub fn take(&self) -> Vec<TokenUse> {
        let mut noted = self.0.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *noted).into_values().collect()
    }
}

/// The credentials a deployment accepts: a client certificate verified by
/// mutual TLS (when a client CA is configured), else a signed token (when a
/// key is configured).
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Signed tokens, when a key is configured.
    pub tokens: Option<Tokens>,
    /// Whether client certificates name agencies (mutual TLS).
    pub certificates: bool,
}

impl Authenticator for Credentials {
    fn authenticate(&self, headers: &http::HeaderMap, client_cert: Option<&[u8]>) -> Result<Principal, String> {
        if self.certificates
            && let Some(der) = client_cert
        {
            return principal_of_certificate(der);
        }
        match &self.tokens {
            Some(tokens) => tokens.verify(headers),
            None => Err("缺少凭据：请出示客户端证书".to_owned()),
        }
    }

    fn requires_credentials(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_uses_keep_the_first_and_the_last_use_and_stay_bounded() {
        let uses = TokenUses::default();
        let claims = Claims::new("大屏", Role::Viewer, vec![], vec![], Duration::from_secs(60));
        uses.seen(&claims, 2_000);
        uses.seen(&claims, 1_000);
        uses.seen(&claims, 5_000);
        let taken = uses.take();
        assert_eq!(taken.len(), 1);
        assert_eq!((taken[0].first_ms, taken[0].last_ms), (2_000, 5_000));
        assert_eq!((taken[0].subject.as_str(), taken[0].role), ("大屏", Role::Viewer));
        assert!(uses.take().is_empty(), "taken once");
        for i in 0..MAX_NOTED_TOKENS + 10 {
            let mut c = claims.clone();
            c.jti = format!("t{i}");
            uses.seen(&c, 1);
        }
        assert_eq!(uses.take().len(), MAX_NOTED_TOKENS);
    }

    fn keys() -> (SigningKey, VerifyingKey) {
        let (private, public) = generate_key_pair().unwrap();
        (
            SigningKey::from_pem(&private).unwrap(),
            VerifyingKey::from_pem(&public).unwrap(),
        )
    }

    fn headers(token: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn a_token_round_trips_and_a_forged_expired_premature_foreign_or_revoked_one_does_not() {
        let (signing, verifying) = keys();
        let claims = Claims::new(
            "市农业农村局",
            Role::Agency,
            vec!["agriculture".into()],
            vec![],
            Duration::from_secs(60),
        );
        assert_eq!(claims.aud, services());
        let mut narrowed = claims.clone();
        narrowed.aud = vec!["agriculture".into()];
        let token = signing.issue(&narrowed).unwrap();
        let revoked = Revocations::default();
        let tokens = Tokens::new(verifying.clone(), "agriculture", revoked.clone());
        let p = tokens.verify(&headers(&token)).unwrap();
        assert_eq!((p.name.as_str(), p.role), ("市农业农村局", Role::Agency));

        let (_, other) = keys();
        let forged = Tokens::new(other, "agriculture", Revocations::default());
        assert!(forged.verify(&headers(&token)).unwrap_err().contains("签名"));
        let elsewhere = Tokens::new(verifying.clone(), "industry", Revocations::default());
        assert!(
            elsewhere
                .verify(&headers(&token))
                .unwrap_err()
                .contains("不能用于本服务")
        );

        let mut old = claims.clone();
        old.exp = old.iat - 3600;
        let expired = signing.issue(&old).unwrap();
        assert_eq!(tokens.verify(&headers(&expired)).unwrap_err(), "令牌已过期，请重新签发");
        let mut later = claims.clone();
        later.nbf = later.iat + 3600;
        later.exp = later.iat + 7200;
        let premature = signing.issue(&later).unwrap();
        assert!(tokens.verify(&headers(&premature)).unwrap_err().contains("尚未生效"));

        // Verified once, cached: still refused once revoked.
        tokens.verify(&headers(&token)).unwrap();
        revoked.replace([narrowed.jti.clone()].into_iter().collect());
        assert!(tokens.verify(&headers(&token)).unwrap_err().contains("吊销"));
        assert!(tokens.verify(&http::HeaderMap::new()).unwrap_err().contains("缺少凭据"));
        assert_eq!(format!("{signing:?}"), "SigningKey(<redacted>)");
        assert!(SigningKey::from_pem("not a key").is_err());
    }

    #[test]
    fn tokens_get_distinct_ids() {
        let a = Claims::new("x", Role::Viewer, vec![], vec![], Duration::from_secs(60));
        let b = Claims::new("x", Role::Viewer, vec![], vec![], Duration::from_secs(60));
        assert_ne!(a.jti, b.jti);
        assert_eq!(a.jti.len(), 32);
    }
}

/// A client-side interceptor that sends a bearer token with every call.
#[derive(Clone, Default)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    /// Sends `token`, or nothing when `None` (a service running open).
    pub fn new(token: Option<&str>) -> Result<Self, String> {
        token
            .map(|t| {
                format!("Bearer {}", t.trim())
                    .parse()
                    .map_err(|_| "the token is not ASCII".to_owned())
            })
            .transpose()
            .map(Bearer)
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Bearer(<redacted>)"
        } else {
            "Bearer(none)"
        })
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        // Send the current trace on, so the callee's spans join it.
        let context = tracing_opentelemetry::OpenTelemetrySpanExt::context(&tracing::Span::current());
        let mut headers = http::HeaderMap::new();
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&context, &mut opentelemetry_http::HeaderInjector(&mut headers))
        });
        for (name, value) in headers.iter() {
            if let (Ok(key), Ok(value)) = (
                tonic::metadata::MetadataKey::from_bytes(name.as_str().as_bytes()),
                tonic::metadata::MetadataValue::try_from(value.as_bytes()),
            ) {
                request.metadata_mut().insert(key, value);
            }
        }
        Ok(request)
    }
}

/// A client channel that authenticates every call.
pub type AuthedChannel = tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>;

/// `channel` sending `token` with every call.
pub fn authed(channel: tonic::transport::Channel, token: Option<&str>) -> Result<AuthedChannel, String> {
    Ok(tonic::service::interceptor::InterceptedService::new(
        channel,
        Bearer::new(token)?,
    ))
}
