//! The officials' registry in memory, the counterpart of the Redis hash and
//! `put_officials.lua`: officials by id, an import applied in one step.

use std::collections::BTreeMap;

use crate::domain::{Official, OfficialId};
use crate::store::{ImportSummary, OfficialQuery};

/// Every official, by id (so listings come sorted).
#[derive(Debug, Default)]
pub(super) struct Registry {
    officials: BTreeMap<OfficialId, Official>,
}

impl Registry {
    /// Puts `officials` in order; counted as the script counts.
    pub fn put(&mut self, officials: &[Official]) -> ImportSummary {
        let mut summary = ImportSummary::default();
        for official in officials {
            match self.officials.get(official.official_id()) {
                None => summary.created += 1,
                Some(old) if old != official => summary.updated += 1,
                Some(_) => {
                    summary.unchanged += 1;
                    continue;
                }
            }
            self.officials
                .insert(official.official_id().clone(), official.clone());
        }
        summary
    }

    pub fn get(&self, id: &OfficialId) -> Option<Official> {
        self.officials.get(id).cloned()
    }

    pub fn list(&self, query: &OfficialQuery) -> Vec<Official> {
        self.officials
            .values()
            .filter(|o| query.matches(o))
            .cloned()
            .collect()
    }

    pub fn remove(&mut self, id: &OfficialId) -> bool {
        self.officials.remove(id).is_some()
    }
}
