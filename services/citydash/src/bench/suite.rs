//! `citydash bench suite`: the month-end burst measured beside the limits
//! of the same machine, in one run. The four sector services and the
//! aggregator run as processes of this binary on PostgreSQL (a fresh
//! database each), pinned apart from the load generator when asked; the
//! load comes over loopback. For each scale (projects × months of progress)
//! it measures ingest against a binary COPY of the same rows, overview reads
//! against a tonic echo server answering a payload of the same size,
//! freshness under half the maximum ingest, fan-out CPU per delivery,
//! catch-up of an empty aggregator, and every service's peak memory.

use citydash_proto::sectors::SECTORS;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use citydash_proto::v1::{self, city_service_client::CityServiceClient, sector_service_client::SectorServiceClient};
use citydash_runtime::auth::{AuthedChannel, Claims, Role, SigningKey, authed};
use prost::Message as _;
use tokio_stream::StreamExt as _;

use super::copy::{self, StoredRow};
use super::limits::{self, Deliveries, STREAMS_PER_CONNECTION};
use super::load::{self, Measured, median};
use super::procs::{Proc, free_addr};

/// `citydash bench suite`.
#[derive(Debug, Clone, clap::Args)]
pub struct SuiteArgs {
    /// Scales to run, as numbers of agriculture projects.
    #[arg(long, value_delimiter = ',', default_value = "5000,100000")]
    pub projects: Vec<usize>,
    /// Months of progress per project.
    #[arg(long, default_value_t = 24)]
    pub months: usize,
    /// Seconds each read measurement runs (after a fifth as much warm-up).
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Runs of each read measurement; the table shows the median.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// WatchOverview subscribers for the fan-out measurement.
    #[arg(long, default_value_t = 1000)]
    pub subscribers: usize,
    /// PostgreSQL server on which the benchmark creates (and drops) its databases.
    #[arg(
        long,
        env = "CITYDASH_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub postgres_url: String,
    /// Pin the services to CPU 0 and this load generator to CPU 1.
    #[arg(long)]
    pub pin: bool,
    /// Seconds and tiny data, to show the benchmark runs (CI); no figure means anything.
    #[arg(long)]
    pub smoke: bool,
}

impl SuiteArgs {
    fn effective(&self) -> SuiteArgs {
        if !self.smoke {
            return self.clone();
        }
        SuiteArgs {
            projects: vec![40],
            months: 2,
            seconds: 0.3,
            runs: 1,
            subscribers: 20,
            ..self.clone()
        }
    }
}

/// Progress reports per push.
const BATCH: usize = 500;
/// Pushes in flight during the ingest measurement.
const INGEST_CONCURRENCY: usize = 4;
/// Read concurrencies measured.
const CONCURRENCIES: [usize; 3] = [1, 8, 64];

/// Every figure of one scale.
#[derive(Debug, Default, Clone)]
pub struct ScaleResult {
    /// Agriculture projects.
    pub projects: usize,
    /// Progress rows pushed.
    pub rows: usize,
    /// Ingest through the API, rows/s (median of three thirds of the run).
    pub ingest_rows_per_s: f64,
    /// Binary COPY of the same rows into records only, rows/s.
    pub copy_records_rows_per_s: f64,
    /// Binary COPY into records, record_versions and audit, rows/s.
    pub copy_all_rows_per_s: f64,
    /// Encoded size of the overview answer, bytes.
    pub overview_bytes: usize,
    /// (concurrency, overview, echo) medians: rate, p50, p99, p999.
    pub reads: Vec<(usize, Figures, Figures)>,
    /// Freshness p50 and p99, ms, and samples.
    pub freshness: (f64, f64, u64),
    /// Background ingest rate during the freshness run, rows/s.
    pub freshness_ingest_rows_per_s: f64,
    /// Fan-out: µs of aggregator CPU per delivery, deliveries counted.
    pub fanout: Option<(f64, u64)>,
    /// The limit beside it: µs of the echo server's CPU per delivery of a
    /// message as large to as many streams on as many connections.
    pub fanout_limit: Option<f64>,
    /// The unfiltered alert list read page by page (1,000 a page): each
    /// page's time, ms; the alerts the pages held; the total the list gave.
    pub alert_pages: (Vec<f64>, usize, i32),
    /// Time for an empty aggregator to catch up with every feed.
    pub catch_up: Duration,
    /// The limit beside it: the time merely to drain the same feeds from
    /// sequence 0, all at once, keeping nothing.
    pub drain: Duration,
    /// Where catch-up's time went: CPU seconds of the catching-up
    /// aggregator, and of the sector services serving its feeds, meanwhile.
    pub catch_up_cpu: (f64, f64),
    /// Peak RSS per process, MiB.
    pub rss: Vec<(String, f64)>,
}

