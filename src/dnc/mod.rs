//! The do-not-call list as operators manage it: the import format, the
//! ways an expiry is written, and putting numbers on the list through any
//! [`Store`](crate::store::Store), shared by `sampark dnc` and the admin API.
//!
//! Owns: parsing operators' input (numbers in Indian forms, reasons,
//! expiries, import files with a problem per bad line) and resolving it
//! against the store's clock. Does not own: how entries are stored or
//! honoured (`store`: one hash per citizen tag, read by the authorising
//! script), or the upgrade of old opt-out markers (`store::redis`).
//!
//! | file | holds |
//! |---|---|
//! | `expiry.rs` | `Expiry`: a date, an RFC 3339 time or a duration |
//! | `list.rs` | the import format and its line-by-line problems |
//! | `import.rs` | putting one number or a whole file on the list |
//! | `view.rs` | an entry as JSON (masked) |

mod expiry;
mod import;
mod list;
mod view;

pub use expiry::{Expiry, format_ist};
pub use import::{ImportReport, PutError, import_list, put_number};
pub use list::{LineProblem, ListLine, MAX_REASON, ParsedList, check_reason, parse_list};
pub use view::entry_json;
