//! The daemon's metrics registry: one [`Metrics`] shared through an `Arc`,
//! typed methods to record, and [`Metrics::render`] for `/metrics`.
//!
//! No external metrics crate: the set is small and fixed, and owning it keeps
//! label values to the closed enums of [`super::labels`] and the values
//! declared at start-up ([`Metrics::with_bounds`]).

use std::time::Duration;

use super::family::{
    BoundedCounterVec2, Closed, Counter, CounterVec, CounterVec2, Gauge, HistogramVec,
};
use super::labels::{
    ConnectionClosed, ContactResult, DeclaredLabel, DialDecision, InboundResult, IntakeResult,
    Listener, OriginateResult, ReconcileResult, Subsystem, WebhookKind, WebhookResult,
};
use super::scored::ScoredMetrics;
use crate::domain::{FeedbackRecord, Outcome, Severity};

/// Every metric sampark exports. Cheap to update from any thread.
#[derive(Debug, Default)]
pub struct Metrics {
    intake_documents: CounterVec<IntakeResult>,
    contacts: CounterVec<ContactResult>,
    dial_decisions: CounterVec<DialDecision>,
    originates: CounterVec<OriginateResult>,
    webhooks: CounterVec2<WebhookKind, WebhookResult>,
    webhook_duration: HistogramVec<WebhookKind>,
    inbound_calls: CounterVec<InboundResult>,
    outcomes: CounterVec<Outcome>,
    feedback_relayed: Counter,
    scored: ScoredMetrics,
    store_errors: CounterVec<Subsystem>,
    reconciliations: CounterVec<ReconcileResult>,
    calls_in_flight: Gauge,
    dialling_paused: Gauge,
    redis_not_durable: Gauge,
    connections_closed: CounterVec2<Listener, ConnectionClosed>,
}

impl Metrics {
    /// A registry with no departments or flags declared: every scored
    /// record counts under `department="other"`, every flag as `other`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry whose per-department series are bounded: `departments`
    /// (`reports.departments`) and `flags` (the flags the dialplans
    /// escalate) are the only values of the `department` and `flag` labels;
    /// any other counts as `other`. Fixed for the registry's life, so build
    /// it with both before sharing it.
    pub fn with_bounds(
        departments: impl IntoIterator<Item = String>,
        flags: impl IntoIterator<Item = String>,
    ) -> Self {
        Self {
            scored: ScoredMetrics::new(departments, flags),
            ..Self::default()
        }
    }

    pub fn intake_document(&self, result: IntakeResult) {
        self.intake_documents.add(result, 1);
    }
    /// `n` contacts of one document ended as `result`.
    pub fn contacts(&self, result: ContactResult, n: u64) {
        self.contacts.add(result, n);
    }
    pub fn dial_decision(&self, decision: DialDecision) {
        self.dial_decisions.add(decision, 1);
    }
    pub fn originate(&self, result: OriginateResult) {
        self.originates.add(result, 1);
    }
    /// One webhook request answered, and how long it took.
    pub fn webhook(&self, kind: WebhookKind, result: WebhookResult, elapsed: Duration) {
        self.webhooks.add(kind, result, 1);
        self.webhook_duration.observe(kind, elapsed);
    }
    /// A listener closed a connection for `reason`.
    pub fn connection_closed(&self, listener: Listener, reason: ConnectionClosed) {
        self.connections_closed.add(listener, reason, 1);
    }
    pub fn inbound_call(&self, result: InboundResult) {
        self.inbound_calls.add(result, 1);
    }
    pub fn outcome(&self, outcome: Outcome) {
        self.outcomes.add(outcome, 1);
    }
    /// Records how a call's attempt ended: a terminal decision counts its
    /// outcome.
    pub fn concluded(&self, finish: &crate::store::Finish) {
        if let crate::store::Finish::Terminal { outcome, .. } = finish {
            self.outcome(*outcome);
        }
    }
    pub fn feedback_relayed(&self, n: u64) {
        self.feedback_relayed.add(n);
    }
    /// One feedback record scored: counts it by department and outcome,
    /// each of its flags, and its escalation's severity, if it escalated.
    pub fn record_scored(&self, record: &FeedbackRecord, escalation: Option<Severity>) {
        self.scored.record(record, escalation);
    }
    pub fn store_error(&self, subsystem: Subsystem) {
        self.store_errors.add(subsystem, 1);
    }
    pub fn reconciliation(&self, result: ReconcileResult) {
        self.reconciliations.add(result, 1);
    }
    pub fn call_started(&self) {
        self.calls_in_flight.add(1);
    }
    pub fn call_ended(&self) {
        self.calls_in_flight.add(-1);
    }
    /// Sets the in-flight gauge outright, e.g. from the store's in-flight
    /// sets: with several instances a call may start on one and end on
    /// another, so per-process increments alone would drift.
    pub fn set_calls_in_flight(&self, n: i64) {
        self.calls_in_flight.set(n);
    }

