//! `sampark officials import|list|show|remove`: the officials' registry,
//! managed in Redis directly (no daemon needed), as the admin API does
//! (`webhook/admin_officials.rs`). Numbers are printed masked, always.
//! (`cli/officials.rs` is another thing: the per-official table of
//! `campaign status`.)
//!
//! Exit codes: 0 done; 2 bad input or settings (for `import`: the file has
//! problems, every one printed, and nothing was imported); 4 no such
//! official (`show`, `remove`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use super::configured::{ConfigArgs, connect};
use crate::domain::OfficialId;
use crate::registry::{ImportFormat, detail, list_json, parse_officials, table};
use crate::store::{OfficialQuery, Store};

/// How `list` and `show` print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum OfficialsCommand {
    /// Put every official of a file into the registry, or none if the file
    /// has any problem (each is printed with its line). CSV with the header
    /// official_id,name,phone,office,department,languages (languages
    /// separated by ';'), or JSON: an array of objects with those fields.
    /// An official already registered is replaced.
    Import {
        file: PathBuf,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// The registered officials, by id.
    List {
        /// Only this department's (exact match).
        #[arg(long)]
        department: Option<String>,
        /// Only this office's (exact match).
        #[arg(long)]
        office: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// One official.
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Take an official out of the registry.
    Remove {
        id: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub async fn command(cmd: OfficialsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        OfficialsCommand::Import { file, config } => import(&file, &config).await,
        OfficialsCommand::List {
            department,
            office,
            format,
            config,
        } => {
            // An empty filter is no filter, as on the admin API.
            let query = OfficialQuery {
                department: department.filter(|d| !d.is_empty()),
                office: office.filter(|o| !o.is_empty()),
            };
            list(&query, format, &config).await
        }
        OfficialsCommand::Show { id, format, config } => show(&id, format, &config).await,
        OfficialsCommand::Remove { id, config } => remove(&id, &config).await,
    }
}

/// Prints `message` and exits with 2 (bad input).
fn bad_input(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("{message}");
    Ok(ExitCode::from(2))
}

async fn import(file: &Path, config: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => return bad_input(&format!("error: cannot read {}: {e}", file.display())),
    };
    // Checked before Redis is reached, so a bad file never needs it.
    let format = ImportFormat::of_file(&file.to_string_lossy(), &bytes);
    let parsed = parse_officials(&bytes, format);
    if !parsed.problems.is_empty() {
        for problem in &parsed.problems {
            eprintln!("{}: {problem}", file.display());
        }
        return bad_input(&format!(
            "error: {} problem(s) in {}; nothing was imported",
            parsed.problems.len(),
            file.display()
        ));
    }
    let settings = match config.settings() {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let summary = connect(&settings)
        .await?
        .put_officials(&parsed.officials)
        .await?;
    println!(
        "imported {} official(s) from {}: {} created, {} updated, {} unchanged",
        parsed.officials.len(),
        file.display(),
        summary.created,
        summary.updated,
        summary.unchanged
    );
    Ok(ExitCode::SUCCESS)
}

async fn list(
    query: &OfficialQuery,
    format: ListFormat,
    config: &ConfigArgs,
) -> anyhow::Result<ExitCode> {
    let settings = match config.settings() {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let officials = connect(&settings).await?.officials(query).await?;
    match format {
        ListFormat::Json => println!("{}", list_json(&officials)),
        ListFormat::Table if officials.is_empty() => println!(
            "no officials{}",
            if query.department.is_some() || query.office.is_some() {
                " matching the filters"
            } else {
                " registered (`sampark officials import FILE` adds them)"
            }
        ),
        ListFormat::Table => print!("{}", table(&officials)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The official id an operator typed; exit 2 when it cannot be one.
fn official_id(text: &str) -> Result<OfficialId, ExitCode> {
    OfficialId::parse(text).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

/// Says there is no official `id`; exit 4.
fn unknown(id: &OfficialId) -> ExitCode {
    eprintln!("error: no official {id} in the registry (`sampark officials list` lists them)");
    ExitCode::from(4)
}

async fn show(id: &str, format: ListFormat, config: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let id = match official_id(id) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let settings = match config.settings() {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let Some(official) = connect(&settings).await?.official(&id).await? else {
        return Ok(unknown(&id));
    };
    match format {
        ListFormat::Json => println!("{}", official.masked_json()),
        ListFormat::Table => print!("{}", detail(&official)),
    }
    Ok(ExitCode::SUCCESS)
}

async fn remove(id: &str, config: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let id = match official_id(id) {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    let settings = match config.settings() {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    if connect(&settings).await?.remove_official(&id).await? {
        println!("removed official {id} from the registry");
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(unknown(&id))
    }
}
