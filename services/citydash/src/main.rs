//! The `citydash` command: `demo` (everything in one process), `serve`
//! (one service, as the containers run it) and `push` (one record).

use anyhow::Context as _;
use citydash::programs::SectorProgram;
use citydash_aggregator::launch::AggregatorArgs;
use citydash_sector::launch::SectorArgs;
use clap::{Args as _, Parser, Subcommand};

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
    /// Import an agency's spreadsheet (CSV or XLSX); a dry run first, always.
    Import(citydash::import::ImportArgs),
    /// Write an empty sheet to fill in, with the Chinese headers of a kind.
    Template(citydash::import::TemplateArgs),
    /// Export the overview, alerts, supervision report or projects (XLSX/CSV), or the brief (Markdown).
    Export(citydash::export::ExportArgs),
    /// Create or upgrade a service's tables, then exit (run before the services start).
    Migrate {
        #[command(subcommand)]
        service: Service,
    },
    /// Check a service's gRPC health; exit 0 when SERVING (for container health checks).
    Health {
        /// The service, e.g. http://127.0.0.1:50061.
        #[arg(long, default_value = "http://127.0.0.1:50061")]
        url: String,
        /// The service name to check; the whole server when empty.
        #[arg(long, default_value = "")]
        service: String,
    },
    /// Benchmarks (loopback only, bounded).
    Bench {
        #[command(subcommand)]
        what: Bench,
    },
    /// Agency tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Back up a service's database (SQLite online; PostgreSQL with pg_dump).
    Backup(citydash::backup::BackupArgs),
    /// Replace a stopped service's database with a backup.
    Restore(citydash::backup::RestoreArgs),
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// A progress file of N rows through `citydash import`: rows/s and memory.
    Import(citydash::bench::ImportBenchArgs),
    /// The month-end burst beside the machine's limits, in one table (PostgreSQL).
    Suite(citydash::bench::suite::SuiteArgs),
    /// The read benchmark's yardstick: a tonic server answering a fixed payload.
    #[command(hide = true)]
    EchoServer(citydash::bench::echo::EchoArgs),
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Make the Ed25519 key pair: the private key signs tokens, the public
    /// key goes to every service.
    Keygen(citydash::token::KeygenArgs),
    /// Sign a token for an agency or user.
    Issue(citydash::token::IssueArgs),
    /// List the tokens in use, with their first and last use (admin).
    Uses(citydash::token::UsesArgs),
}

/// `citydash serve|migrate <service>`: a sector of `citydash::programs`, or
/// the aggregator. The sectors' subcommands are made from that table.
// Parsed once per process and moved into the service: the variants' sizes
// cost nothing worth a box.
#[allow(clippy::large_enum_variant)]
enum Service {
    /// A sector service.
    Sector(&'static dyn SectorProgram, SectorArgs),
    /// The aggregator with the dashboard.
    Aggregator(AggregatorArgs),
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Service::Sector(p, a) => f.debug_tuple(p.entry().name).field(a).finish(),
            Service::Aggregator(a) => f.debug_tuple("aggregator").field(a).finish(),
        }
    }
}

impl Service {
    /// The name it logs and reports telemetry under.
    fn name(&self) -> &'static str {
        match self {
            Service::Sector(p, _) => p.entry().name,
            Service::Aggregator(_) => "aggregator",
        }
    }

    /// Its server settings.
    fn server(&self) -> &citydash_runtime::config::ServerArgs {
        match self {
            Service::Sector(_, a) => &a.server,
            Service::Aggregator(a) => &a.city.server,
        }
    }
}

impl clap::FromArgMatches for Service {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        match matches.subcommand() {
            Some(("aggregator", sub)) => Ok(Service::Aggregator(AggregatorArgs::from_arg_matches(sub)?)),
            Some((name, sub)) => match citydash::programs::named(name) {
                Some(program) => Ok(Service::Sector(program, SectorArgs::from_arg_matches(sub)?)),
                None => Err(clap::Error::raw(
                    clap::error::ErrorKind::InvalidSubcommand,
                    format!("no service named {name:?}"),
                )),
            },
            None => Err(clap::Error::raw(
                clap::error::ErrorKind::MissingSubcommand,
                "name a service",
            )),
        }
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Subcommand for Service {
    fn augment_subcommands(command: clap::Command) -> clap::Command {
        let command = citydash::programs::PROGRAMS.iter().fold(command, |command, program| {
            let entry = program.entry();
            let about = format!(
                "The {} sector service ({}).",
                entry.name_en.to_lowercase(),
                entry.name_zh
            );
            command.subcommand(SectorArgs::augment_args(clap::Command::new(entry.name)).about(about))
        });
        command.subcommand(
            AggregatorArgs::augment_args(clap::Command::new("aggregator")).about("The aggregator with the dashboard."),
        )
    }

    fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
        Self::augment_subcommands(command)
    }

