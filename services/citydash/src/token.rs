//! `citydash token issue`: signs a token for an agency with the key every
//! service is configured with, and the demo's set of tokens.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use citydash_runtime::auth::{Claims, Role, TokenKey};

/// `citydash token issue`.
#[derive(Debug, Clone, clap::Args)]
pub struct IssueArgs {
    /// The signing key file (as given to the services with --token-key-file).
    #[arg(long, env = "CITYDASH_TOKEN_KEY_FILE")]
    pub key_file: std::path::PathBuf,
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
    /// Days until it expires.
    #[arg(long, default_value_t = 90)]
    pub days: u64,
}

/// Reads a key file.
pub fn read_key(path: &Path) -> anyhow::Result<TokenKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    TokenKey::new(text.trim().as_bytes().to_vec()).map_err(anyhow::Error::msg)
}

/// Signs the token `args` describe.
pub fn issue(args: &IssueArgs) -> anyhow::Result<String> {
    const SECTORS: [&str; 4] = ["agriculture", "industry", "tourism", "welfare"];
    if let Some(bad) = args.sectors.iter().find(|s| !SECTORS.contains(&s.as_str())) {
        anyhow::bail!("--sector {bad:?}: expected one of {}", SECTORS.join(", "));
    }
    if args.role == Role::Agency && args.sectors.is_empty() {
        anyhow::bail!("an agency token needs at least one --sector");
    }
    let key = read_key(&args.key_file)?;
    let claims = Claims::new(
        &args.subject,
        args.role,
        args.sectors.clone(),
        args.regions.clone(),
        Duration::from_secs(args.days * 86_400),
    );
    key.issue(&claims).map_err(anyhow::Error::msg)
}

/// Who the demo issues tokens to: (label, subject, role, sectors).
pub const DEMO_PRINCIPALS: &[(&str, &str, Role, &[&str])] = &[
    ("admin", "市政府办公室", Role::Admin, &[]),
    ("viewer", "市长办公室大屏", Role::Viewer, &[]),
    ("statistics", "市统计局", Role::Statistics, &[]),
    ("finance", "市财政局", Role::Finance, &[]),
    ("development_reform", "市发改委", Role::DevelopmentReform, &[]),
    ("agriculture", "市农业农村局", Role::Agency, &["agriculture"]),
    ("industry", "市工信局", Role::Agency, &["industry"]),
    ("tourism", "市文旅局", Role::Agency, &["tourism"]),
    ("welfare", "市乡村振兴局", Role::Agency, &["welfare"]),
];

/// The demo's tokens, valid for a year, by label.
pub fn demo_tokens(key: &TokenKey) -> anyhow::Result<Vec<(String, String)>> {
    DEMO_PRINCIPALS
        .iter()
        .map(|(label, subject, role, sectors)| {
            let claims = Claims::new(
                subject,
                *role,
                sectors.iter().map(|s| (*s).to_owned()).collect(),
                Vec::new(),
                Duration::from_secs(365 * 86_400),
            );
            Ok(((*label).to_owned(), key.issue(&claims).map_err(anyhow::Error::msg)?))
        })
        .collect()
}
