//! `citydash push`: one record from the command line, for scripts, through
//! the same public API the agencies' systems use.

use anyhow::Context as _;
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};

/// `citydash push progress`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProgressArgs {
    /// The sector service, e.g. http://127.0.0.1:50061 (agriculture).
    #[arg(long, env = "CITYDASH_SECTOR_URL", default_value = "http://127.0.0.1:50061")]
    pub url: String,
    /// The project's code.
    #[arg(long)]
    pub project: String,
    /// The month, as YYYY-MM.
    #[arg(long)]
    pub period: String,
    /// Investment completed in that month, yuan.
    #[arg(long)]
    pub investment_yuan: i64,
    /// Funds that arrived in that month, yuan.
    #[arg(long, default_value_t = 0)]
    pub funds_arrived_yuan: i64,
    /// Idempotency key; a fresh one when omitted. Reuse it to retry safely.
    #[arg(long)]
    pub request_id: Option<String>,
    /// The agency's token (`citydash token issue`, or printed by the demo).
    #[arg(long, env = "CITYDASH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Confirms every plausibility finding (数据审核) of the report with this explanation.
    #[arg(long, value_name = "EXPLANATION")]
    pub confirm: Option<String>,
}

fn parse_period(text: &str) -> anyhow::Result<v1::Period> {
    let (y, m) = text
        .split_once('-')
        .with_context(|| format!("--period {text:?}: expected YYYY-MM"))?;
    Ok(v1::Period {
        year: y.parse().with_context(|| format!("--period {text:?}: bad year"))?,
        month: m.parse().with_context(|| format!("--period {text:?}: bad month"))?,
    })
}

/// Pushes one progress report and returns the service's answer.
pub async fn progress(args: &ProgressArgs) -> anyhow::Result<v1::ReportProgressResponse> {
    let channel = citydash_runtime::client::connect(&args.url, std::time::Duration::from_secs(10)).await?;
    let channel = citydash_runtime::auth::authed(channel, args.token.as_deref()).map_err(anyhow::Error::msg)?;
    let mut client = SectorServiceClient::new(channel);
    let request = v1::ReportProgressRequest {
        update_mask: None,
        request_id: args
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        validate_only: false,
        correction_reason: String::new(),
        reports: vec![v1::ProgressReport {
            project_code: args.project.clone(),
            period: Some(parse_period(&args.period)?),
            investment_completed_yuan: args.investment_yuan,
            funds_arrived_yuan: args.funds_arrived_yuan,
            status: v1::ValueStatus::Final as i32,
            confirmations: args
                .confirm
                .iter()
                .map(|explanation| v1::PlausibilityConfirmation {
                    code: String::new(),
                    explanation: explanation.clone(),
                })
                .collect(),
            ..Default::default()
        }],
    };
    let reply = client
        .report_progress(request)
        .await
        .map_err(|status| anyhow::anyhow!("{}: {}", status.code(), status.message()))?;
    Ok(reply.into_inner())
}
