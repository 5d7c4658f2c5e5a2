//! Telemetry: the tracing subscriber, named events and the metrics registry.
//!
//! Owns: how logs are formatted and filtered, the names and label sets of
//! every metric, and the Prometheus text rendering. Does not own: business
//! logic, or serving `/metrics` (the webhook module's admin listener does).

pub mod events;
mod family;
mod labels;
mod metrics;
mod scored;
mod subscriber;

#[cfg(test)]
mod dashboard_tests;

pub use family::{
    Axis, BoundedCounterVec2, Closed, Counter, CounterVec, CounterVec2, Gauge, HistogramVec,
    LATENCY_BUCKETS,
};
pub use labels::{
    ConnectionClosed, ContactResult, DeclaredLabel, DialDecision, InboundResult, IntakeResult,
    Label, Listener, OriginateResult, ReconcileResult, Subsystem, WebhookKind, WebhookResult,
};
pub use metrics::Metrics;
pub use subscriber::{LogFormat, TelemetryError, init, init_in_zone};
