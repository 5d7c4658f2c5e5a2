//! `sampark campaign submit`: read a campaign document (JSON, or CSV
//! contacts under a JSON header), make every check that can be made before
//! queueing (`intake::check`: the document, the dialplan, that some contact
//! is valid, the header against the stored campaign's), then put it on the
//! intake stream.
//!
//! | exit | meaning |
//! |---|---|
//! | 0 | submitted (invalid contacts and unreadable CSV rows, if any, listed on stderr) |
//! | 1 | could not run: Redis unreachable, `--dialplans` not a directory |
//! | 2 | the document or CSV file is invalid or unreadable, or `--strict` refused it |
//! | 3 | `dialplan` names no dialplan in the dialplans directory |
//! | 4 | no valid contact |
//! | 5 | the campaign exists with another header (each differing field named) |
//!
//! When several apply, every reason is printed and the exit code is the
//! first that applies in this order: 2, 3, 4, 5.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::campaign::RedisArgs;
use crate::dialplan::load_dir;
use crate::domain::{DefaultCountry, ParsedDocument};
use crate::intake::{
    KnownDialplans, Refusal, RefusalKind, check_document, check_stored_header, deciding,
    inline_holiday_files, read_contacts, submit_document,
};
use crate::store::redis::RedisStore;

/// `campaign submit`'s arguments.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The campaign document (JSON), or its contacts as CSV (`.csv`, with
    /// `--header`).
    file: PathBuf,
    /// For CSV contacts: a JSON file with the campaign's other fields
    /// (`version`, `id`, `name`, `dialplan`, `caller_id`, `department`).
    #[arg(long)]
    header: Option<PathBuf>,
    #[command(flatten)]
    redis: RedisArgs,
    /// Contacts per intake entry; larger documents are split.
    #[arg(long, default_value_t = 5_000)]
    chunk_size: usize,
    /// The daemons' dialplan directory (`dialplans.dir`): `dialplan` must
    /// name a dialplan in it. Default `dialplans`, whose absence only warns.
    #[arg(long, env = "SAMPARK__DIALPLANS__DIR")]
    dialplans: Option<PathBuf>,
    /// For CSV contacts: the country of a phone number written without `+`
    /// and a country code (ISO 3166-1 alpha-2; only IN is supported).
    #[arg(long, default_value = "IN")]
    default_country: DefaultCountry,
    /// Refuse the document if any contact is invalid, any CSV row
    /// unreadable or any field unknown (default: submit the rest, listing
    /// each; the daemon dead-letters invalid contacts and ignores unknown
    /// fields).
    #[arg(long)]
    strict: bool,
}

/// The document read from the input files.
struct Input {
    doc: String,
    /// For CSV contacts: where each row is.
    csv: Option<CsvRows>,
}

/// The rows of a CSV file, by line.
struct CsvRows {
    /// The file line of each contact of the document.
    lines: Vec<usize>,
    /// The rows that could not be read as a contact: line, why.
    bad: Vec<(usize, String)>,
}

