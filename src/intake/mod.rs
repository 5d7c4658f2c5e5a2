//! Intake: campaign documents from the intake stream into per-shard jobs.
//!
//! Owns: validating documents, idempotent ingestion, dead-lettering what
//! cannot be used and counting it per campaign, and, on the submitting side,
//! the checks made before queueing (`check`), reading contacts from CSV
//! (and the CSV text layer the officials' registry reads with too),
//! inlining the holiday files a document names and chunking large campaigns. Does not own:
//! the data model (see `store`) or dialling.

mod check;
mod csv;
mod csv_text;
mod holiday_files;
mod router;
mod sample;
mod submit;

pub use check::{
    Checked, KnownDialplans, Refusal, RefusalKind, check_document, check_stored_header,
    conflict_reason, deciding,
};
pub use csv::{CsvContacts, read_contacts};
pub use csv_text::CsvError;
pub(crate) use csv_text::{CsvRecord, read_records};
pub use holiday_files::inline_holiday_files;
pub use router::{IngestReport, IntakeRouter};
pub use submit::{SubmitError, chunk_document, submit_document};
