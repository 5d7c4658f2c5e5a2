//! [`DataGuard`] for Redis: the persistence settings (`CONFIG GET`) and the
//! epoch marker `<prefix>:epoch` (one hash, so every command touches one
//! slot and accepting is atomic).

use std::collections::HashMap;

use async_trait::async_trait;

use super::connection::RedisStore;
use crate::store::guard::{DataGuard, Durability, EpochMarker};
use crate::store::{Store, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

const ID: &str = "id";
const ACCEPTED_AT: &str = "accepted_at_ms";
const HOLD: &str = "hold";
const HELD_AT: &str = "held_at_ms";

fn new_epoch_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

impl RedisStore {
    async fn config_get(&self) -> redis::RedisResult<Durability> {
        let mut pipe = redis::pipe();
        for name in ["appendonly", "save", "maxmemory-policy"] {
            pipe.cmd("CONFIG").arg("GET").arg(name);
        }
        let replies: Vec<HashMap<String, String>> =
            pipe.query_async(&mut self.conn.clone()).await?;
        let value = |i: usize, name: &str| {
            replies
                .get(i)
                .and_then(|m| m.get(name))
                .cloned()
                .unwrap_or_default()
        };
        Ok(Durability::Settings {
            appendonly: value(0, "appendonly").eq_ignore_ascii_case("yes"),
            save: value(1, "save"),
            maxmemory_policy: value(2, "maxmemory-policy"),
        })
    }
}

#[async_trait]
impl DataGuard for RedisStore {
    async fn durability(&self) -> Durability {
        match self.config_get().await {
            Ok(settings) => settings,
            Err(e) => Durability::Unknown(e.to_string()),
        }
    }

    async fn read_epoch(&self) -> Result<EpochMarker> {
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.keys.epoch())
            .query_async(&mut self.conn.clone())
            .await?;
        let int = |name: &str| fields.get(name).and_then(|v| v.parse().ok());
        Ok(EpochMarker {
            id: fields.get(ID).cloned(),
            accepted_at_ms: int(ACCEPTED_AT),
            hold: fields.get(HOLD).cloned(),
            held_at_ms: int(HELD_AT),
        })
    }

    async fn start_epoch(&self) -> Result<EpochMarker> {
        let _: bool = redis::cmd("HSETNX")
            .arg(self.keys.epoch())
            .arg(ID)
            .arg(new_epoch_id())
            .query_async(&mut self.conn.clone())
            .await?;
        self.read_epoch().await
    }

    async fn hold_dialling(&self, reason: &str) -> Result<()> {
        let now = self.now_ms().await?;
        let key = self.keys.epoch();
        redis::pipe()
            .atomic()
            .cmd("HSETNX")
            .arg(&key)
            .arg(HOLD)
            .arg(reason)
            .ignore()
            .cmd("HSETNX")
            .arg(&key)
            .arg(HELD_AT)
            .arg(now)
            .ignore()
            .exec_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn accept_empty(&self) -> Result<String> {
        let now = self.now_ms().await?;
        let key = self.keys.epoch();
        let id = new_epoch_id();
        redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg(&key)
            .ignore()
            .cmd("HSET")
            .arg(&key)
            .arg(ID)
            .arg(&id)
            .arg(ACCEPTED_AT)
            .arg(now)
            .ignore()
            .exec_async(&mut self.conn.clone())
            .await?;
        Ok(id)
    }

    async fn groups_lost(&self) {
        self.groups_lost.notified().await;
    }
}