    /// Whether this instance's dialling is paused (see `dialer/gate.rs`).
    pub fn set_dialling_paused(&self, paused: bool) {
        self.dialling_paused.set(i64::from(paused));
    }
    /// Whether the Redis settings last read break the guarantees.
    pub fn set_redis_not_durable(&self, not_durable: bool) {
        self.redis_not_durable.set(i64::from(not_durable));
    }

    // Readers, for tests and the admin API.
    pub fn intake_documents(&self) -> &CounterVec<IntakeResult> {
        &self.intake_documents
    }
    pub fn contacts_by_result(&self) -> &CounterVec<ContactResult> {
        &self.contacts
    }
    pub fn dial_decisions(&self) -> &CounterVec<DialDecision> {
        &self.dial_decisions
    }
    pub fn originates(&self) -> &CounterVec<OriginateResult> {
        &self.originates
    }
    pub fn webhooks(&self) -> &CounterVec2<WebhookKind, WebhookResult> {
        &self.webhooks
    }
    pub fn webhook_durations(&self) -> &HistogramVec<WebhookKind> {
        &self.webhook_duration
    }
    pub fn connections_closed(&self) -> &CounterVec2<Listener, ConnectionClosed> {
        &self.connections_closed
    }
    pub fn inbound_calls(&self) -> &CounterVec<InboundResult> {
        &self.inbound_calls
    }
    pub fn outcomes(&self) -> &CounterVec<Outcome> {
        &self.outcomes
    }
    pub fn feedback_relayed_total(&self) -> u64 {
        self.feedback_relayed.get()
    }
    /// Scored records by department and outcome.
    pub fn scored_records(&self) -> &BoundedCounterVec2<DeclaredLabel, Closed<Outcome>> {
        self.scored.records()
    }
    /// Flags of scored records by department and flag.
    pub fn scored_flags(&self) -> &BoundedCounterVec2<DeclaredLabel, DeclaredLabel> {
        self.scored.flags()
    }
    /// Escalated scored records by department and severity.
    pub fn escalations(&self) -> &BoundedCounterVec2<DeclaredLabel, Closed<Severity>> {
        self.scored.escalations()
    }
    pub fn store_errors(&self) -> &CounterVec<Subsystem> {
        &self.store_errors
    }
    pub fn reconciliations(&self) -> &CounterVec<ReconcileResult> {
        &self.reconciliations
    }
    pub fn calls_in_flight(&self) -> i64 {
        self.calls_in_flight.get()
    }
    pub fn dialling_paused(&self) -> bool {
        self.dialling_paused.get() != 0
    }
    pub fn redis_not_durable(&self) -> bool {
        self.redis_not_durable.get() != 0
    }

    /// Everything in the Prometheus text exposition format (version 0.0.4;
    /// serve it as `text/plain; version=0.0.4`).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        self.intake_documents.render(
            &mut out,
            "sampark_intake_documents_total",
            "Campaign documents read from intake, by result.",
        );
        self.contacts.render(
            &mut out,
            "sampark_contacts_total",
            "Contacts of accepted documents, by result.",
        );
        self.dial_decisions.render(
            &mut out,
            "sampark_dial_decisions_total",
            "Dialer decisions on ready jobs.",
        );
        self.originates.render(
            &mut out,
            "sampark_originates_total",
            "Originate requests to the provider, by result.",
        );
        self.webhooks.render(
            &mut out,
            "sampark_webhooks_total",
            "Provider webhook requests, by kind and result.",
        );
        self.webhook_duration.render(
            &mut out,
            "sampark_webhook_duration_seconds",
            "Time to answer a provider webhook.",
        );
        self.connections_closed.render(
            &mut out,
            "sampark_http_connections_closed_total",
            "Connections a listener closed under its limits and deadlines, by listener and reason.",
        );
        self.inbound_calls.render(
            &mut out,
            "sampark_inbound_calls_total",
            "Calls to the programme's number, by what became of them.",
        );
        self.outcomes.render(
            &mut out,
            "sampark_outcomes_total",
            "Contacts that reached a terminal outcome.",
        );
        self.feedback_relayed.render(
            &mut out,
            "sampark_feedback_relayed_total",
            "Feedback records relayed to the feedback stream.",
        );
        self.scored.render(&mut out);
        self.store_errors.render(
            &mut out,
            "sampark_store_errors_total",
            "Failed store operations, by subsystem.",
        );
        self.reconciliations.render(
            &mut out,
            "sampark_reconciliations_total",
            "Reconciliations of overdue originates and calls, by result.",
        );
        self.calls_in_flight.render(
            &mut out,
            "sampark_calls_in_flight",
            "Calls dialling or in progress.",
        );
        self.dialling_paused.render(
            &mut out,
            "sampark_dialling_paused",
            "1 while this instance dials nothing: Redis came back empty (until accept-empty), or is not durable under redis.persistence = require.",
        );
        self.redis_not_durable.render(
            &mut out,
            "sampark_redis_not_durable",
            "1 when Redis was last read with no persistence or an evicting maxmemory-policy.",
        );
        out
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
