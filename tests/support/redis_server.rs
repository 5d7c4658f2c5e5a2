//! A real `redis-server` per test: free port, own data dir, killed on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    /// AOF on (the default), or no persistence at all.
    persistent: bool,
    /// `requirepass`, if any.
    password: Option<String>,
    /// TLS only (no plain port), if set.
    tls: Option<ServerTlsFiles>,
    /// A Redis Cluster node (no slots yet), with this bus port.
    cluster_bus: Option<u16>,
}

/// What a TLS-only server is started with.
#[derive(Clone)]
pub struct ServerTlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA client certificates are checked against.
    pub ca: PathBuf,
    /// `--tls-auth-clients`: `yes` (a client certificate is required),
    /// `optional` or `no`.
    pub auth_clients: &'static str,
}

impl RedisServer {
    /// Starts a server (AOF, fsync always) on a free port and waits until it
    /// answers PING.
    pub fn start() -> Self {
        Self::start_with(true)
    }

    /// A server without persistence (`--appendonly no --save ""`), as
    /// sampark's `redis.persistence` check must refuse.
    pub fn start_without_persistence() -> Self {
        Self::start_with(false)
    }

    /// A server (AOF) on `port`, e.g. one a daemon was told to use before
    /// anything listened there, asking for `password` if given.
    pub fn start_on(port: u16, password: Option<&str>) -> Self {
        let mut server = Self {
            child: None,
            port,
            dir: tempfile::tempdir().expect("temp dir"),
            persistent: true,
            password: password.map(str::to_owned),
            tls: None,
            cluster_bus: None,
        };
        server.spawn();
        server
    }

    fn start_with(persistent: bool) -> Self {
        Self::start_configured(persistent, None, None)
    }

    /// A server (AOF) that speaks TLS only, on [`RedisServer::port`];
    /// [`RedisServer::url`] is `rediss://`.
    pub fn start_tls(files: ServerTlsFiles) -> Self {
        Self::start_configured(true, Some(files), None)
    }

    /// As [`RedisServer::start_tls`], a Redis Cluster node whose cluster
    /// bus speaks TLS too; it holds no slots until given some
    /// (`CLUSTER ADDSLOTSRANGE`).
    pub fn start_tls_cluster_node(files: ServerTlsFiles) -> Self {
        Self::start_configured(true, Some(files), Some(free_port()))
    }

    fn start_configured(
        persistent: bool,
        tls: Option<ServerTlsFiles>,
        cluster_bus: Option<u16>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut server = Self {
            child: None,
            port,
            dir,
            persistent,
            password: None,
            tls,
            cluster_bus,
        };
        server.spawn();
        server
    }

    pub fn url(&self) -> String {
        if self.tls.is_some() {
            return format!("rediss://127.0.0.1:{}/", self.port);
        }
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Kills the server abruptly (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data dir.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Kills the server and starts it again on the same port with its data
    /// files gone: a Redis that came back empty.
    pub fn restart_empty(&mut self) {
        self.kill();
        for entry in std::fs::read_dir(self.dir.path()).expect("data dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).expect("remove data");
            } else {
                std::fs::remove_file(&path).expect("remove data");
            }
        }
        self.spawn();
    }

    fn spawn(&mut self) {
        let appendonly = if self.persistent { "yes" } else { "no" };
        let mut command = Command::new(redis_binary());
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        let port = self.port.to_string();
        match &self.tls {
            None => command.args(["--port", &port]),
            Some(tls) => command
                .args(["--port", "0", "--tls-port", &port])
                .arg("--tls-cert-file")
                .arg(&tls.cert)
                .arg("--tls-key-file")
                .arg(&tls.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.ca)
                .args(["--tls-auth-clients", tls.auth_clients]),
        };
        if let Some(bus) = self.cluster_bus {
            command
                .args(["--cluster-enabled", "yes", "--tls-cluster", "yes"])
                .args(["--cluster-port", &bus.to_string()]);
        }
        let child = command
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args([
                "--save",
                "",
                "--appendonly",
                appendonly,
                "--appendfsync",
                "always",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (see .ci/run)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // A TLS port is not pinged in plain text: listening will do
            // (an empty data dir loads at once).
            let up = match self.tls {
                None => ping(self.port),
                Some(_) => std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
            };
            if up {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn redis_binary() -> String {
    std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".to_owned())
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    // A server with a password answers NOAUTH: it is up all the same.
    matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG") || buf[..n].starts_with(b"-NOAUTH"))
}

/// Redis command counts (`INFO commandstats`, commands run inside scripts
/// included) since the last `CONFIG RESETSTAT`, by command name.
pub async fn command_calls(conn: &mut redis::aio::MultiplexedConnection) -> Vec<(String, u64)> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}
