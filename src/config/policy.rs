//! Dialling policy settings: the default calling window (in the citizens'
//! time zone), the per-citizen rolling caps, the citizen-key secret and how
//! long ended contacts are kept. The window's schema, validation
//! and arithmetic live in [`crate::policy`]; a bad window is reported while
//! loading, with every problem it has, under `policy.calling_window`.

use serde::Deserialize;

use super::secret::Secret;
use crate::policy::CallingWindow;

/// `[policy]`: who may be called when, and how often.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    /// `[policy.calling_window]`: when citizens may be called. Its holiday
    /// files are read while the settings are loaded.
    pub calling_window: CallingWindow,
    /// Calls placed to one phone number in any 24 hours, across all campaigns.
    pub max_calls_per_citizen_per_day: u32,
    /// Calls placed to one phone number in any 7 days, across all campaigns
    /// (0 = no weekly cap).
    pub max_calls_per_citizen_per_week: u32,
    /// The secret citizen keys in Redis are HMACs under (at least 16 bytes;
    /// set it through `SAMPARK__POLICY__CITIZEN_KEY_SECRET`). Required by
    /// `serve`; every instance and tool sharing a Redis needs the same one.
    /// Never logged.
    pub citizen_key_secret: Option<Secret>,
    /// How long an ended contact's job is kept after its feedback record was
    /// relayed, in hours (its phone number is dropped at once when it ends).
    /// 1 to 8,760 (a year). Default 168 (7 days).
    pub retention_hours: u32,
    /// The numbers that may be dialled at all: `PREFIX:DIGITS` allows,
    /// `!PREFIX` refuses, the longest matching prefix decides
    /// (`domain/number_plan.rs`). Default: Indian mobile and geographic
    /// numbers, without premium, shared-cost, toll-free and service ranges.
    pub number_plan: Vec<String>,
}

impl PolicySettings {
    /// `retention_hours` as a duration.
    pub fn retention(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.retention_hours) * 3_600)
    }

    /// `number_plan` read; the default plan if it does not read (which
    /// validation refuses before anything runs).
    pub fn number_plan(&self) -> crate::domain::NumberPlan {
        crate::domain::NumberPlan::parse(&self.number_plan).unwrap_or_default()
    }
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            calling_window: CallingWindow::default(),
            max_calls_per_citizen_per_day: 3,
            max_calls_per_citizen_per_week: 0,
            citizen_key_secret: None,
            retention_hours: 168,
            number_plan: crate::domain::DEFAULT_NUMBER_PLAN
                .iter()
                .map(|rule| (*rule).to_owned())
                .collect(),
        }
    }
}
