//! The connection every store call goes through, whatever `redis.mode` is:
//! one standalone Redis, the primary a set of Sentinels names, or a Redis
//! Cluster. [`Conn`] implements the `redis` crate's `ConnectionLike`, so
//! scripts, commands and pipelines are written once for all three.
//!
//! Owns: opening the connection of each mode with the configured timeouts
//! and TLS (`rediss://` URLs; a custom CA and client certificate when
//! `[redis.tls]` names them; in Sentinel mode, `redis.sentinel_tls` for
//! the Sentinels and the primary alike);
//! following a Sentinel failover (re-resolving the primary); spreading a
//! pipeline over the slots of a Cluster; the cross-slot guard on scripts
//! (`slots.rs`); listing the nodes a full `SCAN` must visit. Does not own:
//! what is sent (the store's modules), or MOVED/ASK handling and slot-map
//! refreshes, which the crate's cluster client does.
//!
//! | mode | on a lost connection | on `READONLY` (a demoted primary) |
//! |---|---|---|
//! | standalone | the manager reconnects to the same address | — (error returned) |
//! | sentinel | ask the Sentinels for the primary again, reconnect there; the command's error is returned (it may have run) | ask again, reconnect, and send the command once more (it did not run) |
//! | cluster | the crate reconnects and refreshes its slot map | the crate refreshes its slot map |

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::join_all;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{Cmd, ConnectionAddr, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use tokio::sync::{Mutex, RwLock};

use super::slots;
use crate::tls::ClientTls;

/// Reconnect attempts per failure. Few and short, so a command fails fast with
/// `Unavailable` while Redis is down; the next command tries again.
const RECONNECT_RETRIES: usize = 2;

/// Where Redis is: `redis.mode` with what that mode needs.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// One server (`redis.url`).
    Standalone { url: String },
    /// The primary the Sentinels at `sentinels` (`host:port`) name
    /// `master`; `sentinel_auth` authenticates to the Sentinels, `auth`
    /// (and `db`) to the primary and its replicas. With `tls`, every one of
    /// them is reached over TLS (the client's `[redis.tls]` material).
    Sentinel {
        sentinels: Vec<(String, u16)>,
        master: String,
        sentinel_auth: Auth,
        auth: Auth,
        db: i64,
        tls: bool,
    },
    /// A Redis Cluster reached through any of these node URLs.
    Cluster { nodes: Vec<String> },
}

/// An ACL user and its password, each optional (no user: `default`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Auth {
    pub username: Option<String>,
    pub password: Option<String>,
}

impl Target {
    /// A standalone server.
    pub fn standalone(url: impl Into<String>) -> Self {
        Target::Standalone { url: url.into() }
    }
}

/// How long opening a connection and a reply may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Limits {
    pub connect: Duration,
    pub response: Option<Duration>,
}

/// A reconnecting, multiplexed connection in one of the three modes. Cheap
/// to clone: clones share the connection.
#[derive(Clone)]
pub enum Conn {
    Standalone(ConnectionManager),
    Sentinel(SentinelConn),
    Cluster(ClusterConn),
}

