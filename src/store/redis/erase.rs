//! Right to erasure: removes what Redis holds about one phone number
//! (`sampark privacy erase`).
//!
//! | held about the number | where | erase |
//! |---|---|---|
//! | the number, in a job not ended | `{sNN}:job:<id>` (`c`, an inbound call's `spec`) | refuses: the contact is queued or in a call; cancel it (its campaign) or let it end, then erase again |
//! | the number, in an intake entry not routed yet | `campaigns` stream | refuses likewise (routed within seconds) |
//! | which contact of a campaign had it | `campaign:<id>:numbers:<bucket>`, by tag | removes the field in every campaign |
//! | placed calls, any other citizen key (and remembered visits as earlier versions kept them) | `citizen:{<tag>}:…` | deletes |
//! | remembered visits | `visits:{v<xxx>}:<day>`, a field per citizen | removes the field from every day's bucket |
//! | opt-out, do-not-call entry | `citizen:{<tag>}:optout`, `:dnc`, the list's index | kept unless asked (`--with-opt-out`): they are the citizen's wish not to be called, and erasing them would let a later campaign call again |
//! | the number in a dead letter written before dead letters were masked | `deadletter` stream | replaces the entry with a masked copy (a new entry id) |
//!
//! Ended jobs hold no number (blanked at their terminal transition), nor
//! do records, escalations or scorecards; the officials' registry holds
//! officials' work numbers, not citizens', and is left alone.
//!
//! Cost: a SCAN of every job and of the dead-letter stream, in pages; meant
//! for a request at a time, not in bulk.

use redis::streams::StreamRangeReply;

use super::citizen_keys::stored_phone;
use super::connection::RedisStore;
use crate::domain::PhoneNumber;
use crate::store::{DeadLetter, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// Entries read per page of a stream.
const PAGE: usize = 1_000;

/// What an erasure removed, per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    /// Campaigns whose number claim was removed.
    pub campaign_claims: u64,
    /// Citizen keys deleted (calls, visits earlier versions kept; opt-out
    /// and DNC when asked).
    pub citizen_keys: u64,
    /// Days whose visit bucket held the citizen's remembered visits.
    pub remembered_visits: u64,
    /// Opt-out and do-not-call keys kept (not asked to remove them).
    pub wishes_kept: u64,
    /// Dead letters that held the number, replaced by masked copies.
    pub dead_letters_masked: u64,
}

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Erasure {
    Done(Erased),
    /// Nothing removed: these jobs (keys) still hold the number, or
    /// `intake` entries not routed yet do.
    Live {
        jobs: Vec<String>,
        intake: u64,
    },
}

impl RedisStore {
    /// Erases what this store holds about `phone` (see the module docs);
    /// `wishes`: its opt-out and do-not-call entry too.
    pub async fn erase_number(&self, phone: &PhoneNumber, wishes: bool) -> Result<Erasure> {
        let jobs = self.jobs_holding(phone).await?;
        let intake = self.entries_holding(&self.keys.intake(), phone).await?;
        if !jobs.is_empty() || !intake.is_empty() {
            return Ok(Erasure::Live {
                jobs,
                intake: intake.len() as u64,
            });
        }
        let tag = self.keys.citizen_tag(phone);
        let mut erased = Erased {
            campaign_claims: self.drop_claims(&tag).await?,
            ..Erased::default()
        };
        let (deleted, kept) = self.drop_citizen_keys(&tag, wishes).await?;
        erased.citizen_keys = deleted;
        erased.wishes_kept = kept;
        erased.remembered_visits = self.drop_visits(&tag).await?;
        if wishes {
            let mut pipe = redis::pipe();
            pipe.cmd("ZREM").arg(self.keys.dnc_index()).arg(&tag);
            pipe.cmd("DEL").arg(self.keys.legacy_opt_out(phone));
            let (_, legacy): (u64, u64) = pipe.query_async(&mut self.conn.clone()).await?;
            erased.citizen_keys += legacy;
        }
        erased.dead_letters_masked = self.mask_dead_letters(phone).await?;
        Ok(Erasure::Done(erased))
    }

    /// The job keys whose contact still holds `phone`.
    async fn jobs_holding(&self, phone: &PhoneNumber) -> Result<Vec<String>> {
        let pattern = self.keys.job_pattern();
        let mut scan = self.key_scan().await?;
        let mut holding = Vec::new();
        while let Some(jobs) = self.scan_page(&mut scan, &pattern, Some("hash")).await? {
            if jobs.is_empty() {
                continue;
            }
            let mut pipe = redis::pipe();
            for key in &jobs {
                pipe.cmd("HMGET").arg(key).arg("spec").arg("c");
            }
            let stored: Vec<(Option<String>, Option<String>)> =
                pipe.query_async(&mut self.conn.clone()).await?;
            for (key, (spec, c)) in jobs.into_iter().zip(stored) {
                if stored_phone(spec.as_deref(), c.as_deref()).as_ref() == Some(phone) {
                    holding.push(key);
                }
            }
        }
        holding.sort_unstable();
        holding.dedup();
        Ok(holding)
    }

