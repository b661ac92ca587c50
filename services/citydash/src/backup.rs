//! Backups and restores of one service's database, for operators: SQLite
//! with its online backup (`VACUUM INTO`, while the service runs), PostgreSQL
//! with its own tools (`pg_dump` in its custom format, `pg_restore`, both on
//! the PATH). A restore replaces the database whole, so the service that
//! uses it is stopped first and started after. A sector restored to an
//! earlier backup hands the aggregator a feed that no longer holds what it
//! read: the aggregator notices (the change at its position differs) and
//! rebuilds that sector from sequence 0 (ARCHITECTURE.md).

use std::path::PathBuf;

use anyhow::Context as _;
use citydash_db::Backend;

/// `citydash backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The database to back up (a service's `--database-url`).
    #[arg(long, env = "CITYDASH_DATABASE_URL")]
    pub database_url: String,
    /// The backup file to write; it must not exist.
    #[arg(long)]
    pub to: PathBuf,
}

/// `citydash restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The database to replace (the service using it stopped).
    #[arg(long, env = "CITYDASH_DATABASE_URL")]
    pub database_url: String,
    /// The backup file `citydash backup` wrote.
    #[arg(long)]
    pub from: PathBuf,
}

/// Writes a backup of the database.
pub async fn backup(args: &BackupArgs) -> anyhow::Result<()> {
    match Backend::of(&args.database_url)? {
        Backend::Sqlite => citydash_db::sqlite::backup(&args.database_url, &args.to)
            .await
            .with_context(|| format!("backing up to {}", args.to.display())),
        Backend::Postgres => {
            anyhow::ensure!(!args.to.exists(), "{} exists already", args.to.display());
            run(std::process::Command::new("pg_dump")
                .arg("--format=custom")
                .arg("--file")
                .arg(&args.to)
                .arg("--dbname")
                .arg(&args.database_url))
            .await
        }
    }
}

/// Replaces the database with a backup.
pub async fn restore(args: &RestoreArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.from.is_file(), "{} is not a file", args.from.display());
    match Backend::of(&args.database_url)? {
        Backend::Sqlite => citydash_db::sqlite::restore(&args.database_url, &args.from)
            .await
            .with_context(|| format!("restoring from {}", args.from.display())),
        Backend::Postgres => {
            run(std::process::Command::new("pg_restore")
                .args(["--clean", "--if-exists", "--no-owner", "--single-transaction"])
                .arg("--dbname")
                .arg(&args.database_url)
                .arg(&args.from))
            .await
        }
    }
}

/// Runs one of PostgreSQL's tools (off the async workers); its error
/// output is the error.
async fn run(command: &mut std::process::Command) -> anyhow::Result<()> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut command = std::mem::replace(command, std::process::Command::new(&program));
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .context("waiting for PostgreSQL's tool")?
        .with_context(|| format!("running {program} (PostgreSQL's client tools must be installed)"))?;
    anyhow::ensure!(
        out.status.success(),
        "{program} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}
