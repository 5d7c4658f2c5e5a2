//! The officials' registry's store types: what an import did, and which
//! officials a listing wants. Officials themselves are `domain::Official`.

use serde::Serialize;

use crate::domain::Official;

/// What putting officials into the registry did, one count per official.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Not in the registry before.
    pub created: u64,
    /// In the registry with other details: replaced.
    pub updated: u64,
    /// In the registry with the same details: nothing changed.
    pub unchanged: u64,
}

/// Which officials to list; every filter set must match exactly (`None`:
/// any).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfficialQuery {
    pub department: Option<String>,
    pub office: Option<String>,
}

impl OfficialQuery {
    /// Whether `official` is listed, the same for both backends.
    pub fn matches(&self, official: &Official) -> bool {
        self.department
            .as_deref()
            .is_none_or(|d| d == official.department())
            && self
                .office
                .as_deref()
                .is_none_or(|o| o == official.office())
    }
}
