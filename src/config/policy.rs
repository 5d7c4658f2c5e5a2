//! Dialling policy settings: the default calling window (in the citizens'
//! time zone) and the per-citizen daily cap. The window's schema, validation
//! and arithmetic live in [`crate::policy`]; a bad window is reported while
//! loading, with every problem it has, under `policy.calling_window`.

use serde::Deserialize;

use crate::policy::CallingWindow;

/// `[policy]`: who may be called when, and how often.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    /// `[policy.calling_window]`: when citizens may be called. Its holiday
    /// files are read while the settings are loaded.
    pub calling_window: CallingWindow,
    /// Calls placed to one phone number per local day, across all campaigns.
    pub max_calls_per_citizen_per_day: u32,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            calling_window: CallingWindow::default(),
            max_calls_per_citizen_per_day: 2,
        }
    }
}
