//! Tokens and their keys: `citydash token keygen` makes the Ed25519 key
//! pair (the private key stays with whoever issues tokens; every service gets
//! only the public key), `citydash token issue` signs a token for an agency,
//! `citydash token uses` lists the tokens in use with their last use (read
//! from the aggregator), and the demo's set of tokens. Files holding a key or a token are written
//! readable by their owner only (0600).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use citydash_proto::sectors::SECTORS;
use citydash_runtime::auth::{Claims, Role, SigningKey, services};

/// `citydash token keygen`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeygenArgs {
    /// The folder to write `token-signing.pem` (private, 0600) and
    /// `token-verifying.pem` (public, for every service) into.
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
}

/// `citydash token issue`.
#[derive(Debug, Clone, clap::Args)]
pub struct IssueArgs {
    /// The private key file (`token-signing.pem` from `citydash token keygen`).
    #[arg(long, env = "CITYDASH_TOKEN_SIGNING_KEY_FILE")]
    pub signing_key_file: PathBuf,
    /// Who the token is for, e.g. 市农业农村局.
    #[arg(long)]
    pub subject: String,
    /// Its role.
    #[arg(long, value_enum)]
    pub role: Role,
    /// A sector it may write (agencies; repeatable): agriculture, industry, tourism, welfare.
    #[arg(long = "sector")]
    pub sectors: Vec<String>,
    /// A region it may write (repeatable); all when omitted.
    #[arg(long = "region")]
    pub regions: Vec<String>,
    /// A responsible unit (registered code) an agency answers for on
    /// supervision orders (repeatable); every unit of its sectors when omitted.
    #[arg(long = "unit")]
    pub units: Vec<String>,
    /// A service that accepts it (repeatable: agriculture, industry, tourism,
    /// welfare, city); every service when omitted. The others refuse it.
    #[arg(long = "audience")]
    pub audience: Vec<String>,
    /// Days until it expires.
    #[arg(long, default_value_t = 90)]
    pub days: u64,
}

/// `citydash token uses`.
#[derive(Debug, Clone, clap::Args)]
pub struct UsesArgs {
    /// The aggregator.
    #[arg(long, env = "CITYDASH_AGGREGATOR_URL", default_value = "http://127.0.0.1:50060")]
    pub url: String,
    /// An admin's token.
    #[arg(long, env = "CITYDASH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Every token the aggregator has accepted, as a table for the terminal:
/// id, holder, role, first and last use, expiry, and whether it is revoked
/// (times in UTC, to the minute).
pub async fn uses(channel: citydash_runtime::auth::AuthedChannel) -> anyhow::Result<String> {
    use citydash_proto::v1::{self, tokens_service_client::TokensServiceClient};
    let mut client = TokensServiceClient::new(channel);
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_token_uses(v1::ListTokenUsesRequest {
                page_size: 1000,
                page_token,
            })
            .await
            .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?
            .into_inner();
        all.extend(page.tokens);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let time = |t: Option<&prost_types::Timestamp>| {
        t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
            .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    let mut rows = vec![
        [
            "编号（jti）",
            "签发给",
            "角色",
            "首次使用（UTC）",
            "最近使用（UTC）",
            "到期（UTC）",
            "状态",
        ]
        .map(str::to_owned),
    ];
    for t in &all {
        rows.push([
            t.jti.clone(),
            t.subject.clone(),
            t.role.clone(),
            time(t.first_use_time.as_ref()),
            time(t.last_use_time.as_ref()),
            time(t.expire_time.as_ref()),
            if t.revoked { "已吊销" } else { "有效" }.to_owned(),
        ]);
    }
    let mut out = columns(&rows);
    out += &format!("共 {} 个令牌\n", all.len());
    Ok(out)
}

/// Rows as aligned columns, a CJK character counted two columns wide as a
/// terminal draws it.
fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    let width = |s: &str| -> usize {
        s.chars()
            .map(|c| if ('\u{2e80}'..='\u{ffef}').contains(&c) { 2 } else { 1 })
            .sum()
    };
    let mut widths = [0; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out += cell;
            if i + 1 < N {
                out += &" ".repeat(widths[i] - width(cell) + 2);
            }
        }
        out += "\n";
    }
    out
}

/// Writes `text` to `path` readable and writable by its owner only (0600),
/// from the moment the file exists.
pub fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// The key files of a deployment in one folder: the private key, the public
/// key every service verifies with, and the token the services show each
/// other (the aggregator reading feeds, a sector reading the registries).
#[derive(Debug, Clone)]
pub struct KeyFiles {
    /// The private key, to issue tokens with.
    pub signing: SigningKey,
    /// `token-verifying.pem`: `--token-public-key-file` of every service.
    pub public_key_file: PathBuf,
    /// `service-token`: `--service-token-file` of every service.
    pub service_token_file: PathBuf,
}

