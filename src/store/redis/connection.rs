//! The `RedisStore` handle: connections, consumer groups and key templates.

use std::future::Future;
use std::time::Duration;

use redis::{RedisError, RedisResult};

use super::client::{Conn, Limits, Target};
use super::scripts::Scripts;
use crate::store::keys::Keys;
use crate::store::{ShardId, StoreError};
use crate::tls::ClientTls;

type Result<T> = std::result::Result<T, StoreError>;

/// How long a connection may take to open, and a non-blocking command to
/// answer, before Redis counts as unavailable (`redis.connect_timeout_ms`,
/// `redis.response_timeout_ms`). Every script is O(small); seconds mean
/// Redis is in trouble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub response: Duration,
}

impl Default for Timeouts {
    /// The documented defaults of `[redis]`.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            response: Duration::from_secs(2),
        }
    }
}

/// `WAIT numreplicas timeout` after the writes that must survive a
/// failover (`redis.wait_replicas`, `redis.wait_timeout_ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplicaWait {
    pub replicas: u32,
    pub timeout: Duration,
}

pub(super) const INTAKE_GROUP: &str = "intake";
pub(super) const READY_GROUP: &str = "dialers";
pub(super) const RELAY_GROUP: &str = "relay";

/// The Redis job store. Cheap to share behind an `Arc`.
pub struct RedisStore {
    /// Reconnecting, multiplexed: every non-blocking command and script, in
    /// whichever `redis.mode` (see `client.rs`).
    pub(super) conn: Conn,
    /// Only for the blocking `XREAD` of the wake stream (`wake.rs`), for
    /// the same reason.
    pub(super) wakes: Conn,
    /// Replicas to wait for after a relay (none: no `WAIT`).
    pub(super) replica_wait: Option<ReplicaWait>,
    pub(super) keys: Keys,
    pub(super) shards: ShardId,
    pub(super) scripts: Scripts,
    /// Extra time a blocking read may take beyond its BLOCK time.
    pub(super) response_timeout: Duration,
    /// The consumer name this instance uses on the outbox streams.
    pub(super) relay_consumer: String,
    /// Shards whose last relay wrote its records but lost the outbox
    /// acknowledgement: the next pass re-reads this consumer's own pending
    /// entries first (the dedupe markers make that a no-op downstream).
    pub(super) relay_unacked: std::sync::Mutex<std::collections::HashSet<ShardId>>,
    /// When this instance's relay last looked for other relays' stuck
    /// outbox entries on each shard (`results.rs`, `RELAY_CLAIM_EVERY`).
    pub(super) relay_claimed_at:
        std::sync::Mutex<std::collections::HashMap<ShardId, std::time::Instant>>,
    /// Signalled when a group read found its group missing (Redis lost its
    /// data): the daemon's data watch checks the epoch marker at once.
    pub(super) groups_lost: tokio::sync::Notify,
    /// Wakes this instance's dialer when a transition makes work due.
    pub(super) work: crate::store::WorkSignal,
    /// Campaign headers and interned texts, to read compact jobs
    /// (`compact.rs`).
    pub(super) joins: super::compact::JoinCache,
    /// How long an ended job is kept once its record was relayed
    /// (`with_retention`; `policy.retention_hours`).
    pub(super) retention: Duration,
    /// What an intake entry may be (`with_intake_limits`; `[intake]`).
    pub(super) intake_limits: crate::store::IntakeLimits,
    /// Wakes this instance's intake reader when it submitted a document
    /// itself (others' are found by its next look: `intake_read.rs`).
    pub(super) intake_added: tokio::sync::Notify,
}

impl RedisStore {
    /// Connects with the default timeouts (see [`Timeouts`]).
    pub async fn connect(url: &str, prefix: &str, shards: u16) -> Result<RedisStore> {
        Self::connect_with(url, prefix, shards, Timeouts::default()).await
    }

    /// Connects to one standalone server.
    pub async fn connect_with(
        url: &str,
        prefix: &str,
        shards: u16,
        timeouts: Timeouts,
    ) -> Result<RedisStore> {
        Self::connect_to(&Target::standalone(url), prefix, shards, timeouts).await
    }

    /// Connects in any `redis.mode` (TLS with the built-in roots for
    /// `rediss://`), and creates every consumer group the store reads
    /// through.
    pub async fn connect_to(
        target: &Target,
        prefix: &str,
        shards: u16,
        timeouts: Timeouts,
    ) -> Result<RedisStore> {
        Self::connect_over(target, &ClientTls::default(), prefix, shards, timeouts).await
    }