    /// Removes the number's claim in every campaign; how many there were.
    async fn drop_claims(&self, tag: &str) -> Result<u64> {
        let campaigns: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.campaign_index())
            .query_async(&mut self.conn.clone())
            .await?;
        let mut removed = 0;
        for id in campaigns {
            let Ok(id) = crate::domain::CampaignId::parse(&id) else {
                continue;
            };
            let (key, field) = self.keys.campaign_number(&id, tag);
            let n: u64 = redis::cmd("HDEL")
                .arg(key)
                .arg(field)
                .query_async(&mut self.conn.clone())
                .await?;
            removed += n;
        }
        Ok(removed)
    }

    /// Deletes the citizen's keys, keeping the opt-out and the do-not-call
    /// entry unless `wishes`: (deleted, kept).
    async fn drop_citizen_keys(&self, tag: &str, wishes: bool) -> Result<(u64, u64)> {
        let pattern = self.keys.citizen_pattern(tag);
        let wish_keys = [self.keys.opt_out(tag), self.keys.dnc(tag)];
        let mut scan = self.key_scan().await?;
        let (mut deleted, mut kept) = (0, 0);
        while let Some(keys) = self.scan_page(&mut scan, &pattern, None).await? {
            for key in keys {
                if !wishes && wish_keys.contains(&key) {
                    kept += 1;
                    continue;
                }
                let n: u64 = redis::cmd("DEL")
                    .arg(&key)
                    .query_async(&mut self.conn.clone())
                    .await?;
                deleted += n;
            }
        }
        Ok((deleted, kept))
    }

    /// Removes the citizen's field from every day's visit bucket it may be
    /// in; how many held it.
    async fn drop_visits(&self, tag: &str) -> Result<u64> {
        let pattern = self.keys.visit_bucket_pattern(tag);
        let field = self.keys.visit_field(tag);
        let mut scan = self.key_scan().await?;
        let mut removed = 0;
        while let Some(buckets) = self.scan_page(&mut scan, &pattern, Some("hash")).await? {
            for bucket in buckets {
                let n: u64 = redis::cmd("HDEL")
                    .arg(&bucket)
                    .arg(&field)
                    .query_async(&mut self.conn.clone())
                    .await?;
                removed += n;
            }
        }
        Ok(removed)
    }

    /// Replaces each dead letter mentioning `phone` with its masked copy.
    async fn mask_dead_letters(&self, phone: &PhoneNumber) -> Result<u64> {
        let key = self.keys.dead_letter();
        let found = self.entries_holding(&key, phone).await?;
        for (id, letter) in &found {
            let masked = letter.masked();
            // The copy first: a run cut short leaves both, never neither.
            let mut pipe = redis::pipe();
            pipe.cmd("XADD")
                .arg(&key)
                .arg("*")
                .arg("source")
                .arg(&masked.source)
                .arg("reason")
                .arg(&masked.reason)
                .arg("payload")
                .arg(&masked.payload)
                .ignore();
            pipe.cmd("XDEL").arg(&key).arg(id).ignore();
            pipe.exec_async(&mut self.conn.clone()).await?;
        }
        Ok(found.len() as u64)
    }

    /// The entries of `stream` whose fields mention `phone` (its national
    /// digits, written with or without separators), as dead letters.
    async fn entries_holding(
        &self,
        stream: &str,
        phone: &PhoneNumber,
    ) -> Result<Vec<(String, DeadLetter)>> {
        let digits: String = phone
            .as_str()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        // The last ten digits: the national number, however it was written.
        let national = &digits[digits.len().saturating_sub(10)..];
        let mut start = "-".to_owned();
        let mut found = Vec::new();
        loop {
            let page: StreamRangeReply = redis::cmd("XRANGE")
                .arg(stream)
                .arg(&start)
                .arg("+")
                .arg("COUNT")
                .arg(PAGE)
                .query_async(&mut self.conn.clone())
                .await?;
            let Some(last) = page.ids.last().map(|e| e.id.clone()) else {
                break;
            };
            for entry in &page.ids {
                let field = |name: &str| entry.get::<String>(name).unwrap_or_default();
                let text: String = entry
                    .map
                    .values()
                    .filter_map(|v| redis::from_redis_value::<String>(v.clone()).ok())
                    .collect::<Vec<_>>()
                    .join("\n");
                if only_digits(&text).contains(national) {
                    let letter = DeadLetter {
                        source: field("source"),
                        reason: field("reason"),
                        payload: field("payload"),
                    };
                    found.push((entry.id.clone(), letter));
                }
            }
            if page.ids.len() < PAGE {
                break;
            }
            start = format!("({last}");
        }
        Ok(found)
    }
}

/// `text` without the separators people write numbers with, so a number
/// written `98765 43210` or `+91-98765-43210` is found.
fn only_digits(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '_'))
        .collect()
}
