//! `campaign submit` streams its input: every contact of a large JSON or
//! CSV file reaches the intake stream once, in chunks of `--chunk-size`
//! that repeat the header; a file refused for a problem found at its very
//! end has nothing queued; and (ignored, run by `cargo bench --bench
//! scale`) a 1,000,000-contact file is submitted under 100 MB of memory.
//! The real binary and a real redis-server.

#[path = "support/big_submit.rs"]
mod big_submit;
mod support;

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use support::cli::{intake_documents, submit};
use support::redis_server::RedisServer;

fn header(id: &str) -> serde_json::Map<String, Value> {
    let Value::Object(fields) = json!({"version": 1, "id": id, "name": "Streaming",
        "dialplan": "mo-sarkar-feedback", "caller_id": "+916742000000", "department": "revenue"})
    else {
        unreachable!()
    };
    fields
}

/// Checks that the documents carry `header` each, at most `chunk` contacts
/// each, and together the contacts `ids` in order, each once.
fn assert_chunks(
    docs: &[Value],
    header: &serde_json::Map<String, Value>,
    chunk: usize,
    ids: &[String],
) {
    let mut seen = Vec::new();
    for doc in docs {
        let Value::Object(doc) = doc else {
            panic!("not an object: {doc}")
        };
        for (k, v) in header {
            assert_eq!(doc.get(k), Some(v), "every chunk repeats the header's {k}");
        }
        assert_eq!(
            doc.len(),
            header.len() + 1,
            "the header and contacts, nothing else"
        );
        let contacts = doc["contacts"].as_array().unwrap();
        assert!(
            contacts.len() <= chunk,
            "{} contacts in a chunk of {chunk}",
            contacts.len()
        );
        seen.extend(
            contacts
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
    }
    assert_eq!(
        docs.len(),
        ids.len().div_ceil(chunk),
        "as few chunks as the size allows"
    );
    assert_eq!(seen, ids, "every contact once, in file order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_json_contacts_arrive_once_in_chunks_that_repeat_the_header() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    // `contacts` first: the header is only known at the end of the file.
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write!(out, r#"{{"contacts": ["#).unwrap();
    let n = 20_000;
    let mut ids = Vec::new();
    for i in 0..n {
        let id = format!("c-{i:05}");
        // Every thousandth contact has a bad number: listed, still queued.
        let phone = if i % 1_000 == 999 {
            "12345".to_owned()
        } else {
            format!("98{i:08}")
        };
        let sep = if i == 0 { "" } else { "," };
        write!(
            out,
            r#"{sep}{{"id": "{id}", "phone": "{phone}", "official_id": "off-{}", "office": "Sadar", "service": "Mutation"}}"#,
            i % 50
        )
        .unwrap();
        ids.push(id);
    }
    let header = header("stream-json");
    let fields = serde_json::to_string(&header).unwrap();
    write!(out, "], {}", &fields[1..]).unwrap();
    out.flush().unwrap();
    drop(out);

    let (code, stdout, stderr) = submit(&redis, &path, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "stream-json");
    assert!(
        stderr.contains("submitted 19980 contact(s) in 4 intake entries; 20 invalid contact(s) will be dead-lettered"),
        "{stderr}"
    );
    assert!(
        stderr.contains(": contacts[999] (c-00999): ")
            && stderr.contains(": contacts[19999] (c-19999): "),
        "each invalid contact listed with its place: {stderr}"
    );
    assert!(
        !stderr.contains('\r'),
        "no progress line when stderr is not a terminal"
    );
    assert_chunks(&intake_documents(&redis).await, &header, 5_000, &ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_csv_rows_arrive_once_and_bad_rows_are_named_by_line() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write!(out, "\u{feff}id;phone;official_id;office;service\r\n").unwrap();
    let mut ids = Vec::new();
    for i in 0..20_000 {
        let id = format!("r-{i:05}");
        if i == 12_345 {
            // Line 12,347 (after the header): a field too many; left out.
            write!(out, "{id};98{i:08};off-1;Sadar;Mutation;extra\r\n").unwrap();
            continue;
        }
        write!(
            out,
            "{id};098{i:08};off-{};\"Sadar; Cuttack\";Mutation\r\n",
            i % 50
        )
        .unwrap();
        ids.push(id);
    }
    out.flush().unwrap();
    drop(out);
    let header_path = dir.path().join("header.json");
    let header = header("stream-csv");
    std::fs::write(&header_path, Value::Object(header.clone()).to_string()).unwrap();
    let header_arg = header_path.to_str().unwrap();

    let (code, stdout, stderr) = submit(
        &redis,
        &path,
        &["--header", header_arg, "--chunk-size", "3000"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "stream-csv");
    assert!(
        stderr.contains("big.csv:12347: 6 field(s), but the header has 5"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "submitted 19999 contact(s) in 7 intake entries; 1 unreadable row(s) left out"
        ),
        "{stderr}"
    );
    let docs = intake_documents(&redis).await;
    assert_chunks(&docs, &header, 3_000, &ids);
    let first = &docs[0]["contacts"][0];
    assert_eq!(first["phone"], "+919800000000", "normalised to E.164");
    assert_eq!(first["office"], "Sadar; Cuttack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_problem_at_the_very_end_of_a_file_refuses_it_with_nothing_queued() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    // JSON cut off after 12,000 good contacts: more than two chunks read.
    let path = dir.path().join("cut.json");
    big_submit::write_json(&path, 12_000, 10);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.trim_end().trim_end_matches("]}")).unwrap();
    let (code, _, stderr) = submit(&redis, &path, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    assert!(stderr.contains("nothing was submitted"), "{stderr}");
    // A CSV whose last row cannot be read, under --strict.
    let csv = dir.path().join("last.csv");
    let mut rows = String::from("id,phone,official_id,office,service\n");
    for i in 0..12_000 {
        rows.push_str(&format!("k-{i},98{i:08},off-1,Sadar,Mutation\n"));
    }
    rows.push_str("k-last,9800000001,off-1,\"Sadar,Mutation\n");
    std::fs::write(&csv, rows).unwrap();
    let header_path = dir.path().join("header.json");
    std::fs::write(
        &header_path,
        Value::Object(header("strict-csv")).to_string(),
    )
    .unwrap();
    let (code, _, stderr) = submit(
        &redis,
        &csv,
        &["--header", header_path.to_str().unwrap(), "--strict"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("last.csv:12002: field 4: its opening quote is never closed"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "refused (--strict): 0 invalid contact(s), 0 unknown field(s), 1 unreadable row(s)"
        ),
        "{stderr}"
    );
    assert!(
        intake_documents(&redis).await.is_empty(),
        "nothing queued for either file"
    );
}

/// Issue 12's bound: a generated 1,000,000-contact file (about 230 MB)
/// submitted with under 100 MB of peak resident memory. Slow (a minute or
/// two in a debug build), so ignored; `cargo bench --bench scale` runs the
/// same scenario with the release binary and records the figures.
#[test]
#[ignore = "writes a 1,000,000-contact file; run by `cargo bench --bench scale`"]
fn a_million_contact_file_is_submitted_under_100_mb() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("million.json");
    let contacts = 1_000_000;
    let bytes = big_submit::write_json(&path, contacts, 500);
    let done = big_submit::submit_measured(
        Path::new(env!("CARGO_BIN_EXE_sampark")),
        &path,
        &redis.url(),
    );
    assert_eq!(done.exit, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout.trim(), big_submit::CAMPAIGN);
    assert!(
        done.stderr
            .contains("submitted 1000000 contact(s) in 200 intake entries"),
        "{}",
        done.stderr
    );
    eprintln!(
        "{contacts} contacts, {:.0} MB file: peak RSS {:.1} MB, {:.1} s",
        bytes as f64 / 1e6,
        done.peak_rss as f64 / 1e6,
        done.elapsed.as_secs_f64()
    );
    assert!(
        done.peak_rss < 100_000_000,
        "peak RSS {} bytes, over 100 MB",
        done.peak_rss
    );
}
