//! Running the aggregator as a process: the city sector engine (its own
//! SectorService for the statistics and finance bureaus), the read model
//! loaded from the database, one feed consumer per source, the view's writer,
//! the silence check and the report schedule, and CityService, all on one
//! port. The one place where the aggregator's parts are put together.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use citydash_proto::{sectors, v1};

use citydash_db::Backend;
use citydash_runtime::layer::AuthLayer;
use citydash_sector::domain::Regions;
use citydash_sector::launch::{SectorArgs, watch_health};
use citydash_sector::registry::units_in_store;
use citydash_sector::spec::SectorSpec;
use citydash_sector::store::{PgStore, SqliteStore, Store};
use citydash_sector::units::UnitDirectory;
use citydash_sector::{Engine, EngineOptions, SectorInfo};
use tokio::net::TcpListener;

use crate::api::fastpath::FastPath;
use crate::api::grpc::CityGrpc;
use crate::api::notifications::NotificationsGrpc;
use crate::api::orders::OrdersGrpc;
use crate::city::City;
use crate::clock::Clock;
use crate::compute::calendar::Calendar;
use crate::compute::{Bands, Settings};
use crate::feeds::{FeedSource, GrpcSource, LocalSource, follow};
use crate::lease::Lease;
use crate::notify::outbox::Outbox;
use crate::notify::{Notifier, NotifyOptions};
use crate::orders::Orders;
use crate::readstore::{PgReadStore, ReadStore, SqliteReadStore, TokenUseLog};
use crate::reports::Reports;
use crate::sources::{SectorLink, SectorLinks};
use crate::view::View;

/// The aggregator's command line.
#[derive(Debug, Clone, clap::Args)]
pub struct AggregatorArgs {
    /// Listen address, database (city indicators and the read model), regions.
    #[command(flatten)]
    pub city: SectorArgs,
    /// Where a sector service listens, as NAME=URL (repeatable, or a comma
    /// list in the environment). Every sector of `citydash_proto::sectors`
    /// is followed, at 127.0.0.1 on its default port unless named here.
    #[arg(long = "sector", env = "CITYDASH_SECTORS", value_delimiter = ',', value_parser = parse_sector_url)]
    pub sectors: Vec<SectorUrl>,
    /// The CA of the sector services' TLS certificates (PEM), for https:// sector URLs.
    #[arg(long, env = "CITYDASH_FEED_TLS_CA")]
    pub feed_tls_ca: Option<std::path::PathBuf>,
    /// The aggregator's client certificate (PEM) for sectors that require mutual TLS.
    #[arg(long, env = "CITYDASH_FEED_TLS_CERT", requires = "feed_tls_key")]
    pub feed_tls_cert: Option<std::path::PathBuf>,
    /// Its private key (PEM).
    #[arg(long, env = "CITYDASH_FEED_TLS_KEY", requires = "feed_tls_cert")]
    pub feed_tls_key: Option<std::path::PathBuf>,
    /// Address of the web dashboard (and grpc-web); `off` for none.
    #[arg(long, env = "CITYDASH_HTTP_LISTEN", default_value = "127.0.0.1:8080")]
    pub http_listen: String,
    /// A gap at or below this many percentage points is yellow.
    #[arg(long, env = "CITYDASH_VERDICT_YELLOW_PP", default_value_t = -10.0, allow_negative_numbers = true)]
    pub yellow_pp: f64,
    /// A gap at or below this many percentage points is red.
    #[arg(long, env = "CITYDASH_VERDICT_RED_PP", default_value_t = -30.0, allow_negative_numbers = true)]
    pub red_pp: f64,
    /// A year-end outlook whose required growth exceeds the growth so far by
    /// at most this many percentage points is a stretch; more is at risk.
    #[arg(long, env = "CITYDASH_OUTLOOK_STRETCH_PP", default_value_t = 5.0)]
    pub outlook_stretch_pp: f64,
    /// Each sector's reporting due day, in days after the end of the month
    /// reported, as `sector=days` entries (`industry=15,city=20`); a sector
    /// not named is due on the 10th of the next month.
    #[arg(long, env = "CITYDASH_REPORTING_DUE", default_value = "")]
    pub reporting_due: String,
    /// The regions whose indicator values every agency owes each month,
    /// comma-separated; empty: the city itself (the regions of kind city).
    #[arg(long, env = "CITYDASH_REPORTING_REGIONS", default_value = "")]
    pub reporting_regions: String,
    /// How often notifications are derived from the data and queued, in ms.
    #[arg(long, env = "CITYDASH_NOTIFY_SCAN_MS", default_value_t = 5000)]
    pub notify_scan_ms: u64,
    /// How long one notification request may take, in ms.
    #[arg(long, env = "CITYDASH_NOTIFY_TIMEOUT_MS", default_value_t = 5000)]
    pub notify_timeout_ms: u64,
    /// The wait after a first failed delivery, in ms; it doubles after each failure.
    #[arg(long, env = "CITYDASH_NOTIFY_RETRY_MS", default_value_t = 2000)]
    pub notify_retry_ms: u64,
    /// The longest wait between two delivery attempts, in ms.
    #[arg(long, env = "CITYDASH_NOTIFY_RETRY_CAP_MS", default_value_t = 600_000)]
    pub notify_retry_cap_ms: u64,
    /// Starts the city's calendar at this local time (`2026-06-30T09:00:00`)
    /// instead of the system's, running on in real time: for drills and tests
    /// of the report schedule. Pushes are still judged by the real date.
    #[arg(long, env = "CITYDASH_CITY_TIME", hide = true, value_parser = parse_city_time)]
    pub city_time: Option<chrono::NaiveDateTime>,
}

