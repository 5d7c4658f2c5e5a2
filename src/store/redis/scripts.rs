//! The Lua scripts, compiled into the binary. Each job script is the shared
//! prelude (`lua/prelude.lua`: clock, counters, snapshot helpers) followed by
//! its own file, which opens with its KEYS/ARGV contract.

use redis::Script;

macro_rules! job_script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("../lua/prelude.lua"),
            include_str!(concat!("../lua/", $file))
        ))
    };
}

/// A script of the dial decision (`lua/authorize*`): the prelude, the
/// fragments that hold each check once (`authorize/limits.lua`, and for a
/// step on the job's shard `authorize/shard.lua`), then its own file.
macro_rules! authorize_script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("../lua/prelude.lua"),
            include_str!("../lua/authorize/limits.lua"),
            include_str!(concat!("../lua/", $file))
        ))
    };
    (shard: $file:literal) => {
        Script::new(concat!(
            include_str!("../lua/prelude.lua"),
            include_str!("../lua/authorize/limits.lua"),
            include_str!("../lua/authorize/shard.lua"),
            include_str!("../lua/authorize_slots/context.lua"),
            include_str!(concat!("../lua/", $file))
        ))
    };
}

/// `enqueue`'s source, which intake's pipelines load themselves
/// (`redis/enqueue.rs`: EVALSHA in a pipeline cannot fall back to EVAL).
pub(super) const ENQUEUE: &str = concat!(
    include_str!("../lua/prelude.lua"),
    include_str!("../lua/enqueue.lua")
);

/// `enqueue_ended`'s source, loaded by intake's pipelines themselves.
pub(super) const ENQUEUE_ENDED: &str = concat!(
    include_str!("../lua/prelude.lua"),
    include_str!("../lua/enqueue_ended.lua")
);

/// `record_visit`'s source, loaded by intake's pipelines themselves.
pub(super) const RECORD_VISIT: &str = concat!(
    include_str!("../lua/prelude.lua"),
    include_str!("../lua/record_visit.lua")
);

/// `claim_sample`'s source, loaded by intake's pipelines themselves.
pub(super) const CLAIM_SAMPLE: &str = include_str!("../lua/claim_sample.lua");

/// `claim_numbers`'s source, loaded by intake's pipelines themselves.
pub(super) const CLAIM_NUMBERS: &str = include_str!("../lua/claim_numbers.lua");

/// `end_number`'s source, loaded by the relay's pipelines themselves.
pub(super) const END_NUMBER: &str = include_str!("../lua/end_number.lua");

