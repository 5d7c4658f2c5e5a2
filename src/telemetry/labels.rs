//! Label sets for metrics. Most label values come from one of the closed
//! enums here, so a series count is fixed at compile time; the rest come
//! from a [`DeclaredLabel`], whose values are fixed at start-up (the
//! departments in the settings, the flags in the dialplans) with `other` for
//! anything else. Either way no id or phone number can ever become a label.

use std::collections::BTreeSet;

use crate::domain::{Outcome, Severity};

/// A metric label: a fieldless enum whose variants are its only values.
pub trait Label: Copy + Send + Sync + 'static {
    /// The label name in the exposition (`result`, `kind`, ...).
    const KEY: &'static str;
    /// Every value, in `index` order.
    fn all() -> &'static [Self];
    fn as_str(self) -> &'static str;
    /// Position in [`Label::all`].
    fn index(self) -> usize;
}

macro_rules! label_enum {
    ($(#[$doc:meta])* $name:ident, $key:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl Label for $name {
            const KEY: &'static str = $key;
            fn all() -> &'static [Self] {
                &[$($name::$variant),+]
            }
            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

label_enum!(
    /// One of the daemon's HTTP listeners.
    Listener, "listener", {
        Webhook => "webhook",
        Admin => "admin",
    }
);

label_enum!(
    /// Why a listener closed a connection it did not want to keep
    /// (`webhook.http`/`admin.http` limits and deadlines).
    ConnectionClosed, "reason", {
        /// Its address already held `max_connections_per_source`.
        PerSource => "per_source",
        /// The listener was full and this one, idle longest, gave way.
        GaveWay => "gave_way",
        /// No request within `idle_timeout_secs`.
        Idle => "idle",
        /// A request head took longer than `header_read_timeout_ms`.
        SlowHeaders => "slow_headers",
        /// The TLS handshake failed (a client trusting another CA, a scan).
        TlsFailed => "tls_failed",
        /// The TLS handshake took longer than `header_read_timeout_ms`.
        TlsTimeout => "tls_timeout",
    }
);

label_enum!(
    /// What became of an intake document.
    IntakeResult, "result", {
        Accepted => "accepted",
        DeadLettered => "dead_lettered",
        /// Same campaign id, different content.
        Conflict => "conflict",
    }
);

label_enum!(
    /// What became of one contact of an accepted document.
    ContactResult, "result", {
        Accepted => "accepted",
        Duplicate => "duplicate",
        Rejected => "rejected",
    }
);

label_enum!(
    /// The dialer's decision for a ready job.
    DialDecision, "decision", {
        Authorized => "authorized",
        RateLimited => "rate_limited",
        OutsideHours => "outside_hours",
        /// On the do-not-call list or opted out: the contact ended `opted_out`.
        OptedOut => "opted_out",
        /// The citizen's rolling day or week cap: deferred.
        CitizenCap => "citizen_cap",
        /// The department's quota: deferred.
        DepartmentQuota => "department_quota",
        /// The fleet-wide live-call cap: deferred.
        LiveCallCap => "live_call_cap",
        /// Too soon after the visit: deferred.
        TooSoon => "too_soon",
        /// The provider's fleet-wide rate: the dial waits, entry in hand.
        ProviderBusy => "provider_busy",
        /// The campaign is paused: parked until resumed.
        CampaignPaused => "campaign_paused",
        /// The campaign is cancelled: the contact ended `cancelled`.
        CampaignCancelled => "campaign_cancelled",
        /// Past the contact's deadline: it ended `expired`.
        Expired => "expired",
    }
);

label_enum!(
    /// The result of an originate request to the provider.
    OriginateResult, "result", {
        Ok => "ok",
        /// Refused for good (e.g. invalid number).
        Rejected => "rejected",
        /// The provider asked us to slow down.
        Throttled => "throttled",
        /// Failed before the provider acted; safe to retry.
        Transient => "transient",
        /// May or may not have been placed; to be reconciled.
        Unknown => "unknown",
        /// Not sent: authorised too long ago (a frozen or starved instance).
        Late => "late",
    }
);

label_enum!(
    /// Which provider webhook.
    WebhookKind, "kind", {
        Answer => "answer",
        Gather => "gather",
        Status => "status",
        /// The citizen's leg of an official's call ended.
        Bridge => "bridge",
        /// The consent notice a citizen hears before an official is connected.
        Whisper => "whisper",
        Inbound => "inbound",
        InboundStatus => "inbound_status",
    }
);

label_enum!(
    /// What became of a call to the programme's number.
    InboundResult, "result", {
        /// Answered with the inbound dialplan.
        Taken => "taken",
        /// `inbound.max_concurrent` calls were live: told to call later.
        Busy => "busy",
        /// No usable caller number: ended without a survey.
        NoCallerId => "no_caller_id",
    }
);

label_enum!(
    /// How a webhook request was answered.
    WebhookResult, "result", {
        Ok => "ok",
        /// Bad signature (403).
        Forbidden => "forbidden",
        BadRequest => "bad_request",
        /// Duplicate or out-of-date event, acknowledged as a no-op.
        Stale => "stale",
        /// The store failed and the request was refused (5xx) or the call
        /// ended.
        StoreError => "store_error",
        /// The store was unreachable: the call was held (pause, ask again).
        Held => "held",
        /// The store was unreachable: the status callback was kept in memory.
        Kept => "kept",
        /// Stored data is corrupt or an operation was refused (500).
        Internal => "internal",
    }
);

label_enum!(
    /// What a reconciliation of an overdue originate or call concluded.
    ReconcileResult, "result", {
        /// The provider has the call: the job follows it.
        Adopted => "adopted",
        /// The call has ended: its final status was applied.
        Finished => "finished",
        /// The provider never placed it: the attempt is retried.
        Requeued => "requeued",
        /// The provider cannot tell: the contact ends as UNKNOWN.
        Unknown => "unknown",
        /// The provider or store failed; reconciliation will run again.
        Error => "error",
    }
);

label_enum!(
    /// The part of the daemon a store error happened in.
    Subsystem, "subsystem", {
        Intake => "intake",
        Dialer => "dialer",
        Webhook => "webhook",
        Relay => "relay",
        Scorer => "scorer",
        Admin => "admin",
    }
);

impl Label for Outcome {
    const KEY: &'static str = "outcome";
    fn all() -> &'static [Self] {
        &Outcome::ALL
    }
    fn as_str(self) -> &'static str {
        Outcome::as_str(self)
    }
    fn index(self) -> usize {
        // Outcome::ALL lists the variants in declaration order (tested below).
        self as usize
    }
}

