//! Running a sector service as a process: pick the backend from the database
//! URL, migrate, build the engine, add `SectorService`, the sector's own
//! service and health, watch the database for the health status, serve until
//! shutdown. `main.rs` of each sector and the all-in-one command call [`run`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use citydash_proto::v1::sector_service_server::SectorServiceServer;
use citydash_runtime::layer::AuthLayer;
use citydash_runtime::server::{HealthReporter, ServingStatus};
use citydash_runtime::{ServerArgs, ServerLimits};
use tokio::net::TcpListener;
use tonic::service::RoutesBuilder;

use crate::domain::{DEFAULT_REGIONS, Regions};
use crate::engine::{Engine, EngineOptions, SectorInfo};
use crate::grpc::SectorGrpc;
use crate::spec::{SectorSpec, ServiceContext};
use crate::store::{PgStore, SqliteStore, Store};
use crate::units::{Loader, UnitDirectory};
use citydash_db::Backend;

/// The command line of a sector service.
#[derive(Debug, Clone, clap::Args)]
pub struct SectorArgs {
    /// Process settings shared by every service.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Regions accepted in pushes: `code:中文名:English:kind;…`.
    #[arg(long, env = "CITYDASH_REGIONS", default_value = DEFAULT_REGIONS)]
    pub regions: String,
    /// How often change-feed streams re-read the database, in milliseconds
    /// (how fast a write on another replica reaches this one's subscribers).
    #[arg(long, env = "CITYDASH_FEED_POLL_MS", default_value_t = 500)]
    pub feed_poll_ms: u64,
    /// The aggregator whose unit registry (`UnitsService`) pushes are
    /// resolved against and whose revocation list (`TokensService`) is
    /// checked on every call, e.g. http://127.0.0.1:50060; empty: units are
    /// kept as pushed and no token is revoked (a sector run on its own).
    #[arg(long, env = "CITYDASH_UNITS_URL", default_value = "")]
    pub units_url: String,
    /// The documents a project needs to enter the statistics database, per
    /// project kind: `kind:code=名称,code=名称;…`, the checklist without a
    /// kind the default (DOMAIN.md's four documents when unset).
    #[arg(long, env = "CITYDASH_READINESS_CHECKLISTS", default_value = crate::readiness::DEFAULT)]
    pub readiness_checklists: String,
}

/// A lazily connecting channel to the aggregator at `url` (`--units-url`),
/// for the reads a sector makes of the city's registries.
fn city_channel(url: &str) -> anyhow::Result<tonic::transport::Channel> {
    Ok(tonic::transport::Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("--units-url {url:?}"))?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(5))
        .connect_lazy())
}

/// Reads the unit registry from the aggregator at `url` (`ListUnits`, every
/// page), showing this service's token when it has one.
pub fn units_from(url: &str, token: Option<citydash_runtime::auth::ServiceToken>) -> anyhow::Result<Loader> {
    let channel = city_channel(url)?;
    Ok(Arc::new(move || {
        let channel = channel.clone();
        let token = token.clone();
        Box::pin(async move {
            let token = token.as_ref().map(|t| t.current()).transpose()?;
            let channel = citydash_runtime::auth::authed(channel, token.as_deref())?;
            crate::units::list_all(channel)
                .await
                .map_err(|s| format!("{}: {}", s.code(), s.message()))
        })
    }))
}

/// Creates or upgrades the tables of the database at `url` and returns: the
/// step a deployment runs before it starts the services.
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    match Backend::of(url)? {
        Backend::Sqlite => drop(SqliteStore::connect(url).await?),
        Backend::Postgres => drop(PgStore::connect(url).await?),
    }
    Ok(())
}

/// The default database of a sector: a SQLite file under `data/`.
pub fn default_database_url(name: &str) -> String {
    format!("sqlite://data/{name}.db?mode=rwc")
}

/// Runs the sector service `Spec` until `shutdown` resolves. Binds
/// `listener` if given (tests pass port 0), else the configured address.
pub async fn run<Spec: SectorSpec>(
    args: SectorArgs,
    listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let url = args.server.database(&default_database_url(Spec::NAME))?;
    match Backend::of(&url)? {
        Backend::Sqlite => {
            let store = SqliteStore::connect(&url)
                .await
                .with_context(|| format!("opening SQLite database {url}"))?;
            run_with::<Spec, _>(store, args, listener, shutdown).await
        }
        Backend::Postgres => {
            let store = PgStore::connect(&url).await.context("connecting to PostgreSQL")?;
            run_with::<Spec, _>(store, args, listener, shutdown).await
        }
    }
}

