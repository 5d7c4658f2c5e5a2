//! Escalations (written by the relay, see `results.rs`) and scorecards on
//! Redis: listing and acknowledging escalations, and the scorecards' counted
//! batches, reset and reads.
//!
//! Escalations: the stream `<prefix>:escalations` (the contract), the hash
//! of every escalation id ever written (`:ids`, id → entry id), the open
//! ones' JSON (`:open`) and the acknowledgements (`:acks`). Listing the
//! open ones reads one hash; listing acknowledged ones reads the newest
//! stream entries.
//!
//! Scorecards: see `Keys::scores_prefix` and `lua/apply_scores.lua`.

use jiff::civil::Date;
use redis::streams::StreamRangeReply;

use super::connection::RedisStore;
use super::parse::corrupt;
use crate::domain::scorecard::{Dimension, Entity, ScoreUpdate, Tally};
use crate::domain::{Acknowledgement, Escalation, EscalationView};
use crate::store::{AckOutcome, DayScore, EscalationQuery, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// How many of the newest escalations a listing that includes acknowledged
/// ones reads, when it has no limit of its own.
const HISTORY: usize = 1_000;

impl RedisStore {
    pub(super) async fn escalations_impl(
        &self,
        query: &EscalationQuery,
    ) -> Result<Vec<EscalationView>> {
        let mut conn = self.conn.clone();
        let open_key = self.keys.escalations_open();
        let open: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(&open_key)
            .query_async(&mut conn)
            .await?;
        let mut views = Vec::with_capacity(open.len());
        for (id, raw) in open {
            let escalation: Escalation = serde_json::from_str(&raw)
                .map_err(|e| corrupt(&open_key, format!("escalation {id}: {e}")))?;
            views.push(EscalationView {
                escalation,
                acknowledged: None,
            });
        }
        if !query.open_only {
            let count = if query.limit > 0 {
                query.limit
            } else {
                HISTORY
            };
            let stream = self.keys.escalations();
            let reply: StreamRangeReply = redis::cmd("XREVRANGE")
                .arg(&stream)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(count)
                .query_async(&mut conn)
                .await?;
            let entries = reply
                .ids
                .iter()
                .map(|entry| parse_entry(&stream, entry))
                .collect::<Result<Vec<Escalation>>>()?;
            let known: std::collections::HashSet<String> = views
                .iter()
                .map(|v| v.escalation.escalation_id.clone())
                .collect();
            let acked: Vec<Escalation> = entries
                .into_iter()
                .filter(|e| !known.contains(&e.escalation_id))
                .collect();
            if !acked.is_empty() {
                let acks = self
                    .acks_of(acked.iter().map(|e| e.escalation_id.as_str()))
                    .await?;
                for (escalation, ack) in acked.into_iter().zip(acks) {
                    // Without an acknowledgement it is open, so already listed
                    // (written between the two reads): skipped here.
                    if ack.is_some() {
                        views.push(EscalationView {
                            escalation,
                            acknowledged: ack,
                        });
                    }
                }
            }
        }
        Ok(query.select(views))
    }

    async fn acks_of<'a>(
        &self,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<Vec<Option<Acknowledgement>>> {
        let key = self.keys.escalation_acks();
        let ids: Vec<&str> = ids.collect();
        let raw: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(&key)
            .arg(&ids)
            .query_async(&mut self.conn.clone())
            .await?;
        raw.into_iter()
            .zip(&ids)
            .map(|(raw, id)| {
                raw.map(|r| {
                    serde_json::from_str(&r)
                        .map_err(|e| corrupt(&key, format!("acknowledgement of {id}: {e}")))
                })
                .transpose()
            })
            .collect()
    }

    pub(super) async fn escalation_impl(&self, id: &str) -> Result<Option<EscalationView>> {
        let mut conn = self.conn.clone();
        let entry: Option<String> = redis::cmd("HGET")
            .arg(self.keys.escalation_ids())
            .arg(id)
            .query_async(&mut conn)
            .await?;
        let Some(entry) = entry else {
            return Ok(None);
        };
        let stream = self.keys.escalations();
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&stream)
            .arg(&entry)
            .arg(&entry)
            .query_async(&mut conn)
            .await?;
        let Some(found) = reply.ids.first() else {
            // The stream was trimmed past it: only the id is left.
            return Ok(None);
        };
        let escalation = parse_entry(&stream, found)?;
        let acknowledged = self.acks_of(std::iter::once(id)).await?.pop().flatten();
        Ok(Some(EscalationView {
            escalation,
            acknowledged,
        }))
    }

    pub(super) async fn ack_escalation_impl(
        &self,
        id: &str,
        ack: &Acknowledgement,
    ) -> Result<AckOutcome> {
        let json = serde_json::to_string(ack)
            .map_err(|e| StoreError::Refused(format!("acknowledgement: {e}")))?;
        let reply: Vec<String> = self
            .scripts
            .ack_escalation
            .key(self.keys.escalation_ids())
            .key(self.keys.escalations_open())
            .key(self.keys.escalation_acks())
            .arg(id)
            .arg(json)
            .invoke_async(&mut self.conn.clone())
            .await?;
        let key = self.keys.escalation_acks();
        match reply.first().map(String::as_str) {
            Some("acked") => Ok(AckOutcome::Acknowledged),
            Some("unknown") => Ok(AckOutcome::Unknown),
            Some("already") => {
                let first = reply
                    .get(1)
                    .ok_or_else(|| corrupt(&key, "ack reply without the first".into()))?;
                let first = serde_json::from_str(first)
                    .map_err(|e| corrupt(&key, format!("acknowledgement of {id}: {e}")))?;
                Ok(AckOutcome::Already(first))
            }
            other => Err(corrupt(&key, format!("unexpected ack reply {other:?}"))),
        }
    }

    fn score_key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.keys.scores_prefix())
    }

    pub(super) async fn score_cursor_impl(&self) -> Result<String> {
        let cursor: Option<String> = redis::cmd("GET")
            .arg(self.score_key("cursor"))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(cursor.unwrap_or_else(|| "0-0".to_owned()))
    }

    pub(super) async fn apply_scores_impl(
        &self,
        expected: &str,
        next: &str,
        updates: &[ScoreUpdate],
    ) -> Result<bool> {
        let mut script = self.scripts.apply_scores.key(self.score_key("cursor"));
        script
            .key(self.score_key("days"))
            .arg(expected)
            .arg(next)
            .arg(self.keys.scores_prefix());
        for u in updates {
            let tally = serde_json::to_string(&u.tally)
                .map_err(|e| StoreError::Refused(format!("scorecard update: {e}")))?;
            script
                .arg(format!("{}:{}", u.by, u.day))
                .arg(u.entity.encode())
                .arg(tally);
        }
        let applied: i64 = script.invoke_async(&mut self.conn.clone()).await?;
        Ok(applied == 1)
    }

    pub(super) async fn reset_scores_impl(&self) -> Result<()> {
        let mut script = self.scripts.reset_scores.key(self.score_key("cursor"));
        script
            .key(self.score_key("days"))
            .arg(self.keys.scores_prefix());
        for by in Dimension::ALL {
            script.arg(by.as_str());
        }
        let _days: i64 = script.invoke_async(&mut self.conn.clone()).await?;
        Ok(())
    }

    pub(super) async fn score_days_impl(&self) -> Result<Vec<Date>> {
        let key = self.score_key("days");
        let raw: Vec<String> = redis::cmd("SMEMBERS")
            .arg(&key)
            .query_async(&mut self.conn.clone())
            .await?;
        let mut days = raw
            .iter()
            .map(|d| {
                d.parse::<Date>()
                    .map_err(|e| corrupt(&key, format!("day {d:?}: {e}")))
            })
            .collect::<Result<Vec<Date>>>()?;
        days.sort();
        Ok(days)
    }

    pub(super) async fn read_scores_impl(
        &self,
        by: Dimension,
        days: &[Date],
    ) -> Result<Vec<DayScore>> {
        if days.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for day in days {
            pipe.cmd("HGETALL")
                .arg(self.score_key(&format!("{by}:{day}")));
        }
        let replies: Vec<Vec<(String, String)>> = pipe.query_async(&mut self.conn.clone()).await?;
        let mut out = Vec::new();
        for (day, fields) in days.iter().zip(replies) {
            for (entity, raw) in fields {
                let tally: Tally = serde_json::from_str(&raw).map_err(|e| {
                    corrupt(
                        &self.score_key(&format!("{by}:{day}")),
                        format!("scorecard {entity:?}: {e}"),
                    )
                })?;
                out.push(DayScore {
                    day: *day,
                    entity: Entity::decode(&entity),
                    tally,
                });
            }
        }
        Ok(out)
    }
}

fn parse_entry(stream: &str, entry: &redis::streams::StreamId) -> Result<Escalation> {
    let raw: String = entry
        .get("escalation")
        .ok_or_else(|| corrupt(stream, format!("entry {} has no escalation", entry.id)))?;
    serde_json::from_str(&raw).map_err(|e| corrupt(stream, format!("entry {}: {e}", entry.id)))
}