/// Every script the backend runs, loaded once per store.
pub(super) struct Scripts {
    pub enqueue: Script,
    pub read_ready: Script,
    /// Not a job script: no prelude.
    pub read_subjects: Script,
    pub promote_due: Script,
    /// Not a job script: no prelude.
    pub probe_shard: Script,
    /// The dial decision in one step (standalone and Sentinel).
    pub authorize: Script,
    /// The dial decision on a Redis Cluster, one script per slot
    /// (`redis/authorize_slots.rs`).
    pub authorize_slots: AuthorizeSlots,
    pub defer: Script,
    pub mark_originated: Script,
    pub requeue: Script,
    pub apply_status: Script,
    pub save_ivr: Script,
    pub finish: Script,
    pub extend_lease: Script,
    pub due_in_flight: Script,
    pub record_visit: Script,
    pub recent_visits: Script,
    pub intern_texts: Script,
    pub admit_inbound: Script,
    pub start_inbound: Script,
    pub campaign_control: Script,
    pub enqueue_ended: Script,
    pub dnc_put: Script,
    pub dnc_count: Script,
    pub intake_tally: Script,
    /// Not job scripts: no prelude.
    pub intake_read: Script,
    pub relay: Script,
    pub ack_outbox: Script,
    pub claim_sample: Script,
    pub end_number: Script,
    pub claim_numbers: Script,
    pub ack_escalation: Script,
    pub apply_scores: Script,
    pub reset_scores: Script,
    pub heartbeat: Script,
    pub put_officials: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Self {
            enqueue: Script::new(ENQUEUE),
            read_ready: job_script!("read_ready.lua"),
            read_subjects: Script::new(include_str!("../lua/read_subjects.lua")),
            promote_due: job_script!("promote_due.lua"),
            probe_shard: Script::new(include_str!("../lua/probe_shard.lua")),
            authorize: Script::new(concat!(
                include_str!("../lua/prelude.lua"),
                include_str!("../lua/authorize/limits.lua"),
                include_str!("../lua/authorize/shard.lua"),
                include_str!("../lua/authorize.lua")
            )),
            authorize_slots: AuthorizeSlots {
                job: authorize_script!(shard: "authorize_slots/job.lua"),
                citizen: authorize_script!("authorize_slots/citizen.lua"),
                fleet: authorize_script!("authorize_slots/fleet.lua"),
                grant: authorize_script!(shard: "authorize_slots/grant.lua"),
                refund: authorize_script!("authorize_slots/refund.lua"),
            },
            defer: job_script!("defer.lua"),
            mark_originated: job_script!("mark_originated.lua"),
            requeue: job_script!("requeue.lua"),
            apply_status: job_script!("apply_status.lua"),
            save_ivr: job_script!("save_ivr.lua"),
            finish: job_script!("finish.lua"),
            extend_lease: job_script!("extend_lease.lua"),
            due_in_flight: job_script!("due_in_flight.lua"),
            record_visit: Script::new(RECORD_VISIT),
            recent_visits: job_script!("recent_visits.lua"),
            intern_texts: job_script!("intern_texts.lua"),
            admit_inbound: job_script!("admit_inbound.lua"),
            start_inbound: job_script!("start_inbound.lua"),
            campaign_control: job_script!("campaign_control.lua"),
            enqueue_ended: Script::new(ENQUEUE_ENDED),
            dnc_put: job_script!("dnc_put.lua"),
            dnc_count: job_script!("dnc_count.lua"),
            intake_tally: job_script!("intake_tally.lua"),
            intake_read: Script::new(include_str!("../lua/intake_read.lua")),
            relay: Script::new(include_str!("../lua/relay.lua")),
            ack_outbox: Script::new(include_str!("../lua/ack_outbox.lua")),
            claim_sample: Script::new(CLAIM_SAMPLE),
            end_number: Script::new(END_NUMBER),
            claim_numbers: Script::new(CLAIM_NUMBERS),
            ack_escalation: Script::new(include_str!("../lua/ack_escalation.lua")),
            apply_scores: Script::new(include_str!("../lua/apply_scores.lua")),
            reset_scores: Script::new(include_str!("../lua/reset_scores.lua")),
            heartbeat: Script::new(include_str!("../lua/heartbeat.lua")),
            put_officials: Script::new(include_str!("../lua/put_officials.lua")),
        }
    }
}

impl Scripts {
    /// The scripts whose keys span Redis Cluster slots on a single node:
    /// `authorize` (the shard's keys with the citizen's, the fleet's and
    /// every shard's in-flight set), which the store never sends to a
    /// cluster, `end_number` and `claim_numbers` (every number of a relay
    /// pass, or of an intake batch, at once; one per call on a cluster) and
    /// `record_visit` (many citizens' visits at once; one per call on a
    /// cluster). The cross-slot guard (`slots.rs`) lets them
    /// through on a single node and refuses a call that spans slots on a
    /// cluster.
    pub fn single_node(&self) -> Vec<&Script> {
        vec![
            &self.authorize,
            &self.end_number,
            &self.claim_numbers,
            &self.record_visit,
        ]
    }
}

/// The dial decision's scripts on a Redis Cluster, one slot each, in the
/// order they run.
pub(super) struct AuthorizeSlots {
    /// The job's shard: what it decides alone, and the official's hold.
    pub job: Script,
    /// The citizen's slot: opt-outs and the do-not-call list, the caps.
    pub citizen: Script,
    /// The fleet's slot: department, live-call cap, provider.
    pub fleet: Script,
    /// The job's shard again: applies the verdict.
    pub grant: Script,
    /// The fleet's slot: gives back what `fleet` spent for a refused grant.
    pub refund: Script,
}