impl Label for Severity {
    const KEY: &'static str = "severity";
    fn all() -> &'static [Self] {
        &Severity::ALL
    }
    fn as_str(self) -> &'static str {
        Severity::as_str(self)
    }
    fn index(self) -> usize {
        // Severity::ALL lists the variants in declaration order (tested below).
        self as usize
    }
}

/// A label whose values are declared when the registry is built, not at
/// compile time: the declared values, sorted, then [`DeclaredLabel::OTHER`],
/// which counts every value not declared. Its series count is fixed for the
/// life of the registry, and a value met at run time (a department a campaign
/// document names, a flag an answer raises) becomes a label only if it was
/// declared.
#[derive(Clone, Debug)]
pub struct DeclaredLabel {
    key: &'static str,
    /// Sorted and unique; neither empty nor [`DeclaredLabel::OTHER`].
    values: Box<[String]>,
}

impl DeclaredLabel {
    /// The value every undeclared value counts as.
    pub const OTHER: &'static str = "other";

    /// `key` with `values` declared (duplicates, empty values and `other`
    /// itself are dropped: they would name no separate series).
    pub fn new(key: &'static str, values: impl IntoIterator<Item = String>) -> Self {
        let values: BTreeSet<String> = values
            .into_iter()
            .filter(|v| !v.is_empty() && v != Self::OTHER)
            .collect();
        Self {
            key,
            values: values.into_iter().collect(),
        }
    }

    /// The label name in the exposition (`department`, `flag`).
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// How many series values: one per declared value, then `other`.
    pub fn slots(&self) -> usize {
        self.values.len() + 1
    }

    /// The slot `value` counts in: its own if declared, else `other`'s.
    pub fn slot(&self, value: &str) -> usize {
        self.values
            .binary_search_by(|v| v.as_str().cmp(value))
            .unwrap_or(self.values.len())
    }

    /// The label value of `slot` (`other` for the last, or any beyond).
    pub fn value(&self, slot: usize) -> &str {
        self.values.get(slot).map_or(Self::OTHER, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consistent<L: Label + PartialEq + std::fmt::Debug>() {
        let mut seen = std::collections::HashSet::new();
        for (i, l) in L::all().iter().enumerate() {
            assert_eq!(l.index(), i, "{l:?}");
            assert!(seen.insert(l.as_str()), "duplicate {}", l.as_str());
            assert!(
                l.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                l.as_str()
            );
        }
    }

    #[test]
    fn every_label_set_is_indexed_in_order_and_unique() {
        consistent::<IntakeResult>();
        consistent::<ContactResult>();
        consistent::<DialDecision>();
        consistent::<OriginateResult>();
        consistent::<WebhookKind>();
        consistent::<WebhookResult>();
        consistent::<InboundResult>();
        consistent::<ReconcileResult>();
        consistent::<Subsystem>();
        consistent::<Outcome>();
        consistent::<Severity>();
    }

    #[test]
    fn a_declared_label_counts_what_was_not_declared_as_other() {
        let departments = ["police", "health", "", "other", "police", "revenue"];
        let label = DeclaredLabel::new("department", departments.map(str::to_owned));
        assert_eq!(label.key(), "department");
        let rendered: Vec<&str> = (0..label.slots()).map(|s| label.value(s)).collect();
        assert_eq!(rendered, ["health", "police", "revenue", "other"]);
        assert_eq!(label.value(label.slot("police")), "police");
        for undeclared in ["Police", "home", "", "other", "+919876543210"] {
            assert_eq!(
                label.value(label.slot(undeclared)),
                "other",
                "{undeclared:?}"
            );
        }
        let none = DeclaredLabel::new("flag", std::iter::empty());
        assert_eq!((none.slots(), none.slot("bribe_asked")), (1, 0));
        assert_eq!(none.value(0), "other");
    }
}
