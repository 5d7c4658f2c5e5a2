//! The officials' registry as operators manage it: the import format (CSV
//! or JSON), its problems, importing a file all or nothing through any
//! [`Store`](crate::store::Store), and officials as listings show them,
//! shared by `sampark officials` and the admin API.
//!
//! Owns: reading import files and reporting every problem with its line,
//! record and field; the masked views. Does not own: what makes an official
//! valid (`domain::Official`), how the registry is stored (`store`: one
//! hash of compact JSON), or calling officials.
//!
//! | file | holds |
//! |---|---|
//! | `import.rs` | the format of a file, reading it whole, importing all or nothing |
//! | `csv.rs` | the CSV format (`official_id,name,phone,office,department,languages`) |
//! | `json.rs` | the JSON format (an array, or `{"officials": [...]}`) and record lines |
//! | `problem.rs` | `ImportProblem`: line, record, field, reason |
//! | `view.rs` | listings and one official as JSON and tables, numbers masked |

mod csv;
mod import;
mod json;
mod problem;
mod view;

pub use csv::COLUMNS;
pub use import::{
    ImportError, ImportFormat, MAX_OFFICIALS, ParsedImport, import_officials, parse_officials,
};
pub use problem::ImportProblem;
pub use view::{detail, list_json, table};
