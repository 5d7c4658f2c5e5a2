//! Every Redis key the daemon uses, built in one place.
//!
//! Per-shard keys carry the Cluster hash tag `{sNN}` so that one official's
//! jobs, GCRA state, counters and outbox share a slot and each script touches
//! one slot. Citizen keys are tagged by a keyed hash of the phone number
//! (HMAC-SHA256 under `policy.citizen_key_secret`), so the raw number never
//! appears in a key and nobody without the secret can find a number's keys
//! by enumerating the ~10^10 Indian numbers.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{SampleSlot, ShardId};
use crate::domain::{CampaignId, JobId, OfficialId, PhoneNumber};

/// The stable shard of an official: FNV-1a of the id, modulo the shard count.
pub fn shard_of(official: &OfficialId, shards: ShardId) -> ShardId {
    shard_of_str(official.as_str(), shards)
}

/// The stable shard of an inbound call's job (its calls have no official
/// until the caller says whom they are about): spread by the call id.
pub fn shard_of_call(call_sid: &str, shards: ShardId) -> ShardId {
    shard_of_str(call_sid, shards)
}

fn shard_of_str(text: &str, shards: ShardId) -> ShardId {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    // INVARIANT: the result is < shards, which fits in ShardId.
    (hash % u32::from(shards.max(1))) as ShardId
}

/// The tag earlier versions used in citizen keys: the first 16 hex digits of
/// a bare SHA-256 of the number, which anyone can reverse by enumeration.
/// Read only to honour and upgrade old opt-out markers
/// (`sampark dnc upgrade`).
pub fn legacy_phone_tag(phone: &PhoneNumber) -> String {
    let digest = Sha256::digest(phone.as_str().as_bytes());
    hex(&digest[..8])
}

/// `text` with Redis glob's special characters escaped, so a prefix
/// matches only itself in a SCAN pattern.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn keyed(secret: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
}

/// The secret that turns a phone number into its citizen tag.
#[derive(Clone)]
pub struct CitizenKey {
    /// The HMAC already keyed with the secret: each tag clones it, so the
    /// key's two padding blocks are hashed once, not once per number
    /// (intake tags every contact).
    keyed: Arc<Hmac<Sha256>>,
    development: bool,
}

/// The shortest secret accepted: 16 bytes (128 bits).
pub const MIN_CITIZEN_SECRET: usize = 16;

impl CitizenKey {
    /// A key from an operator's secret; `Err` says why it is unusable.
    pub fn new(secret: &str) -> Result<CitizenKey, String> {
        if secret.len() < MIN_CITIZEN_SECRET {
            return Err(format!(
                "the citizen key secret must be at least {MIN_CITIZEN_SECRET} bytes (it is {})",
                secret.len()
            ));
        }
        Ok(CitizenKey {
            keyed: Arc::new(keyed(secret.as_bytes())),
            development: false,
        })
    }

    /// The fixed key of stores nobody gave a secret: the in-process demo
    /// store and tests. `serve` refuses to start with it on Redis.
    pub fn development() -> CitizenKey {
        CitizenKey {
            keyed: Arc::new(keyed(b"sampark-development-citizen-key")),
            development: true,
        }
    }

    pub fn is_development(&self) -> bool {
        self.development
    }

    /// A fingerprint of the secret (HMAC of a fixed text under it, 8 bytes
    /// in hex): recorded in Redis so that every instance and tool sharing it
    /// can tell they use the same secret, without storing the secret.
    pub fn fingerprint(&self) -> String {
        let mut mac = Hmac::clone(&self.keyed);
        mac.update(b"sampark citizen-key fingerprint v1");
        hex(&mac.finalize().into_bytes()[..8])
    }

    /// The number's tag: HMAC-SHA256 under the secret, first 16 bytes in hex.
    pub fn tag(&self, phone: &PhoneNumber) -> String {
        let mut mac = Hmac::clone(&self.keyed);
        mac.update(phone.as_str().as_bytes());
        hex(&mac.finalize().into_bytes()[..16])
    }
}

impl std::fmt::Debug for CitizenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.development {
            "CitizenKey(development)"
        } else {
            "CitizenKey(..)"
        })
    }
}

