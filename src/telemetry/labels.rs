//! Closed label sets for metrics. Every label value comes from one of these
//! enums, so a series count is fixed at compile time and no id or phone
//! number can ever become a label.

use crate::domain::Outcome;

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
    }
}