/// Rate and latency quantiles of a load run (medians over runs).
#[derive(Debug, Default, Clone, Copy)]
pub struct Figures {
    /// Requests per second.
    pub rate: f64,
    /// Median latency, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// 99.9th percentile, ms.
    pub p999: f64,
}

impl Figures {
    fn of(runs: &[Measured]) -> Self {
        Figures {
            rate: median(runs.iter().map(Measured::rate).collect()),
            p50: median(runs.iter().map(|m| m.ms(0.5)).collect()),
            p99: median(runs.iter().map(|m| m.ms(0.99)).collect()),
            p999: median(runs.iter().map(|m| m.ms(0.999)).collect()),
        }
    }
}

/// Databases created for one scale, dropped at the end.
struct Databases {
    admin: sqlx::PgPool,
    base: String,
    names: Vec<String>,
}

impl Databases {
    async fn new(admin_url: &str) -> anyhow::Result<Self> {
        let admin = sqlx::PgPool::connect(admin_url)
            .await
            .with_context(|| format!("PostgreSQL at {admin_url}"))?;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b).to_owned();
        Ok(Self {
            admin,
            base,
            names: Vec::new(),
        })
    }

    async fn create(&mut self, what: &str) -> anyhow::Result<String> {
        let name = format!(
            "cdbench_{}_{}_{}",
            std::process::id(),
            what.replace('-', "_"),
            self.names.len()
        );
        let sql = format!("CREATE DATABASE {name}");
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&self.admin).await?;
        self.names.push(name.clone());
        Ok(format!("{}/{name}", self.base))
    }

    async fn drop_all(&self) {
        for name in &self.names {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&self.admin).await {
                tracing::warn!(database = %name, error = %e, "could not drop a benchmark database");
            }
        }
    }
}

/// The services of one scale and the tokens to call them.
struct City {
    sectors: Vec<Proc>,
    aggregator: Proc,
    /// The key files the services were started with (in `_key_dir`).
    keys: crate::token::KeyFiles,
    _key_dir: tempfile::TempDir,
    agriculture: AuthedChannel,
    industry: AuthedChannel,
    reader: String,
}

fn sign(key: &SigningKey, subject: &str, role: Role, sectors: &[&str]) -> anyhow::Result<String> {
    let claims = Claims::new(
        subject,
        role,
        sectors.iter().map(|s| (*s).to_owned()).collect(),
        Vec::new(),
        Duration::from_secs(24 * 3600),
    );
    key.issue(&claims).map_err(anyhow::Error::msg)
}

/// Flags that take the service's own protection out of the measurement:
/// no rate limit, in-flight limits above any load the suite sends.
fn unlimited(keys: &crate::token::KeyFiles) -> Vec<String> {
    let mut flags = keys.service_flags();
    flags.extend(
        [
            "--rate-limit-per-second",
            "0",
            "--max-inflight-per-agency",
            "100000",
            "--max-inflight",
            "100000",
            "--max-concurrent-streams",
            "1000",
        ]
        .map(str::to_owned),
    );
    flags
}

async fn channel(addr: std::net::SocketAddr, token: &str) -> anyhow::Result<AuthedChannel> {
    let ch = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    authed(ch, Some(token)).map_err(anyhow::Error::msg)
}

async fn start_aggregator(
    dbs: &mut Databases,
    keys: &crate::token::KeyFiles,
    sectors: &[Proc],
    cpus: Option<&str>,
    name: &str,
) -> anyhow::Result<Proc> {
    let url = dbs.create(name).await?;
    let mut args = vec![
        "serve".to_owned(),
        "aggregator".to_owned(),
        "--database-url".to_owned(),
        url,
        "--http-listen".to_owned(),
        free_addr()?.to_string(),
    ];
    args.extend(unlimited(keys));
    for (entry, p) in SECTORS.iter().zip(sectors) {
        args.push("--sector".to_owned());
        args.push(format!("{}=http://{}", entry.name, p.addr));
    }
    Proc::start(name, &args, cpus).await
}

