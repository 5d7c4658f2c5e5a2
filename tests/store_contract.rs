//! The store contract: one suite, run against every backend.
//!
//! Each contract is an `async fn(Arc<dyn Store>)`; `backend!` turns the list
//! of contracts into one `#[tokio::test]` per backend. Durations are short
//! and waits poll with `eventually`, so no verdict depends on machine speed.

//!
//! | file | contracts |
//! |---|---|
//! | `store_contract/intake.rs` | intake, dead letters, campaigns (with their calling windows), enqueue, citizens, intake tallies |
//! | `store_contract/lifecycle.rs` | dial → IVR → finish → feedback, retry, requeue, defer, a machine pick-up |
//! | `store_contract/fences.rs` | GCRA, stale fences, status ranking, leases, reclaim, instances' heartbeats |
//! | `store_contract/control.rs` | pause, resume, cancel |
//! | `store_contract/parking.rs` | contacts parked at ingest outside their window: promoted in batches, waiting, cancelled |
//! | `store_contract/limits.rs` | the one authorising step: citizen caps and refunds, opt-outs, department quotas, the live-call cap, the provider's rate, priority |
//! | `store_contract/freshness.rs` | deadlines at authorisation and retry |
//! | `store_contract/inbound.rs` | remembered visits, the live inbound cap, inbound jobs |
//! | `store_contract/dnc.rs` | the do-not-call list: add, update, check, remove, count, expiry |
//! | `store_contract/officials.rs` | per-official counts through every transition |
//! | `store_contract/registry.rs` | the officials' registry: put (created, updated, unchanged), read, list and filter, remove |
//! | `store_contract/sampling.rs` | sample claims per (campaign, office, day) |

mod support;

// A test crate root resolves `mod x;` next to itself, so the contract files
// in `store_contract/` are named by path.
#[path = "store_contract/control.rs"]
mod control;
#[path = "store_contract/dnc.rs"]
mod dnc;
#[path = "store_contract/fences.rs"]
mod fences;
#[path = "store_contract/freshness.rs"]
mod freshness;
#[path = "store_contract/helpers.rs"]
mod helpers;
#[path = "store_contract/inbound.rs"]
mod inbound;
#[path = "store_contract/intake.rs"]
mod intake;
#[path = "store_contract/lifecycle.rs"]
mod lifecycle;
#[path = "store_contract/limits.rs"]
mod limits;
#[path = "store_contract/officials.rs"]
mod officials;
#[path = "store_contract/parking.rs"]
mod parking;
#[path = "store_contract/registry.rs"]
mod registry;
#[path = "store_contract/sampling.rs"]
mod sampling;

use std::sync::Arc;

use sampark::store::Store;
use sampark::store::memory::MemoryStore;

/// A store plus whatever must live as long as it (e.g. a redis-server).
struct Fixture {
    store: Arc<dyn Store>,
    _server: Option<support::test_redis::TestRedis>,
}

async fn memory_store() -> Fixture {
    Fixture {
        store: Arc::new(MemoryStore::new(16)),
        _server: None,
    }
}

/// A redis-server of its own, or with `SAMPARK_TEST_REDIS=cluster` a Redis
/// Cluster (`support/test_redis.rs`).
async fn redis_store() -> Fixture {
    let server = support::test_redis::TestRedis::start();
    let store = server.store("sampark", 16).await;
    Fixture {
        store: Arc::new(store),
        _server: Some(server),
    }
}

// ---- one test per (backend, contract) ----

macro_rules! backend {
    ($backend:ident => $fixture:ident) => {
        mod $backend {
            backend!(@tests $fixture;
                intake::intake_submit_read_ack_and_reclaim,
                intake::dead_letters_keep_the_latest_oldest_first,
                intake::put_campaign_is_idempotent_and_refuses_changes,
                intake::a_calling_window_is_stored_with_the_header_and_its_jobs,
                intake::enqueue_is_idempotent_and_refuses_changes,
                intake::duplicate_numbers_end_at_once_with_a_record,
                intake::intake_tallies_count_each_entry_once_and_keep_the_newest_refusals,
                intake::a_contact_outside_its_window_is_parked_at_ingest,
                intake::an_ended_contact_keeps_no_number_and_replays_unchanged,
                intake::a_large_batch_is_created_once_and_counted_exactly,
                intake::a_job_of_another_department_keeps_its_own,
                lifecycle::full_lifecycle_yields_one_record,
                lifecycle::retry_waits_then_dials_attempt_two,
                lifecycle::requeue_returns_an_unplaced_dial,
                lifecycle::defer_waits_then_returns,
                lifecycle::a_machine_pick_up_is_retried_then_ends_machine,
                fences::gcra_limits_each_official,
                fences::stale_fences_are_no_ops,
                fences::status_callbacks_never_go_backwards,
                fences::in_flight_deadlines_and_leases,
                fences::unacked_ready_entries_are_reclaimed,
                fences::an_adopted_call_gets_the_call_lease,
                fences::a_terminal_status_concludes_with_the_plan_only_while_it_holds,
                fences::instances_are_those_heard_from,
                control::pause_resume_and_cancel,
                control::a_number_cancelled_before_its_dial_is_never_called_again,
                parking::parked_contacts_are_promoted_in_batches_once_due,
                parking::parked_contacts_wait_outside_calling_hours,
                parking::a_cancel_ends_every_parked_contact,
                freshness::deadlines_are_kept_at_authorisation_and_retry,
                limits::citizen_caps_roll_across_campaigns_and_refund,
                limits::opted_out_citizens_are_never_dialled,
                limits::a_held_dial_spends_nothing_and_departments_share_a_quota,
                limits::live_calls_are_capped_fleet_wide,
                limits::the_provider_rate_keeps_the_entry_in_hand,
                limits::urgent_campaigns_are_read_first,
                limits::an_officials_held_jobs_come_back_one_at_a_time,
                limits::a_deferred_entry_passes_its_officials_place_on,
                limits::a_decision_reports_what_its_shard_holds,
                limits::waiting_contacts_are_grouped_by_reason,
                inbound::visits_are_remembered_newest_first_and_refreshed,
                inbound::many_citizens_visits_are_remembered_each_their_own,
                inbound::live_inbound_calls_are_capped,
                inbound::an_inbound_call_is_born_in_a_call_and_recorded_once,
                dnc::dnc_entries_are_added_updated_checked_removed_and_counted,
                dnc::dnc_entries_lapse_at_their_expiry,
                dnc::dnc_entries_are_honoured_at_authorisation,
                dnc::a_large_dnc_import_is_stored_in_full,
                officials::per_official_counts_follow_each_job,
                officials::inbound_jobs_count_under_the_desk,
                registry::officials_are_created_updated_listed_filtered_and_removed,
                registry::an_official_given_twice_counts_twice_and_the_later_wins,
                registry::a_large_import_lands_whole,
                sampling::sample_claims_keep_the_cap_and_are_idempotent,
                sampling::concurrent_sample_claims_never_exceed_the_cap,
            );
        }
    };
    (@tests $fixture:ident; $($module:ident :: $contract:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $contract() {
                let fixture = super::$fixture().await;
                super::$module::$contract(fixture.store.clone()).await;
            }
        )*
    };
}

backend!(memory => memory_store);
backend!(redis => redis_store);