fn parse_city_time(text: &str) -> Result<chrono::NaiveDateTime, String> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .map_err(|e| format!("{text:?}: expected YYYY-MM-DDTHH:MM:SS ({e})"))
}

/// A sector service's address, as `--sector NAME=URL` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectorUrl {
    /// The sector.
    pub sector: v1::Sector,
    /// `http://host:port`, or `https://…`.
    pub url: String,
}

/// Parses `NAME=URL` with NAME a sector of `citydash_proto::sectors`.
fn parse_sector_url(text: &str) -> Result<SectorUrl, String> {
    let names = || sectors::SECTORS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ");
    let (name, url) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected NAME=URL, NAME one of {}", names()))?;
    let entry = sectors::SECTORS
        .iter()
        .find(|s| s.name == name.trim())
        .ok_or_else(|| format!("{name:?} is not a sector: expected one of {}", names()))?;
    let url = url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("{name}={url:?}: the URL must start with http:// or https://"));
    }
    Ok(SectorUrl {
        sector: entry.sector,
        url: url.to_owned(),
    })
}

/// Each sector's URL: the one named on the command line, else its default.
fn sector_urls(named: &[SectorUrl]) -> anyhow::Result<Vec<SectorUrl>> {
    for (i, a) in named.iter().enumerate() {
        if named[..i].iter().any(|b| b.sector == a.sector) {
            anyhow::bail!("--sector names {} twice", sectors::entry(a.sector).name);
        }
    }
    Ok(sectors::SECTORS
        .iter()
        .map(|entry| {
            named
                .iter()
                .find(|n| n.sector == entry.sector)
                .cloned()
                .unwrap_or_else(|| SectorUrl {
                    sector: entry.sector,
                    url: format!("http://127.0.0.1:{}", entry.default_port),
                })
        })
        .collect())
}

/// Creates or upgrades the aggregator's tables (city engine and read model).
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    citydash_sector::launch::migrate(url).await?;
    match Backend::of(url)? {
        Backend::Sqlite => drop(SqliteReadStore::connect(url).await?),
        Backend::Postgres => drop(PgReadStore::connect(url).await?),
    }
    Ok(())
}

/// The TLS settings for the sector feeds, when any are given; with
/// `as_aggregator` false, without the aggregator's client certificate (for
/// calls made on a clerk's behalf, which must show the clerk's token).
fn feed_tls(args: &AggregatorArgs, as_aggregator: bool) -> anyhow::Result<Option<tonic::transport::ClientTlsConfig>> {
    let read = |p: &std::path::Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    if args.feed_tls_ca.is_none() && args.feed_tls_cert.is_none() {
        return Ok(None);
    }
    let mut config = tonic::transport::ClientTlsConfig::new();
    if let Some(ca) = &args.feed_tls_ca {
        config = config.ca_certificate(tonic::transport::Certificate::from_pem(read(ca)?));
    }
    if as_aggregator && let (Some(cert), Some(key)) = (&args.feed_tls_cert, &args.feed_tls_key) {
        config = config.identity(tonic::transport::Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(Some(config))
}

/// Where the import page sends a sheet: every sector at its URL and the
/// city at this aggregator's own port (over TLS when the port speaks it,
/// trusting the feeds' CA, under the name `localhost`).
fn import_targets(
    args: &AggregatorArgs,
    own: SocketAddr,
    own_tls: bool,
) -> anyhow::Result<Vec<(&'static str, tonic::transport::Channel)>> {
    let tls = feed_tls(args, false)?;
    let lazy =
        |url: &str, tls: Option<tonic::transport::ClientTlsConfig>| -> anyhow::Result<tonic::transport::Channel> {
            let mut endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())?;
            if let Some(tls) = tls {
                endpoint = endpoint.tls_config(tls)?;
            }
            Ok(endpoint.connect_timeout(crate::sources::CALL_DEADLINE).connect_lazy())
        };
    let mut targets = Vec::new();
    for s in sector_urls(&args.sectors)? {
        let tls = if s.url.starts_with("https://") {
            tls.clone()
        } else {
            None
        };
        targets.push((sectors::entry(s.sector).name, lazy(&s.url, tls)?));
    }
    let port = own.port();
    let city = if own_tls {
        let tls = tls
            .unwrap_or_else(tonic::transport::ClientTlsConfig::new)
            .domain_name("localhost");
        lazy(&format!("https://localhost:{port}"), Some(tls))?
    } else {
        let host = if own.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            own.ip()
        };
        lazy(&format!("http://{}", SocketAddr::new(host, port)), None)?
    };
    targets.push((sectors::CITY.name, city));
    Ok(targets)
}