impl Conn {
    pub(super) async fn open(
        target: &Target,
        tls: &ClientTls,
        limits: Limits,
    ) -> RedisResult<Conn> {
        // The `redis` crate builds its rustls client on the process's
        // default provider: make it ring, the one sampark is built with.
        // An error only says a default is set already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(match target {
            Target::Standalone { url } => {
                let client = if tls.is_custom() {
                    redis::Client::build_with_tls(url.as_str(), tls.redis_certificates())?
                } else {
                    redis::Client::open(url.as_str())?
                };
                Conn::Standalone(manager(client, limits).await?)
            }
            Target::Sentinel {
                sentinels,
                master,
                sentinel_auth,
                auth,
                db,
                tls: secure,
            } => {
                let address = |(host, port): &(String, u16)| match secure {
                    false => ConnectionAddr::Tcp(host.clone(), *port),
                    true => ConnectionAddr::TcpTls {
                        host: host.clone(),
                        port: *port,
                        insecure: false,
                        tls_params: None,
                    },
                };
                let mut builder = SentinelClientBuilder::new(
                    sentinels.iter().map(address),
                    master,
                    SentinelServerType::Master,
                )?
                .set_client_to_redis_db(*db);
                if let Some(user) = &auth.username {
                    builder = builder.set_client_to_redis_username(user);
                }
                if let Some(p) = &auth.password {
                    builder = builder.set_client_to_redis_password(p);
                }
                if let Some(user) = &sentinel_auth.username {
                    builder = builder.set_client_to_sentinel_username(user);
                }
                if let Some(p) = &sentinel_auth.password {
                    builder = builder.set_client_to_sentinel_password(p);
                }
                if *secure {
                    // The primary the Sentinels name is reached over TLS
                    // too, at the address they give (its TLS port).
                    builder = builder
                        .set_client_to_sentinel_tls_mode(redis::TlsMode::Secure)
                        .set_client_to_redis_tls_mode(redis::TlsMode::Secure);
                    if tls.is_custom() {
                        builder = builder
                            .set_client_to_sentinel_certificates(tls.redis_certificates())
                            .set_client_to_redis_certificates(tls.redis_certificates());
                    }
                }
                let mut sentinel = builder.build()?;
                let primary = resolve(&mut sentinel, limits).await?;
                Conn::Sentinel(SentinelConn {
                    inner: Arc::new(SentinelInner {
                        sentinel: Mutex::new(sentinel),
                        primary: RwLock::new((0, primary)),
                        limits,
                    }),
                })
            }
            Target::Cluster { nodes } => {
                let mut builder = ClusterClient::builder(nodes.iter().map(String::as_str))
                    .connection_timeout(limits.connect)
                    .retries(RECONNECT_RETRIES as u32 + 1)
                    .min_retry_wait(50)
                    .max_retry_wait(500);
                if let Some(response) = limits.response {
                    builder = builder.response_timeout(response);
                }
                if tls.is_custom() {
                    builder = builder.certs(tls.redis_certificates());
                }
                let client = builder.build()?;
                let conn = cluster_connect(&client, limits).await?;
                Conn::Cluster(ClusterConn {
                    inner: Arc::new(ClusterInner {
                        client,
                        conn: RwLock::new((0, conn)),
                        renewing: Mutex::new(()),
                        limits,
                    }),
                })
            }
        })
    }

    /// Whether this is a Redis Cluster (scripts must keep to one slot).
    pub(super) fn is_cluster(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }

    /// The nodes a keyspace-wide command (SCAN) must visit: every primary of
    /// a cluster, else the one server (`None`: the connection's own).
    pub(super) async fn scan_nodes(&mut self) -> RedisResult<Vec<Option<(String, u16)>>> {
        let Conn::Cluster(cluster) = self else {
            return Ok(vec![None]);
        };
        let reply = cluster
            .current()
            .await
            .1
            .route_command(
                redis::cmd("CLUSTER").arg("NODES").clone(),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::RandomPrimary),
            )
            .await?;
        let text: String = redis::from_redis_value(reply)?;
        Ok(primaries(&text).into_iter().map(Some).collect())
    }

    /// Sends `cmd` to `node` (from [`Conn::scan_nodes`]).
    pub(super) async fn on_node(
        &mut self,
        node: &Option<(String, u16)>,
        cmd: &Cmd,
    ) -> RedisResult<Value> {
        match (self, node) {
            (Conn::Cluster(cluster), Some((host, port))) => {
                cluster
                    .current()
                    .await
                    .1
                    .route_command(
                        cmd.clone(),
                        RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                            host: host.clone(),
                            port: *port,
                        }),
                    )
                    .await
            }
            (conn, _) => conn.req_packed_command(cmd).await,
        }
    }

    /// `WAIT replicas timeout` on the primary that holds `key` (on a
    /// cluster, the node of its slot; WAIT counts the replicas that have
    /// every write this connection sent to that node). The replicas that
    /// acknowledged.
    pub(super) async fn wait(
        &mut self,
        key: &str,
        replicas: u32,
        timeout: Duration,
    ) -> RedisResult<u32> {
        let mut cmd = redis::cmd("WAIT");
        cmd.arg(replicas)
            .arg(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        let reply = match self {
            Conn::Cluster(cluster) => {
                let route = Route::with_key(key, SlotAddr::Master);
                cluster
                    .current()
                    .await
                    .1
                    .route_command(
                        cmd,
                        RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route)),
                    )
                    .await?
            }
            conn => conn.req_packed_command(&cmd).await?,
        };
        Ok(redis::from_redis_value(reply)?)
    }
}

