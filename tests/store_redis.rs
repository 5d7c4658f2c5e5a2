//! The Redis backend against a real redis-server: every transition's happy
//! path and fences, the feedback record, outages, the GCRA oracle, and the
//! officials' registry's layout.

mod support;

#[path = "store_redis/calls.rs"]
mod calls;
#[path = "store_redis/dispatch.rs"]
mod dispatch;
#[path = "store_redis/helpers.rs"]
mod helpers;
#[path = "store_redis/parking.rs"]
mod parking;
#[path = "store_redis/registry.rs"]
mod registry;
#[path = "store_redis/resilience.rs"]
mod resilience;
#[path = "store_redis/visits.rs"]
mod visits;
