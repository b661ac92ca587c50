//! Test harness for the whole suite: a fresh database per test (a SQLite
//! file in a temp folder, or a new PostgreSQL database when
//! `CITYDASH_TEST_BACKEND=postgres`), services started in-process on port 0,
//! and clients connected to them over real gRPC.

use std::net::SocketAddr;
use std::time::Duration;

use citydash_runtime::auth::{AuthedChannel, Claims, Role, SigningKey, authed};
use citydash_sector::launch::SectorArgs;
use citydash_sector::spec::SectorSpec;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

pub mod proxy;

/// Which backend the tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// A SQLite file per test (the default).
    Sqlite,
    /// A fresh PostgreSQL database per test.
    Postgres,
}

/// The backend named by `CITYDASH_TEST_BACKEND` (`sqlite` when unset).
/// An unknown name fails the test rather than silently picking one.
pub fn backend() -> TestBackend {
    match std::env::var("CITYDASH_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => TestBackend::Sqlite,
        Ok("postgres") => TestBackend::Postgres,
        Ok(other) => panic!("CITYDASH_TEST_BACKEND={other:?}: expected sqlite or postgres"),
    }
}

/// Server URL used to create test databases on PostgreSQL.
pub fn postgres_admin_url() -> String {
    std::env::var("CITYDASH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    /// URL to hand to a service.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    /// A fresh, empty database on the configured backend. On PostgreSQL a
    /// server that cannot be reached fails the test: it never skips.
    pub async fn new() -> Self {
        match backend() {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            TestBackend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("citydash_t_{}", uuid::Uuid::new_v4().simple());
                let pool = sqlx::PgPool::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required for this run: {e}"));
                let create = format!("CREATE DATABASE {name}");
                sqlx::query(sqlx::AssertSqlSafe(create))
                    .execute(&pool)
                    .await
                    .expect("create test database");
                pool.close().await;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Self {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl TestDb {
    /// A handle on an existing database URL (the same database reached
    /// another way, through a proxy say); dropping it removes nothing.
    pub fn from_url(url: String) -> Self {
        Self {
            url,
            _dir: None,
            pg_name: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee, so a thread with its own
        // runtime removes the database.
        let admin = postgres_admin_url();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// The key files of this test run: one Ed25519 key pair (every test
/// service verifies with its public key) and the services' own token, in a
/// folder kept for the life of the process.
pub fn test_keys() -> &'static citydash::token::KeyFiles {
    static KEYS: std::sync::OnceLock<(tempfile::TempDir, citydash::token::KeyFiles)> = std::sync::OnceLock::new();
    &KEYS
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("key folder");
            let keys = citydash::token::KeyFiles::in_dir(dir.path(), 1).expect("test keys");
            (dir, keys)
        })
        .1
}

/// The private key test tokens are signed with.
pub fn test_signing_key() -> &'static SigningKey {
    &test_keys().signing
}

/// A token signed with [`test_signing_key`], valid for an hour.
pub fn token(subject: &str, role: Role, sectors: &[&str], regions: &[&str]) -> String {
    let claims = Claims::new(
        subject,
        role,
        sectors.iter().map(|s| (*s).to_owned()).collect(),
        regions.iter().map(|s| (*s).to_owned()).collect(),
        Duration::from_secs(3600),
    );
    test_signing_key().issue(&claims).expect("test token")
}

/// The token of `sector`'s own agency, the default of its test service.
pub fn sector_token(sector: &str) -> String {
    token(agency_of(sector), Role::Agency, &[sector], &[])
}

/// The statistics bureau's token, the default of the test aggregator.
pub fn statistics_token() -> String {
    bureau_token(Role::Statistics)
}

/// The token of the city bureau with `role`: the statistics bureau (GDP),
/// the finance bureau (budget revenue), development and reform (fixed-asset
/// investment).
pub fn bureau_token(role: Role) -> String {
    let subject = match role {
        Role::Finance => "市财政局",
        Role::DevelopmentReform => "市发改委",
        _ => "市统计局",
    };
    token(subject, role, &[], &[])
}

/// The flags every test sector service runs with, on `database_url`: the
/// test keys, and a fast feed poll.
pub fn sector_args(database_url: &str) -> Vec<String> {
    let mut args: Vec<String> = ["--database-url", database_url, "--feed-poll-ms", "50"]
        .map(str::to_owned)
        .to_vec();
    args.extend(test_keys().service_flags());
    args
}

/// The flags every test aggregator runs with, on `database_url` (the
/// sector flags come on top): those of a sector, and a dashboard port of
/// its own.
pub fn aggregator_args(database_url: &str) -> Vec<String> {
    let mut args = sector_args(database_url);
    args.extend(["--http-listen", "127.0.0.1:0"].map(str::to_owned));
    args
}

/// The agency a sector's test token names.
pub fn agency_of(sector: &str) -> &'static str {
    citydash_proto::sectors::named(sector).map_or(citydash_proto::sectors::CITY.agency_zh, |s| s.agency_zh)
}

/// A service running in this process, on a runtime of its own, so that
/// killing it drops everything it runs (connections and streams included),
/// as a crash of its process would.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The token its default channel sends.
    pub token: String,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
    runtime: Option<tokio::runtime::Runtime>,
    process: Option<std::process::Child>,
}

impl Running {
    /// Starts `serve(listener, shutdown)` on a new runtime, listening on
    /// `addr` (port 0 for a free one), and waits until it is healthy.
    async fn start<F, Fut>(addr: SocketAddr, token: String, serve: F) -> Running
    where
        F: FnOnce(TcpListener, oneshot::Receiver<()>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let running = Self::start_unchecked(addr, token, serve).await;
        wait_serving(&running, "").await;
        running
    }

    /// Starts like [`Running::start`] without waiting for health (a TLS
    /// service, whose caller checks health over TLS itself).
    async fn start_unchecked<F, Fut>(addr: SocketAddr, token: String, serve: F) -> Running
    where
        F: FnOnce(TcpListener, oneshot::Receiver<()>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let listener = bind(addr).await;
        let addr = listener.local_addr().expect("local addr");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("service runtime");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).expect("listener");
            serve(listener, rx).await
        });
        Running {
            addr,
            token,
            shutdown: Some(tx),
            handle: Some(handle),
            runtime: Some(runtime),
            process: None,
        }
    }

    /// Starts `citydash serve <args…> --listen <addr>` as an OS process
    /// (the binary built beside the test, see [`citydash_binary`]) and waits
    /// until it is healthy. A start that exits at once (the port of a killed
    /// predecessor not free yet) is tried again. Its logs (errors only) go to
    /// the test's output.
    pub async fn process(addr: SocketAddr, token: String, args: &[String]) -> Running {
        let binary = citydash_binary();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut running = Running {
            addr,
            token,
            shutdown: None,
            handle: None,
            runtime: None,
            process: None,
        };
        loop {
            let child = running.process.get_or_insert_with(|| {
                std::process::Command::new(&binary)
                    .arg("serve")
                    .args(args)
                    .arg("--listen")
                    .arg(addr.to_string())
                    .env("RUST_LOG", "error")
                    .stdin(std::process::Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()))
            });
            if let Some(exit) = child.try_wait().expect("child status") {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "citydash serve {args:?} keeps exiting: {exit}"
                );
                running.process = None;
            } else if health_status(addr, "").await == Some(ServingStatus::Serving) {
                return running;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "citydash serve {args:?} on {addr} did not become healthy"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A channel to the service without credentials.
    pub async fn raw_channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to service")
    }

    /// A channel sending the service's default token: its own agency for a
    /// sector service, the statistics bureau for the aggregator.
    pub async fn channel(&self) -> AuthedChannel {
        self.channel_as(&self.token.clone()).await
    }

    /// A channel sending `token`.
    pub async fn channel_as(&self, token: &str) -> AuthedChannel {
        authed(self.raw_channel().await, Some(token)).expect("token")
    }

    /// Stops the service gracefully and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            let result = tokio::time::timeout(Duration::from_secs(10), handle)
                .await
                .expect("service stops within 10 s");
            result.expect("service task").expect("service ran cleanly");
        }
    }

    /// Kills the service at once, as a crash would: every task it runs,
    /// its open connections and streams are dropped. A service running as
    /// an OS process gets SIGKILL.
    pub fn kill(mut self) {
        self.crash();
    }

    fn crash(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        if let Some(mut child) = self.process.take() {
            // `Child::kill` is SIGKILL on Unix; waiting reaps the process.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.crash();
    }
}