pub async fn command(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let file = args.file.as_path();
    let input = match read_input(file, args.header.as_deref(), args.default_country) {
        Ok(input) => input,
        Err(lines) => {
            for line in &lines {
                eprintln!("{line}");
            }
            eprintln!("refused: the input cannot be read; nothing was submitted");
            return Ok(ExitCode::from(2));
        }
    };
    // The holiday files are beside the file that holds the campaign's
    // fields: the document, or the `--header` of a CSV.
    let holder = args.header.as_deref().unwrap_or(file);
    let (doc, file_problems) = inline_files(input.doc, holder.parent().unwrap_or(Path::new("")));
    let dialplans = known_dialplans(args.dialplans.as_deref())?;
    let checked = check_document(&doc, dialplans.as_ref());
    let mut refusals: Vec<Refusal> = file_problems
        .into_iter()
        .map(|p| Refusal::new(RefusalKind::InvalidDocument, p))
        .collect();
    refusals.extend(checked.refusals);
    let csv = input.csv.as_ref();
    report_contacts(file, checked.parsed.as_ref(), csv, args.strict);
    let Some(parsed) = checked.parsed else {
        report_refusals(file, holder, &refusals);
        return Ok(deciding(&refusals).map_or(ExitCode::FAILURE, |k| ExitCode::from(k.exit_code())));
    };
    let store = match args.redis.connect().await {
        Ok(store) => Some(store),
        // Reasons found already are worth more than the connection error.
        Err(e) if !refusals.is_empty() => {
            eprintln!(
                "{}: not compared with a stored campaign: {e:#}",
                holder.display()
            );
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(store) = &store {
        refusals.extend(check_stored_header(store, &parsed.header).await?);
    }
    let bad_rows = csv.map(|rows| rows.bad.len());
    let anything_left_out =
        !parsed.rejected.is_empty() || !parsed.warnings.is_empty() || bad_rows.unwrap_or(0) > 0;
    if args.strict && anything_left_out {
        refusals.push(Refusal::new(
            RefusalKind::Strict,
            strict_message(&parsed, bad_rows),
        ));
    }
    match (deciding(&refusals), store) {
        (None, Some(store)) => queue(&store, &doc, &parsed, bad_rows, args.chunk_size).await,
        (kind, _) => {
            report_refusals(file, holder, &refusals);
            // INVARIANT: no store means a connection error with refusals.
            Ok(ExitCode::from(kind.map_or(2, RefusalKind::exit_code)))
        }
    }
}

/// Puts the checked document on the intake stream and says what was sent.
async fn queue(
    store: &RedisStore,
    doc: &str,
    parsed: &ParsedDocument,
    bad_rows: Option<usize>,
    chunk_size: usize,
) -> anyhow::Result<ExitCode> {
    let entries = submit_document(store, doc, chunk_size).await?;
    let mut notes = String::new();
    if !parsed.rejected.is_empty() {
        let n = parsed.rejected.len();
        notes.push_str(&format!("; {n} invalid contact(s) will be dead-lettered"));
    }
    if let Some(n) = bad_rows.filter(|n| *n > 0) {
        notes.push_str(&format!("; {n} unreadable row(s) left out"));
    }
    if !parsed.warnings.is_empty() {
        let n = parsed.warnings.len();
        notes.push_str(&format!("; {n} unknown field(s) ignored"));
    }
    eprintln!(
        "submitted {} contact(s) in {} intake entr{}{notes}",
        parsed.contacts.len(),
        entries.len(),
        if entries.len() == 1 { "y" } else { "ies" },
    );
    println!("{}", parsed.header.id);
    Ok(ExitCode::SUCCESS)
}

/// The document to submit: the JSON file, or the CSV contacts under the
/// `--header` JSON. `Err`: every line to print about why it cannot be read.
fn read_input(
    file: &Path,
    header: Option<&Path>,
    country: DefaultCountry,
) -> Result<Input, Vec<String>> {
    let bytes =
        std::fs::read(file).map_err(|e| vec![format!("cannot read {}: {e}", file.display())])?;
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !is_csv {
        if header.is_some() {
            return Err(vec!["--header is only for CSV contacts".into()]);
        }
        let doc = String::from_utf8(bytes).map_err(|e| {
            vec![format!(
                "{}: the document is not UTF-8 (byte {} is not): save it as UTF-8",
                file.display(),
                e.utf8_error().valid_up_to() + 1
            )]
        })?;
        return Ok(Input { doc, csv: None });
    }
    let header = header
        .ok_or_else(|| vec!["a CSV file of contacts needs --header CAMPAIGN.json".to_owned()])?;
    let mut doc = read_header(header).map_err(|e| vec![e])?;
    let csv = read_contacts(&bytes, country).map_err(|errors| {
        errors
            .iter()
            .map(|e| format!("{}:{}: {}", file.display(), e.line, e.message))
            .collect::<Vec<_>>()
    })?;
    doc.insert("contacts".into(), serde_json::Value::Array(csv.contacts));
    let bad = csv
        .bad_rows
        .into_iter()
        .map(|e| (e.line, e.message))
        .collect();
    Ok(Input {
        doc: serde_json::Value::Object(doc).to_string(),
        csv: Some(CsvRows {
            lines: csv.lines,
            bad,
        }),
    })
}

/// The campaign fields of a CSV submission, from its `--header` file.
fn read_header(header: &Path) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let shown = header.display();
    let text = std::fs::read_to_string(header).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{shown} is not valid JSON: {e}"))?;
    let serde_json::Value::Object(object) = doc else {
        return Err(format!("{shown} must hold a JSON object"));
    };
    if object.contains_key("contacts") {
        return Err(format!(
            "{shown} must not hold contacts when a CSV is given"
        ));
    }
    Ok(object)
}

/// `doc` with the dates of the holiday files it names inlined (see
/// `intake::inline_holiday_files`), and every problem reading them. A
/// document that names none is returned byte for byte.
fn inline_files(doc: String, doc_dir: &Path) -> (String, Vec<String>) {
    if !doc.contains("holiday_files") {
        return (doc, Vec::new());
    }
    // Unparsable JSON is left for the document parser to report.
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&doc) else {
        return (doc, Vec::new());
    };
    let problems = inline_holiday_files(&mut value, doc_dir);
    (value.to_string(), problems)
}

