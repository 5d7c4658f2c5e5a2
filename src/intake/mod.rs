//! Intake: campaign documents from the intake stream into per-shard jobs.
//!
//! Owns: validating documents, idempotent ingestion, dead-lettering what
//! cannot be used, and chunking large campaigns for submission. Does not own:
//! the data model (see `store`) or dialling.

mod csv;
mod router;
mod sample;
mod submit;

pub use csv::{CsvError, contacts_from_csv};
pub use router::{IngestReport, IntakeRouter};
pub use submit::{SubmitError, chunk_document, submit_document};
