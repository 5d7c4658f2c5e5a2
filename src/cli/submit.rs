//! `sampark campaign submit`: read a campaign document (JSON, or CSV
//! contacts under a JSON header), make every check that can be made before
//! queueing (`intake::check`: the document, the dialplan, that some contact
//! is valid, the header against the stored campaign's), then put it on the
//! intake stream in chunks of `--chunk-size` contacts, each repeating the
//! header.
//!
//! The file is streamed, never held whole, so memory does not grow with its
//! size: pass 0 checks the encoding; pass 1 reads every contact, checking
//! each chunk as ingestion will and listing every problem as it is found;
//! only when nothing refuses the document does pass 2 read the file again
//! and queue each chunk as it fills. A file refused for a problem found
//! late (its last line) has nothing queued. If the file changes between
//! the passes (its size or modification time, or the contacts counted) or
//! Redis fails part-way, the entries already queued stay queued (the daemon
//! ingests them; contacts queued again are ingested once), the command
//! says how many and exits 1. On a terminal, stderr shows the contacts read
//! and submitted and the rate; nothing of it goes to a pipe or a log.
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
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::campaign::RedisArgs;
use crate::dialplan::load_dir;
use crate::domain::{DefaultCountry, UnknownField};
use crate::intake::{
    ChunkWriter, ContactCheck, ContactSummary, Finding, KnownDialplans, Refusal, RefusalKind,
    StreamError, StreamInput, StreamItem, StreamedFields, check_encoding, check_stored_header,
    check_streamed, deciding, inline_holiday_files, read_stream,
};
use crate::store::Store;
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
    /// Contacts per intake entry; larger documents are split. At most
    /// 50,000, the daemons' default `intake.max_contacts_per_document` (a
    /// daemon set lower dead-letters larger entries; it cannot be set below
    /// the default 5,000).
    #[arg(long, default_value_t = crate::intake::CHUNK_SIZE,
          value_parser = chunk_size)]
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

/// `--chunk-size`: 1 to the daemons' default contact limit.
fn chunk_size(text: &str) -> Result<usize, String> {
    let max = crate::domain::json_guard::DEFAULT_MAX_CONTACTS;
    match text.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("{text:?} is not a number from 1 to {max}")),
    }
}

pub async fn command(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let file = args.file.clone();
    let input = match stream_input(&file, args.header.as_deref(), args.default_country) {
        Ok(input) => input,
        Err(lines) => return Ok(unreadable(&lines)),
    };
    // Pass 0: the encoding, so nothing is reported about a file in another.
    let checked = {
        let input = input.clone();
        tokio::task::spawn_blocking(move || check_encoding(&input)).await?
    };
    match checked {
        Ok(()) => {}
        Err(StreamError::Unreadable(lines)) => return Ok(unreadable(&lines)),
        Err(e) => return Err(e.into()),
    }
    let started = file_stamp(&file)?;
    // Pass 1: every contact checked, each problem listed as found.
    let pass = {
        let (input, chunk_size) = (input.clone(), args.chunk_size);
        tokio::task::spawn_blocking(move || check_pass(&input, chunk_size)).await?
    };
    // The holiday files are beside the file that holds the campaign's
    // fields: the document, or the `--header` of a CSV.
    let holder = args.header.as_deref().unwrap_or(&file).to_owned();
    let (mut fields, summary) = match pass {
        Ok(found) => found,
        Err(StreamError::Json(e)) => {
            let refusal =
                Refusal::new(RefusalKind::InvalidDocument, format!("not valid JSON: {e}"));
            report_refusals(&file, &holder, &[refusal]);
            return Ok(ExitCode::from(2));
        }
        Err(StreamError::Unreadable(lines)) => return Ok(unreadable(&lines)),
        Err(e) => return Err(e.into()),
    };
    let file_problems = inline_files(&mut fields.header, holder.parent().unwrap_or(Path::new("")));
    let dialplans = known_dialplans(args.dialplans.as_deref())?;
    let checked = check_streamed(
        &fields.header,
        fields.contacts,
        &summary,
        dialplans.as_ref(),
    );
    let mut refusals: Vec<Refusal> = file_problems
        .into_iter()
        .map(|p| Refusal::new(RefusalKind::InvalidDocument, p))
        .collect();
    refusals.extend(checked.refusals);
    let unknown: Vec<&UnknownField> = checked.warnings.iter().chain(&summary.warnings).collect();
    report_unknown(&file, &unknown, args.strict);
    let Some(header) = checked.header else {
        report_refusals(&file, &holder, &refusals);
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
        refusals.extend(check_stored_header(store, &header).await?);
    }
    let is_csv = matches!(input, StreamInput::Csv { .. });
    let anything_left_out = summary.rejected > 0 || !unknown.is_empty() || summary.bad_rows > 0;
    if args.strict && anything_left_out {
        refusals.push(Refusal::new(
            RefusalKind::Strict,
            strict_message(&summary, unknown.len(), is_csv),
        ));
    }
    let Some(store) = store.filter(|_| deciding(&refusals).is_none()) else {
        report_refusals(&file, &holder, &refusals);
        // INVARIANT: no store means a connection error with refusals.
        return Ok(ExitCode::from(
            deciding(&refusals).map_or(2, RefusalKind::exit_code),
        ));
    };
    if file_stamp(&file)? != started {
        anyhow::bail!(
            "{} changed while it was being checked; nothing was submitted: submit it again",
            file.display()
        );
    }
    // Pass 2: the same chunks, queued as they fill.
    let queued = queue(&store, input, fields.header, args.chunk_size, &summary).await?;
    let mut notes = String::new();
    if summary.rejected > 0 {
        let n = summary.rejected;
        notes.push_str(&format!("; {n} invalid contact(s) will be dead-lettered"));
    }
    if is_csv && summary.bad_rows > 0 {
        let n = summary.bad_rows;
        notes.push_str(&format!("; {n} unreadable row(s) left out"));
    }
    if !unknown.is_empty() {
        let n = unknown.len();
        notes.push_str(&format!("; {n} unknown field(s) ignored"));
    }
    eprintln!(
        "submitted {} contact(s) in {queued} intake entr{}{notes}",
        summary.valid,
        if queued == 1 { "y" } else { "ies" },
    );
    println!("{}", header.id);
    Ok(ExitCode::SUCCESS)
}

