//! The dispatch side: take ready jobs, apply policy (the calling window —
//! each campaign's, else the daemon's —, citizen opt-outs and caps,
//! per-official GCRA in the store), originate with the provider, record the
//! result, and reconcile calls whose fate is unknown.
//!
//! Owns: call policy and retry decisions. Does not own: HTTP serving, IVR
//! logic, persistence details.

mod config;
mod dispatch;
pub mod eta;
mod gate;
mod placed;
mod plan;
mod reconcile;
mod windows;

pub use config::{DialerConfig, Quotas};
pub use dispatch::Dialer;
pub use eta::{ETA_ASSUMES, Estimate, EtaLimits, estimate, waiting_report};
pub use gate::{DialGate, PauseCause};
pub use placed::PlacedCalls;
pub use reconcile::Reconciler;
