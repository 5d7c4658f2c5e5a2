//! Per-department results of scored feedback: records by outcome, the flags
//! they raised, and escalations by severity.
//!
//! Owns: these three families and their label bounds. The `department` label
//! takes only the departments declared in `reports.departments`, the `flag`
//! label only the flags the dialplans escalate; anything else counts as
//! `other`, so the series count is fixed at start-up whatever campaign
//! documents and answers bring. Does not own: scoring itself (the scorer
//! calls [`super::Metrics::record_scored`] after each batch it applies).

use super::family::{BoundedCounterVec2, Closed};
use super::labels::DeclaredLabel;
use crate::domain::{FeedbackRecord, Outcome, Severity};

type ByDepartment<B> = BoundedCounterVec2<DeclaredLabel, B>;

#[derive(Debug)]
pub(super) struct ScoredMetrics {
    records: ByDepartment<Closed<Outcome>>,
    flags: ByDepartment<DeclaredLabel>,
    escalations: ByDepartment<Closed<Severity>>,
}

impl Default for ScoredMetrics {
    /// Nothing declared: every department and every flag is `other`.
    fn default() -> Self {
        Self::new(std::iter::empty(), std::iter::empty())
    }
}

impl ScoredMetrics {
    pub(super) fn new(
        departments: impl IntoIterator<Item = String>,
        flags: impl IntoIterator<Item = String>,
    ) -> Self {
        let departments = DeclaredLabel::new("department", departments);
        Self {
            records: BoundedCounterVec2::new(departments.clone(), Closed::default()),
            flags: BoundedCounterVec2::new(departments.clone(), DeclaredLabel::new("flag", flags)),
            escalations: BoundedCounterVec2::new(departments, Closed::default()),
        }
    }

    pub(super) fn record(&self, record: &FeedbackRecord, escalation: Option<Severity>) {
        let department = record.department.as_str();
        self.records.add(department, &record.outcome, 1);
        for flag in &record.flags {
            self.flags.add(department, flag, 1);
        }
        if let Some(severity) = escalation {
            self.escalations.add(department, &severity, 1);
        }
    }

    pub(super) fn records(&self) -> &ByDepartment<Closed<Outcome>> {
        &self.records
    }
    pub(super) fn flags(&self) -> &ByDepartment<DeclaredLabel> {
        &self.flags
    }
    pub(super) fn escalations(&self) -> &ByDepartment<Closed<Severity>> {
        &self.escalations
    }

    pub(super) fn render(&self, out: &mut String) {
        self.records.render(
            out,
            "sampark_records_total",
            "Feedback records scored, by department and outcome (undeclared departments as other).",
        );
        self.flags.render(
            out,
            "sampark_record_flags_total",
            "Flags raised by scored feedback records, by department and flag (undeclared ones as other).",
        );
        self.escalations.render(
            out,
            "sampark_escalations_total",
            "Scored feedback records that escalated, by department and severity.",
        );
    }
}
