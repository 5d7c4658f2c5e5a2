//! The Redis a suite runs against, chosen by the environment:
//! `SAMPARK_TEST_REDIS=cluster` starts a local Redis Cluster (three
//! primaries, three replicas) and connects in `redis.mode = "cluster"`;
//! anything else (the default) one `redis-server`.

use sampark::store::redis::{RedisStore, Target, Timeouts};

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
}