    fn has_subcommand(name: &str) -> bool {
        name == "aggregator" || citydash::programs::named(name).is_some()
    }
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
    println!(
        "  import page   http://{}/import (paste an agency's token)",
        a.dashboard
    );
    println!("  aggregator    {} (CityService, city indicators)", a.aggregator);
    for (entry, addr) in citydash_proto::sectors::SECTORS.iter().zip(&a.sectors) {
        println!("  {:<13} {addr}", entry.name);
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

#[allow(clippy::print_stdout)]
fn print_text(text: &str) {
    print!("{text}");
}

async fn connect(url: &str, token: Option<&str>) -> anyhow::Result<citydash_runtime::auth::AuthedChannel> {
    let channel = citydash_runtime::client::connect(url, std::time::Duration::from_secs(10)).await?;
    citydash_runtime::auth::authed(channel, token).map_err(anyhow::Error::msg)
}

async fn serve(service: Service) -> anyhow::Result<()> {
    let stop = citydash_runtime::shutdown_signal;
    match service {
        Service::Sector(program, a) => program.run(a, None, Box::pin(stop())).await,
        Service::Aggregator(a) => citydash_aggregator::launch::run(a, None, stop()).await,
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Demo(citydash::demo::DemoArgs::parse_from(["demo"])));
    let (format, otlp, name) = match &command {
        Command::Serve { service } => (
            service.server().log_format,
            service.server().otlp_endpoint.clone(),
            service.name(),
        ),
        _ => (citydash_runtime::LogFormat::Text, None, "citydash"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // The OTLP exporters need the runtime; they are flushed (dropped) before it stops.
    let _in_runtime = runtime.enter();
    let _telemetry = citydash_runtime::telemetry::init(format, otlp.as_deref(), name);
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
            Command::Import(args) => {
                let channel = connect(&args.url, args.token.as_deref()).await?;
                let summary = match citydash::import::run(&args, channel).await {
                    Ok(summary) => summary,
                    Err(e) => match e.downcast_ref::<citydash::import::FileRefused>() {
                        Some(refused) => {
                            eprintln!("{refused}");
                            std::process::exit(citydash::import::EXIT_FILE_REFUSED);
                        }
                        None => return Err(e),
                    },
                };
                let kind = citydash::import::kinds::kind(&args.kind).context("kind")?;
                print_text(&summary.render(kind, &args.file.display().to_string()));
                if !summary.refused.is_empty() && !summary.written {
                    if args.dry_run {
                        eprintln!("试运行：{} 行将被拒绝", summary.refused_rows());
                    } else {
                        eprintln!(
                            "{} 行被拒绝，整个文件未导入：请修改后重新导入，或加 --accept-good-rows 只导入正确的行",
                            summary.refused_rows()
                        );
                    }
                    std::process::exit(citydash::import::EXIT_ROWS_REFUSED);
                }
                Ok(())
            }
            Command::Template(args) => citydash::import::template(&args),
            Command::Migrate { service } => {
                match service {
                    Service::Aggregator(a) => {
                        let url = a
                            .city
                            .server
                            .database(citydash_aggregator::launch::DEFAULT_DATABASE_URL)?;
                        citydash_aggregator::launch::migrate(&url).await?
                    }
                    Service::Sector(_, a) => {
                        anyhow::ensure!(a.server.database_url.is_some(), "--database-url is required");
                        citydash_sector::launch::migrate(&a.server.database("")?).await?
                    }
                }
                Ok(())
            }
            Command::Backup(args) => citydash::backup::backup(&args).await,
            Command::Restore(args) => citydash::backup::restore(&args).await,
            Command::Health { url, service } => {
                let channel = citydash_runtime::client::connect(&url, std::time::Duration::from_secs(3)).await?;
                let mut request = tonic::Request::new(tonic_health::pb::HealthCheckRequest { service });
                request.set_timeout(std::time::Duration::from_secs(3));
                let status = tonic_health::pb::health_client::HealthClient::new(channel)
                    .check(request)
                    .await?
                    .into_inner()
                    .status;
                anyhow::ensure!(
                    status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
                    "{url} is not serving"
                );
                Ok(())
            }
            Command::Bench {
                what: Bench::Import(args),
            } => {
                let runs = citydash::bench::import(&args).await?;
                print_text(&citydash::bench::render(&runs));
                Ok(())
            }
            Command::Bench {
                what: Bench::Suite(args),
            } => {
                print_text(&citydash::bench::suite::run(&args).await?);
                Ok(())
            }
            Command::Bench {
                what: Bench::EchoServer(args),
            } => citydash::bench::echo::serve(&args).await,
            Command::Export(args) => {
                let channel = connect(&args.url, args.token.as_deref()).await?;
                citydash::export::run(&args, channel).await
            }
            Command::Token {
                action: TokenAction::Keygen(args),
            } => {
                let (private, public) = citydash::token::keygen(&args.out_dir)?;
                print_text(&format!(
                    "private key (keep it with the issuer): {}
public key (--token-public-key-file of every service): {}
",
                    private.display(),
                    public.display()
                ));
                Ok(())
            }
            Command::Token {
                action: TokenAction::Issue(args),
            } => {
                print_token(&citydash::token::issue(&args)?);
                Ok(())
            }
            Command::Token {
                action: TokenAction::Uses(args),
            } => {
                let channel = connect(&args.url, args.token.as_deref()).await?;
                print_text(&citydash::token::uses(channel).await?);
                Ok(())
            }
        }
    })
}