/// The default database of the aggregator.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/aggregator.db?mode=rwc";

/// Runs the aggregator until `shutdown` resolves.
pub async fn run(
    args: AggregatorArgs,
    listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let url = args.city.server.database(DEFAULT_DATABASE_URL)?;
    match Backend::of(&url)? {
        Backend::Sqlite => {
            let store = SqliteStore::connect(&url).await.context("opening the city database")?;
            let read = SqliteReadStore::connect(&url).await.context("opening the read model")?;
            run_with(store, read, Lease::keep(&url), args, listener, shutdown).await
        }
        Backend::Postgres => {
            let store = PgStore::connect(&url).await.context("connecting to PostgreSQL")?;
            let read = PgReadStore::connect(&url).await.context("opening the read model")?;
            run_with(store, read, Lease::keep(&url), args, listener, shutdown).await
        }
    }
}

async fn run_with<S: Store, R: ReadStore + Outbox + TokenUseLog>(
    store: S,
    read: R,
    lease: (Lease, tokio::task::JoinHandle<()>),
    args: AggregatorArgs,
    listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.red_pp <= args.yellow_pp,
        "the red band must not be above the yellow band"
    );
    let regions = Regions::parse(&args.city.regions).map_err(anyhow::Error::msg)?;
    let info = SectorInfo {
        sector: City::SECTOR,
        name: City::NAME.to_owned(),
        agency: City::AGENCY.to_owned(),
        catalog: City::catalog(),
        regions: regions.clone(),
        entity_types: City::entity_types(),
        checklists: citydash_sector::readiness::Checklists::parse(&args.city.readiness_checklists)
            .map_err(|e| anyhow::anyhow!("--readiness-checklists: {e}"))?,
    };
    let options = EngineOptions {
        feed_poll: Duration::from_millis(args.city.feed_poll_ms.max(10)),
        // The city engine hosts the unit registry and resolves its own pushes against it.
        units: Arc::new(UnitDirectory::with_loader(units_in_store(store.clone()))),
    };
    let engine = Engine::new(store, info, options)
        .await
        .context("reading the city change log")?;
    let settings = Settings {
        bands: Bands {
            yellow_pp: args.yellow_pp,
            red_pp: args.red_pp,
        },
        outlook: crate::compute::outlook::OutlookBand {
            stretch_pp: args.outlook_stretch_pp,
        },
        reporting: Calendar::parse(&args.reporting_due, &args.reporting_regions, &regions)
            .map_err(anyhow::Error::msg)?,
        regions,
    };
    // The aggregator shows its service token to the sectors; with a client
    // certificate it presents that to mutual-TLS sectors.
    let token = args.city.server.service_token();
    if token.is_none() && args.city.server.token_public_key_file.is_some() {
        tracing::warn!(
            "tokens are verified here but no service token is configured (CITYDASH_SERVICE_TOKEN_FILE): \
             sectors that verify tokens will refuse this aggregator's feed reads"
        );
    }
    let tls = feed_tls(&args, true)?;
    let link = |sector, url: &str| -> anyhow::Result<Arc<SectorLink>> {
        Ok(Arc::new(SectorLink::new(sector, url, token.clone(), tls.clone())?))
    };
    let links: SectorLinks = Arc::new(
        sector_urls(&args.sectors)?
            .iter()
            .map(|s| Ok((s.sector as i32, link(s.sector, &s.url)?)))
            .collect::<anyhow::Result<_>>()?,
    );
    let mut sources: Vec<Arc<dyn FeedSource>> = links
        .values()
        .map(|l| Arc::new(GrpcSource(Arc::clone(l))) as Arc<dyn FeedSource>)
        .collect();
    sources.push(Arc::new(LocalSource::new(engine.clone())));
    let sectors: Vec<v1::Sector> = sources.iter().map(|s| s.sector()).collect();
    let token_log = read.clone();
    let clock = args.city_time.map_or(Clock::System, Clock::starting_at);
    let (view, writer) = View::load(read, settings, clock, &sectors)
        .await
        .context("loading the read model")?;
    let reports = Reports::new(Arc::clone(&view));
    let orders = Orders::new(engine.clone(), Arc::clone(&view), Arc::clone(&reports));
    let on_snapshot = Arc::clone(&orders);
    let notifier = Arc::new(Notifier::new(
        engine.clone(),
        Arc::clone(&view),
        NotifyOptions {
            scan: Duration::from_millis(args.notify_scan_ms.max(10)),
            poll: Duration::from_millis(200),
            timeout: Duration::from_millis(args.notify_timeout_ms.max(10)),
            retry_base: Duration::from_millis(args.notify_retry_ms.max(1)),
            retry_cap: Duration::from_millis(args.notify_retry_cap_ms.max(args.notify_retry_ms)),
            ..NotifyOptions::default()
        },
    )?);

    // Every replica follows the feeds and serves; the one holding the lease
    // also takes the reports and tells the units.
    let (lease, keeping_lease) = lease;
    let mut tasks = vec![
        keeping_lease,
        tokio::spawn(writer.run()),
        tokio::spawn(Arc::clone(&reports).run_schedule(lease.clone(), move |report| {
            let orders = Arc::clone(&on_snapshot);
            async move {
                if let Err(err) = orders.apply(&report).await {
                    tracing::warn!(error = %err, "applying the snapshot to the supervision orders failed");
                }
            }
        })),
        tokio::spawn(crate::feeds::run_silence_check(
            Arc::clone(&view),
            crate::feeds::HEARTBEAT * 3,
        )),
    ];
    tasks.extend(sources.into_iter().map(|s| tokio::spawn(follow(Arc::clone(&view), s))));
    tasks.push(tokio::spawn(Arc::clone(&notifier).run(lease.clone())));

    let limits = args.city.server.limits();
    let listener = match listener {
        Some(l) => l,
        None => {
            let addr = args
                .city
                .server
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], City::DEFAULT_PORT)));
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?
        }
    };
    // The revocation list is the city engine's own, in the database every
    // replica shares: each reads it every 2 s.
    let revoked = citydash_runtime::auth::Revocations::default();
    let store = engine.store().clone();
    let revocations = tokio::spawn(citydash_sector::revocations::keep_current(
        revoked.clone(),
        citydash_sector::revocations::CITY_REFRESH,
        move || {
            let store = store.clone();
            async move { citydash_sector::revocations::ids_in_store(&store).await }
        },
    ));
    // Every token this replica accepts is noted, and written every 30 s to
    // the database the replicas share, for `TokensService.ListTokenUses`.
    let uses = citydash_runtime::auth::TokenUses::default();
    tasks.push(tokio::spawn(crate::city::keep_token_uses(
        token_log.clone(),
        uses.clone(),
    )));
    let auth = AuthLayer::new(
        args.city
            .server
            .authenticator_noting(City::NAME, revoked.clone(), Some(uses.clone()))?,
        &limits,
    )
    .auditing(Arc::new(engine.clone()));
    let edge = args.city.server.edge()?;
    let importer = Arc::new(crate::api::import::Importer::new(import_targets(
        &args,
        listener.local_addr()?,
        edge.tls.is_some(),
    )?));
    let (mut routes, health, _) = citydash_sector::launch::routes::<City, S>(engine.clone(), limits);
    let last_uses = (token_log.clone(), uses.clone());
    routes.add_service(
        v1::tokens_service_server::TokensServiceServer::new(crate::city::TokensGrpc {
            engine: engine.clone(),
            log: token_log,
            uses,
            revoked,
        })
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes),
    );
    let city = CityGrpc::new(Arc::clone(&view), reports, links);
    routes.add_service(FastPath::new(city.clone(), limits.max_message_bytes));
    routes.add_service(
        v1::orders_service_server::OrdersServiceServer::new(OrdersGrpc(Arc::clone(&orders)))
            .max_decoding_message_size(limits.max_message_bytes)
            .max_encoding_message_size(limits.max_message_bytes),
    );
    routes.add_service(
        v1::notifications_service_server::NotificationsServiceServer::new(NotificationsGrpc(Arc::clone(&notifier)))
            .max_decoding_message_size(limits.max_message_bytes)
            .max_encoding_message_size(limits.max_message_bytes),
    );
    let names = vec![
        "",
        v1::sector_service_server::SERVICE_NAME,
        v1::city_service_server::SERVICE_NAME,
        v1::orders_service_server::SERVICE_NAME,
        v1::notifications_service_server::SERVICE_NAME,
    ];
    tasks.push(report_lease(lease.clone(), health.clone()));
    tasks.push(watch_health(engine.store().clone(), health, names).await);
    let web = match args.http_listen.as_str() {
        "off" | "" => None,
        addr => {
            let addr: SocketAddr = addr.parse().with_context(|| format!("--http-listen {addr:?}"))?;
            let http = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            let closed = view.closed();
            let app = crate::api::web::router(
                city,
                orders,
                notifier,
                importer,
                limits.max_message_bytes,
                auth.clone(),
                &edge.cors,
            );
            Some(tokio::spawn(crate::api::web::serve(app, http, closed)))
        }
    };
    let closing = engine.clone();
    let closing_view = Arc::clone(&view);
    let shutdown = async move {
        shutdown.await;
        closing.close();
        closing_view.close();
    };
    let services = [
        v1::sector_service_server::SERVICE_NAME,
        v1::city_service_server::SERVICE_NAME,
        v1::units_service_server::SERVICE_NAME,
        v1::tokens_service_server::SERVICE_NAME,
        v1::orders_service_server::SERVICE_NAME,
        v1::notifications_service_server::SERVICE_NAME,
    ];
    let result = citydash_runtime::serve(routes.routes(), &services, limits, auth, edge, listener, shutdown).await;
    if let Some(web) = web {
        match web.await {
            Ok(Err(err)) => tracing::error!(error = %err, "dashboard server failed"),
            Err(err) => tracing::error!(error = %err, "dashboard task failed"),
            Ok(Ok(())) => {}
        }
    }
    for t in tasks {
        t.abort();
    }
    revocations.abort();
    // The uses noted since the last write, so a rolling restart loses none.
    let (log, uses) = last_uses;
    if let Err(err) = log.note_token_uses(&uses.take()).await {
        tracing::warn!(error = %err, "recording the last token uses failed");
    }
    result
}

