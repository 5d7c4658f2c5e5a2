//! Citizen keys over the life of a Redis: which secret they are keyed under,
//! and the upgrade of the opt-out markers earlier versions wrote under a bare
//! SHA-256 tag (`Keys::legacy_opt_out`), which nothing reads any more.
//!
//! - The secret's fingerprint is recorded in `Keys::citizen_keys` by the
//!   first instance or tool that uses one; every later one compares, so an
//!   instance started with another secret (whose do-not-call entries and
//!   opt-outs would be invisible to it) is refused instead of calling
//!   citizens who asked not to be called.
//! - `upgrade_legacy_opt_outs` finds the number of each old marker through
//!   the job hashes (their spec holds the phone) and any numbers the operator
//!   gives, writes the keyed marker, then deletes the old one (so a run cut
//!   short is simply run again), and records how many old markers are left.
//! - `legacy_opt_outs` is the cheap check `serve` makes at start: that
//!   record, or else a SCAN bounded by a budget.

use std::collections::HashSet;

use super::connection::RedisStore;
use crate::domain::PhoneNumber;
use crate::store::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

/// Keys asked for per SCAN call, and numbers per pipeline.
const BATCH: usize = 1_000;

/// What the recorded fingerprint says about this store's secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyClaim {
    /// No secret was recorded: this one is now.
    Recorded,
    /// The recorded secret is this one.
    Matches,
    /// Another secret keyed this Redis's citizen keys.
    Mismatch,
}

/// Old opt-out markers, as far as a check could tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyOptOuts {
    /// None are left.
    None,
    /// The last upgrade left this many it could not match to a number.
    Unmatched(u64),
    /// Some exist and no upgrade has run.
    Found,
    /// The scan budget ran out before the keyspace did.
    Unchecked,
}

/// What an upgrade did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpgradeReport {
    /// Job hashes read.
    pub jobs: u64,
    /// Old markers moved to their keyed key (and deleted).
    pub migrated: u64,
    /// Old markers left: their number is in no job and was not given.
    pub unmatched: u64,
}

impl RedisStore {
    /// Records this store's secret, or compares it with the one recorded.
    pub async fn claim_citizen_key(&self) -> Result<KeyClaim> {
        let mine = self.keys.citizen_key().fingerprint();
        let key = self.keys.citizen_keys();
        let (set, recorded): (bool, String) = redis::pipe()
            .cmd("HSETNX")
            .arg(&key)
            .arg("fingerprint")
            .arg(&mine)
            .cmd("HGET")
            .arg(&key)
            .arg("fingerprint")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(match (set, recorded == mine) {
            (true, _) => KeyClaim::Recorded,
            (false, true) => KeyClaim::Matches,
            (false, false) => KeyClaim::Mismatch,
        })
    }

    /// Whether old opt-out markers are left: what the last upgrade (or
    /// complete check) recorded, else a SCAN of at most `budget` keys. A
    /// complete scan that finds none records that, so later checks are one
    /// read.
    pub async fn legacy_opt_outs(&self, budget: u64) -> Result<LegacyOptOuts> {
        let recorded: Option<u64> = redis::cmd("HGET")
            .arg(self.keys.citizen_keys())
            .arg("legacy_optouts")
            .query_async(&mut self.conn.clone())
            .await?;
        match recorded {
            Some(0) => return Ok(LegacyOptOuts::None),
            Some(n) => return Ok(LegacyOptOuts::Unmatched(n)),
            None => {}
        }
        let pattern = self.keys.legacy_opt_out_pattern();
        let mut cursor = 0u64;
        let mut scanned = 0u64;
        loop {
            let (next, found) = self.scan_page(cursor, &pattern, None).await?;
            if !found.is_empty() {
                return Ok(LegacyOptOuts::Found);
            }
            scanned += BATCH as u64;
            if next == 0 {
                self.record_legacy_count(0).await?;
                return Ok(LegacyOptOuts::None);
            }
            if scanned >= budget {
                return Ok(LegacyOptOuts::Unchecked);
            }
            cursor = next;
        }
    }