/// Prints why the input cannot be read; exit 2.
fn unreadable(lines: &[String]) -> ExitCode {
    for line in lines {
        eprintln!("{line}");
    }
    eprintln!("refused: the input cannot be read; nothing was submitted");
    ExitCode::from(2)
}

/// The file's length and modification time, to notice it changing between
/// the pass that checks it and the pass that submits it.
fn file_stamp(file: &Path) -> anyhow::Result<(u64, Option<std::time::SystemTime>)> {
    let meta =
        std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok((meta.len(), meta.modified().ok()))
}

/// Pass 1: reads the input, checking every contact and listing each
/// problem on stderr as it is found.
fn check_pass(
    input: &StreamInput,
    chunk_size: usize,
) -> Result<(StreamedFields, ContactSummary), StreamError> {
    let shown = input.path().display().to_string();
    let is_csv = matches!(input, StreamInput::Csv { .. });
    let progress = std::cell::RefCell::new(Progress::new("read"));
    let mut report = |f: Finding| {
        progress.borrow_mut().clear();
        eprintln!("{}", finding_line(&shown, is_csv, &f));
    };
    let mut check = ContactCheck::new(chunk_size, &mut report);
    let fields = read_stream(input, &mut |item| {
        check.push(item);
        let read = check.read();
        progress.borrow_mut().show(read, None);
        true
    });
    let read = check.read();
    let summary = check.finish();
    let fields = fields?;
    progress.borrow_mut().done(read);
    Ok((fields, summary))
}

/// How a finding is listed: `FILE: contacts[i] (id): why` for JSON,
/// `FILE:LINE: why` for CSV.
fn finding_line(file: &str, is_csv: bool, finding: &Finding) -> String {
    match finding {
        Finding::BadRow(e) => format!("{file}:{}: {}", e.line, e.message),
        Finding::Rejected {
            line, id, reason, ..
        } if is_csv => {
            let who = id
                .as_deref()
                .map(|id| format!("contact {id}: "))
                .unwrap_or_default();
            format!("{file}:{}: {who}{reason}", line.unwrap_or_default())
        }
        Finding::Rejected {
            index, id, reason, ..
        } => {
            let id = id.as_deref().unwrap_or("no id");
            format!("{file}: contacts[{index}] ({id}): {reason}")
        }
    }
}