/// What `move_count` (`lua/prelude.lua`) appends to a counts key to name
/// its per-official counts. Ids cannot hold `:`, so no campaign's counts key
/// ends with it.
const OFFICIAL_COUNTS_SUFFIX: &str = ":officials";

/// The hex digits of a citizen tag that name its visit bucket of a day
/// (`Keys::visit_bucket`): 4,096 buckets a day. With 256, a bucket held
/// ~780 citizens at 200,000 visits a day: Redis kept each a listpack for
/// its first 512 (`hash-max-listpack-entries` as compiled in; 128 in its
/// sample configuration), where every insertion scans and moves the whole
/// of it, then a hash table of ~130 bytes a citizen. Measured in intake:
/// `HSETNX` 4.5–5.0 µs a call then, 2.5–2.9 µs with 4,096, and the
/// buckets 73 bytes a citizen instead of 130 with the visit packed as it
/// was then (docs/performance.md, "Visit buckets").
const VISIT_BUCKET_DIGITS: usize = 3;

/// A list of contacts parked at ingest: one per (shard, campaign, opening
/// of the campaign's calling window), so that a parked contact costs a
/// list element (~22 bytes) instead of a delayed-set member (~120; see
/// docs/architecture.md, "The compact job").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParkList {
    pub campaign: CampaignId,
    /// When the window opens (ms): the member's score.
    pub opens_ms: i64,
}

impl ParkList {
    /// The list's member in its shard's delayed set: `<campaign>/:<opening
    /// ms>`. A job id is `<campaign>/<contact>` and a contact id holds no
    /// `:`, so no job id is ever read as a list; and the member starts with
    /// `<campaign>/` as the campaign's job ids do, so one `ZSCAN ... MATCH
    /// <campaign>/*` finds both.
    pub fn member(&self) -> String {
        format!("{}/{PARK_LIST_MARK}{}", self.campaign, self.opens_ms)
    }

    /// A `ZSCAN` pattern for the members of the campaign's lists (an id
    /// holds none of glob's special characters).
    pub fn member_pattern(campaign: &CampaignId) -> String {
        format!("{campaign}/{PARK_LIST_MARK}*")
    }

    /// The list a delayed-set member names; `None` for a job id (or any
    /// other member).
    pub fn parse(member: &str) -> Option<ParkList> {
        let (campaign, rest) = member.split_once('/')?;
        let opens_ms = rest.strip_prefix(PARK_LIST_MARK)?.parse().ok()?;
        Some(ParkList {
            campaign: CampaignId::parse(campaign).ok()?,
            opens_ms,
        })
    }
}

/// What follows `<campaign>/` in a park list's member, where a job id has
/// its contact id (which can never hold it).
const PARK_LIST_MARK: char = ':';

/// What follows a shard's start in its job keys and in its counts keys
/// (each written by the key and by its prefix for scripts).
const JOB_PART: &str = ":job:";
const COUNTS_PART: &str = ":counts:";

/// `<prefix>:{sNN}`, the start of a shard's keys (its hash tag).
struct ShardStart<'a>(&'a str, ShardId);

impl std::fmt::Display for ShardStart<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{{s{:02}}}", self.0, self.1)
    }
}

/// Key builder for one prefix (`sampark` by default).
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
    citizen: CitizenKey,
}

