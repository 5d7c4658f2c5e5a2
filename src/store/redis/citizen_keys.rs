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

/// Where a keyspace-wide SCAN is: the nodes to visit, the one it is on,
/// and that node's cursor.
pub(super) struct KeyScan {
    nodes: Vec<Option<(String, u16)>>,
    node: usize,
    cursor: u64,
}

impl KeyScan {
    fn done(&self) -> bool {
        self.node >= self.nodes.len()
    }
}

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
        let mut scan = self.key_scan().await?;
        let mut scanned = 0u64;
        while let Some(found) = self.scan_page(&mut scan, &pattern, None).await? {
            if !found.is_empty() {
                return Ok(LegacyOptOuts::Found);
            }
            scanned += BATCH as u64;
            if scanned >= budget && !scan.done() {
                return Ok(LegacyOptOuts::Unchecked);
            }
        }
        self.record_legacy_count(0).await?;
        Ok(LegacyOptOuts::None)
    }

    /// Moves every old opt-out marker whose number it can find (in a job's
    /// spec, or in `numbers`) to the keyed marker. Idempotent.
    pub async fn upgrade_legacy_opt_outs(&self, numbers: &[PhoneNumber]) -> Result<UpgradeReport> {
        let mut report = UpgradeReport::default();
        let pattern = self.keys.job_pattern();
        let mut scan = self.key_scan().await?;
        while let Some(jobs) = self.scan_page(&mut scan, &pattern, Some("hash")).await? {
            report.jobs += jobs.len() as u64;
            let phones = self.phones_of(&jobs).await?;
            report.migrated += self.migrate(&phones).await?;
        }
        for chunk in numbers.chunks(BATCH) {
            report.migrated += self.migrate(chunk).await?;
        }
        report.unmatched = self.count_legacy().await?;
        self.record_legacy_count(report.unmatched).await?;
        Ok(report)
    }

    /// A SCAN over the whole keyspace: every primary of a cluster in turn
    /// (the crate would send a plain SCAN to one node), else the one server.
    pub(super) async fn key_scan(&self) -> Result<KeyScan> {
        Ok(KeyScan {
            nodes: self.conn.clone().scan_nodes().await?,
            node: 0,
            cursor: 0,
        })
    }

    /// The next page of `scan` (keys matching `pattern`, of `of_type` if
    /// given), or `None` once every node's cursor came back to 0.
    pub(super) async fn scan_page(
        &self,
        scan: &mut KeyScan,
        pattern: &str,
        of_type: Option<&str>,
    ) -> Result<Option<Vec<String>>> {
        let Some(node) = scan.nodes.get(scan.node) else {
            return Ok(None);
        };
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(scan.cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(BATCH);
        if let Some(t) = of_type {
            cmd.arg("TYPE").arg(t);
        }
        let reply = self.conn.clone().on_node(node, &cmd).await?;
        let (next, keys): (u64, Vec<String>) =
            redis::from_redis_value(reply).map_err(redis::RedisError::from)?;
        if next == 0 {
            scan.node += 1;
        }
        scan.cursor = next;
        Ok(Some(keys))
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
        let mut phones: Vec<PhoneNumber> = specs
            .iter()
            .filter_map(|(spec, c)| stored_phone(spec.as_deref(), c.as_deref()))
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
        // The keyed markers first, in their own round trip (the two keys
        // may be in different cluster slots, where a pipeline keeps no
        // order): a run cut short between the two leaves both, and the next
        // run moves them again.
        let mut sets = redis::pipe();
        let mut dels = redis::pipe();
        for (phone, _) in phones.iter().zip(found).filter(|(_, f)| *f) {
            let tag = self.keys.citizen_tag(phone);
            sets.cmd("SET")
                .arg(self.keys.opt_out(&tag))
                .arg("1")
                .ignore();
            dels.cmd("DEL").arg(self.keys.legacy_opt_out(phone));
        }
        if dels.is_empty() {
            return Ok(0);
        }
        sets.exec_async(&mut self.conn.clone()).await?;
        let deleted: Vec<u64> = dels.query_async(&mut self.conn.clone()).await?;
        Ok(deleted.iter().sum())
    }

    /// Every old marker left, by a full SCAN (which may name a key twice).
    async fn count_legacy(&self) -> Result<u64> {
        let pattern = self.keys.legacy_opt_out_pattern();
        let mut scan = self.key_scan().await?;
        let mut left = HashSet::new();
        while let Some(found) = self.scan_page(&mut scan, &pattern, None).await? {
            left.extend(found);
        }
        Ok(left.len() as u64)
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

/// The citizen's number a job hash still holds, from its `spec` (an inbound
/// call's) or its compact contact `c` (`compact.rs`); `None` once the job
/// ended (the number is blanked) or for a job this version cannot read.
pub(super) fn stored_phone(spec: Option<&str>, c: Option<&str>) -> Option<PhoneNumber> {
    match (spec, c) {
        (Some(spec), _) => {
            let spec: serde_json::Value = serde_json::from_str(spec).ok()?;
            PhoneNumber::parse(spec.get("contact")?.get("phone")?.as_str()?).ok()
        }
        (None, Some(c)) => super::compact::PackedContact::parse(c)
            .ok()?
            .phone
            .and_then(|p| PhoneNumber::parse(&p).ok()),
        (None, None) => None,
    }
}
