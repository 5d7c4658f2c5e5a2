//! Real Redis topologies for the failover tests: a Redis Cluster of three
//! primaries and three replicas, and a primary with two replicas watched by
//! three Sentinels. Free ports, one data dir, every process killed on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sampark::store::redis::{Auth, Target};

use super::redis_server::free_port;

/// One `redis-server` process (a cluster node, a replica or a sentinel).
struct Node {
    port: u16,
    child: Option<Child>,
}

impl Node {
    /// Starts a node on a port that was free (for a cluster node, its bus
    /// port, 10,000 higher, too), and tries again on another port if the
    /// process dies or stays silent: tests start many nodes at once, and
    /// another can take a port between the check and the bind.
    fn spawn_free(cluster: bool, args: impl Fn(u16) -> Vec<String>) -> Node {
        for _ in 0..5 {
            let port = loop {
                let port = free_port();
                if !cluster || (port <= 55_535 && port_free(port + 10_000)) {
                    break port;
                }
            };
            if let Some(node) = Node::try_spawn(port, &args(port)) {
                return node;
            }
        }
        panic!("no redis-server started after 5 ports");
    }

    fn try_spawn(port: u16, args: &[String]) -> Option<Node> {
        let child = Command::new(redis_binary())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (see scripts/test.sh)");
        let mut node = Node {
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if query(port, &["PING"]).is_some() {
                return Some(node);
            }
            let exited = node
                .child
                .as_mut()
                .is_some_and(|c| !matches!(c.try_wait(), Ok(None)));
            if exited {
                node.child = None;
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn alive(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn redis_binary() -> String {
    std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".to_owned())
}

fn cli_binary() -> String {
    std::env::var("REDIS_CLI_BIN").unwrap_or_else(|_| "redis-cli".to_owned())
}

/// Runs one command on `127.0.0.1:port` (a plain, non-cluster client), its
/// reply as text lines; `None` if the server cannot be reached or refuses.
pub fn query(port: u16, args: &[&str]) -> Option<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).ok()?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_millis(500))
        .ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    let value: redis::Value = cmd.query(&mut conn).ok()?;
    Some(match value {
        redis::Value::Array(items) => items
            .into_iter()
            .map(|v| redis::from_redis_value::<String>(v).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n"),
        other => redis::from_redis_value::<String>(other).unwrap_or_default(),
    })
}

fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn data_args(dir: &Path, port: u16) -> Vec<String> {
    let dir = dir.join(port.to_string());
    std::fs::create_dir_all(&dir).expect("node dir");
    vec![
        "--port".into(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--dir".into(),
        dir.display().to_string(),
        "--save".into(),
        String::new(),
        "--appendonly".into(),
        "yes".into(),
        "--appendfsync".into(),
        "everysec".into(),
    ]
}

/// A Redis Cluster of three primaries, each with one replica.
pub struct RedisCluster {
    nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

impl RedisCluster {
    /// Starts six nodes, joins them with `redis-cli --cluster create
    /// --cluster-replicas 1`, and waits until every node says
    /// `cluster_state:ok` and knows its replicas.
    pub fn start() -> RedisCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let nodes: Vec<Node> = (0..6)
            .map(|_| {
                Node::spawn_free(true, |port| {
                    let mut args = data_args(dir.path(), port);
                    args.extend([
                        "--cluster-enabled".into(),
                        "yes".into(),
                        "--cluster-config-file".into(),
                        dir.path()
                            .join(format!("nodes-{port}.conf"))
                            .display()
                            .to_string(),
                        "--cluster-node-timeout".into(),
                        "2000".into(),
                    ]);
                    args
                })
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let status = Command::new(cli_binary())
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli must be installed (see scripts/test.sh)");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = RedisCluster { nodes, _dir: dir };
        cluster.wait_healthy();
        // Each primary's replica past its initial sync (before that, writes
        // wait in the primary's buffer and die with it).
        wait_until(Duration::from_secs(30), "every replica in sync", || {
            cluster.primaries().iter().all(|&p| {
                query(p, &["INFO", "replication"]).is_some_and(|i| i.contains("state=online"))
            })
        });
        cluster
    }

    /// Seed URLs of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}/", n.port))
            .collect()
    }

    /// What the store connects to.
    pub fn target(&self) -> Target {
        Target::Cluster { nodes: self.urls() }
    }

    /// Waits until every live node says `cluster_state:ok`, and every slot
    /// is served by a live primary with a replica in sync or by one that
    /// was promoted.
    pub fn wait_healthy(&self) {
        wait_until(
            Duration::from_secs(30),
            "cluster_state:ok on every node",
            || {
                self.nodes.iter().filter(|n| n.alive()).all(|n| {
                    query(n.port, &["CLUSTER", "INFO"])
                        .is_some_and(|info| info.contains("cluster_state:ok"))
                })
            },
        );
        wait_until(Duration::from_secs(30), "three live primaries", || {
            self.primaries().len() == 3
        });
    }

    /// Ports of the live primaries that serve slots.
    pub fn primaries(&self) -> Vec<u16> {
        let Some(node) = self.nodes.iter().find(|n| n.alive()) else {
            return Vec::new();
        };
        let Some(text) = query(node.port, &["CLUSTER", "NODES"]) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let flags = fields.get(2)?;
                if !flags.contains("master") || flags.contains("fail") || fields.len() < 9 {
                    return None;
                }
                let port: u16 = fields[1]
                    .split(['@', ','])
                    .next()?
                    .rsplit_once(':')?
                    .1
                    .parse()
                    .ok()?;
                self.nodes
                    .iter()
                    .any(|n| n.port == port && n.alive())
                    .then_some(port)
            })
            .collect()
    }

    /// The port of the primary serving `key`'s slot.
    pub fn primary_of(&self, key: &str) -> u16 {
        let node = self.nodes.iter().find(|n| n.alive()).expect("a live node");
        let slot: u16 = query(node.port, &["CLUSTER", "KEYSLOT", key])
            .and_then(|s| s.parse().ok())
            .expect("CLUSTER KEYSLOT");
        let nodes = query(node.port, &["CLUSTER", "NODES"]).expect("CLUSTER NODES");
        nodes
            .lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if !fields.get(2)?.contains("master") || fields[2].contains("fail") {
                    return None;
                }
                let serves = fields[8..].iter().any(|range| {
                    let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                    matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if (lo..=hi).contains(&slot))
                });
                serves.then(|| fields[1].split(['@', ',']).next()?.rsplit_once(':')?.1.parse().ok())?
            })
            .expect("a primary serves the slot")
    }

