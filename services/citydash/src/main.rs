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

#[allow(clippy::print_stdout)]
fn print_text(text: &str) {
    print!("{text}");
}

async fn connect(url: &str, token: Option<&str>) -> anyhow::Result<citydash_runtime::auth::AuthedChannel> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())?
        .connect()
        .await
        .with_context(|| format!("connecting to {url}"))?;
    citydash_runtime::auth::authed(channel, token).map_err(anyhow::Error::msg)
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
    let (format, otlp, name) = match &command {
        Command::Serve { service } => match service {
            Service::Aggregator(a) => (
                a.city.server.log_format,
                a.city.server.otlp_endpoint.clone(),
                "aggregator",
            ),
            Service::Agriculture(a) => (a.server.log_format, a.server.otlp_endpoint.clone(), "agriculture"),
            Service::Industry(a) => (a.server.log_format, a.server.otlp_endpoint.clone(), "industry"),
            Service::Tourism(a) => (a.server.log_format, a.server.otlp_endpoint.clone(), "tourism"),
            Service::Welfare(a) => (a.server.log_format, a.server.otlp_endpoint.clone(), "welfare"),
        },
        _ => (citydash_runtime::LogFormat::Text, None, "citydash"),
    };
    let _telemetry = citydash_runtime::telemetry::init(format, otlp.as_deref(), name);
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
                print_text(&summary.render(kind, &args.file));
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
                    Service::Agriculture(a) | Service::Industry(a) | Service::Tourism(a) | Service::Welfare(a) => {
                        anyhow::ensure!(a.server.database_url.is_some(), "--database-url is required");
                        citydash_sector::launch::migrate(&a.server.database("")?).await?
                    }
                }
                Ok(())
            }
            Command::Health { url, service } => {
                let channel = tonic::transport::Endpoint::from_shared(url.clone())?
                    .connect_timeout(std::time::Duration::from_secs(3))
                    .connect()
                    .await
                    .with_context(|| format!("connecting to {url}"))?;
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
        }
    })
}