/// The `host:port` of every primary in a `CLUSTER NODES` reply that serves
/// slots (a primary without slots holds no keys).
fn primaries(nodes: &str) -> Vec<(String, u16)> {
    nodes
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let flags = fields.get(2)?;
            if !flags.split(',').any(|f| f == "master")
                || flags.split(',').any(|f| f == "fail" || f == "noaddr")
                || fields.len() < 9
            {
                return None;
            }
            // ip:port@cport[,hostname]
            let addr = fields[1].split(['@', ',']).next()?;
            let (host, port) = addr.rsplit_once(':')?;
            Some((host.to_owned(), port.parse().ok()?))
        })
        .collect()
}

async fn manager(client: redis::Client, limits: Limits) -> RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(limits.connect))
        .set_response_timeout(limits.response)
        .set_number_of_retries(RECONNECT_RETRIES)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_with_config(client, config).await
}

fn timed_out(what: &str) -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("timed out {what}"),
    ))
}

/// Asks the Sentinels where the primary is and connects to it.
async fn resolve(sentinel: &mut SentinelClient, limits: Limits) -> RedisResult<ConnectionManager> {
    let client = tokio::time::timeout(limits.connect, sentinel.async_get_client())
        .await
        .map_err(|_| timed_out("asking the sentinels for the primary"))??;
    manager(client, limits).await
}

/// The primary named by a set of Sentinels, found again after a failover.
#[derive(Clone)]
pub struct SentinelConn {
    inner: Arc<SentinelInner>,
}

struct SentinelInner {
    sentinel: Mutex<SentinelClient>,
    /// The connection to the current primary, with a generation that tells
    /// a caller whether someone re-resolved since it took its copy.
    primary: RwLock<(u64, ConnectionManager)>,
    limits: Limits,
}

/// Whether `e` says the server we reached is no longer the primary, or that
/// we lost it: time to ask the Sentinels again.
fn primary_lost(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || super::connection::has_code(e, "READONLY")
        || super::connection::has_code(e, "MASTERDOWN")
}

impl SentinelConn {
    async fn current(&self) -> (u64, ConnectionManager) {
        self.inner.primary.read().await.clone()
    }

    /// Re-resolves the primary unless another caller already did since
    /// `seen`. A failure leaves the old connection in place (its manager
    /// keeps trying it) for the next command to try again.
    async fn reresolve(&self, seen: u64) {
        let mut sentinel = self.inner.sentinel.lock().await;
        if self.inner.primary.read().await.0 != seen {
            return;
        }
        match resolve(&mut sentinel, self.inner.limits).await {
            Ok(conn) => {
                let mut primary = self.inner.primary.write().await;
                *primary = (seen + 1, conn);
                tracing::info!("Sentinel named the Redis primary again; reconnected to it.");
            }
            Err(e) => tracing::warn!(
                error = %e,
                "The sentinels did not name a reachable primary; the next command asks again."
            ),
        }
    }

