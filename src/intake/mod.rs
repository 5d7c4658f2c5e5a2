//! Intake: campaign documents from the intake stream into per-shard jobs.
//!
//! Owns: validating documents, idempotent ingestion, dead-lettering what
//! cannot be used and counting it per campaign, and, on the submitting side,
//! the checks made before queueing (`check`), reading contacts from CSV
//! (and the CSV text layer the officials' registry reads with too),
//! inlining the holiday files a document names and chunking large campaigns
//! (streamed from a file of any size: `stream.rs`, `submit.rs`). Does not own:
//! the data model (see `store`) or dialling.

mod check;
mod csv;
mod csv_text;
mod holiday_files;
mod read_ahead;
mod router;
mod sample;
mod stream;
mod submit;
mod utf8_chars;

pub use check::{
    Checked, KnownDialplans, Refusal, RefusalKind, StreamChecked, check_document,
    check_stored_header, check_streamed, conflict_reason, deciding,
};
pub use csv::{CsvContacts, read_contacts};
pub use csv_text::CsvError;
pub(crate) use csv_text::{CsvRecord, read_records};
pub use holiday_files::inline_holiday_files;
pub use router::{IngestReport, IntakeRouter};
pub use stream::{
    ContactsField, StreamError, StreamInput, StreamItem, StreamedFields, check_encoding,
    read_stream,
};
pub use submit::{
    CHUNK_SIZE, ChunkWriter, ContactCheck, ContactSummary, Finding, SubmitError, chunk_document,
    submit_document,
};