/// The dialplans `dialplan` may name: those in `dir` (default `dialplans`,
/// whose absence only warns: the name is then not checked).
fn known_dialplans(dir: Option<&Path>) -> anyhow::Result<Option<KnownDialplans>> {
    let (dir, given) = match dir {
        Some(dir) => (dir, true),
        None => (Path::new("dialplans"), false),
    };
    if !dir.is_dir() {
        anyhow::ensure!(
            !given,
            "--dialplans {}: not a directory (give the daemons' dialplans.dir)",
            dir.display()
        );
        eprintln!(
            "warning: the dialplan name is not checked: no directory {} here (give --dialplans DIR, the daemons' dialplans.dir)",
            dir.display()
        );
        return Ok(None);
    }
    let names: BTreeSet<String> = match load_dir(dir) {
        Ok(plans) => plans.names().map(str::to_owned).collect(),
        Err(problems) => {
            for p in problems {
                eprintln!("warning: {p}");
            }
            eprintln!(
                "warning: a daemon does not start with these dialplans; the name is checked against the files in {}",
                dir.display()
            );
            std::fs::read_dir(dir)?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
                .collect()
        }
    };
    Ok(Some(KnownDialplans {
        names,
        place: format!("in {}", dir.display()),
    }))
}

/// One line per invalid contact and unreadable CSV row, in file order,
/// then the document's unknown fields (errors under `--strict`).
fn report_contacts(
    file: &Path,
    parsed: Option<&ParsedDocument>,
    csv: Option<&CsvRows>,
    strict: bool,
) {
    let shown = file.display();
    let mut found: Vec<(usize, String)> = csv.map(|rows| rows.bad.clone()).unwrap_or_default();
    for r in parsed.map(|p| p.rejected.as_slice()).unwrap_or_default() {
        match csv {
            Some(rows) => {
                let line = rows.lines.get(r.index).copied().unwrap_or_default();
                let who =
                    r.id.as_deref()
                        .map(|id| format!("contact {id}: "))
                        .unwrap_or_default();
                found.push((line, format!("{who}{}", r.reason)));
            }
            None => {
                let id = r.id.as_deref().unwrap_or("no id");
                eprintln!("{shown}: contacts[{}] ({id}): {}", r.index, r.reason);
            }
        }
    }
    found.sort_by_key(|(line, _)| *line);
    for (line, why) in found {
        eprintln!("{shown}:{line}: {why}");
    }
    let level = if strict { "error" } else { "warning" };
    for w in parsed.map(|p| p.warnings.as_slice()).unwrap_or_default() {
        eprintln!("{shown}: {level}: {w}");
    }
}

fn strict_message(parsed: &ParsedDocument, csv_bad_rows: Option<usize>) -> String {
    let rows = csv_bad_rows
        .map(|n| format!(", {n} unreadable row(s)"))
        .unwrap_or_default();
    format!(
        "refused (--strict): {} invalid contact(s), {} unknown field(s){rows}; nothing was submitted",
        parsed.rejected.len(),
        parsed.warnings.len()
    )
}

/// Every refusal, one line each, then what was done: nothing. A refusal
/// about the contacts names `file`; one about the campaign's fields names
/// `holder`, the file that has them (the `--header` of a CSV).
fn report_refusals(file: &Path, holder: &Path, refusals: &[Refusal]) {
    let (strict, others): (Vec<&Refusal>, Vec<&Refusal>) =
        refusals.iter().partition(|r| r.kind == RefusalKind::Strict);
    for r in &others {
        let named = match r.kind {
            RefusalKind::NoValidContact => file,
            _ => holder,
        };
        eprintln!("{}: {}", named.display(), r.message);
    }
    if !others.is_empty() {
        eprintln!(
            "refused: {} problem(s) with the campaign document; nothing was submitted",
            others.len()
        );
    }
    for r in strict {
        eprintln!("{}", r.message);
    }
}
