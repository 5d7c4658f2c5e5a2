//! Intake: campaign documents from the intake stream into per-shard jobs.
//!
//! Owns: validating documents, idempotent ingestion, dead-lettering what
//! cannot be used, and, on the submitting side, inlining the holiday files a
//! document names and chunking large campaigns. Does not own:
//! the data model (see `store`) or dialling.

mod csv;
mod holiday_files;
mod router;
mod sample;
mod submit;

pub use csv::{CsvError, contacts_from_csv};
pub use holiday_files::inline_holiday_files;
pub use router::{IngestReport, IntakeRouter};
pub use submit::{SubmitError, chunk_document, submit_document};