    /// As [`RedisStore::connect_to`], trusting and presenting what `tls`
    /// holds on `rediss://` connections (`[redis.tls]`).
    pub async fn connect_over(
        target: &Target,
        tls: &ClientTls,
        prefix: &str,
        shards: u16,
        timeouts: Timeouts,
    ) -> Result<RedisStore> {
        if shards == 0 {
            return Err(StoreError::Refused(
                "the shard count must be at least 1".into(),
            ));
        }
        let conn = Conn::open(
            target,
            tls,
            Limits {
                connect: timeouts.connect,
                response: Some(timeouts.response),
            },
        )
        .await?;
        let wakes = Conn::open(
            target,
            tls,
            Limits {
                connect: timeouts.connect,
                response: None,
            },
        )
        .await?;
        let store = RedisStore {
            conn,
            wakes,
            replica_wait: None,
            keys: Keys::new(prefix),
            shards,
            scripts: Scripts::new(),
            response_timeout: timeouts.response,
            relay_consumer: format!("relay-{}-{:08x}", std::process::id(), rand::random::<u32>()),
            relay_unacked: Default::default(),
            relay_claimed_at: Default::default(),
            groups_lost: tokio::sync::Notify::new(),
            work: Default::default(),
            joins: Default::default(),
            retention: super::results::DEFAULT_RETENTION,
            intake_limits: Default::default(),
            intake_added: tokio::sync::Notify::new(),
        };
        store.create_groups().await?;
        Ok(store)
    }

    /// Waits for `wait.replicas` replicas (at most `wait.timeout`) after each
    /// relay, before its outbox entries are acknowledged.
    pub fn with_replica_wait(mut self, wait: Option<ReplicaWait>) -> Self {
        self.replica_wait = wait.filter(|w| w.replicas > 0);
        self
    }

    /// Citizen keys under `key` (HMAC of the number) from now on; without
    /// it they are under the development key (demo and tests only).
    pub fn with_citizen_key(mut self, key: crate::store::keys::CitizenKey) -> Self {
        self.keys = self.keys.clone().with_citizen_key(key);
        self
    }

    /// `XGROUP CREATE ... 0 MKSTREAM` for every stream read through a group;
    /// an existing group (BUSYGROUP) is fine.
    ///
    /// Starting at `0` rather than `$`: entries already in a stream without a
    /// group (documents submitted before the first daemon start, or jobs
    /// enqueued after Redis restarted empty) are unprocessed work, and `$`
    /// would skip them forever. Processed entries are always deleted, so `0`
    /// never replays finished work.
    pub(super) async fn create_groups(&self) -> Result<()> {
        let mut groups = vec![(self.keys.intake(), INTAKE_GROUP)];
        for shard in 0..self.shards {
            groups.push((self.keys.ready(shard), READY_GROUP));
            groups.push((self.keys.ready_urgent(shard), READY_GROUP));
            groups.push((self.keys.outbox(shard), RELAY_GROUP));
        }
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for (key, group) in &groups {
            pipe.cmd("XGROUP")
                .arg("CREATE")
                .arg(key)
                .arg(*group)
                .arg("0")
                .arg("MKSTREAM");
        }
        let replies: Vec<redis::Value> = pipe.query_async(&mut self.conn.clone()).await?;
        for reply in replies {
            if let redis::Value::ServerError(e) = reply
                && e.code() != "BUSYGROUP"
            {
                return Err(StoreError::Refused(format!("XGROUP CREATE failed: {e}")));
            }
        }
        Ok(())
    }

    /// Runs a group read; on NOGROUP (Redis lost its data, e.g. restarted
    /// empty) tells the data watch (which pauses dialling if the epoch marker
    /// is gone too), recreates the groups and runs it once more.
    pub(super) async fn with_groups<T, F, Fut>(&self, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        match op().await {
            Err(e) if has_code(&e, "NOGROUP") => {
                tracing::warn!(
                    "Consumer group missing (did Redis lose its data?); recreating the store's groups and checking the epoch marker."
                );
                self.groups_lost.notify_one();
                self.create_groups().await?;
                Ok(op().await?)
            }
            other => Ok(other?),
        }
    }

    /// After a write that must survive a failover (a terminal record in an
    /// outbox, records relayed to the feedback stream): `WAIT` for
    /// `redis.wait_replicas` replicas of the primary holding `key`, at most
    /// `redis.wait_timeout_ms`. The write is done either way (WAIT undoes
    /// nothing); fewer replicas than asked is logged at WARN, since a
    /// failover now could lose it (docs/architecture.md, "Redis Sentinel
    /// and Redis Cluster").
    pub(super) async fn wait_for_replicas(&self, key: &str) -> Result<()> {
        let Some(wait) = self.replica_wait else {
            return Ok(());
        };
        let acked = self
            .conn
            .clone()
            .wait(key, wait.replicas, wait.timeout)
            .await?;
        if acked < wait.replicas {
            tracing::warn!(
                redis.replicas_acked = acked,
                redis.replicas_wanted = wait.replicas,
                "Fewer replicas than redis.wait_replicas confirmed a write in time; a failover now could lose it."
            );
        }
        Ok(())
    }
}

/// Whether a server error (plain, from a script, or inside a pipeline) has
/// the given Redis error code.
pub(super) fn has_code(e: &RedisError, code: &str) -> bool {
    e.code() == Some(code)
        || e.clone()
            .into_server_errors()
            .is_some_and(|errors| errors.iter().any(|(_, s)| s.code() == code))
}