async fn run_with<Spec: SectorSpec, S: Store>(
    store: S,
    args: SectorArgs,
    listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let regions = Regions::parse(&args.regions).map_err(anyhow::Error::msg)?;
    let info = SectorInfo {
        sector: Spec::SECTOR,
        name: Spec::NAME.to_owned(),
        agency: Spec::AGENCY.to_owned(),
        catalog: Spec::catalog(),
        regions,
        entity_types: Spec::entity_types(),
        checklists: crate::readiness::Checklists::parse(&args.readiness_checklists)
            .map_err(|e| anyhow::anyhow!("--readiness-checklists: {e}"))?,
    };
    let units = if args.units_url.is_empty() {
        UnitDirectory::none()
    } else {
        UnitDirectory::with_loader(units_from(&args.units_url, args.server.service_token())?)
    };
    let options = EngineOptions {
        feed_poll: Duration::from_millis(args.feed_poll_ms.max(10)),
        units: Arc::new(units),
    };
    let engine = Engine::new(store, info, options)
        .await
        .context("reading the change log")?;
    let limits = args.server.limits();
    let listener = match listener {
        Some(l) => l,
        None => {
            let addr = args
                .server
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], Spec::DEFAULT_PORT)));
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?
        }
    };
    if !args.units_url.is_empty()
        && args.server.service_token().is_none()
        && args.server.token_public_key_file.is_some()
    {
        tracing::warn!(
            units_url = %args.units_url,
            "no service token configured (CITYDASH_SERVICE_TOKEN_FILE): the aggregator will refuse this \
             service's reads of the unit registry and the revocation list"
        );
    }
    let revoked = citydash_runtime::auth::Revocations::default();
    let revocations = (!args.units_url.is_empty())
        .then(|| revocations_from(&args.units_url, args.server.service_token(), revoked.clone()))
        .transpose()?;
    let auth =
        AuthLayer::new(args.server.authenticator(Spec::NAME, revoked)?, &limits).auditing(Arc::new(engine.clone()));
    let edge = args.server.edge()?;
    let (routes, health, own) = routes::<Spec, S>(engine.clone(), limits);
    let names = vec!["", citydash_proto::v1::sector_service_server::SERVICE_NAME, own];
    let monitor = watch_health(engine.store().clone(), health, names).await;
    let closing = engine.clone();
    let shutdown = async move {
        shutdown.await;
        closing.close();
    };
    let services = [citydash_proto::v1::sector_service_server::SERVICE_NAME, own];
    let result = citydash_runtime::serve(routes.routes(), &services, limits, auth, edge, listener, shutdown).await;
    monitor.abort();
    if let Some(task) = revocations {
        task.abort();
    }
    result
}

/// Keeps `revoked` current from the aggregator's revocation list at `url`,
/// showing this service's token.
fn revocations_from(
    url: &str,
    token: Option<citydash_runtime::auth::ServiceToken>,
    revoked: citydash_runtime::auth::Revocations,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let channel = city_channel(url)?;
    Ok(tokio::spawn(crate::revocations::keep_current(
        revoked,
        crate::revocations::SECTOR_REFRESH,
        move || {
            let channel = channel.clone();
            let token = token.clone();
            async move {
                let token = token.as_ref().map(|t| t.current()).transpose()?;
                let channel = citydash_runtime::auth::authed(channel, token.as_deref())?;
                crate::revocations::ids_from(channel)
                    .await
                    .map_err(|s| format!("{}: {}", s.code(), s.message()))
            }
        },
    )))
}

/// The routes of a sector service, its health reporter and the name of the
/// sector's own service.
pub fn routes<Spec: SectorSpec, S: Store>(
    engine: Engine<S>,
    limits: ServerLimits,
) -> (RoutesBuilder, HealthReporter, &'static str) {
    let ctx = ServiceContext { limits };
    let (reporter, health_service) = citydash_runtime::health();
    let mut routes = RoutesBuilder::default();
    routes.add_service(health_service);
    routes.add_service(
        SectorServiceServer::new(SectorGrpc::new(engine.clone()))
            .max_decoding_message_size(limits.max_message_bytes)
            .max_encoding_message_size(limits.max_message_bytes),
    );
    let own = Spec::add_own_service(engine, &ctx, &mut routes);
    (routes, reporter, own)
}

/// The whole `main` of a sector service binary: parse flags and environment,
/// set up logging, serve until Ctrl-C or SIGTERM.
pub fn main<Spec: SectorSpec>() -> anyhow::Result<()> {
    use clap::Parser as _;
    #[derive(clap::Parser)]
    #[command(version, about = "A citydash sector service")]
    struct Cli {
        #[command(flatten)]
        args: SectorArgs,
    }
    let cli = Cli::parse();
    let server = &cli.args.server;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // The OTLP exporters need the runtime; they are flushed (dropped) before it stops.
    let _in_runtime = runtime.enter();
    let _telemetry = citydash_runtime::telemetry::init(server.log_format, server.otlp_endpoint.as_deref(), Spec::NAME);
    runtime.block_on(async { run::<Spec>(cli.args, None, citydash_runtime::shutdown_signal()).await })
}

/// Reports SERVING while the database answers and NOT_SERVING while it does
/// not: the first check before it returns, then every 2 s on the task whose
/// handle it returns.
pub async fn watch_health<S: Store>(
    store: S,
    health: HealthReporter,
    names: Vec<&'static str>,
) -> tokio::task::JoinHandle<()> {
    // The first check before the port answers: a caller never finds a
    // service it serves "not registered".
    let first = check_health(&store, &health, &names, None).await;
    tokio::spawn(async move {
        let mut last = first;
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            last = check_health(&store, &health, &names, Some(last)).await;
        }
    })
}

/// One database check: sets the status of `names` when it differs from `last`.
async fn check_health<S: Store>(
    store: &S,
    health: &HealthReporter,
    names: &[&'static str],
    last: Option<ServingStatus>,
) -> ServingStatus {
    let status = match tokio::time::timeout(Duration::from_secs(3), store.ping()).await {
        Ok(Ok(())) => ServingStatus::Serving,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "database check failed");
            ServingStatus::NotServing
        }
        Err(_) => {
            tracing::warn!("database check timed out");
            ServingStatus::NotServing
        }
    };
    if last != Some(status) {
        tracing::info!(?status, "health status");
        for name in names {
            health.set_service_status(*name, status).await;
        }
    }
    status
}