/// The `citydash` binary the tests start as OS processes: `$CITYDASH_BIN`,
/// or `target/<profile>/citydash` beside the test binary. `cargo test
/// --workspace` builds it (the `citydash` package has integration tests);
/// a run of this crate alone needs `cargo build -p citydash` first.
pub fn citydash_binary() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("CITYDASH_BIN") {
        return path.into();
    }
    let test = std::env::current_exe().expect("test binary path");
    let profile_dir = test
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/<profile>/deps/<test>");
    let binary = profile_dir.join("citydash");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build -p citydash` (cargo test --workspace builds it)",
        binary.display()
    );
    binary
}

/// A free port on 127.0.0.1, for a service that must come back on the same
/// address after a restart.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
}

/// Binds `addr`, retrying for a while: the port of a killed service may take
/// a moment to be free again.
async fn bind(addr: SocketAddr) -> std::net::TcpListener {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => {
                l.set_nonblocking(true).expect("non-blocking listener");
                return l;
            }
            Err(_) if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("bind {addr}: {e}"),
        }
    }
}

/// Starts the sector service `Spec` on `db`, on a free port, and waits
/// until its health check says SERVING.
pub async fn spawn_sector<Spec: SectorSpec>(db: &TestDb) -> Running {
    spawn_sector_at::<Spec>(db, "127.0.0.1:0".parse().expect("address")).await
}

/// Starts the sector service `Spec` on `db` at `addr` (a restart on the port
/// the aggregator already follows).
pub async fn spawn_sector_at<Spec: SectorSpec>(db: &TestDb, addr: SocketAddr) -> Running {
    spawn_sector_with::<Spec>(db, addr, &[]).await
}

/// Starts the sector service `Spec` on `db` at `addr` with extra flags.
pub async fn spawn_sector_with<Spec: SectorSpec>(db: &TestDb, addr: SocketAddr, extra: &[&str]) -> Running {
    let mut argv = vec!["test".to_owned()];
    argv.extend(sector_args(&db.url));
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    let args = citydash_runtime::config::from_flags::<SectorArgs, _, _>(argv);
    Running::start(addr, sector_token(Spec::NAME), move |listener, stop| {
        citydash_sector::launch::run::<Spec>(args, Some(listener), async {
            let _ = stop.await;
        })
    })
    .await
}

/// Starts the sector service of `program` (a row of `citydash::programs`)
/// on `db` on a free port.
pub async fn spawn_program(program: &'static dyn citydash::programs::SectorProgram, db: &TestDb) -> Running {
    let mut argv = vec!["test".to_owned()];
    argv.extend(sector_args(&db.url));
    let args = citydash_runtime::config::from_flags::<SectorArgs, _, _>(argv);
    let token = sector_token(program.entry().name);
    Running::start("127.0.0.1:0".parse().expect("address"), token, move |listener, stop| {
        program.run(
            args,
            Some(listener),
            Box::pin(async {
                let _ = stop.await;
            }),
        )
    })
    .await
}

/// Starts the sector service `Spec` on `db` on a free port with `extra`
/// flags (TLS, say), without waiting for it to be healthy.
pub async fn spawn_sector_unchecked<Spec: SectorSpec>(db: &TestDb, extra: &[&str]) -> Running {
    let mut argv = vec!["test", "--database-url", &db.url];
    argv.extend_from_slice(extra);
    let args = citydash_runtime::config::from_flags::<SectorArgs, _, _>(argv);
    Running::start_unchecked(
        "127.0.0.1:0".parse().expect("address"),
        String::new(),
        move |listener, stop| {
            citydash_sector::launch::run::<Spec>(args, Some(listener), async {
                let _ = stop.await;
            })
        },
    )
    .await
}

/// The sector services of a test city, each on its own database.
pub struct Sectors {
    /// Agriculture, industry, tourism, welfare.
    pub services: Vec<Running>,
    dbs: Vec<TestDb>,
}

impl Sectors {
    /// Starts every sector service of `citydash::programs`.
    pub async fn start() -> Self {
        let (mut dbs, mut services) = (Vec::new(), Vec::new());
        for program in citydash::programs::PROGRAMS {
            let db = TestDb::new().await;
            services.push(spawn_program(*program, &db).await);
            dbs.push(db);
        }
        Self { services, dbs }
    }

    /// The database of sector `i` (0 agriculture … 3 welfare).
    pub fn db(&self, i: usize) -> &TestDb {
        &self.dbs[i]
    }

    /// Where the services listen, as the aggregator's flags.
    pub fn flags(&self) -> Vec<String> {
        citydash_proto::sectors::SECTORS
            .iter()
            .zip(&self.services)
            .flat_map(|(entry, s)| sector_flag(entry.sector, &format!("http://{}", s.addr)))
            .collect()
    }
}

/// The aggregator's flag that finds `sector`'s service at `url`.
pub fn sector_flag(sector: citydash_proto::v1::Sector, url: &str) -> [String; 2] {
    let name = citydash_proto::sectors::entry(sector).name;
    ["--sector".to_owned(), format!("{name}={url}")]
}

/// Starts an aggregator on `db` following `sectors`.
pub async fn spawn_aggregator(db: &TestDb, sectors: &Sectors) -> Running {
    spawn_aggregator_with(db, sectors.flags()).await
}

/// Starts an aggregator on `db` with these sector flags (`--sector agriculture=…`).
pub async fn spawn_aggregator_with(db: &TestDb, sector_flags: Vec<String>) -> Running {
    spawn_aggregator_serving_web(db, sector_flags, "127.0.0.1:0").await
}

/// Starts an aggregator on `db` with these sector flags and its dashboard on `web`.
pub async fn spawn_aggregator_serving_web(db: &TestDb, sector_flags: Vec<String>, web: &str) -> Running {
    let mut argv = vec!["test".to_owned()];
    argv.extend(sector_args(&db.url));
    argv.extend(["--http-listen".to_owned(), web.to_owned()]);
    argv.extend(sector_flags);
    let args = citydash_runtime::config::from_flags::<citydash_aggregator::launch::AggregatorArgs, _, _>(argv);
    Running::start(
        "127.0.0.1:0".parse().expect("address"),
        statistics_token(),
        move |listener, stop| {
            citydash_aggregator::launch::run(args, Some(listener), async {
                let _ = stop.await;
            })
        },
    )
    .await
}

/// An aggregator following one agriculture service that reads the city's
/// registries (units, revoked tokens) from it: the two and their databases.
pub async fn spawn_agriculture_reading_the_city() -> (Running, Running, TestDb, TestDb) {
    let agri_addr = free_addr();
    let agg_db = TestDb::new().await;
    let agg = spawn_aggregator_with(
        &agg_db,
        sector_flag(citydash_proto::v1::Sector::Agriculture, &format!("http://{agri_addr}")).to_vec(),
    )
    .await;
    let agri_db = TestDb::new().await;
    let units_url = format!("http://{}", agg.addr);
    let agri =
        spawn_sector_with::<citydash_agriculture::Agriculture>(&agri_db, agri_addr, &["--units-url", &units_url]).await;
    (agg, agri, agg_db, agri_db)
}

/// Waits until the health service reports `service` SERVING.
pub async fn wait_serving(running: &Running, service: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while health_status(running.addr, service).await != Some(ServingStatus::Serving) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "service on {} did not become healthy",
            running.addr
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the health service at `addr` says of `service`; `None` when it
/// cannot be asked.
pub async fn health_status(addr: SocketAddr, service: &str) -> Option<ServingStatus> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .ok()?;
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .ok()?;
    ServingStatus::try_from(reply.into_inner().status).ok()
}

/// Every change of a service's feed from the start, read until it is quiet.
pub async fn feed(svc: &Running) -> Vec<citydash_proto::v1::Change> {
    use citydash_proto::v1::{WatchChangesRequest, sector_service_client::SectorServiceClient};
    use tokio_stream::StreamExt;
    let mut stream = SectorServiceClient::new(svc.channel().await)
        .watch_changes(WatchChangesRequest {
            after_sequence: 0,
            heartbeat_seconds: 0,
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    let mut out = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(300), stream.next()).await {
        out.push(item.expect("change").change.expect("a change"));
    }
    out
}

/// The last sequence of a service's feed.
pub async fn last_sequence(svc: &Running) -> i64 {
    feed(svc).await.last().map_or(0, |c| c.sequence)
}

/// Waits (up to 20 s) until the aggregator has applied every change of every
/// feed, its own city engine's included; the overview of `period` then.
pub async fn synced(
    agg: &Running,
    sectors: &Sectors,
    period: Option<citydash_proto::v1::Period>,
) -> citydash_proto::v1::Overview {
    use citydash_proto::v1::{GetOverviewRequest, city_service_client::CityServiceClient};
    let mut expected = last_sequence(agg).await;
    for s in &sectors.services {
        expected += last_sequence(s).await;
    }
    let mut city = CityServiceClient::new(agg.channel().await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let overview = city
            .get_overview(GetOverviewRequest { period })
            .await
            .expect("overview")
            .into_inner()
            .overview
            .expect("set");
        if overview.data_version == expected && overview.stale_feeds.is_empty() {
            return overview;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "aggregator at data version {} of {expected}; stale: {:?}",
            overview.data_version,
            overview.stale_feeds
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Pushes to `sector` the started project `code`, counted in the statistics
/// since February 2026, and its October 2026 progress of `yuan` (a push
/// again replaces the month): a figure a test follows to the screen.
pub async fn push_counted(sector: &Running, code: &str, yuan: i64) {
    use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
    let mut client = SectorServiceClient::new(sector.channel().await);
    let mut p = fixtures::started(fixtures::project(code, "city", 50_000_000));
    p.in_statistics_database = Some(true);
    p.statistics_date = fixtures::date(2026, 2, 1);
    client
        .upsert_projects(v1::UpsertProjectsRequest {
            request_id: request_id(),
            projects: vec![p],
            ..Default::default()
        })
        .await
        .expect("project");
    client
        .report_progress(v1::ReportProgressRequest {
            request_id: request_id(),
            reports: vec![fixtures::progress(code, 2026, 10, yuan)],
            ..Default::default()
        })
        .await
        .expect("progress");
}

/// Registers responsible units (code, name) on the aggregator `agg`, as
/// the city's administrator does.
pub async fn register_units(agg: &Running, units: &[(&str, &str)]) {
    use citydash_proto::v1;
    let admin = token("市政府办公室", Role::Admin, &[], &[]);
    v1::units_service_client::UnitsServiceClient::new(agg.channel_as(&admin).await)
        .register_units(v1::RegisterUnitsRequest {
            request_id: request_id(),
            units: units
                .iter()
                .map(|(code, name)| v1::ResponsibleUnit {
                    code: (*code).into(),
                    name_zh: (*name).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .await
        .expect("units registered");
}

/// A fresh request id.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The field paths of an INVALID_ARGUMENT status's BadRequest details.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Builders for the records tests push, with realistic defaults.
pub mod fixtures {
    use citydash_proto::v1;

    /// A calendar date.
    pub fn date(year: i32, month: i32, day: i32) -> Option<v1::Date> {
        Some(v1::Date { year, month, day })
    }

    /// A period.
    pub fn period(year: i32, month: i32) -> Option<v1::Period> {
        Some(v1::Period { year, month })
    }

    /// A reserve-stage project in `region` with the given planned investment.
    pub fn project(code: &str, region: &str, planned_yuan: i64) -> v1::Project {
        v1::Project {
            code: code.to_owned(),
            name: format!("项目 {code}"),
            region_code: region.to_owned(),
            responsible_unit: "市农业农村局".to_owned(),
            planned_total_investment_yuan: planned_yuan,
            planned_start_date: date(2026, 3, 1),
            planned_completion_date: date(2027, 10, 31),
            ..Default::default()
        }
    }

    /// A project of `unit` whose higher-level funds were allocated on 1 March
    /// 2026 and that has not started: red (资金已下达未开工) from 30 May. It
    /// is planned to start in August, so that is its one red alert.
    pub fn funded(code: &str, unit: &str) -> v1::Project {
        v1::Project {
            responsible_unit: unit.into(),
            stage: v1::ProjectStage::Funded as i32,
            stage_date: date(2026, 3, 1),
            planned_start_date: date(2026, 8, 1),
            ..project(code, "city", 8_000_000)
        }
    }

    /// `p`, started on 5 January 2026: investment may be reported for it from
    /// January on without a plausibility finding (investment_before_start).
    pub fn started(p: v1::Project) -> v1::Project {
        v1::Project {
            stage: v1::ProjectStage::Started as i32,
            stage_date: date(2026, 1, 5),
            ..p
        }
    }

    /// A progress report of `yuan` completed in (year, month).
    pub fn progress(code: &str, year: i32, month: i32, yuan: i64) -> v1::ProgressReport {
        v1::ProgressReport {
            project_code: code.to_owned(),
            period: period(year, month),
            investment_completed_yuan: yuan,
            status: v1::ValueStatus::Final as i32,
            ..Default::default()
        }
    }

    /// A cumulative indicator value.
    pub fn value(code: &str, region: &str, year: i32, month: i32, value: i64) -> v1::IndicatorValue {
        v1::IndicatorValue {
            confirmations: Vec::new(),
            indicator_code: code.to_owned(),
            region_code: region.to_owned(),
            period: period(year, month),
            value,
            status: v1::ValueStatus::Provisional as i32,
            official_yoy_growth_bp: None,
            meta: None,
        }
    }
}