impl City {
    async fn start(dbs: &mut Databases, cpus: Option<&str>) -> anyhow::Result<City> {
        let key_dir = tempfile::tempdir()?;
        let keys = crate::token::KeyFiles::in_dir(key_dir.path(), 2)?;
        let key = &keys.signing;
        let mut sectors = Vec::new();
        for s in SECTORS.iter().map(|e| e.name) {
            let url = dbs.create(s).await?;
            let mut args = vec!["serve".to_owned(), s.to_owned(), "--database-url".to_owned(), url];
            args.extend(unlimited(&keys));
            sectors.push(Proc::start(s, &args, cpus).await?);
        }
        let aggregator = start_aggregator(dbs, &keys, &sectors, cpus, "aggregator").await?;
        let agency = |i: usize| sign(key, SECTORS[i].agency_zh, Role::Agency, &[SECTORS[i].name]);
        let agriculture = channel(sectors[0].addr, &agency(0)?).await?;
        let industry = channel(sectors[1].addr, &agency(1)?).await?;
        let reader = sign(key, "市政府办公室", Role::Viewer, &[])?;
        Ok(City {
            sectors,
            aggregator,
            keys,
            _key_dir: key_dir,
            agriculture,
            industry,
            reader,
        })
    }

    async fn city_client(&self, agg: &Proc) -> anyhow::Result<CityServiceClient<AuthedChannel>> {
        Ok(CityServiceClient::new(channel(agg.addr, &self.reader).await?))
    }
}

/// The months of progress: `months` of them ending October 2026.
fn periods(months: usize) -> Vec<v1::Period> {
    let end = 2026 * 12 + 9; // October 2026, months since year 0
    (0..months)
        .rev()
        .map(|back| {
            let m = end - back as i32;
            v1::Period {
                year: m / 12,
                month: m % 12 + 1,
            }
        })
        .collect()
}

/// A `ReportProgress` request of `reports` under `request_id`.
fn progress_request(request_id: String, reports: Vec<v1::ProgressReport>) -> v1::ReportProgressRequest {
    v1::ReportProgressRequest {
        update_mask: None,
        request_id,
        validate_only: false,
        correction_reason: String::new(),
        reports,
    }
}

fn project_code(i: usize) -> String {
    format!("AG-B{i:06}")
}

fn report(i: usize, period: v1::Period, revision: i64) -> v1::ProgressReport {
    v1::ProgressReport {
        project_code: project_code(i),
        period: Some(period),
        investment_completed_yuan: 100_000 + (i as i64 % 97) * 1_000 + revision,
        funds_arrived_yuan: 80_000 + (i as i64 % 89) * 1_000,
        status: v1::ValueStatus::Final as i32,
        ..Default::default()
    }
}

async fn push_projects(ch: &AuthedChannel, prefix: &str, codes: Vec<String>) -> anyhow::Result<()> {
    let mut client = SectorServiceClient::new(ch.clone());
    for (b, chunk) in codes.chunks(BATCH).enumerate() {
        let projects = chunk
            .iter()
            .map(|code| v1::Project {
                code: code.clone(),
                name: format!("基准项目{code}"),
                region_code: "city".into(),
                responsible_unit: "市农业农村局".into(),
                planned_total_investment_yuan: 10_000_000,
                stage: v1::ProjectStage::Started as i32,
                stage_date: Some(v1::Date {
                    year: 2024,
                    month: 10,
                    day: 1,
                }),
                in_statistics_database: Some(true),
                statistics_date: Some(v1::Date {
                    year: 2024,
                    month: 10,
                    day: 2,
                }),
                // Its funds arrive under a contract (no plausibility finding).
                promotion: Some(v1::PromotionContract {
                    signed_date: Some(v1::Date {
                        year: 2024,
                        month: 9,
                        day: 1,
                    }),
                    investor: "基准投资方".into(),
                    contracted_investment_yuan: 10_000_000,
                }),
                ..Default::default()
            })
            .collect();
        client
            .upsert_projects(v1::UpsertProjectsRequest {
                update_mask: None,
                request_id: format!("{prefix}-projects-{b}"),
                validate_only: false,
                correction_reason: String::new(),
                projects,
            })
            .await
            .context("creating projects")?;
    }
    Ok(())
}

