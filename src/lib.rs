//! sampark: the call-orchestration daemon for citizen-feedback campaigns.
//!
//! | module | owns |
//! |---|---|
//! | [`config`] | typed settings from `config/*.toml` and `SAMPARK__*` env |
//! | [`domain`] | validated ids, phone numbers, campaigns, outcomes, feedback records |
//! | [`store`] | the Redis data model (Lua scripts) and the in-memory backend |
//! | [`dialplan`] | dialplan files and the pure IVR state machine |
//! | [`provider`] | the provider trait and the Twilio adapter |
//! | [`simulator`] | a Twilio-compatible provider emulator (demo, tests, benchmarks) |
//! | [`dnc`] | the do-not-call list as operators manage it: import format, expiries |
//! | [`intake`] | campaign documents from the intake stream into shards; the checks a submission makes before queueing; CSV contacts |
//! | [`registry`] | the officials' registry as operators manage it: import files (CSV, JSON), all-or-nothing imports, masked listings |
//! | [`policy`] | calling policy: the calling window (zone, weekdays, ranges, holidays) |
//! | [`accountability`] | scorecards counted once from the feedback stream, ranked reports (table, CSV, JSON), escalations as people read them |
//! | [`calls`] | the provider-neutral call core: IVR sessions, conclusions, inbound calls, callback URLs |
//! | [`dialer`] | the dispatch loop: policy, rate limits, originate, reconcile |
//! | [`daemon`] | wiring, start-up before Redis is reachable, the campaign log, the heartbeat, the ordered shutdown |
//! | [`webhook`] | the HTTP server: provider webhooks, admin API, metrics, health, the operator console |
//! | [`telemetry`] | tracing subscriber, named events, metrics registry |
//! | [`tls`] | TLS files read safely, server certificates reloaded in place, Redis client TLS |
//! | [`failpoint`] | named pause points for fault tests (feature `failpoints`) |
//! | [`cli`] | command-line commands |

pub mod accountability;
pub mod calls;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod dialer;
pub mod dialplan;
pub mod dnc;
pub mod domain;
pub mod failpoint;
pub mod intake;
pub mod policy;
pub mod provider;
pub mod registry;
pub mod simulator;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod webhook;