impl KeyFiles {
    /// The key pair in `dir`, made there when missing (kept otherwise, so
    /// tokens issued before stay valid), and a fresh service token valid for
    /// `days`.
    pub fn in_dir(dir: &Path, days: u64) -> anyhow::Result<Self> {
        let private_file = dir.join("token-signing.pem");
        let public_key_file = dir.join("token-verifying.pem");
        if !private_file.exists() || !public_key_file.exists() {
            keygen(dir)?;
        }
        let signing = read_signing_key(&private_file)?;
        let service_token_file = dir.join("service-token");
        let claims = Claims::new(
            "citydash-services",
            Role::Viewer,
            Vec::new(),
            Vec::new(),
            Duration::from_secs(days * 86_400),
        );
        write_secret(
            &service_token_file,
            &signing.issue(&claims).map_err(anyhow::Error::msg)?,
        )?;
        Ok(Self {
            signing,
            public_key_file,
            service_token_file,
        })
    }

    /// The flags that give a service these keys.
    pub fn service_flags(&self) -> Vec<String> {
        vec![
            "--token-public-key-file".to_owned(),
            self.public_key_file.display().to_string(),
            "--service-token-file".to_owned(),
            self.service_token_file.display().to_string(),
        ]
    }
}

/// Writes a fresh key pair into `dir`: `token-signing.pem` (0600) and
/// `token-verifying.pem`.
pub fn keygen(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (private, public) = citydash_runtime::auth::generate_key_pair().map_err(anyhow::Error::msg)?;
    let private_file = dir.join("token-signing.pem");
    let public_file = dir.join("token-verifying.pem");
    write_secret(&private_file, &private)?;
    std::fs::write(&public_file, public).with_context(|| format!("writing {}", public_file.display()))?;
    Ok((private_file, public_file))
}

/// Reads a private key file.
pub fn read_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    SigningKey::from_pem(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Signs the token `args` describe.
pub fn issue(args: &IssueArgs) -> anyhow::Result<String> {
    let sectors: Vec<&str> = SECTORS.iter().map(|s| s.name).collect();
    if let Some(bad) = args.sectors.iter().find(|s| !sectors.contains(&s.as_str())) {
        anyhow::bail!("--sector {bad:?}: expected one of {}", sectors.join(", "));
    }
    let services = services();
    if let Some(bad) = args.audience.iter().find(|s| !services.contains(&s.as_str())) {
        anyhow::bail!("--audience {bad:?}: expected one of {}", services.join(", "));
    }
    if args.role == Role::Agency && args.sectors.is_empty() {
        anyhow::bail!("an agency token needs at least one --sector");
    }
    let key = read_signing_key(&args.signing_key_file)?;
    let mut claims = Claims::new(
        &args.subject,
        args.role,
        args.sectors.clone(),
        args.regions.clone(),
        Duration::from_secs(args.days * 86_400),
    );
    claims.units = args.units.clone();
    if !args.audience.is_empty() {
        claims.aud = args.audience.clone();
    }
    key.issue(&claims).map_err(anyhow::Error::msg)
}

/// Who the demo issues tokens to besides the sector agencies (one each, from
/// `citydash_proto::sectors`): (label, subject, role).
pub const DEMO_PRINCIPALS: &[(&str, &str, Role)] = &[
    ("admin", "市政府办公室", Role::Admin),
    ("viewer", "市长办公室大屏", Role::Viewer),
    ("supervision", "两办督查室", Role::Supervision),
    ("statistics", "市统计局", Role::Statistics),
    ("finance", "市财政局", Role::Finance),
    ("development_reform", "市发改委", Role::DevelopmentReform),
];

/// The demo's tokens, valid for a year, by label.
pub fn demo_tokens(key: &SigningKey) -> anyhow::Result<Vec<(String, String)>> {
    let agencies = SECTORS
        .iter()
        .map(|s| (s.name, s.agency_zh, Role::Agency, vec![s.name.to_owned()]));
    DEMO_PRINCIPALS
        .iter()
        .map(|(label, subject, role)| (*label, *subject, *role, Vec::new()))
        .chain(agencies)
        .map(|(label, subject, role, sectors)| {
            let claims = Claims::new(subject, role, sectors, Vec::new(), Duration::from_secs(365 * 86_400));
            Ok((label.to_owned(), key.issue(&claims).map_err(anyhow::Error::msg)?))
        })
        .collect()
}
