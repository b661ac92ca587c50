//! A TCP proxy the tests control, to put faults between a service and what
//! it talks to: refuse and cut every connection (an outage), cut the open
//! ones and let new ones through (a network blip), or hold every chunk back
//! (a slow link). One proxy serves the outage, slow-sector and crash tests.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the traffic now.
#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    /// New connections are dropped and open ones cut.
    down: bool,
    /// Bumped by [`Proxy::cut`]: connections opened before the bump end.
    generation: u64,
    /// Every chunk is held back this long before it is passed on.
    delay: Option<Duration>,
}

/// A proxy listening on 127.0.0.1 that forwards to one target.
pub struct Proxy {
    /// The port to connect to instead of the target's.
    pub port: u16,
    faults: watch::Sender<Faults>,
}

impl Proxy {
    /// Starts a proxy to `target`; it forwards everything until told otherwise.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let (faults, _) = watch::channel(Faults::default());
        let watch = faults.subscribe();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let now = *watch.borrow();
                if now.down {
                    continue; // dropped at once: the client sees the connection reset
                }
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, watch.clone(), now.generation));
                tokio::spawn(pump(sr, cw, watch.clone(), now.generation));
            }
        });
        Self { port, faults }
    }

    /// A proxy to the test PostgreSQL server (127.0.0.1:5432).
    pub async fn to_postgres() -> Self {
        Self::start("127.0.0.1:5432".parse().expect("address")).await
    }

    /// `url` (a PostgreSQL URL on port 5432) rewritten to go through this proxy.
    pub fn postgres_url(&self, url: &str) -> String {
        assert!(url.contains(":5432/"), "not a PostgreSQL URL on port 5432: {url}");
        url.replacen(":5432/", &format!(":{}/", self.port), 1)
    }

    /// Up: connections are forwarded. Down: open connections are cut and new
    /// ones dropped.
    pub fn set_up(&self, up: bool) {
        self.faults.send_modify(|f| f.down = !up);
    }

    /// Cuts every open connection; new ones are forwarded as before.
    pub fn cut(&self) {
        self.faults.send_modify(|f| f.generation += 1);
    }

    /// Holds every chunk back by `delay` (`None`: pass at once).
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.faults.send_modify(|f| f.delay = delay);
    }
}

/// Copies `from` to `to` until either side closes, the connection is cut or
/// the proxy goes down; dropping the halves closes both sockets.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut faults: watch::Receiver<Faults>, generation: u64) {
    let cut = |f: &Faults| f.down || f.generation != generation;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = faults.wait_for(cut) => return,
        };
        let delay = faults.borrow().delay;
        if let Some(delay) = delay {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = faults.wait_for(cut) => return,
            }
        }
        tokio::select! {
            written = to.write_all(&buf[..n]) => if written.is_err() { return },
            _ = faults.wait_for(cut) => return,
        }
    }
}
