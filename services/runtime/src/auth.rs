//! Signed agency tokens: who an agency is, its role and its scope (sectors
//! and regions), signed with a key every service is configured with (HS256).
//! `citydash token issue` writes them; the [`Tokens`] authenticator checks
//! them. Identity comes only from a verified token, never from a request field.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::principal::{Authenticator, Principal};

/// The longest token read: longer ones are refused unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The issuer every citydash token names.
pub const ISSUER: &str = "citydash";

/// What a principal may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A sector agency: writes its own sectors and regions, reads everything.
    Agency,
    /// The statistics bureau: writes city indicators, reads everything.
    Statistics,
    /// The finance bureau: writes city indicators (budget revenue), reads everything.
    Finance,
    /// Development and reform (发改委): writes city indicators (fixed-asset investment), reads everything.
    DevelopmentReform,
    /// Reads only (the mayor's office, a wall screen).
    Viewer,
    /// Locks periods, corrects locked data, reads the audit trail.
    Admin,
}

impl Role {
    /// The role's name as tokens and audit rows write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agency => "agency",
            Role::Statistics => "statistics",
            Role::Finance => "finance",
            Role::DevelopmentReform => "development_reform",
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }
}

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
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expires at, seconds since the epoch.
    pub exp: u64,
    /// Always [`ISSUER`].
    pub iss: String,
}

impl Claims {
    /// Claims for `sub` valid for `ttl` from now.
    pub fn new(sub: &str, role: Role, sectors: Vec<String>, regions: Vec<String>, ttl: Duration) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Self {
            sub: sub.to_owned(),
            role,
            sectors,
            regions,
            iat: now,
            exp: now + ttl.as_secs(),
            iss: ISSUER.to_owned(),
        }
    }
}

/// The shared signing key. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenKey(Vec<u8>);

impl TokenKey {
    /// A key from its bytes; at least 32 of them.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, String> {
        let bytes = bytes.into();
        if bytes.len() < 32 {
            return Err(format!("a token key needs at least 32 bytes, got {}", bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// Signs `claims`.
    pub fn issue(&self, claims: &Claims) -> Result<String, String> {
        let key = EncodingKey::from_secret(&self.0).map_err(|e| e.to_string())?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).map_err(|e| e.to_string())
    }

    /// Verifies a token: signature, issuer and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 30;
        let key = DecodingKey::from_secret(&self.0).map_err(|e| e.to_string())?;
        jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "令牌已过期，请重新签发".to_owned(),
                jsonwebtoken::errors::ErrorKind::InvalidSignature => "令牌签名无效".to_owned(),
                _ => format!("令牌无效：{e}"),
            })
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

/// Authenticates callers by the bearer token in `authorization`.
#[derive(Debug, Clone)]
pub struct Tokens {
    key: TokenKey,
}

impl Tokens {
    /// Verifies tokens signed with `key`.
    pub fn new(key: TokenKey) -> Self {
        Self { key }
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
        let claims = self.key.verify(token.trim())?;
        Ok(Principal {
            name: claims.sub,
            role: claims.role,
            sectors: claims.sectors,
            regions: claims.regions,
        })
    }
}

/// The URI SAN prefix naming a sector a certificate may write.
pub const SAN_SECTOR: &str = "urn:citydash:sector:";
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
    let (mut sectors, mut regions) = (Vec::new(), Vec::new());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for general in &san.value.general_names {
            if let GeneralName::URI(uri) = general {
                if let Some(s) = uri.strip_prefix(SAN_SECTOR) {
                    sectors.push(s.to_owned());
                } else if let Some(r) = uri.strip_prefix(SAN_REGION) {
                    regions.push(r.to_owned());
                }
            }
        }
    }
    Ok(Principal {
        name,
        role,
        sectors,
        regions,
    })
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

    fn key(byte: u8) -> TokenKey {
        TokenKey::new(vec![byte; 32]).unwrap()
    }

    fn headers(token: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn a_token_round_trips_and_a_forged_or_expired_one_does_not() {
        let claims = Claims::new(
            "市农业农村局",
            Role::Agency,
            vec!["agriculture".into()],
            vec![],
            Duration::from_secs(60),
        );
        let token = key(1).issue(&claims).unwrap();
        let p = Tokens::new(key(1)).verify(&headers(&token)).unwrap();
        assert_eq!((p.name.as_str(), p.role), ("市农业农村局", Role::Agency));
        assert!(
            Tokens::new(key(2))
                .verify(&headers(&token))
                .unwrap_err()
                .contains("签名")
        );
        let mut old = claims.clone();
        old.exp = old.iat - 3600;
        let expired = key(1).issue(&old).unwrap();
        assert_eq!(
            Tokens::new(key(1)).verify(&headers(&expired)).unwrap_err(),
            "令牌已过期，请重新签发"
        );
        assert!(
            Tokens::new(key(1))
                .verify(&http::HeaderMap::new())
                .unwrap_err()
                .contains("缺少凭据")
        );
        assert!(TokenKey::new(vec![0; 8]).is_err());
        assert_eq!(format!("{:?}", key(1)), "TokenKey(<redacted>)");
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

/// A fresh random signing key, hex-encoded (64 characters).
pub fn random_key_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
