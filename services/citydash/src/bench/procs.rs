//! The services under benchmark as OS processes of this binary (`citydash
//! serve …`), so that each one's memory and CPU time can be read on its own
//! from /proc, and each can be pinned to a core apart from the load
//! generator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;

/// A service process.
pub struct Proc {
    /// What it is ("agriculture", "aggregator" …).
    pub name: String,
    /// Its gRPC address.
    pub addr: SocketAddr,
    child: Child,
}

/// A free port on 127.0.0.1.
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

impl Proc {
    /// Starts `citydash <args…> --listen <addr>`, on the CPUs `cpus` (a
    /// `taskset` list such as "0") when given, and waits until its health
    /// check answers SERVING.
    pub async fn start(name: &str, args: &[String], cpus: Option<&str>) -> anyhow::Result<Proc> {
        let exe: PathBuf = std::env::current_exe()?;
        let addr = free_addr()?;
        let mut cmd = match cpus {
            Some(list) => {
                let mut c = Command::new("taskset");
                c.args(["-c", list]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args)
            .arg("--listen")
            .arg(addr.to_string())
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        let mut proc = Proc {
            name: name.to_owned(),
            addr,
            child,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = proc.child.try_wait()? {
                anyhow::bail!("{name} exited at start: {status}");
            }
            if serving(addr).await {
                return Ok(proc);
            }
            anyhow::ensure!(std::time::Instant::now() < deadline, "{name} did not become healthy");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Its process id (the service's, not `taskset`'s: taskset execs it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        status_kib(self.pid(), "VmHWM:") as f64 / 1024.0
    }

    /// CPU time of every thread so far, in nanoseconds (schedstat: exact,
    /// unlike the 10 ms ticks of /proc/<pid>/stat).
    pub fn cpu_ns(&self) -> u64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid())) else {
            return 0;
        };
        tasks
            .filter_map(Result::ok)
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
            .sum()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

async fn serving(addr: SocketAddr) -> bool {
    let Ok(endpoint) = tonic::transport::Endpoint::from_shared(format!("http://{addr}")) else {
        return false;
    };
    let Ok(channel) = endpoint.connect_timeout(Duration::from_secs(1)).connect().await else {
        return false;
    };
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
        .await
        .is_ok_and(|r| r.into_inner().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32)
}