/// Pass 2: reads the input again on a blocking thread, which writes the
/// chunk documents as they fill; each is queued as it comes. Returns the
/// entries queued. A failure part-way (the file changed or became
/// unreadable, Redis went away) says how many entries were queued.
async fn queue(
    store: &RedisStore,
    input: StreamInput,
    header: serde_json::Map<String, serde_json::Value>,
    chunk_size: usize,
    summary: &ContactSummary,
) -> anyhow::Result<usize> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, usize)>(2);
    let reader = tokio::task::spawn_blocking(move || {
        let mut writer = ChunkWriter::new(&header, chunk_size);
        let mut contacts = 0usize;
        let read = read_stream(&input, &mut |item| {
            let StreamItem::Contact { value, .. } = item else {
                return true;
            };
            contacts += 1;
            writer
                .push(value)
                .is_none_or(|chunk| tx.blocking_send(chunk).is_ok())
        });
        if let Some(chunk) = writer.finish() {
            // A closed channel means the queueing side failed and says why.
            let _ = tx.blocking_send(chunk);
        }
        read.map(|_| contacts)
    });
    let mut progress = Progress::new("submitted");
    let (mut entries, mut sent) = (0usize, 0usize);
    while let Some((chunk, n)) = rx.recv().await {
        if let Err(e) = store.submit(&chunk).await {
            anyhow::bail!(
                "{e}: {entries} of {} intake entries ({sent} contacts) were queued before it                  failed; the daemon ingests them. Submit the same file again to queue the rest                  (contacts queued twice are ingested once)",
                summary.chunks
            );
        }
        entries += 1;
        sent += n;
        progress.show(sent, Some(summary.contacts));
    }
    progress.done(sent);
    let read = reader.await?;
    let changed = match read {
        Ok(contacts) if contacts == summary.contacts => None,
        Ok(contacts) => Some(format!(
            "it now has {contacts} contacts, {} when it was checked",
            summary.contacts
        )),
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = changed {
        anyhow::bail!(
            "the file changed while it was being submitted ({why}): {entries} intake entries              ({sent} contacts) were queued; the daemon ingests them. Submit the file again              once it is complete (contacts queued twice are ingested once)"
        );
    }
    Ok(entries)
}

/// Contacts read or submitted and the rate, redrawn on one line of stderr
/// at most four times a second; only when stderr is a terminal.
struct Progress {
    what: &'static str,
    on: bool,
    started: Instant,
    last: Option<Instant>,
    shown: bool,
}

impl Progress {
    fn new(what: &'static str) -> Self {
        Progress {
            what,
            on: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: None,
            shown: false,
        }
    }

    fn show(&mut self, count: usize, of: Option<usize>) {
        let now = Instant::now();
        if !self.on
            || self
                .last
                .is_some_and(|l| now - l < Duration::from_millis(250))
        {
            return;
        }
        self.last = Some(now);
        let secs = (now - self.started).as_secs_f64().max(0.001);
        let of = of.map(|n| format!(" of {n}")).unwrap_or_default();
        eprint!(
            "\r\x1b[K{} {count}{of} contacts ({:.0}/s)",
            self.what,
            count as f64 / secs
        );
        self.shown = true;
    }

    /// Takes the line off, so other output starts on a clean line.
    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[K");
            self.shown = false;
        }
    }

    /// The final count, left on the terminal.
    fn done(&mut self, count: usize) {
        if self.on {
            self.last = None;
            self.show(count, None);
            eprintln!(" in {:.1}s", self.started.elapsed().as_secs_f64());
            self.shown = false;
        }
    }
}

/// The input to stream: the JSON file, or the CSV contacts under the
/// `--header` JSON. `Err`: every line to print about why it cannot be read.
fn stream_input(
    file: &Path,
    header: Option<&Path>,
    country: DefaultCountry,
) -> Result<StreamInput, Vec<String>> {
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !is_csv {
        if header.is_some() {
            return Err(vec!["--header is only for CSV contacts".into()]);
        }
        return Ok(StreamInput::Json(file.to_owned()));
    }
    let header = header
        .ok_or_else(|| vec!["a CSV file of contacts needs --header CAMPAIGN.json".to_owned()])?;
    Ok(StreamInput::Csv {
        path: file.to_owned(),
        header: read_header(header).map_err(|e| vec![e])?,
        country,
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

/// Inlines the dates of the holiday files the campaign's fields name (see
/// `intake::inline_holiday_files`); returns every problem reading them.
fn inline_files(
    header: &mut serde_json::Map<String, serde_json::Value>,
    doc_dir: &Path,
) -> Vec<String> {
    let mut value = serde_json::Value::Object(std::mem::take(header));
    let problems = inline_holiday_files(&mut value, doc_dir);
    if let serde_json::Value::Object(fields) = value {
        *header = fields;
    }
    problems
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

/// The document's unknown fields (errors under `--strict`).
fn report_unknown(file: &Path, unknown: &[&UnknownField], strict: bool) {
    let level = if strict { "error" } else { "warning" };
    for w in unknown {
        eprintln!("{}: {level}: {w}", file.display());
    }
}

fn strict_message(summary: &ContactSummary, unknown: usize, is_csv: bool) -> String {
    let rows = if is_csv {
        format!(", {} unreadable row(s)", summary.bad_rows)
    } else {
        String::new()
    };
    format!(
        "refused (--strict): {} invalid contact(s), {unknown} unknown field(s){rows}; nothing was submitted",
        summary.rejected,
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

#[cfg(test)]
mod tests {
    use super::chunk_size;

    #[test]
    fn chunk_size_stays_within_the_daemons_default_contact_limit() {
        assert_eq!(chunk_size("1"), Ok(1));
        assert_eq!(chunk_size("50000"), Ok(50_000));
        for refused in ["0", "50001", "-3", "many"] {
            let why = chunk_size(refused).unwrap_err();
            assert!(why.contains("is not a number from 1 to 50000"), "{why}");
        }
    }
}
