//! The Redis a suite runs against, chosen by the environment:
//! `SAMPARK_TEST_REDIS=cluster` starts a local Redis Cluster (three
//! primaries, three replicas) and connects in `redis.mode = "cluster"`;
//! anything else (the default) one `redis-server`. A suite that uses it for
//! its store, its daemons and its own reads runs unchanged on either
//! (`scripts/test.sh` runs `store_contract` and `e2e` on both).

use std::sync::Arc;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use sampark::daemon::Daemon;
use sampark::dialer::DialerConfig;
use sampark::store::redis::{RedisStore, Target, Timeouts};

use super::daemon::{bind_webhook, start_daemon_with_store};
use super::provider::Provider;
use super::redis_cluster::RedisCluster;
use super::redis_server::RedisServer;

/// Whether the suites run on a cluster (`SAMPARK_TEST_REDIS=cluster`).
pub fn cluster_mode() -> bool {
    std::env::var("SAMPARK_TEST_REDIS").is_ok_and(|v| v == "cluster")
}

/// A standalone server or a cluster, killed on drop.
pub enum TestRedis {
    Server(RedisServer),
    Cluster(RedisCluster),
}

impl TestRedis {
    /// What `SAMPARK_TEST_REDIS` asks for.
    pub fn start() -> TestRedis {
        if cluster_mode() {
            TestRedis::Cluster(RedisCluster::start())
        } else {
            TestRedis::Server(RedisServer::start())
        }
    }

    pub fn target(&self) -> Target {
        match self {
            TestRedis::Server(server) => Target::standalone(server.url()),
            TestRedis::Cluster(cluster) => cluster.target(),
        }
    }

    /// A store on it, with the default timeouts.
    pub async fn store(&self, prefix: &str, shards: u16) -> RedisStore {
        RedisStore::connect_to(&self.target(), prefix, shards, Timeouts::default())
            .await
            .expect("connect to the test Redis")
    }

    /// A connection for the test's own commands (each routed to its key's
    /// node on a cluster).
    pub async fn connection(&self) -> TestConn {
        match self {
            TestRedis::Server(server) => TestConn::Server(
                redis::Client::open(server.url())
                    .unwrap()
                    .get_multiplexed_async_connection()
                    .await
                    .expect("connect to the test Redis"),
            ),
            TestRedis::Cluster(cluster) => TestConn::Cluster(
                redis::cluster::ClusterClient::new(cluster.urls())
                    .unwrap()
                    .get_async_connection()
                    .await
                    .expect("connect to the test cluster"),
            ),
        }
    }

    /// A daemon on it (prefix `sampark`, 16 shards) with `provider`'s
    /// adapter against the simulator at `simulator_base`: `start_daemon_for`
    /// in either mode.
    pub async fn start_daemon(
        &self,
        provider: Provider,
        simulator_base: &str,
        dialer: DialerConfig,
    ) -> (Daemon, Arc<RedisStore>) {
        let (listener, _) = bind_webhook().await;
        let base = simulator_base.to_owned();
        let store = self.store("sampark", 16).await;
        start_daemon_with_store(listener, store, simulator_base, dialer, move |s| {
            provider.configure(s, &base)
        })
        .await
    }
}

/// A connection to a [`TestRedis`] in either mode.
#[derive(Clone)]
pub enum TestConn {
    Server(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for TestConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            TestConn::Server(c) => c.req_packed_command(cmd),
            TestConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            TestConn::Server(c) => c.req_packed_commands(pipeline, offset, count),
            TestConn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            TestConn::Server(c) => c.get_db(),
            TestConn::Cluster(c) => c.get_db(),
        }
    }
}