    async fn run<T, F, Fut>(&self, op: F) -> RedisResult<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = RedisResult<T>>,
    {
        let (generation, conn) = self.current().await;
        match op(conn).await {
            Err(e) if primary_lost(&e) => {
                self.reresolve(generation).await;
                if super::connection::has_code(&e, "READONLY") {
                    // Refused before it ran: safe to send once more.
                    let (_, conn) = self.current().await;
                    return op(conn).await;
                }
                Err(e)
            }
            other => other,
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        if cfg!(debug_assertions)
            && let Err(why) = slots::check_script(cmd, self.is_cluster())
        {
            return async move {
                Err(RedisError::from((
                    redis::ErrorKind::Client,
                    "cross-slot script",
                    why,
                )))
            }
            .boxed();
        }
        match self {
            Conn::Standalone(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => {
                let c = c.clone();
                async move {
                    c.run(|mut conn| async move { conn.req_packed_command(cmd).await })
                        .await
                }
                .boxed()
            }
            Conn::Sentinel(s) => {
                let s = s.clone();
                async move {
                    s.run(|mut c| async move { c.req_packed_command(cmd).await })
                        .await
                }
                .boxed()
            }
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let cluster = self.is_cluster();
        if cfg!(debug_assertions)
            && let Some(why) = pipeline
                .cmd_iter()
                .find_map(|c| slots::check_script(c, cluster).err())
        {
            return async move {
                Err(RedisError::from((
                    redis::ErrorKind::Client,
                    "cross-slot script",
                    why,
                )))
            }
            .boxed();
        }
        match self {
            Conn::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Sentinel(s) => {
                let s = s.clone();
                async move {
                    s.run(
                        |mut c| async move { c.req_packed_commands(pipeline, offset, count).await },
                    )
                    .await
                }
                .boxed()
            }
            Conn::Cluster(c) => {
                let c = c.clone();
                async move {
                    c.run(|mut conn| async move {
                        if pipeline.is_transaction() {
                            conn.req_packed_commands(pipeline, offset, count).await
                        } else {
                            spread(conn, pipeline).await
                        }
                    })
                    .await
                }
                .boxed()
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Standalone(c) => c.get_db(),
            // A cluster has database 0 only.
            Conn::Cluster(_) | Conn::Sentinel(_) => 0,
        }
    }
}

/// Opens a cluster connection within the connect timeout.
async fn cluster_connect(client: &ClusterClient, limits: Limits) -> RedisResult<ClusterConnection> {
    tokio::time::timeout(limits.connect, client.get_async_connection())
        .await
        .map_err(|_| timed_out("connecting to the cluster"))?
}

/// A Redis Cluster connection, opened anew when it stops answering. The
/// crate's connection follows MOVED/ASK and refreshes its slot map, but
/// after a primary was killed under load it was seen to stay wedged: every
/// request timed out while a new connection to the same cluster worked
/// (`tests/cluster.rs`, the campaign under failover). So a timeout or a
/// lost connection opens a new one (once per failure, however many calls
/// saw it); the failed command's error is returned (it may have run), as
/// in the other modes, and its caller retries as it always does.
#[derive(Clone)]
pub struct ClusterConn {
    inner: Arc<ClusterInner>,
}

struct ClusterInner {
    client: ClusterClient,
    /// The connection, with a generation that tells a caller whether
    /// someone renewed it since it took its copy.
    conn: RwLock<(u64, ClusterConnection)>,
    renewing: Mutex<()>,
    limits: Limits,
}

impl ClusterConn {
    async fn current(&self) -> (u64, ClusterConnection) {
        self.inner.conn.read().await.clone()
    }

    /// Opens a new connection unless another caller already did since
    /// `seen`. A failure keeps the old one for the next command to try.
    async fn renew(&self, seen: u64) {
        let _renewing = self.inner.renewing.lock().await;
        if self.inner.conn.read().await.0 != seen {
            return;
        }
        match cluster_connect(&self.inner.client, self.inner.limits).await {
            Ok(conn) => {
                *self.inner.conn.write().await = (seen + 1, conn);
                tracing::info!("Opened a new Redis Cluster connection after the last one failed.");
            }
            Err(e) => tracing::warn!(
                error = %e,
                "Could not open a new Redis Cluster connection; the next command tries again."
            ),
        }
    }

    async fn run<T, F, Fut>(&self, op: F) -> RedisResult<T>
    where
        F: FnOnce(ClusterConnection) -> Fut,
        Fut: std::future::Future<Output = RedisResult<T>>,
    {
        let (generation, conn) = self.current().await;
        let result = op(conn).await;
        if let Err(e) = &result
            && (e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal())
        {
            self.renew(generation).await;
        }
        result
    }
}

/// A plain pipeline on a cluster: the keyed commands grouped by slot (each
/// group keeps its order and goes as one pipeline to the slot's node), the
/// groups sent at once, the replies put back in the pipeline's order. A
/// command without a key goes alone, routed by the crate (`SCRIPT LOAD` to
/// every node); those that open the pipeline run first, so a pipeline that
/// loads a script before calling it finds it on every node. A pipeline
/// promises no atomicity, and across slots no order: code that needs one
/// step to land before another on a different slot sends them in two round
/// trips (see `dnc.rs`, `citizen_keys.rs`).
async fn spread(conn: ClusterConnection, pipeline: &Pipeline) -> RedisResult<Vec<Value>> {
    let mut out = vec![Value::Nil; pipeline.len()];
    let commands: Vec<&Cmd> = pipeline.cmd_iter().collect();
    let leading = commands
        .iter()
        .take_while(|c| slots::routing_key(c).is_none())
        .count();
    for (i, cmd) in commands[..leading].iter().enumerate() {
        out[i] = alone(conn.clone(), cmd).await?;
    }
    let mut groups: Vec<(u16, Pipeline, Vec<usize>)> = Vec::new();
    let mut keyless: Vec<usize> = Vec::new();
    for (i, cmd) in commands.iter().enumerate().skip(leading) {
        let Some(slot) = slots::routing_key(cmd).map(slots::slot_of) else {
            keyless.push(i);
            continue;
        };
        let group = match groups.iter().position(|(g, _, _)| *g == slot) {
            Some(g) => g,
            None => {
                groups.push((slot, redis::pipe(), Vec::new()));
                groups.len() - 1
            }
        };
        groups[group].1.add_command((*cmd).clone());
        groups[group].2.push(i);
    }
    let sent = groups.iter().map(|(_, pipe, _)| {
        let mut conn = conn.clone();
        async move { conn.req_packed_commands(pipe, 0, pipe.len()).await }
    });
    let alone_sent = keyless.iter().map(|&i| alone(conn.clone(), commands[i]));
    let (replies, alone_replies) = futures_util::join!(join_all(sent), join_all(alone_sent));
    for ((_, _, positions), reply) in groups.iter().zip(replies) {
        for (position, value) in positions.iter().zip(reply?) {
            out[*position] = value;
        }
    }
    for (&i, reply) in keyless.iter().zip(alone_replies) {
        out[i] = reply?;
    }
    Ok(out)
}

/// One command routed by the crate; a server error becomes the error value
/// a pipeline reply holds.
async fn alone(mut conn: ClusterConnection, cmd: &Cmd) -> RedisResult<Value> {
    match conn.req_packed_command(cmd).await {
        Ok(value) => Ok(value),
        Err(e) if e.code().is_some() => match redis::ServerError::try_from(e) {
            Ok(server) => Ok(Value::ServerError(server)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primaries_are_read_from_cluster_nodes() {
        let nodes = "\
a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7002@17002 master - 0 1 2 connected 5461-10922
c3 127.0.0.1:7003@17003 master,fail - 0 1 3 connected
d4 127.0.0.1:7004@17004 slave a1 0 1 1 connected
e5 127.0.0.1:7005@17005,node5.example master - 0 1 5 connected 10923-16383
f6 127.0.0.1:7006@17006 master - 0 1 6 connected
";
        assert_eq!(
            primaries(nodes),
            vec![
                ("127.0.0.1".to_owned(), 7001),
                ("127.0.0.1".to_owned(), 7002),
                ("127.0.0.1".to_owned(), 7005),
            ]
        );
    }
}
