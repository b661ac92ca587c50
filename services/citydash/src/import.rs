//! `citydash import` and `citydash template`: the command line over the
//! shared import of `citydash_sheets`, which the aggregator's import page
//! runs too. This module holds only what is the command line's own: its
//! arguments, its progress spinner, its exit codes.

use std::path::PathBuf;

use anyhow::Context as _;
use citydash_runtime::auth::AuthedChannel;
pub use citydash_sheets::import::{
    FileRefused, Import, Read, Refusal, RowReader, ServiceRefused, Skipped, Summary, counts, header, kinds, values,
};
pub use citydash_sheets::table;
use citydash_sheets::table::Source;

/// Exit code of `citydash import` when rows were refused: a dry run that
/// found refusals, or a run that wrote nothing because of them.
pub const EXIT_ROWS_REFUSED: i32 = 3;
/// Exit code of `citydash import` when the file was refused whole.
pub const EXIT_FILE_REFUSED: i32 = 4;

/// `citydash import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// What the file holds: projects, progress, indicators, targets, bases,
    /// leading-enterprises, enterprises, enterprise-months, scenic-areas,
    /// scenic-months, tasks.
    pub kind: String,
    /// The file, .csv or .xlsx.
    pub file: PathBuf,
    /// The service that owns the data (the aggregator for city indicators).
    #[arg(long, env = "CITYDASH_SECTOR_URL", default_value = "http://127.0.0.1:50061")]
    pub url: String,
    /// The agency's token.
    #[arg(long, env = "CITYDASH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Validate every row and print the summary; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the good rows even when some are refused.
    #[arg(long)]
    pub accept_good_rows: bool,
    /// Confirm every plausibility finding (数据审核) of the file with this
    /// explanation; a row's own 审核说明 cell takes precedence.
    #[arg(long, value_name = "EXPLANATION")]
    pub confirm: Option<String>,
}

impl ImportArgs {
    /// The import these arguments ask for.
    pub fn import(&self) -> Import {
        Import {
            kind: self.kind.clone(),
            source: Source::Path(self.file.clone()),
            dry_run: self.dry_run,
            accept_good_rows: self.accept_good_rows,
            confirm: self.confirm.clone(),
        }
    }
}

/// Runs an import with a spinner on the terminal; returns its summary.
pub async fn run(args: &ImportArgs, channel: AuthedChannel) -> anyhow::Result<Summary> {
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_message(args.file.display().to_string());
    let shown = progress.clone();
    let summary =
        citydash_sheets::import::run(&args.import(), channel, &move |rows| shown.set_position(rows as u64)).await;
    progress.finish_and_clear();
    summary
}

/// `citydash template`.
#[derive(Debug, Clone, clap::Args)]
pub struct TemplateArgs {
    /// The kind (as for import).
    pub kind: String,
    /// Where to write it: .csv or .xlsx.
    pub out: PathBuf,
}

/// Writes the kind's empty sheet (see `citydash_sheets::import::template`).
pub fn template(args: &TemplateArgs) -> anyhow::Result<()> {
    let kind = kinds::kind(&args.kind).with_context(|| format!("unknown kind {:?}", args.kind))?;
    citydash_sheets::write::write(&citydash_sheets::import::template(kind), &args.out)
}
