//! The `citydash` command: `demo` (everything in one process), `serve`
//! (one service, as the containers run it) and `push` (one record).

use anyhow::Context as _;
use citydash_aggregator::launch::AggregatorArgs;
use citydash_sector::launch::SectorArgs;
use clap::{Parser, Subcommand};

/// citydash: the city's economy at a glance.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// What to do; `demo` when omitted, so `cargo run` starts the demo.
    #[command(subcommand)]
    command: Option<Command>,
}

// Parsed once at start-up: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Start every service in one process on SQLite, seed the demo city, open the dashboard.
    Demo(citydash::demo::DemoArgs),
    /// Run one service.
    Serve {
        #[command(subcommand)]
        service: Service,
    },
    /// Push one record.
    Push {
        #[command(subcommand)]
        record: Record,
    },
    /// Agency tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Sign a token for an agency or user.
    Issue(citydash::token::IssueArgs),
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Service {
    /// The agriculture sector service.
    Agriculture(SectorArgs),
    /// The industry sector service.
    Industry(SectorArgs),
    /// The tourism sector service.
    Tourism(SectorArgs),
    /// The social-welfare sector service.
    Welfare(SectorArgs),
    /// The aggregator with the dashboard.
    Aggregator(AggregatorArgs),
}

#[derive(Debug, Subcommand)]
enum Record {
    /// A project's progress in one month.
    Progress(citydash::push::ProgressArgs),
}

#[allow(clippy::print_stdout)]
fn announce(a: &citydash::demo::Addresses) {
    println!("citydash demo is running:");
    println!("  dashboard     http://{}/?token={}", a.dashboard, a.token("viewer"));
    println!("  aggregator    {} (CityService, city indicators)", a.aggregator);
    for (name, addr) in ["agriculture", "industry", "tourism", "welfare"].iter().zip(&a.sectors) {
        println!("  {name:<13} {addr}");
    }
    println!("Tokens (also in {}):", a.tokens_file.display());
    for (label, token) in &a.tokens {
        println!("  {label:<12} {token}");
    }
    println!(
        "Try: citydash push progress --url http://{} --token {} --project AG-2026-01 --period 2026-06 --investment-yuan 5000000",
        a.sectors[0],
        a.token("agriculture")
    );
    println!("Press Ctrl-C to stop.");
}

#[allow(clippy::print_stdout)]
fn print_results(results: &[citydash_proto::v1::WriteResult]) {
    for r in results {
        let outcome = citydash_proto::v1::WriteOutcome::try_from(r.outcome)
            .map(|o| o.as_str_name())
            .unwrap_or("?");
        println!("{} {} version {}", r.key, outcome, r.version);
    }
}

#[allow(clippy::print_stdout)]
fn print_token(token: &str) {
    println!("{token}");
}

async fn serve(service: Service) -> anyhow::Result<()> {
    use citydash_sector::launch::run;
    let stop = citydash_runtime::shutdown_signal;
    match service {
        Service::Agriculture(a) => run::<citydash_agriculture::Agriculture>(a, None, stop()).await,
        Service::Industry(a) => run::<citydash_industry::Industry>(a, None, stop()).await,
        Service::Tourism(a) => run::<citydash_tourism::Tourism>(a, None, stop()).await,
        Service::Welfare(a) => run::<citydash_welfare::Welfare>(a, None, stop()).await,
        Service::Aggregator(a) => citydash_aggregator::launch::run(a, None, stop()).await,
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Demo(citydash::demo::DemoArgs::parse_from(["demo"])));
    let format = match &command {
        Command::Serve { service } => match service {
            Service::Aggregator(a) => a.city.server.log_format,
            Service::Agriculture(a) | Service::Industry(a) | Service::Tourism(a) | Service::Welfare(a) => {
                a.server.log_format
            }
        },
        _ => citydash_runtime::LogFormat::Text,
    };
    citydash_runtime::telemetry::init(format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match command {
            Command::Demo(args) => citydash::demo::run(args, citydash_runtime::shutdown_signal(), announce).await,
            Command::Serve { service } => serve(service).await,
            Command::Push {
                record: Record::Progress(args),
            } => {
                let reply = citydash::push::progress(&args).await?;
                print_results(&reply.results);
                Ok(())
            }
            Command::Token {
                action: TokenAction::Issue(args),
            } => {
                print_token(&citydash::token::issue(&args)?);
                Ok(())
            }
        }
    })
}