/// Keeps the health status of [`crate::lease::HEALTH_NAME`] equal to
/// whether this replica holds the lease.
fn report_lease(mut lease: Lease, health: citydash_runtime::server::HealthReporter) -> tokio::task::JoinHandle<()> {
    use citydash_runtime::server::ServingStatus;
    let status = |held: bool| {
        if held {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        }
    };
    tokio::spawn(async move {
        health
            .set_service_status(crate::lease::HEALTH_NAME, status(lease.is_held()))
            .await;
        while let Some(held) = lease.changed().await {
            health.set_service_status(crate::lease::HEALTH_NAME, status(held)).await;
        }
    })
}

/// The whole `main` of the aggregator binary.
pub fn main() -> anyhow::Result<()> {
    use clap::Parser as _;
    #[derive(clap::Parser)]
    #[command(version, about = "The citydash aggregator: the city-wide view")]
    struct Cli {
        #[command(flatten)]
        args: AggregatorArgs,
    }
    let cli = Cli::parse();
    let server = &cli.args.city.server;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // The OTLP exporters need the runtime; they are flushed (dropped) before it stops.
    let _in_runtime = runtime.enter();
    let _telemetry =
        citydash_runtime::telemetry::init(server.log_format, server.otlp_endpoint.as_deref(), "aggregator");
    runtime.block_on(async { run(cli.args, None, citydash_runtime::shutdown_signal()).await })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sector_is_followed_at_its_default_unless_named() {
        let named = vec![parse_sector_url("industry=http://10.0.0.2:7000").expect("parses")];
        let urls = sector_urls(&named).expect("urls");
        assert_eq!(urls.len(), sectors::SECTORS.len());
        assert_eq!(urls[0].url, "http://127.0.0.1:50061");
        assert_eq!(urls[1].url, "http://10.0.0.2:7000");
        assert!(
            sector_urls(&[named[0].clone(), named[0].clone()]).is_err(),
            "named twice"
        );
        for bad in ["industry", "city=http://x:1", "mining=http://x:1", "tourism=x:1"] {
            assert!(parse_sector_url(bad).is_err(), "{bad}");
        }
    }
}