impl Keys {
    /// Keys under `prefix`, citizen keys under the development key.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            citizen: CitizenKey::development(),
        }
    }

    /// Citizen keys under `key` from now on.
    pub fn with_citizen_key(mut self, key: CitizenKey) -> Self {
        self.citizen = key;
        self
    }

    pub fn citizen_key(&self) -> &CitizenKey {
        &self.citizen
    }

    /// The citizen tag of a number (see [`CitizenKey::tag`]).
    pub fn citizen_tag(&self, phone: &PhoneNumber) -> String {
        self.citizen.tag(phone)
    }

    /// Intake stream of campaign documents (consumer group `intake`).
    pub fn intake(&self) -> String {
        format!("{}:campaigns", self.prefix)
    }

    /// Dead-letter stream of refused documents and contacts.
    pub fn dead_letter(&self) -> String {
        format!("{}:deadletter", self.prefix)
    }

    /// The downstream feedback stream.
    pub fn feedback(&self) -> String {
        format!("{}:feedback", self.prefix)
    }

    /// The dedupe marker of a relayed feedback record (a string with a TTL;
    /// see `redis/results.rs`).
    ///
    /// Redis Cluster hashes only the part of a key between the first `{` and
    /// the first `}` after it, when that part is not empty; a key without
    /// such a tag is hashed whole. The feedback stream's name has no braces
    /// (the prefix may not hold any), so it is hashed whole, and this key's
    /// tag is exactly that name: `{sampark:feedback}:relayed:<id>` hashes
    /// `sampark:feedback`, the stream's slot, whatever the record id holds
    /// after the tag. So the relay script touches one slot.
    pub fn relayed(&self, record_id: &str) -> String {
        format!("{{{}}}:relayed:{record_id}", self.feedback())
    }

    /// The escalation stream (one `escalation` JSON field per entry), written
    /// by the relay with the record that raised it.
    ///
    /// The relay script writes the four escalation keys in the step that
    /// appends the record, so they carry the feedback stream's name as their
    /// hash tag (`{sampark:feedback}:escalations…`, as [`Keys::relayed`]):
    /// one slot on a Redis Cluster.
    pub fn escalations(&self) -> String {
        format!("{{{}}}:escalations", self.feedback())
    }

    /// Hash: escalation id → its entry id in the escalation stream. Never
    /// shrinks while the stream is kept: it is what makes a second
    /// escalation for one record impossible.
    pub fn escalation_ids(&self) -> String {
        format!("{}:ids", self.escalations())
    }

    /// Hash: escalation id → escalation JSON, for the open ones only.
    pub fn escalations_open(&self) -> String {
        format!("{}:open", self.escalations())
    }

    /// Hash: escalation id → acknowledgement JSON.
    pub fn escalation_acks(&self) -> String {
        format!("{}:acks", self.escalations())
    }

    /// The scorecards' keys share the tag `{<prefix>:scores}` (one slot), so
    /// the script that counts a batch touches one slot: this prefix, then
    /// `cursor`, `days`, or `<dimension>:<YYYY-MM-DD>` (a hash: entity →
    /// tally JSON).
    pub fn scores_prefix(&self) -> String {
        format!("{{{}:scores}}:", self.prefix)
    }

    /// The instances alive lately (hash: instance name → last heartbeat,
    /// Unix ms; `heartbeat.lua`).
    pub fn instances(&self) -> String {
        format!("{}:instances", self.prefix)
    }

    /// The wakes instances leave each other (`store/work.rs`, `redis/wake.rs`).
    pub fn wakes(&self) -> String {
        format!("{}:wakes", self.prefix)
    }

    /// The epoch marker (hash: `id`, `accepted_at_ms`, `hold`, `held_at_ms`;
    /// see `store/guard.rs`).
    pub fn epoch(&self) -> String {
        format!("{}:epoch", self.prefix)
    }

    /// Where a campaign remembers which contact holds a number, so a number
    /// listed twice is called once: the key of one of 4,096 buckets (the
    /// first three hex digits of the citizen tag) and the field in it (the
    /// next thirteen: with the bucket, 64 bits of the tag). Buckets keep each
    /// hash small enough for Redis's compact encoding up to about half a
    /// million contacts per campaign (see docs/architecture.md, "Redis keys").
    pub fn campaign_number(&self, id: &CampaignId, citizen_tag: &str) -> (String, String) {
        let bucket = citizen_tag.get(..3).unwrap_or(citizen_tag);
        let field = citizen_tag.get(3..16).unwrap_or_default();
        (
            format!("{}:campaign:{id}:numbers:{bucket}", self.prefix),
            field.to_owned(),
        )
    }

    /// The contacts holding a place in one (campaign, office, day) of a
    /// `max_per_office_per_day` sample (set of contact ids). The office is
    /// named by the first 8 bytes of its SHA-256 in hex: office names are
    /// free text of any length.
    pub fn sample_slot(&self, slot: &SampleSlot) -> String {
        let office = Sha256::digest(slot.office.as_bytes());
        format!(
            "{}:campaign:{}:sample:{}:{}",
            self.prefix,
            slot.campaign,
            slot.day,
            hex(&office[..8])
        )
    }

    /// A campaign's intake tally (hash: `documents_accepted`,
    /// `documents_refused`, `contacts_refused`). With the two keys below it
    /// carries the hash tag `{intake:<id>}`, so `intake_tally.lua` touches
    /// one slot.
    pub fn intake_tally(&self, id: &CampaignId) -> String {
        format!("{}:{{intake:{id}}}:tally", self.prefix)
    }

    /// The intake entries counted in a campaign's tally (set), so an entry
    /// ingested again after a crash is not counted twice.
    pub fn intake_counted(&self, id: &CampaignId) -> String {
        format!("{}:{{intake:{id}}}:counted", self.prefix)
    }

    /// A campaign's newest intake refusals (list of JSON, newest first).
    pub fn intake_refusals(&self, id: &CampaignId) -> String {
        format!("{}:{{intake:{id}}}:refusals", self.prefix)
    }

    /// The hash tag of the fleet-wide limits (the department's quotas, the
    /// provider's rate, the live calls): one slot, so a Redis Cluster
    /// decides them in one script.
    fn fleet(&self) -> String {
        format!("{{{}:fleet}}", self.prefix)
    }

    /// The provider's calls-per-second GCRA state, shared by every instance.
    pub fn provider_rate(&self) -> String {
        format!("{}:provider:cps", self.fleet())
    }

    /// The outbound calls granted and not known to be over, on a Redis
    /// Cluster (ZSET, member `<shard>|<job id>#<attempt>`, score when
    /// granted, ms), for the live-call cap: members whose attempt is no
    /// longer live are pruned when the cap is reached
    /// (`redis/authorize_slots.rs`). A single node counts the in-flight
    /// sets instead.
    pub fn live_calls(&self) -> String {
        format!("{}:live", self.fleet())
    }

    /// Every campaign id ever stored (set), for `campaign list`.
    pub fn campaign_index(&self) -> String {
        format!("{}:campaign_index", self.prefix)
    }

    /// Campaign header (hash: `header`; `state` and `hangup` once an
    /// operator paused or cancelled it).
    pub fn campaign(&self, id: &CampaignId) -> String {
        format!("{}:campaign:{id}", self.prefix)
    }

    /// A shard's keys' common start, `<prefix>:{sNN}`, written into the
    /// key being built (no string of its own: the dialer and the webhooks
    /// build several keys per call).
    fn shard(&self, shard: ShardId) -> ShardStart<'_> {
        ShardStart(&self.prefix, shard)
    }

    /// Ready stream of a shard (consumer group `dialers`).
    pub fn ready(&self, shard: ShardId) -> String {
        format!("{}:ready", self.shard(shard))
    }

    /// Ready stream of a shard's urgent campaigns, read before the other.
    pub fn ready_urgent(&self, shard: ShardId) -> String {
        format!("{}:ready:urgent", self.shard(shard))
    }

    /// The ready stream an entry was read from.
    pub fn ready_of(&self, shard: ShardId, urgent: bool) -> String {
        if urgent {
            self.ready_urgent(shard)
        } else {
            self.ready(shard)
        }
    }

    /// Delayed ZSET of a shard: member job id, score due time (ms).
    pub fn delayed(&self, shard: ShardId) -> String {
        format!("{}:delayed", self.shard(shard))
    }

    /// A shard's list of the contacts of one campaign parked at ingest
    /// until one opening of their calling window (bare job ids, in order
    /// of ingest). Its one member in the delayed set is
    /// [`ParkList::member`], scored at the opening; the list is promoted
    /// from its head and the member removed once it is empty
    /// (`promote_due.lua`).
    pub fn park_list(&self, shard: ShardId, list: &ParkList) -> String {
        format!(
            "{}:parkq:{}:{}",
            self.shard(shard),
            list.campaign,
            list.opens_ms
        )
    }

    /// In-flight ZSET of a shard: member job id, score reconcile deadline (ms).
    pub fn inflight(&self, shard: ShardId) -> String {
        format!("{}:inflight", self.shard(shard))
    }

    /// Job hash.
    pub fn job(&self, shard: ShardId, id: &JobId) -> String {
        self.job_by_name(shard, id)
    }

    /// `job` for a job id as read back from a set, a list or a stream
    /// (which may not parse as a [`JobId`]: a script then finds nothing
    /// under its key).
    pub fn job_by_name(&self, shard: ShardId, id: impl std::fmt::Display) -> String {
        format!("{}{JOB_PART}{id}", self.shard(shard))
    }

    /// The job keys of a shard without the job id, for scripts that address
    /// jobs by the ids they find in a set.
    pub fn job_prefix(&self, shard: ShardId) -> String {
        format!("{}{JOB_PART}", self.shard(shard))
    }

    /// An official's held queue: its jobs waiting for its GCRA, in order
    /// (members: job id, citizen tag, department, urgency, tab-separated).
    pub fn held(&self, shard: ShardId, official: &OfficialId) -> String {
        self.held_by_name(shard, official.as_str())
    }

    /// `held` for an official id as read back from the schedule.
    pub fn held_by_name(&self, shard: ShardId, official: &str) -> String {
        format!("{}:held:{official}", self.shard(shard))
    }

    /// The shard's schedule: official → when its held queue's head may be
    /// promoted (ms); present only while the queue is not empty or a job of
    /// the official made ready awaits its decision.
    pub fn schedule(&self, shard: ShardId) -> String {
        format!("{}:sched", self.shard(shard))
    }

    /// Per-official GCRA state (TAT in microseconds).
    pub fn gcra(&self, shard: ShardId, official: &OfficialId) -> String {
        format!("{}:gcra:{official}", self.shard(shard))
    }

    /// Per-shard, per-campaign counts by state (hash), and the campaign's
    /// office and service texts in that shard, interned: `=<text>` → id,
    /// `#<id>` → text, `#` → the last id given (`intern` in
    /// `lua/prelude.lua`; `redis/compact.rs`). No state name starts with `=`
    /// or `#`.
    pub fn counts(&self, shard: ShardId, campaign: &CampaignId) -> String {
        format!("{}{COUNTS_PART}{campaign}", self.shard(shard))
    }

    /// Per-shard, per-campaign counts by official and state (hash: field
    /// `<official>|<state>`). The scripts name it from the counts key
    /// (`move_count` in `lua/prelude.lua` appends `:officials`), so every
    /// script that moves a count keeps it in step without another key
    /// argument; it shares the counts key's hash tag.
    pub fn official_counts(&self, shard: ShardId, campaign: &CampaignId) -> String {
        format!("{}{OFFICIAL_COUNTS_SUFFIX}", self.counts(shard, campaign))
    }

    /// The counts keys of a shard without the campaign id.
    pub fn counts_prefix(&self, shard: ShardId) -> String {
        format!("{}{COUNTS_PART}", self.shard(shard))
    }

    /// Campaigns cancelled with `--hangup` whose calls may still be live (set).
    pub fn hangup_requests(&self) -> String {
        format!("{}:hangup_requests", self.prefix)
    }

    /// Per-shard operator states of campaigns (hash: campaign → `paused` |
    /// `cancelled`; absent = active), read by `authorize.lua`.
    pub fn campaign_states(&self, shard: ShardId) -> String {
        format!("{}:campaign_states", self.shard(shard))
    }

    /// A paused campaign's parked jobs in a shard (set of job ids).
    pub fn parked(&self, shard: ShardId, campaign: &CampaignId) -> String {
        format!("{}:parked:{campaign}", self.shard(shard))
    }

    /// Per-shard outbox stream of feedback records (consumer group `relay`).
    pub fn outbox(&self, shard: ShardId) -> String {
        format!("{}:outbox", self.shard(shard))
    }

    fn citizen(&self, tag: &str) -> String {
        format!("{}:citizen:{{{tag}}}", self.prefix)
    }

    /// A citizen's opt-out marker (a string, no expiry), by citizen tag.
    pub fn opt_out(&self, tag: &str) -> String {
        format!("{}:optout", self.citizen(tag))
    }

    /// The opt-out marker earlier versions wrote, under the bare SHA-256 tag.
    pub fn legacy_opt_out(&self, phone: &PhoneNumber) -> String {
        format!("{}:optout", self.citizen(&legacy_phone_tag(phone)))
    }

    /// A citizen's do-not-call entry (hash: `reason`, `added_at_ms`,
    /// `expires_at_ms`; the key expires with the entry), by citizen tag.
    pub fn dnc(&self, tag: &str) -> String {
        format!("{}:dnc", self.citizen(tag))
    }

    /// The do-not-call index, for counting the list: ZSET, member citizen
    /// tag, score when its entry lapses (ms; `+inf`: never). Lapsed members
    /// are pruned when the list is counted.
    pub fn dnc_index(&self) -> String {
        format!("{}:dnc_index", self.prefix)
    }

    /// What this Redis knows about citizen keys (hash: `fingerprint` of the
    /// secret they are keyed under; `legacy_optouts`, the old opt-out
    /// markers left after the last check or upgrade, and
    /// `legacy_checked_at_ms`).
    pub fn citizen_keys(&self) -> String {
        format!("{}:citizen_keys", self.prefix)
    }

    /// A SCAN pattern for the opt-out markers of earlier versions (their
    /// tag is 16 hex digits; keyed tags have 32).
    pub fn legacy_opt_out_pattern(&self) -> String {
        let tag = "[0-9a-f]".repeat(16);
        format!("{}:citizen:{{{tag}}}:optout", glob_escape(&self.prefix))
    }

    /// A SCAN pattern for every key of one citizen (opt-out, do-not-call
    /// entry, placed calls, visits, and any kept under the tag later).
    pub fn citizen_pattern(&self, tag: &str) -> String {
        format!(
            "{}:citizen:{{{}}}:*",
            glob_escape(&self.prefix),
            glob_escape(tag)
        )
    }

    /// A SCAN pattern for every job hash of every shard.
    pub fn job_pattern(&self) -> String {
        format!("{}:{{s*}}:job:*", glob_escape(&self.prefix))
    }

    /// A citizen's placed calls in the last week, across all campaigns: ZSET,
    /// member `<job id>#<attempt>`, score when the dial was authorised (ms).
    pub fn citizen_calls(&self, tag: &str) -> String {
        format!("{}:calls", self.citizen(tag))
    }

    /// Where earlier versions remembered a citizen's visits: a ZSET of
    /// the citizen's own, member the visit packed short, score when it was
    /// remembered (ms). Still read (and erased with the citizen's keys)
    /// until the last of them expires, `inbound.lookback_days` after it
    /// was written.
    pub fn visits(&self, phone: &PhoneNumber) -> String {
        format!("{}:visits", self.citizen(&self.citizen_tag(phone)))
    }

    /// Where the visits a citizen made known on `day` (days since the Unix
    /// epoch, UTC) are remembered: one of the day's 4,096 buckets (a hash;
    /// the first three hex digits of the citizen tag, also the bucket's
    /// hash tag, so that a citizen's days share a slot), the citizen's
    /// field in it `visit_field`'s. A bucket expires whole once its day is
    /// past the lookback, so a citizen costs a field, not a key with an
    /// expiry of its own; and a bucket holds few enough citizens (~50 at
    /// 200,000 visits a day, 128 at half a million) to stay a small
    /// listpack, quick to insert into (`lua/record_visit.lua`).
    pub fn visit_bucket(&self, citizen_tag: &str, day: i64) -> String {
        let bucket = citizen_tag
            .get(..VISIT_BUCKET_DIGITS)
            .unwrap_or(citizen_tag);
        format!("{}:visits:{{v{bucket}}}:{day}", self.prefix)
    }

    /// A citizen's field in every day's visit bucket (`visit_bucket`): the
    /// tag's next sixteen hex digits as the 8 bytes they spell (with the
    /// bucket's three digits, 76 bits of the tag), not as 16 characters.
    pub fn visit_field(&self, citizen_tag: &str) -> Vec<u8> {
        let digits = citizen_tag
            .get(VISIT_BUCKET_DIGITS..VISIT_BUCKET_DIGITS + 16)
            .unwrap_or_default();
        (0..digits.len() / 2)
            .filter_map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).ok())
            .collect()
    }

    /// A SCAN pattern for every day's visit bucket a citizen's visits may
    /// be in (`visit_bucket`'s, any day).
    pub fn visit_bucket_pattern(&self, citizen_tag: &str) -> String {
        let bucket = citizen_tag
            .get(..VISIT_BUCKET_DIGITS)
            .unwrap_or(citizen_tag);
        format!(
            "{}:visits:{{v{}}}:*",
            glob_escape(&self.prefix),
            glob_escape(bucket)
        )
    }

    /// The department, office and service texts that visits name by id
    /// (hash: `=<text>` → id, `#<id>` → text, `#` → the last id given;
    /// `intern` in `lua/prelude.lua`), so a visit stays short.
    pub fn visit_texts(&self) -> String {
        format!("{}:visit_texts", self.prefix)
    }

    /// The fleet's live inbound calls: ZSET, member call id, score the time
    /// after which the entry no longer counts (ms).
    pub fn inbound_live(&self) -> String {
        format!("{}:inbound:live", self.prefix)
    }

    /// The officials' registry (hash: official id → the official as compact
    /// JSON, `Official::to_stored`, the number in full so the daemon can
    /// dial it). No index: a listing reads the hash whole and filters, as
    /// a registry holds thousands of officials, not millions.
    pub fn officials(&self) -> String {
        format!("{}:officials", self.prefix)
    }

    /// Per-department GCRA state (TAT in microseconds), fleet-wide.
    pub fn department_gcra(&self, department: &str) -> String {
        format!("{}:department:{department}:gcra", self.fleet())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_is_stable_and_in_range() {
        let o = OfficialId::parse("off-17").unwrap();
        assert_eq!(shard_of(&o, 16), shard_of(&o, 16));
        for i in 0..200 {
            let o = OfficialId::parse(&format!("off-{i}")).unwrap();
            assert!(shard_of(&o, 16) < 16);
        }
    }

    #[test]
    fn shard_keys_share_a_hash_tag() {
        let k = Keys::new("sampark");
        let o = OfficialId::parse("off-1").unwrap();
        let j = JobId::parse("camp/c-1").unwrap();
        assert_eq!(k.ready(3), "sampark:{s03}:ready");
        assert_eq!(k.job(3, &j), "sampark:{s03}:job:camp/c-1");
        assert_eq!(k.gcra(3, &o), "sampark:{s03}:gcra:off-1");
        let c = CampaignId::parse("camp").unwrap();
        assert_eq!(
            k.official_counts(3, &c),
            format!("{}:officials", k.counts(3, &c))
        );
        let prelude = include_str!("lua/prelude.lua");
        assert!(
            prelude.contains(&format!("counts_key .. '{OFFICIAL_COUNTS_SUFFIX}'")),
            "the scripts derive the same key"
        );
    }

    #[test]
    fn a_citizens_visit_bucket_and_field_split_its_tag() {
        let k = Keys::new("sampark");
        let tag = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
        assert_eq!(k.visit_bucket(tag, 20_424), "sampark:visits:{v0a1}:20424");
        assert_eq!(
            k.visit_field(tag),
            [0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29]
        );
        assert_eq!(k.visit_bucket_pattern(tag), "sampark:visits:{v0a1}:*");
    }

    #[test]
    fn park_list_members_are_never_job_ids() {
        let k = Keys::new("sampark");
        let list = ParkList {
            campaign: CampaignId::parse("police-1").unwrap(),
            opens_ms: 1_764_561_600_000,
        };
        let member = list.member();
        assert_eq!(member, "police-1/:1764561600000");
        assert!(JobId::parse(&member).is_err(), "{member}");
        assert_eq!(ParkList::parse(&member), Some(list.clone()));
        assert_eq!(ParkList::parse("police-1/c-1"), None);
        assert_eq!(ParkList::parse("police-1/:soon"), None);
        assert_eq!(ParkList::parse("police 1/:1"), None);
        assert_eq!(
            k.park_list(3, &list),
            "sampark:{s03}:parkq:police-1:1764561600000"
        );
        assert_eq!(hashed_part(&k.park_list(3, &list)), "s03");
    }

    #[test]
    fn sample_slots_name_the_office_by_a_hash() {
        let k = Keys::new("sampark");
        let slot = |office: &str, day: &str| SampleSlot {
            campaign: CampaignId::parse("camp").unwrap(),
            office: office.into(),
            day: day.into(),
        };
        let key = k.sample_slot(&slot("Puri Sadar PS {x}", "2026-11-27"));
        assert!(
            key.starts_with("sampark:campaign:camp:sample:2026-11-27:"),
            "{key}"
        );
        assert_eq!(
            key.len(),
            "sampark:campaign:camp:sample:2026-11-27:".len() + 16
        );
        assert!(!key.contains("Puri"), "{key}");
        assert_ne!(key, k.sample_slot(&slot("Puri Sadar PS", "2026-11-27")));
        assert_ne!(key, k.sample_slot(&slot("Puri Sadar PS {x}", "2026-11-28")));
    }

    /// Redis Cluster's hash-tag rule: the part between the first `{` and the
    /// first `}` after it, if non-empty; otherwise the whole key.
    fn hashed_part(key: &str) -> &str {
        if let Some(open) = key.find('{')
            && let Some(len) = key[open + 1..].find('}')
            && len > 0
        {
            return &key[open + 1..open + 1 + len];
        }
        key
    }

    #[test]
    fn fleet_limits_share_one_hash_tag() {
        let keys = Keys::new("sampark");
        for key in [
            keys.provider_rate(),
            keys.department_gcra("home"),
            keys.live_calls(),
        ] {
            assert_eq!(hashed_part(&key), "sampark:fleet", "{key}");
        }
    }

    #[test]
    fn relay_markers_share_the_feedback_stream_slot() {
        let k = Keys::new("sampark");
        assert_eq!(
            k.relayed("police-1/c-1"),
            "{sampark:feedback}:relayed:police-1/c-1"
        );
        for id in ["police-1/c-1", "inbound/CA{x}", "a}b{c"] {
            assert_eq!(hashed_part(&k.relayed(id)), hashed_part(&k.feedback()));
        }
        assert_eq!(hashed_part(&k.feedback()), "sampark:feedback");
    }

    #[test]
    fn citizen_keys_hide_the_number_under_the_secret() {
        let p = PhoneNumber::parse("+919876543210").unwrap();
        let ours = Keys::new("sampark")
            .with_citizen_key(CitizenKey::new("a secret of 32 bytes, more or less").unwrap());
        let theirs = Keys::new("sampark")
            .with_citizen_key(CitizenKey::new("another secret of enough length").unwrap());
        let tag = ours.citizen_tag(&p);
        assert_eq!(tag.len(), 32);
        assert_eq!(tag, ours.citizen_tag(&p), "stable");
        assert_ne!(tag, theirs.citizen_tag(&p), "keyed");
        assert_ne!(tag[..16], legacy_phone_tag(&p), "not the bare hash");
        for key in [
            ours.opt_out(&tag),
            ours.dnc(&tag),
            ours.citizen_calls(&tag),
            ours.visits(&p),
        ] {
            assert!(!key.contains("9876543210"), "{key}");
            assert_eq!(hashed_part(&key), tag);
        }
        assert!(CitizenKey::new("short").is_err());
    }

    #[test]
    fn fingerprints_tell_secrets_apart_without_showing_them() {
        let secret = "a secret of 32 bytes, more or less";
        let one = CitizenKey::new(secret).unwrap();
        assert_eq!(
            one.fingerprint(),
            CitizenKey::new(secret).unwrap().fingerprint()
        );
        assert_ne!(
            one.fingerprint(),
            CitizenKey::new("another secret of enough length")
                .unwrap()
                .fingerprint()
        );
        assert_ne!(one.fingerprint(), CitizenKey::development().fingerprint());
        assert_eq!(one.fingerprint().len(), 16);
        assert!(!one.fingerprint().contains("secret"));
    }

    #[test]
    fn scan_patterns_escape_the_prefix() {
        let k = Keys::new("sam*park");
        assert_eq!(k.job_pattern(), "sam\\*park:{s*}:job:*");
        let legacy = k.legacy_opt_out_pattern();
        assert!(
            legacy.starts_with("sam\\*park:citizen:{[0-9a-f]"),
            "{legacy}"
        );
        assert!(legacy.ends_with("[0-9a-f]}:optout"), "{legacy}");
        assert_eq!(legacy.matches("[0-9a-f]").count(), 16);
    }
}
