//! `citydash bench`: measurements that belong in BENCHMARKS.md, run on
//! loopback only, bounded in size. `bench import` times a progress file of
//! N rows through `citydash import` (dry run and write) against an
//! agriculture service in this process on SQLite, and samples the process's
//! resident memory while it runs, to show memory does not grow with the file.

pub mod copy;
pub mod echo;
pub mod limits;
pub mod load;
pub mod procs;
pub mod suite;

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use citydash_proto::v1::{self, sector_service_client::SectorServiceClient};
use citydash_sector::launch::SectorArgs;
use tokio::net::TcpListener;

/// `citydash bench import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportBenchArgs {
    /// Row counts to time, in order.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    pub rows: Vec<usize>,
}

/// The resident set size of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// One measured import.
#[derive(Debug, Clone)]
pub struct ImportRun {
    /// Rows in the file.
    pub rows: usize,
    /// File size in bytes.
    pub bytes: u64,
    /// Dry run plus write.
    pub elapsed: Duration,
    /// Resident memory before the import, KiB.
    pub rss_before_kib: u64,
    /// Highest resident memory sampled during it, KiB.
    pub rss_peak_kib: u64,
}

/// Runs the import benchmark and returns one line per row count.
pub async fn import(args: &ImportBenchArgs) -> anyhow::Result<Vec<ImportRun>> {
    let dir = std::env::temp_dir().join(format!("citydash-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}/agriculture.db?mode=rwc", dir.display());
    let service_args = citydash_runtime::config::from_flags::<SectorArgs, _, _>([
        "bench",
        "--database-url",
        &url,
        "--rate-limit-per-second",
        "0",
    ]);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(citydash_sector::launch::run::<citydash_agriculture::Agriculture>(
        service_args,
        Some(listener),
        async {
            let _ = stop_rx.await;
        },
    ));
    let channel = loop {
        if let Ok(ch) = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .connect()
            .await
        {
            break ch;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let channel = citydash_runtime::auth::authed(channel, None).map_err(anyhow::Error::msg)?;
    const PROJECTS: usize = 1000;
    let projects = (0..PROJECTS)
        .map(|i| v1::Project {
            code: format!("AG-B{i:04}"),
            name: format!("基准项目{i}"),
            region_code: "city".into(),
            responsible_unit: "市农业农村局".into(),
            // Large enough, and started before the first month, for every
            // month of the files to pass the plausibility checks.
            planned_total_investment_yuan: 100_000_000_000,
            stage: v1::ProjectStage::Started as i32,
            stage_date: Some(v1::Date {
                year: 2000,
                month: 1,
                day: 1,
            }),
            ..Default::default()
        })
        .collect();
    SectorServiceClient::new(channel.clone())
        .upsert_projects(v1::UpsertProjectsRequest {
            update_mask: None,
            request_id: "bench-projects".into(),
            validate_only: false,
            correction_reason: String::new(),
            projects,
        })
        .await
        .context("creating the projects")?;
    let mut out = Vec::new();
    for (run, &rows) in args.rows.iter().enumerate() {
        let file = dir.join(format!("progress-{rows}.csv"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        writeln!(w, "项目编号,报告期,当月完成投资（万元）,备注")?;
        for i in 0..rows {
            // Every (project, month) once; a second file of the same size
            // revises the amounts, so each run writes.
            let k = i / PROJECTS;
            writeln!(
                w,
                "AG-B{:04},{}-{:02},{}.{:02},",
                i % PROJECTS,
                2000 + k / 12,
                k % 12 + 1,
                10 + run,
                i % 100
            )?;
        }
        w.flush()?;
        drop(w);
        let bytes = std::fs::metadata(&file)?.len();
        let before = rss_kib();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
        let sampler = {
            let peak = std::sync::Arc::clone(&peak);
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(rss_kib(), std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        let started = Instant::now();
        let summary = crate::import::run(
            &crate::import::ImportArgs {
                kind: "progress".into(),
                file: file.clone(),
                url: String::new(),
                token: None,
                dry_run: false,
                accept_good_rows: false,
                confirm: None,
            },
            channel.clone(),
        )
        .await?;
        let elapsed = started.elapsed();
        sampler.abort();
        anyhow::ensure!(
            summary.written && summary.refused.is_empty(),
            "the benchmark file was refused"
        );
        out.push(ImportRun {
            rows,
            bytes,
            elapsed,
            rss_before_kib: before,
            rss_peak_kib: peak.load(std::sync::atomic::Ordering::Relaxed),
        });
    }
    let _ = stop_tx.send(());
    server.await.context("service task")??;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}

/// The import runs as a Markdown table.
pub fn render(runs: &[ImportRun]) -> String {
    let mut s = String::from(
        "| rows | file | time (dry run + write) | rows/s | RSS before | RSS peak | growth |\n|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in runs {
        s += &format!(
            "| {} | {:.1} MiB | {:.2} s | {:.0} | {:.1} MiB | {:.1} MiB | {:+.1} MiB |\n",
            r.rows,
            r.bytes as f64 / 1_048_576.0,
            r.elapsed.as_secs_f64(),
            r.rows as f64 / r.elapsed.as_secs_f64(),
            r.rss_before_kib as f64 / 1024.0,
            r.rss_peak_kib as f64 / 1024.0,
            (r.rss_peak_kib as f64 - r.rss_before_kib as f64) / 1024.0
        );
    }
    s
}
