//! `citydash demo`: the whole suite in one process — the four sector
//! services and the aggregator, each on its own port and its own SQLite file
//! under the data folder — seeded with the demo city through the public push
//! APIs, until Ctrl-C.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use citydash_aggregator::launch::AggregatorArgs;
use citydash_sector::launch::SectorArgs;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::transport::{Channel, Endpoint};

use crate::seed::{Endpoints, seed};

/// Settings of the all-in-one demo.
#[derive(Debug, Clone, clap::Parser)]
pub struct DemoArgs {
    /// Folder of the SQLite files (created if missing).
    #[arg(long, env = "CITYDASH_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Address every service binds.
    #[arg(long, env = "CITYDASH_DEMO_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// The aggregator's gRPC port; the sectors take the next four.
    #[arg(long, env = "CITYDASH_DEMO_GRPC_PORT", default_value_t = 50060)]
    pub grpc_port: u16,
    /// The dashboard's port.
    #[arg(long, env = "CITYDASH_DEMO_HTTP_PORT", default_value_t = 8080)]
    pub http_port: u16,
    /// Start without seeding the demo city.
    #[arg(long)]
    pub no_seed: bool,
}

fn sqlite_url(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite://{}/{name}.db?mode=rwc", dir.display())
}

async fn channel(addr: SocketAddr) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))?.connect_timeout(Duration::from_secs(5));
    for _ in 0..100 {
        if let Ok(ch) = endpoint.connect().await {
            let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
            let serving = health
                .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
                .await
                .is_ok_and(|r| {
                    r.get_ref().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
                });
            if serving {
                return Ok(ch);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the service on {addr} did not become healthy")
}

/// Where the demo listens, and the tokens to try it with.
#[derive(Debug, Clone)]
pub struct Addresses {
    /// The aggregator's gRPC address.
    pub aggregator: SocketAddr,
    /// The sectors' gRPC addresses, agriculture first.
    pub sectors: Vec<SocketAddr>,
    /// The dashboard.
    pub dashboard: SocketAddr,
    /// Demo tokens by label (admin, viewer, statistics, finance, development_reform, each sector).
    pub tokens: Vec<(String, String)>,
    /// The file the tokens are also written to.
    pub tokens_file: PathBuf,
}

impl Addresses {
    /// The token of `label`.
    pub fn token(&self, label: &str) -> &str {
        self.tokens
            .iter()
            .find(|(l, _)| l == label)
            .map_or("", |(_, t)| t.as_str())
    }
}

/// Runs the demo until `shutdown` resolves; `ready` is called once every
/// service is healthy and the city is seeded.
pub async fn run(
    args: DemoArgs,
    shutdown: impl Future<Output = ()> + Send,
    ready: impl FnOnce(&Addresses),
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data folder {}", args.data_dir.display()))?;
    // The key pair is made once in the data folder, then reused, so the
    // tokens printed before stay valid across restarts.
    let keys = crate::token::KeyFiles::in_dir(&args.data_dir, 365)?;
    let tokens = crate::token::demo_tokens(&keys.signing)?;
    let token = |label: &str| {
        tokens
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    let tokens_file = args.data_dir.join("tokens.txt");
    let listing: String = tokens.iter().map(|(l, t)| format!("{l}\t{t}\n")).collect();
    crate::token::write_secret(&tokens_file, &listing)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let mut tasks = JoinSet::new();
    let mut sector_addrs = Vec::new();
    let aggregator: SocketAddr = format!("{}:{}", args.host, args.grpc_port).parse()?;
    let units_url = format!("http://{aggregator}");
    for (i, program) in crate::programs::PROGRAMS.iter().enumerate() {
        let name = program.entry().name;
        let addr: SocketAddr = format!("{}:{}", args.host, args.grpc_port + 1 + i as u16).parse()?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr} for {name}"))?;
        let mut argv = vec![
            "demo".to_owned(),
            "--database-url".to_owned(),
            sqlite_url(&args.data_dir, name),
            "--units-url".to_owned(),
            units_url.clone(),
        ];
        argv.extend(keys.service_flags());
        let sector_args = citydash_runtime::config::from_flags::<SectorArgs, _, _>(argv);
        let stopped = stop();

        tasks.spawn(program.run(sector_args, Some(listener), Box::pin(stopped)));
        sector_addrs.push(addr);
    }
    let dashboard: SocketAddr = format!("{}:{}", args.host, args.http_port).parse()?;
    let listener = TcpListener::bind(aggregator)
        .await
        .with_context(|| format!("binding {aggregator}"))?;
    let mut argv = vec![
        "demo".to_owned(),
        "--database-url".to_owned(),
        sqlite_url(&args.data_dir, "aggregator"),
        "--http-listen".to_owned(),
        dashboard.to_string(),
    ];
    argv.extend(keys.service_flags());
    for (entry, addr) in citydash_proto::sectors::SECTORS.iter().zip(&sector_addrs) {
        argv.push("--sector".to_owned());
        argv.push(format!("{}=http://{addr}", entry.name));
    }
    let aggregator_args = citydash_runtime::config::from_flags::<AggregatorArgs, _, _>(argv);
    tasks.spawn(citydash_aggregator::launch::run(
        aggregator_args,
        Some(listener),
        stop(),
    ));

    let started = async {
        let mut channels = Vec::new();
        let sector_labels = citydash_proto::sectors::SECTORS.iter().map(|s| s.name);
        let city_labels = ["statistics", "finance", "development_reform", "admin"];
        for (addr, label) in sector_addrs
            .iter()
            .chain([&aggregator; 4])
            .zip(sector_labels.chain(city_labels))
        {
            let ch = channel(*addr).await?;
            channels.push(citydash_runtime::auth::authed(ch, Some(&token(label))).map_err(anyhow::Error::msg)?);
        }
        if !args.no_seed {
            let endpoints = Endpoints {
                agriculture: channels[0].clone(),
                industry: channels[1].clone(),
                tourism: channels[2].clone(),
                welfare: channels[3].clone(),
                city: channels[4].clone(),
                finance: channels[5].clone(),
                development_reform: channels[6].clone(),
                admin: channels[7].clone(),
            };
            seed(&endpoints).await.context("seeding the demo city")?;
            tracing::info!("demo city seeded");
        }
        anyhow::Ok(())
    };
    tokio::select! {
        result = started => result?,
        Some(done) = tasks.join_next() => {
            done.context("a service task failed")??;
            anyhow::bail!("a service stopped during start-up");
        }
    }
    ready(&Addresses {
        aggregator,
        sectors: sector_addrs,
        dashboard,
        tokens,
        tokens_file,
    });
    tokio::select! {
        () = shutdown => {}
        Some(done) = tasks.join_next() => {
            done.context("a service task failed")??;
            tracing::warn!("a service stopped; stopping the demo");
        }
    }
    let _ = stop_tx.send(true);
    while let Some(done) = tasks.join_next().await {
        done.context("a service task failed")??;
    }
    Ok(())
}