    /// Kills (SIGKILL) the node on `port`; its replica is promoted after
    /// the cluster node timeout (2 s).
    pub fn kill(&mut self, port: u16) {
        self.nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("a node on that port")
            .kill();
    }

    /// Kills the primary on `port` and waits until a replica took over
    /// its slots and the cluster is whole again.
    pub fn fail_over(&mut self, port: u16) {
        self.kill(port);
        wait_until(
            Duration::from_secs(30),
            "the killed primary marked failed",
            || !self.primaries().contains(&port),
        );
        self.wait_healthy();
    }
}

/// One primary with two replicas, watched by three Sentinels under the name
/// [`SentinelSetup::MASTER`].
pub struct SentinelSetup {
    redis: Vec<Node>,
    sentinels: Vec<Node>,
    dir: tempfile::TempDir,
}

impl SentinelSetup {
    pub const MASTER: &'static str = "sampark-primary";

    pub fn start() -> SentinelSetup {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut redis = vec![Node::spawn_free(false, |port| data_args(dir.path(), port))];
        let primary_port = redis[0].port;
        for _ in 0..2 {
            redis.push(Node::spawn_free(false, |port| {
                let mut args = data_args(dir.path(), port);
                args.extend([
                    "--replicaof".into(),
                    "127.0.0.1".into(),
                    primary_port.to_string(),
                ]);
                args
            }));
        }
        // `online`: the initial sync is over (before that, writes wait in
        // the primary's buffer and die with it).
        wait_until(Duration::from_secs(20), "two replicas in sync", || {
            query(primary_port, &["INFO", "replication"])
                .is_some_and(|info| info.matches("state=online").count() == 2)
        });
        let sentinels = (0..3)
            .map(|i| {
                Node::spawn_free(false, |port| {
                    let conf = dir.path().join(format!("sentinel-{i}.conf"));
                    std::fs::write(
                        &conf,
                        format!(
                            "port {port}\nbind 127.0.0.1\ndir {}\n\
                         sentinel monitor {m} 127.0.0.1 {primary_port} 2\n\
                         sentinel down-after-milliseconds {m} 1000\n\
                         sentinel failover-timeout {m} 5000\n\
                         sentinel parallel-syncs {m} 1\n",
                            dir.path().display(),
                            m = Self::MASTER,
                        ),
                    )
                    .expect("sentinel conf");
                    vec![conf.display().to_string(), "--sentinel".into()]
                })
            })
            .collect();
        let setup = SentinelSetup {
            redis,
            sentinels,
            dir,
        };
        wait_until(
            Duration::from_secs(20),
            "every sentinel sees the replicas and the others",
            || {
                setup.sentinels.iter().all(|s| {
                    query(s.port, &["SENTINEL", "MASTER", Self::MASTER]).is_some_and(|m| {
                        let fields: Vec<&str> = m.lines().collect();
                        let get = |name: &str| {
                            fields
                                .iter()
                                .position(|f| *f == name)
                                .and_then(|i| fields.get(i + 1))
                                .copied()
                        };
                        get("num-slaves") == Some("2") && get("num-other-sentinels") == Some("2")
                    })
                })
            },
        );
        setup
    }

    /// What the store connects to.
    pub fn target(&self) -> Target {
        Target::Sentinel {
            sentinels: self
                .sentinels
                .iter()
                .map(|s| ("127.0.0.1".to_owned(), s.port))
                .collect(),
            master: Self::MASTER.to_owned(),
            sentinel_auth: Auth::default(),
            auth: Auth::default(),
            db: 0,
            tls: false,
        }
    }

    /// The primary's port, as the first sentinel names it.
    pub fn primary(&self) -> u16 {
        let reply = query(
            self.sentinels[0].port,
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", Self::MASTER],
        )
        .expect("the sentinel answers");
        reply
            .lines()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .expect("a port")
    }

    /// Kills the primary and waits until every sentinel names a live
    /// replica as the new one.
    pub fn fail_over(&mut self) -> u16 {
        let old = self.primary();
        self.redis
            .iter_mut()
            .find(|n| n.port == old)
            .expect("the primary is ours")
            .kill();
        wait_until(Duration::from_secs(30), "a replica promoted", || {
            self.sentinels.iter().all(|s| {
                query(
                    s.port,
                    &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", Self::MASTER],
                )
                .and_then(|r| r.lines().nth(1).and_then(|p| p.parse::<u16>().ok()))
                .is_some_and(|p| p != old)
            }) && query(self.primary(), &["ROLE"]).is_some_and(|r| r.starts_with("master"))
        });
        self.primary()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
