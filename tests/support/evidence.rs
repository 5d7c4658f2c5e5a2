//! What a fault scenario left behind, read once the campaign is over: the
//! feedback records and the leftover queue state in Redis, the simulator's
//! ledger, and (optionally) the captured log text. `invariants` judges it.
//!
//! Reads Redis directly (never through a fault proxy), with the daemon's
//! default prefix `sampark` and 16 shards, as the tests run it.

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use sampark::domain::FeedbackRecord;
use sampark::simulator::LedgerEntry;

pub const PREFIX: &str = "sampark";
pub const SHARDS: u8 = 16;

/// One queue structure that should be empty and is not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftover {
    pub key: String,
    /// `zcard`, `xlen` or `pending (GROUP)`.
    pub what: String,
    pub count: usize,
}

/// Everything the invariants look at.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Every entry of `sampark:feedback`, in stream order.
    pub records: Vec<FeedbackRecord>,
    /// Only the non-empty structures (see `read_leftovers`).
    pub leftovers: Vec<Leftover>,
    pub ledger: Vec<LedgerEntry>,
    /// Captured log text, when the test captured any.
    pub logs: Option<String>,
}

impl Evidence {
    /// Reads the records and leftovers from the Redis at `redis_url`; the
    /// ledger comes from `Simulator::ledger()`, the logs from `LogCapture::text()`.
    pub async fn gather(redis_url: &str, ledger: Vec<LedgerEntry>, logs: Option<String>) -> Self {
        let client = redis::Client::open(redis_url).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis for the evidence");
        Evidence {
            records: read_records(&mut conn).await,
            leftovers: read_leftovers(&mut conn).await,
            ledger,
            logs,
        }
    }
}

/// Every feedback record in the stream (field `record`, JSON).
pub async fn read_records(conn: &mut MultiplexedConnection) -> Vec<FeedbackRecord> {
    let reply: redis::streams::StreamRangeReply = conn
        .xrange_all(format!("{PREFIX}:feedback"))
        .await
        .expect("XRANGE feedback");
    reply
        .ids
        .iter()
        .map(|entry| {
            let raw: String = entry
                .get("record")
                .unwrap_or_else(|| panic!("feedback entry {} has no `record`", entry.id));
            serde_json::from_str(&raw)
                .unwrap_or_else(|e| panic!("feedback entry {} does not parse: {e}", entry.id))
        })
        .collect()
}

/// The per-shard structures a finished campaign must leave empty, for every
/// shard: `inflight` and `delayed` (zsets), `ready` (stream; entries and
/// group `dialers` pending) and `outbox` (stream; entries and group `relay`
/// pending). Returns only the non-empty ones.
pub async fn read_leftovers(conn: &mut MultiplexedConnection) -> Vec<Leftover> {
    let mut out = Vec::new();
    for shard in 0..SHARDS {
        let base = format!("{PREFIX}:{{s{shard:02}}}");
        for zset in ["inflight", "delayed"] {
            let key = format!("{base}:{zset}");
            let count: usize = conn.zcard(&key).await.expect("ZCARD");
            push(&mut out, key, "zcard".into(), count);
        }
        for (stream, group) in [("ready", "dialers"), ("outbox", "relay")] {
            let key = format!("{base}:{stream}");
            let count: usize = conn.xlen(&key).await.expect("XLEN");
            push(&mut out, key.clone(), "xlen".into(), count);
            let pending = pending(conn, &key, group).await;
            push(&mut out, key, format!("pending ({group})"), pending);
        }
    }
    out
}

fn push(out: &mut Vec<Leftover>, key: String, what: String, count: usize) {
    if count > 0 {
        out.push(Leftover { key, what, count });
    }
}

/// Entries delivered to `group` and not acknowledged; 0 when the stream or
/// the group does not exist.
async fn pending(conn: &mut MultiplexedConnection, key: &str, group: &str) -> usize {
    let reply: redis::RedisResult<redis::streams::StreamPendingReply> =
        conn.xpending(key, group).await;
    match reply {
        Ok(reply) => reply.count(),
        Err(e) if e.code() == Some("NOGROUP") => 0,
        Err(e) => panic!("XPENDING {key} {group}: {e}"),
    }
}