/// Pushes every (project, month) report in batches, `INGEST_CONCURRENCY`
/// at a time; returns rows/s of each third of the run.
async fn ingest(ch: &AuthedChannel, projects: usize, months: &[v1::Period]) -> anyhow::Result<Vec<f64>> {
    let mut batches: VecDeque<Vec<v1::ProgressReport>> = VecDeque::new();
    let mut current = Vec::with_capacity(BATCH);
    for p in months {
        for i in 0..projects {
            current.push(report(i, *p, 0));
            if current.len() == BATCH {
                batches.push_back(std::mem::replace(&mut current, Vec::with_capacity(BATCH)));
            }
        }
    }
    if !current.is_empty() {
        batches.push_back(current);
    }
    let total = batches.len();
    let queue = Arc::new(std::sync::Mutex::new(
        batches.into_iter().enumerate().collect::<VecDeque<_>>(),
    ));
    let done_at = Arc::new(std::sync::Mutex::new(Vec::with_capacity(total)));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..INGEST_CONCURRENCY {
        let (queue, done_at) = (Arc::clone(&queue), Arc::clone(&done_at));
        let mut client = SectorServiceClient::new(ch.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().map_err(|_| anyhow::anyhow!("queue"))?.pop_front();
                let Some((n, reports)) = next else {
                    return anyhow::Ok(());
                };
                let rows = reports.len();
                client
                    .report_progress(progress_request(format!("bench-ingest-{n}"), reports))
                    .await
                    .context("pushing progress")?;
                done_at
                    .lock()
                    .map_err(|_| anyhow::anyhow!("clock"))?
                    .push((started.elapsed(), rows));
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    let mut done = done_at.lock().map_err(|_| anyhow::anyhow!("clock"))?.clone();
    done.sort_by_key(|(t, _)| *t);
    // Rows/s of each third of the batches, by completion time.
    let mut thirds = Vec::new();
    let per = done.len().div_ceil(3).max(1);
    let mut from = Duration::ZERO;
    for chunk in done.chunks(per) {
        let rows: usize = chunk.iter().map(|(_, r)| r).sum();
        let to = chunk.last().map_or(from, |(t, _)| *t);
        thirds.push(rows as f64 / (to - from).as_secs_f64().max(1e-9));
        from = to;
    }
    Ok(thirds)
}

/// Waits until the aggregator's overview shows `sector` at `seq` or beyond.
async fn caught_up(
    client: &mut CityServiceClient<AuthedChannel>,
    sector: v1::Sector,
    seq: i64,
    limit: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let o = client
            .get_overview(v1::GetOverviewRequest { period: None })
            .await?
            .into_inner()
            .overview
            .unwrap_or_default();
        if feed_seq(&o, sector) >= seq {
            return Ok(started.elapsed());
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "the aggregator did not catch up within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn feed_seq(o: &v1::Overview, sector: v1::Sector) -> i64 {
    o.sectors
        .iter()
        .find(|s| s.sector == sector as i32)
        .and_then(|s| s.feed.clone())
        .map_or(0, |f| f.last_sequence)
}

/// Runs one scale; `first` also measures fan-out.
async fn scale(args: &SuiteArgs, projects: usize, first: bool) -> anyhow::Result<ScaleResult> {
    let cpus = args.pin.then_some("0");
    let mut dbs = Databases::new(&args.postgres_url).await?;
    let result = run_scale(args, projects, first, cpus, &mut dbs).await;
    dbs.drop_all().await;
    result
}

async fn run_scale(
    args: &SuiteArgs,
    projects: usize,
    first: bool,
    cpus: Option<&str>,
    dbs: &mut Databases,
) -> anyhow::Result<ScaleResult> {
    let months = periods(args.months);
    let city = City::start(dbs, cpus).await?;
    let mut out = ScaleResult {
        projects,
        rows: projects * months.len(),
        ..Default::default()
    };
    tracing::info!(projects, rows = out.rows, "seeding");
    push_projects(&city.agriculture, "bench", (0..projects).map(project_code).collect()).await?;
    push_projects(&city.industry, "probe", vec!["IN-PROBE".to_owned()]).await?;

    // Ingest: every report once through the API, then the same rows by COPY.
    let thirds = ingest(&city.agriculture, projects, &months).await?;
    out.ingest_rows_per_s = median(thirds);
    let mut rows = Vec::with_capacity(out.rows);
    for p in &months {
        for i in 0..projects {
            let r = report(i, *p, 0);
            rows.push(StoredRow {
                key: citydash_sector::records::progress_key(&r.project_code, p),
                parent: r.project_code.clone(),
                year: p.year,
                payload: r.encode_to_vec(),
                request_id: format!("bench-ingest-{}", rows.len() / BATCH),
            });
        }
    }
    let mut copies = Vec::new();
    for run in 0..args.runs {
        let url = dbs.create(&format!("copy{run}")).await?;
        copies.push(copy::copy_limit(&url, &rows).await?);
    }
    drop(rows);
    out.copy_records_rows_per_s = median(
        copies
            .iter()
            .map(|c| out.rows as f64 / c.records.as_secs_f64())
            .collect(),
    );
    out.copy_all_rows_per_s = median(copies.iter().map(|c| out.rows as f64 / c.all.as_secs_f64()).collect());

    tracing::info!(
        rows_per_s = out.ingest_rows_per_s,
        "ingest measured; waiting for the aggregator"
    );
    // The aggregator has every change before reads are measured.
    let agri_seq = (projects + out.rows) as i64;
    let mut city_client = city.city_client(&city.aggregator).await?;
    caught_up(
        &mut city_client,
        v1::Sector::Agriculture,
        agri_seq,
        Duration::from_secs(1800),
    )
    .await?;

    tracing::info!(pid = city.aggregator.pid(), "reads");
    // Reads: the overview beside an echo of the same size.
    let answer = city_client
        .get_overview(v1::GetOverviewRequest { period: None })
        .await?
        .into_inner();
    out.overview_bytes = answer.encoded_len();
    let echo = Proc::start(
        "echo",
        &[
            "bench".to_owned(),
            "echo-server".to_owned(),
            "--payload-bytes".to_owned(),
            out.overview_bytes.to_string(),
        ],
        cpus,
    )
    .await?;
    let echo_channel = tonic::transport::Endpoint::from_shared(format!("http://{}", echo.addr))?
        .connect()
        .await?;
    let warmup = Duration::from_secs_f64(args.seconds / 5.0);
    let window = Duration::from_secs_f64(args.seconds);
    for c in CONCURRENCIES {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..args.runs {
            let client = city_client.clone();
            ours.push(
                load::closed(c, warmup, window, move || {
                    let mut client = client.clone();
                    async move {
                        client
                            .get_overview(v1::GetOverviewRequest { period: None })
                            .await
                            .map(|_| ())
                    }
                })
                .await,
            );
            let ch = echo_channel.clone();
            theirs.push(load::closed(c, warmup, window, move || super::echo::call(ch.clone())).await);
        }
        out.reads.push((c, Figures::of(&ours), Figures::of(&theirs)));
    }
    drop(echo);

    tracing::info!("alert pages");
    out.alert_pages = alert_pages(&mut city_client).await?;

    tracing::info!("freshness");
    // Freshness under half the maximum ingest.
    let fresh = freshness(
        &city,
        &mut city_client,
        projects,
        &months,
        out.ingest_rows_per_s / 2.0,
        args,
    )
    .await?;
    out.freshness = (fresh.0.ms(0.5), fresh.0.ms(0.99), fresh.0.latency.len());
    out.freshness_ingest_rows_per_s = fresh.1;

    if first {
        tracing::info!(pid = city.aggregator.pid(), "fan-out");
        out.fanout = Some(fanout(&city, args.subscribers).await?);
        out.fanout_limit = Some(limits::fanout(out.overview_bytes, args.subscribers, cpus).await?);
    }

    tracing::info!("catch-up");
    // Catch-up: an empty aggregator follows every feed from the start,
    // beside the time merely to drain those feeds.
    let overview = city_client
        .get_overview(v1::GetOverviewRequest { period: None })
        .await?
        .into_inner()
        .overview
        .unwrap_or_default();
    let tips: Vec<i64> = SECTORS.iter().map(|e| feed_seq(&overview, e.sector)).collect();
    let agri_last = feed_seq(&overview, v1::Sector::Agriculture);
    let token = sign(&city.keys.signing, "bench-drain", Role::Admin, &[])?;
    let mut feeds = Vec::new();
    for p in &city.sectors {
        feeds.push((p.name.clone(), channel(p.addr, &token).await?));
    }
    out.drain = limits::drain(feeds, &tips).await?;
    let sectors_cpu = || city.sectors.iter().map(Proc::cpu_ns).sum::<u64>();
    let sectors_before = sectors_cpu();
    let started = Instant::now();
    let second = start_aggregator(dbs, &city.keys, &city.sectors, cpus, "aggregator-catch-up").await?;
    let mut second_client = city.city_client(&second).await?;
    caught_up(
        &mut second_client,
        v1::Sector::Agriculture,
        agri_last,
        Duration::from_secs(1800),
    )
    .await?;
    out.catch_up = started.elapsed();
    out.catch_up_cpu = (
        second.cpu_ns() as f64 / 1e9,
        sectors_cpu().saturating_sub(sectors_before) as f64 / 1e9,
    );

    for p in city.sectors.iter().chain([&city.aggregator, &second]) {
        out.rss.push((p.name.clone(), p.peak_rss_mib()));
    }
    Ok(out)
}

/// Reads every page of the unfiltered alert list of the current period, as
/// `citydash export alerts` does: each page's time, the alerts read, and
/// the total the answers gave.
async fn alert_pages(client: &mut CityServiceClient<AuthedChannel>) -> anyhow::Result<(Vec<f64>, usize, i32)> {
    let (mut times, mut read) = (Vec::new(), 0);
    let mut page_token = String::new();
    loop {
        let started = Instant::now();
        let page = client
            .list_alerts(v1::ListAlertsRequest {
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await?
            .into_inner();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        read += page.alerts.len();
        if page.next_page_token.is_empty() {
            return Ok((times, read, page.total));
        }
        page_token = page.next_page_token;
    }
}

/// Probe pushes to the industry sector (quiet otherwise) while agriculture
/// takes revisions at `rate` rows/s; each probe's latency runs from its
/// acknowledgement to the first WatchOverview message that includes it.
async fn freshness(
    city: &City,
    city_client: &mut CityServiceClient<AuthedChannel>,
    projects: usize,
    months: &[v1::Period],
    rate: f64,
    args: &SuiteArgs,
) -> anyhow::Result<(Measured, f64)> {
    let base = city_client
        .get_overview(v1::GetOverviewRequest { period: None })
        .await?
        .into_inner()
        .overview
        .map_or(0, |o| feed_seq(&o, v1::Sector::Industry));
    let mut stream = city_client
        .watch_overview(v1::WatchOverviewRequest::default())
        .await?
        .into_inner();
    // The watcher notes when each industry sequence is first seen.
    let seen: Arc<std::sync::Mutex<Vec<(i64, Instant)>>> = Arc::default();
    let watcher = {
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Some(Ok(item)) = stream.next().await {
                if let Some(o) = item.overview {
                    let s = feed_seq(&o, v1::Sector::Industry);
                    if let Ok(mut seen) = seen.lock() {
                        seen.push((s, Instant::now()));
                    }
                }
            }
        })
    };
    // Background ingest: revisions of the last month, open loop.
    let duration = Duration::from_secs_f64((args.seconds * 3.0).max(0.5));
    let batch_rate = (rate / BATCH as f64).max(0.5);
    let last = *months.last().context("no months")?;
    let agri = city.agriculture.clone();
    let background = tokio::spawn(async move {
        load::open(batch_rate, duration, 64, move |n| {
            let mut client = SectorServiceClient::new(agri.clone());
            async move {
                let from = (n as usize * BATCH) % projects.max(1);
                let reports = (from..from + BATCH)
                    .map(|i| report(i % projects.max(1), last, n as i64 + 1))
                    .collect();
                client
                    .report_progress(progress_request(format!("bench-fresh-{n}"), reports))
                    .await
                    .map(|_| ())
            }
        })
        .await
    });
    let mut probe = SectorServiceClient::new(city.industry.clone());
    let mut latency = load::histogram();
    let started = Instant::now();
    let mut k = 0i64;
    while started.elapsed() < duration {
        k += 1;
        let mut r = report(0, last, k);
        r.project_code = "IN-PROBE".into();
        probe
            .report_progress(progress_request(format!("bench-probe-{k}"), vec![r]))
            .await?;
        let acked = Instant::now();
        let want = base + k;
        let deadline = acked + Duration::from_secs(10);
        let arrived = loop {
            let hit = seen
                .lock()
                .map_err(|_| anyhow::anyhow!("watch"))?
                .iter()
                .find(|(s, _)| *s >= want)
                .map(|(_, t)| *t);
            if let Some(t) = hit {
                break t;
            }
            anyhow::ensure!(Instant::now() < deadline, "probe {k} never reached WatchOverview");
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        let us = arrived.saturating_duration_since(acked).as_micros().max(1);
        let _ = latency.record(u64::try_from(us).unwrap_or(u64::MAX));
        seen.lock().map_err(|_| anyhow::anyhow!("watch"))?.clear();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let measured = Measured {
        latency,
        errors: 0,
        elapsed: duration,
    };
    let ingest = background.await?;
    watcher.abort();
    let ingest_rows = ingest.latency.len() as f64 * BATCH as f64 / duration.as_secs_f64();
    Ok((measured, ingest_rows))
}

/// Aggregator CPU per WatchOverview delivery: the same probe pushes with
/// no subscriber and with `subscribers`, the difference divided by the
/// messages the subscribers received.
async fn fanout(city: &City, subscribers: usize) -> anyhow::Result<(f64, u64)> {
    const UPDATES: i64 = 20;
    let mut probe = SectorServiceClient::new(city.industry.clone());
    let mut k = 1_000_000i64;
    let mut push_updates = async |k: &mut i64| -> anyhow::Result<()> {
        for _ in 0..UPDATES {
            *k += 1;
            let mut r = report(0, *periods(1).first().context("period")?, *k);
            r.project_code = "IN-PROBE".into();
            probe
                .report_progress(progress_request(format!("bench-fanout-{k}"), vec![r]))
                .await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    };
    // Without subscribers: the cost of the pushes, feeds and recomputes.
    let before = city.aggregator.cpu_ns();
    push_updates(&mut k).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let alone = city.aggregator.cpu_ns() - before;

    // With subscribers, each connection carrying a few streams.
    let mut deliveries = Deliveries::default();
    for c in 0..subscribers.div_ceil(STREAMS_PER_CONNECTION) {
        let client = city.city_client(&city.aggregator).await?;
        for _ in 0..STREAMS_PER_CONNECTION.min(subscribers - c * STREAMS_PER_CONNECTION) {
            let stream = client
                .clone()
                .watch_overview(v1::WatchOverviewRequest::default())
                .await?
                .into_inner();
            deliveries.follow(stream);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = city.aggregator.cpu_ns();
    push_updates(&mut k).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let with = city.aggregator.cpu_ns() - before;
    let deliveries = deliveries.count();
    let per = with.saturating_sub(alone) as f64 / 1000.0 / deliveries.max(1) as f64;
    Ok((per, deliveries))
}

/// Runs the suite and returns its report (Markdown).
pub async fn run(args: &SuiteArgs) -> anyhow::Result<String> {
    let args = args.effective();
    if args.pin {
        let status = std::process::Command::new("taskset")
            .args(["-a", "-cp", "1", &std::process::id().to_string()])
            .stdout(std::process::Stdio::null())
            .status()
            .context("taskset")?;
        anyhow::ensure!(status.success(), "could not pin the load generator to CPU 1");
    }
    let mut results = Vec::new();
    for (i, &projects) in args.projects.iter().enumerate() {
        results.push(scale(&args, projects, i == 0).await?);
    }
    Ok(render(&args, &results))
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

/// The side-by-side table.
pub fn render(args: &SuiteArgs, results: &[ScaleResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| workload | scale | citydash | limit, same run | ratio | target | |\n|---|---|---|---|---:|---|---|"
    );
    for r in results {
        let scale = format!("{} projects × {} months", r.projects, args.months);
        let ratio = r.ingest_rows_per_s / r.copy_all_rows_per_s;
        let _ = writeln!(
            s,
            "| ingest (push {BATCH}/batch, {INGEST_CONCURRENCY} in flight) | {scale} | {:.0} rows/s | COPY {:.0} rows/s (records only: {:.0}) | {ratio:.2} | ≥ 0.5 | {} |",
            r.ingest_rows_per_s,
            r.copy_all_rows_per_s,
            r.copy_records_rows_per_s,
            verdict(ratio >= 0.5)
        );
        for (c, ours, echo) in &r.reads {
            let ratio = ours.rate / echo.rate;
            let (target, ok) = match c {
                64 => ("≥ 0.7 × echo".to_owned(), ratio >= 0.7),
                8 => ("p99 < 2 ms".to_owned(), ours.p99 < 2.0),
                _ => ("—".to_owned(), true),
            };
            let _ = writeln!(
                s,
                "| overview read, concurrency {c} ({} B) | {scale} | {:.0} req/s, p50 {:.2} / p99 {:.2} / p999 {:.2} ms | echo {:.0} req/s, p50 {:.2} / p99 {:.2} / p999 {:.2} ms | {ratio:.2} | {target} | {} |",
                r.overview_bytes,
                ours.rate,
                ours.p50,
                ours.p99,
                ours.p999,
                echo.rate,
                echo.p50,
                echo.p99,
                echo.p999,
                if target == "—" { "" } else { verdict(ok) }
            );
        }
        let _ = writeln!(
            s,
            "| freshness (ack → WatchOverview) | {scale}, ingest {:.0} rows/s | p50 {:.1} ms, p99 {:.1} ms ({} probes) | — | — | p99 < 50 ms | {} |",
            r.freshness_ingest_rows_per_s,
            r.freshness.0,
            r.freshness.1,
            r.freshness.2,
            verdict(r.freshness.1 < 50.0)
        );
        if let (Some((per, n)), Some(limit)) = (r.fanout, r.fanout_limit) {
            let ratio = per / limit;
            let _ = writeln!(
                s,
                "| fan-out, {} subscribers | {scale} | {per:.2} µs CPU per delivery ({n} deliveries) | echo stream {limit:.2} µs | {ratio:.2} | ≤ 1.2 × limit | {} |",
                args.subscribers,
                verdict(ratio <= 1.2)
            );
        }
        let (times, read, total) = &r.alert_pages;
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        let _ = writeln!(
            s,
            "| ListAlerts, every page of the unfiltered list (1,000 a page) | {scale} | {} pages, p50 {:.1} ms, max {:.1} ms per page; {read} of {total} alerts | — | — | the whole list through its pages | {} |",
            times.len(),
            sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
            sorted.last().copied().unwrap_or(0.0),
            verdict(i64::try_from(*read).unwrap_or(-1) == i64::from(*total))
        );
        let (catch_up, drain) = (r.catch_up.as_secs_f64(), r.drain.as_secs_f64());
        let ratio = catch_up / drain;
        let _ = writeln!(
            s,
            "| catch-up of an empty aggregator | {scale} | {catch_up:.1} s (CPU: aggregator {:.1} s, sectors {:.1} s) | drain only {drain:.1} s | {ratio:.2} | < 30 s and ≤ 2 × drain | {} |",
            r.catch_up_cpu.0,
            r.catch_up_cpu.1,
            verdict(catch_up < 30.0 && ratio <= 2.0)
        );
        let rss: Vec<String> = r.rss.iter().map(|(n, m)| format!("{n} {m:.0}")).collect();
        let agg = r.rss.iter().find(|(n, _)| n == "aggregator").map_or(0.0, |(_, m)| *m);
        let _ = writeln!(
            s,
            "| peak RSS, MiB | {scale} | {} | — | — | aggregator < 500 MB | {} |",
            rss.join(", "),
            verdict(agg * 1.048_576 < 500.0)
        );
    }
    if let (Some(small), Some(large)) = (results.first(), results.last())
        && results.len() > 1
    {
        for ((c, a, _), (_, b, _)) in small.reads.iter().zip(&large.reads) {
            let ratio = b.p99 / a.p99;
            let _ = writeln!(
                s,
                "| growth: read p99 at concurrency {c} | {} vs {} projects | {:.2} ms vs {:.2} ms | — | {ratio:.2} | ≤ 1.5 | {} |",
                large.projects,
                small.projects,
                b.p99,
                a.p99,
                verdict(ratio <= 1.5)
            );
        }
        let ratio = large.freshness.1 / small.freshness.1;
        let _ = writeln!(
            s,
            "| growth: freshness p99 | {} vs {} projects | {:.1} ms vs {:.1} ms | — | {ratio:.2} | ≤ 1.5 | {} |",
            large.projects,
            small.projects,
            large.freshness.1,
            small.freshness.1,
            verdict(ratio <= 1.5)
        );
    }
    s
}
