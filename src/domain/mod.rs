//! Validated domain types shared by every other module: phone numbers, ids,
//! campaigns and contacts, call outcomes, the feedback record, the
//! officials of the registry, and the number plan (what may be dialled).
//!
//! Owns: parsing and validation of values that arrive from outside (campaign
//! documents, webhooks). Does not own: any I/O.

pub mod calendar;
mod campaign;
mod campaign_window;
mod country;
mod escalation;
mod feedback;
mod fraction;
mod freshness;
mod header_diff;
mod ids;
pub mod json_guard;
mod ladder;
mod number_plan;
mod official;
mod outcome;
mod phone;
mod redact;
mod sample;
pub mod scorecard;
mod unknown_fields;

pub use campaign::{
    CAMPAIGN_FIELDS, CONTACT_FIELDS, CampaignHeader, CampaignKind, Contact, DocumentError, JobSpec,
    OfficialCall, ParsedDocument, Priority, RejectedContact, parse_campaign_document,
    parse_campaign_document_within,
};
pub use campaign_window::parse_calling_window;
pub use country::DefaultCountry;
pub use escalation::{
    Acknowledgement, Escalation, EscalationView, ScoringRules, Severity, escalation_id_of,
};
pub use feedback::{Answer, Attribution, BridgeReport, Direction, FeedbackRecord, flags_of};
pub use fraction::stable_fraction;
pub use freshness::{Freshness, parse_duration, parse_rfc3339};
pub use header_diff::HeaderDifference;
pub use ids::{CampaignId, ContactId, IdError, JobId, OfficialId};
pub use ladder::RetryLadder;
pub use number_plan::{DEFAULT_RULES as DEFAULT_NUMBER_PLAN, NumberPlan};
pub use official::{FieldProblem, MAX_LANGUAGES, MAX_TEXT, Official, OfficialFields};
pub use outcome::{CallStatus, JobState, Outcome};
pub use phone::{PhoneError, PhoneNumber};
pub use redact::{mask_digit_runs, mask_document};
pub use sample::{Sample, sample_fraction};
pub use unknown_fields::{ContactRef, FieldLevel, UnknownField, did_you_mean};
