//! The `RedisStore` handle: connections, consumer groups and key templates.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, RedisResult};

use super::scripts::Scripts;
use crate::store::keys::Keys;
use crate::store::{ShardId, StoreError};

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
/// Reconnect attempts per failure. Few and short, so a command fails fast with
/// `Unavailable` while Redis is down; the next command tries again.
const RECONNECT_RETRIES: usize = 2;

pub(super) const INTAKE_GROUP: &str = "intake";
pub(super) const READY_GROUP: &str = "dialers";
pub(super) const RELAY_GROUP: &str = "relay";

/// The Redis job store. Cheap to share behind an `Arc`.
pub struct RedisStore {
    /// Reconnecting, multiplexed: every non-blocking command and script.
    pub(super) conn: ConnectionManager,
    /// Only for `XREADGROUP ... BLOCK` on intake: a blocked command would
    /// stall every other request pipelined on a multiplexed connection.
    pub(super) blocking: ConnectionManager,
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
    /// Signalled when a group read found its group missing (Redis lost its
    /// data): the daemon's data watch checks the epoch marker at once.
    pub(super) groups_lost: tokio::sync::Notify,
    /// Campaign headers and interned texts, to read compact jobs
    /// (`compact.rs`).
    pub(super) joins: super::compact::JoinCache,
    /// How long an ended job is kept once its record was relayed
    /// (`with_retention`; `policy.retention_hours`).
    pub(super) retention: Duration,
}

impl RedisStore {
    /// Connects with the default timeouts (see [`Timeouts`]).
    pub async fn connect(url: &str, prefix: &str, shards: u16) -> Result<RedisStore> {
        Self::connect_with(url, prefix, shards, Timeouts::default()).await
    }

    /// Connects, and creates every consumer group the store reads through.
    pub async fn connect_with(
        url: &str,
        prefix: &str,
        shards: u16,
        timeouts: Timeouts,
    ) -> Result<RedisStore> {
        if shards == 0 {
            return Err(StoreError::Refused(
                "the shard count must be at least 1".into(),
            ));
        }
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new_with_config(
            client.clone(),
            manager_config(timeouts.connect, Some(timeouts.response)),
        )
        .await?;
        // No response timeout here: the blocking read is bounded by its own
        // BLOCK time plus the response timeout (see `read_intake`).
        let blocking =
            ConnectionManager::new_with_config(client, manager_config(timeouts.connect, None))
                .await?;
        let store = RedisStore {
            conn,
            blocking,
            keys: Keys::new(prefix),
            shards,
            scripts: Scripts::new(),
            response_timeout: timeouts.response,
            relay_consumer: format!("relay-{}-{:08x}", std::process::id(), rand::random::<u32>()),
            relay_unacked: Default::default(),
            groups_lost: tokio::sync::Notify::new(),
            joins: Default::default(),
            retention: super::results::DEFAULT_RETENTION,
        };
        store.create_groups().await?;
        Ok(store)
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

    /// Key prefixes for scripts that address jobs they find in a set (the
    /// member is the job id).
    pub(super) fn job_and_counts_prefixes(&self, shard: ShardId) -> (String, String) {
        (self.keys.job_prefix(shard), self.keys.counts_prefix(shard))
    }
}

fn manager_config(
    connect: Duration,
    response_timeout: Option<Duration>,
) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(connect))
        .set_response_timeout(response_timeout)
        .set_number_of_retries(RECONNECT_RETRIES)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// Whether a server error (plain, from a script, or inside a pipeline) has
/// the given Redis error code.
pub(super) fn has_code(e: &RedisError, code: &str) -> bool {
    e.code() == Some(code)
        || e.clone()
            .into_server_errors()
            .is_some_and(|errors| errors.iter().any(|(_, s)| s.code() == code))
}
