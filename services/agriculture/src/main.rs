//! The agriculture service as its own process.

use clap::Parser;

/// citydash agriculture sector service (农业).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    args: citydash_sector::launch::SectorArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    citydash_runtime::telemetry::init(cli.args.server.log_format);
    citydash_sector::launch::run::<citydash_agriculture::Agriculture>(
        cli.args,
        None,
        citydash_runtime::shutdown_signal(),
    )
    .await
}
