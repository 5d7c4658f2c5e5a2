//! Accountability: what the feedback says about officials and offices.
//! Scorecards counted exactly once from the feedback stream (`scorer`),
//! ranked reports over them (`report`, `rank`) and their formats
//! (`format`, `columns`). Escalations are written by the relay with their
//! record (see `store`); their rules are the dialplans'
//! (`domain::ScoringRules`); `escalations` presents them.
//!
//! Owns: counting, ranking and presenting. Does not own: storage (the
//! store's scorecard and escalation methods), what counts as a flag or a
//! rating (the dialplans), or serving (CLI, admin API, console).

pub mod columns;
pub mod escalations;
pub mod format;
pub mod rank;
pub mod report;
pub mod scorer;