    /// Moves every old opt-out marker whose number it can find (in a job's
    /// spec, or in `numbers`) to the keyed marker. Idempotent.
    pub async fn upgrade_legacy_opt_outs(&self, numbers: &[PhoneNumber]) -> Result<UpgradeReport> {
        let mut report = UpgradeReport::default();
        let pattern = self.keys.job_pattern();
        let mut cursor = 0u64;
        loop {
            let (next, jobs) = self.scan_page(cursor, &pattern, Some("hash")).await?;
            report.jobs += jobs.len() as u64;
            let phones = self.phones_of(&jobs).await?;
            report.migrated += self.migrate(&phones).await?;
            if next == 0 {
                break;
            }
            cursor = next;
        }
        for chunk in numbers.chunks(BATCH) {
            report.migrated += self.migrate(chunk).await?;
        }
        report.unmatched = self.count_legacy().await?;
        self.record_legacy_count(report.unmatched).await?;
        Ok(report)
    }

    async fn scan_page(
        &self,
        cursor: u64,
        pattern: &str,
        of_type: Option<&str>,
    ) -> Result<(u64, Vec<String>)> {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(BATCH);
        if let Some(t) = of_type {
            cmd.arg("TYPE").arg(t);
        }
        Ok(cmd.query_async(&mut self.conn.clone()).await?)
    }

    /// The phone numbers in the specs of `jobs` (jobs without one, or with
    /// one this version cannot read, are skipped: they name no number).
    async fn phones_of(&self, jobs: &[String]) -> Result<Vec<PhoneNumber>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in jobs {
            pipe.cmd("HMGET").arg(key).arg("spec").arg("c");
        }
        let specs: Vec<(Option<String>, Option<String>)> =
            pipe.query_async(&mut self.conn.clone()).await?;
        // A compact job's number is in `c` (`compact.rs`); an inbound call's
        // in its spec.
        let mut phones: Vec<PhoneNumber> = specs
            .iter()
            .filter_map(|(spec, c)| match (spec, c) {
                (Some(spec), _) => {
                    let spec: serde_json::Value = serde_json::from_str(spec).ok()?;
                    PhoneNumber::parse(spec.get("contact")?.get("phone")?.as_str()?).ok()
                }
                (None, Some(c)) => super::compact::PackedContact::parse(c)
                    .ok()?
                    .phone
                    .and_then(|p| PhoneNumber::parse(&p).ok()),
                (None, None) => None,
            })
            .collect();
        phones.sort_unstable();
        phones.dedup();
        Ok(phones)
    }

    /// Moves the old markers of `phones` that exist; how many it moved.
    async fn migrate(&self, phones: &[PhoneNumber]) -> Result<u64> {
        if phones.is_empty() {
            return Ok(0);
        }
        let mut exists = redis::pipe();
        for phone in phones {
            exists.cmd("EXISTS").arg(self.keys.legacy_opt_out(phone));
        }
        let found: Vec<bool> = exists.query_async(&mut self.conn.clone()).await?;
        let mut moves = redis::pipe();
        let mut moving = 0;
        for (phone, _) in phones.iter().zip(found).filter(|(_, f)| *f) {
            // The keyed marker first: a run cut short between the two
            // leaves both, and the next run moves it again.
            let tag = self.keys.citizen_tag(phone);
            moves
                .cmd("SET")
                .arg(self.keys.opt_out(&tag))
                .arg("1")
                .ignore();
            moves.cmd("DEL").arg(self.keys.legacy_opt_out(phone));
            moving += 1;
        }
        if moving == 0 {
            return Ok(0);
        }
        let deleted: Vec<u64> = moves.query_async(&mut self.conn.clone()).await?;
        Ok(deleted.iter().sum())
    }

    /// Every old marker left, by a full SCAN (which may name a key twice).
    async fn count_legacy(&self) -> Result<u64> {
        let pattern = self.keys.legacy_opt_out_pattern();
        let mut cursor = 0u64;
        let mut left = HashSet::new();
        loop {
            let (next, found) = self.scan_page(cursor, &pattern, None).await?;
            left.extend(found);
            if next == 0 {
                return Ok(left.len() as u64);
            }
            cursor = next;
        }
    }

    async fn record_legacy_count(&self, count: u64) -> Result<()> {
        let now_ms = self.now_ms_impl().await?;
        redis::cmd("HSET")
            .arg(self.keys.citizen_keys())
            .arg("legacy_optouts")
            .arg(count)
            .arg("legacy_checked_at_ms")
            .arg(now_ms)
            .exec_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}
