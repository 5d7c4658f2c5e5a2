//! Property tests over every parser that takes outside input: campaign
//! JSON, contacts CSV, dialplan TOML, webhook forms, intake stream entries
//! and phone numbers. Inputs are both arbitrary and valid documents mutated
//! byte by byte (which reach deeper than noise). Each asserts no panic and
//! the parser's invariants: an error says where, accepted input reads the
//! same again. Inputs built around each parser's limits (contacts per
//! document, CSV field length, dialplan strings and arrays, form fields)
//! check that exactly what is over a limit is refused, naming it.
//!
//! The normal suite runs [`FAST`] cases per property. The long run, a few
//! million cases in all, is the ignored tests (docs/security.md has its
//! figures):
//!
//! ```text
//! cargo test --release --test fuzz_parsers -- --ignored
//! ```
//!
//! `PROPTEST_CASES` sets the long run's cases per property (default 500,000).

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sampark::dialplan::{MAX_ITEMS, MAX_STRING_BYTES, parse_str};
use sampark::domain::{
    DefaultCountry, DocumentError, PhoneNumber, parse_campaign_document,
    parse_campaign_document_within,
};
use sampark::intake::read_contacts;
use sampark::provider::twilio::parse_form;
use sampark::provider::{FormError, MAX_FIELDS, MAX_NAME_BYTES, MAX_VALUE_BYTES};
use sampark::store::{IntakeLimits, RawEntry, check_entry};

/// Cases per property in the normal suite.
const FAST: u32 = 256;
/// Cases per property in the long run, unless `PROPTEST_CASES` says.
const LONG: u32 = 500_000;

const CAMPAIGN: &str = r#"{"version": 1, "id": "fuzz", "name": "Fuzz", "dialplan": "p",
 "caller_id": "+916742000000", "department": "home",
 "contacts": [{"id": "a", "phone": "098765 43210", "official_id": "off-1", "office": "Puri PS", "service": "FIR"},
              {"id": "b", "phone": "+919812345678", "official_id": "off-2", "office": "Puri PS", "service": "FIR"}]}"#;

const CSV: &str = "id,phone,official_id,office,service\n\
                   a,098765 43210,off-1,Puri PS,FIR\n\
                   \"b\",\"+91 98123 45678\",off-2,\"Puri, Sadar PS\",FIR\n";

const DIALPLAN: &str = include_str!("../dialplans/mo-sarkar-feedback.toml");

/// `seed` with up to eight random byte edits (insert, delete, replace).
fn mutated(seed: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<u8>(), any::<prop::sample::Index>(), 0u8..3);
    proptest::collection::vec(edit, 0..8).prop_map(move |edits| {
        let mut bytes = seed.as_bytes().to_vec();
        for (byte, at, kind) in edits {
            let at = at.index(bytes.len() + 1);
            match kind {
                0 => bytes.insert(at, byte),
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ if at < bytes.len() => bytes[at] = byte,
                _ => bytes.push(byte),
            }
        }
        bytes
    })
}

/// Arbitrary bytes, or `seed` mutated.
fn input(seed: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        mutated(seed)
    ]
}

fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

fn long_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(LONG)
}

fn campaign_json(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(());
    };
    match parse_campaign_document(&text, &|_| true) {
        Ok(parsed) => {
            // Accepted: reads the same again, every contact accounted for.
            let again = parse_campaign_document(&text, &|_| true).unwrap();
            prop_assert_eq!(&parsed.header, &again.header);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let listed = value["contacts"].as_array().map_or(0, Vec::len);
            prop_assert_eq!(parsed.contacts.len() + parsed.rejected.len(), listed);
        }
        Err(DocumentError::Json(why)) => {
            prop_assert!(why.contains("line "), "no position in {}", why);
        }
        Err(DocumentError::Invalid(problems)) => prop_assert!(!problems.is_empty()),
    }
    Ok(())
}

/// A document under a contact limit reads as without one, or is refused
/// naming both counts when it holds more.
fn campaign_contact_limit((bytes, max): (Vec<u8>, usize)) -> Result<(), TestCaseError> {
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(());
    };
    let unlimited = parse_campaign_document(&text, &|_| true);
    let limited = parse_campaign_document_within(&text, &|_| true, max);
    let listed = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["contacts"].as_array().map(Vec::len));
    match (&unlimited, listed) {
        (Ok(_), Some(n)) if n > max => {
            let Err(DocumentError::Invalid(problems)) = &limited else {
                return Err(TestCaseError::fail(format!("{n} contacts passed {max}")));
            };
            let want = format!("holds {n} contacts; at most {max} are read");
            prop_assert!(problems[0].contains(&want), "{:?}", problems);
        }
        (Ok(parsed), _) => {
            let again = limited.as_ref().unwrap();
            prop_assert_eq!(parsed.contacts.len(), again.contacts.len());
        }
        (Err(_), _) => prop_assert!(limited.is_err()),
    }
    Ok(())
}

fn contacts_csv(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    // Lines end with LF, CRLF or a lone CR.
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    let lines = breaks + 1;
    match read_contacts(&bytes, DefaultCountry::India) {
        Ok(read) => {
            prop_assert_eq!(read.contacts.len(), read.lines.len());
            for line in read.lines {
                prop_assert!((1..=lines).contains(&line));
            }
        }
        Err(problems) => {
            prop_assert!(!problems.is_empty());
            for problem in problems {
                prop_assert!((1..=lines).contains(&problem.line), "{}", problem.line);
                prop_assert!(!problem.message.is_empty());
            }
        }
    }
    Ok(())
}

/// One row of five fields (the first never empty, so the row is never
/// blank) of the given lengths: read iff every field is within the limit,
/// else reported on its line naming the first long field.
fn csv_field_lengths(lengths: Vec<usize>) -> Result<(), TestCaseError> {
    let row: Vec<String> = std::iter::once("a".to_owned())
        .chain(lengths.iter().map(|&n| "x".repeat(n)))
        .collect();
    let text = format!("id,phone,official_id,office,service\n{}\n", row.join(","));
    let read = read_contacts(text.as_bytes(), DefaultCountry::India).unwrap();
    match lengths.iter().position(|&n| n > 4096) {
        None => {
            prop_assert_eq!(read.lines, vec![2]);
            prop_assert!(read.bad_rows.is_empty());
        }
        Some(i) => {
            prop_assert!(read.contacts.is_empty());
            let want = format!(
                "line 2: field {} is {} bytes long; at most 4096 are allowed",
                i + 2,
                lengths[i]
            );
            prop_assert_eq!(read.bad_rows[0].to_string(), want);
        }
    }
    Ok(())
}

fn dialplan_toml(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(());
    };
    let file = Path::new("fuzz.toml");
    match parse_str(file, &text, None) {
        Ok(plan) => {
            let again = parse_str(file, &text, None).unwrap();
            prop_assert_eq!(plan.name(), again.name());
        }
        Err(problems) => {
            prop_assert!(!problems.is_empty());
            for problem in problems {
                prop_assert_eq!(problem.file.as_path(), file);
                prop_assert!(!problem.message.is_empty());
            }
        }
    }
    Ok(())
}

/// A valid plan with one more table holding a string of `length` bytes
/// and an array of `items` elements: refused for exactly what is over a
/// limit, each problem naming the file, its line and the key.
fn dialplan_limits((length, items): (usize, usize)) -> Result<(), TestCaseError> {
    let text = format!(
        "{DIALPLAN}\n[zz]\ns = \"{}\"\na = [{}]\n",
        "x".repeat(length),
        vec!["1"; items].join(",")
    );
    let file = Path::new("limits.toml");
    let problems: Vec<String> = parse_str(file, &text, None)
        .err()
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect();
    let long = problems.iter().filter(|p| p.contains("zz.s: ")).count();
    let many = problems.iter().filter(|p| p.contains("zz.a: ")).count();
    prop_assert_eq!(
        long,
        usize::from(length > MAX_STRING_BYTES),
        "{:?}",
        problems
    );
    prop_assert_eq!(many, usize::from(items > MAX_ITEMS), "{:?}", problems);
    if length <= MAX_STRING_BYTES && items <= MAX_ITEMS {
        // Within the limits: the plan's own rules speak (an unknown key).
        prop_assert!(
            problems.iter().any(|p| p.contains("zz: unknown key")),
            "{:?}",
            problems
        );
    }
    for p in &problems {
        prop_assert!(p.starts_with("limits.toml:"), "{}", p);
    }
    Ok(())
}

/// A form body of `pairs`, every byte percent-encoded but unreserved ones.
fn form(pairs: &[(String, String)]) -> Vec<u8> {
    let encode = |text: &str| {
        let mut out = String::with_capacity(text.len());
        for b in text.bytes() {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(char::from(b));
                }
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
        out
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

fn webhook_form((noise, pairs): (Vec<u8>, Vec<(String, String)>)) -> Result<(), TestCaseError> {
    let _ = parse_form(&noise);
    prop_assert_eq!(parse_form(&form(&pairs)), Ok(pairs));
    Ok(())
}

/// `fields` pairs, one name and one value of the given lengths: read whole
/// iff within every bound, else refused for the first bound crossed.
fn webhook_form_limits((fields, name, value): (usize, usize, usize)) -> Result<(), TestCaseError> {
    let mut pairs: Vec<(String, String)> = vec![("a".into(), "1".into()); fields];
    pairs.push(("n".repeat(name.max(1)), "v".repeat(value)));
    let got = parse_form(&form(&pairs));
    if pairs.len() > MAX_FIELDS {
        prop_assert_eq!(got, Err(FormError::TooManyFields));
    } else if name.max(1) > MAX_NAME_BYTES {
        let long_name = matches!(got, Err(FormError::LongName { .. }));
        prop_assert!(long_name, "{:?}", got.map(|p| p.len()));
    } else if value > MAX_VALUE_BYTES {
        let long_value = matches!(got, Err(FormError::LongValue { bytes, .. }) if bytes == value);
        prop_assert!(long_value, "{:?}", got.map(|p| p.len()));
    } else {
        prop_assert_eq!(got, Ok(pairs));
    }
    Ok(())
}

fn intake_entry(fields: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), TestCaseError> {
    let raw = RawEntry {
        id: "1-0".into(),
        cut: false,
        deliveries: 1,
        bytes: fields.iter().map(|(n, v)| (n.len() + v.len()) as u64).sum(),
        field_count: fields.len() as u64,
        fields: fields.clone(),
    };
    match check_entry(raw, &IntakeLimits::default()).payload {
        Ok(document) => {
            prop_assert_eq!(fields.len(), 1);
            prop_assert_eq!(document.as_bytes(), &fields[0].1[..]);
        }
        Err(refused) => {
            prop_assert!(!refused.reason.is_empty());
            serde_json::from_str::<serde_json::Value>(&refused.masked_payload()).unwrap();
        }
    }
    Ok(())
}

fn phone_number(text: String) -> Result<(), TestCaseError> {
    match PhoneNumber::from_indian_input(&text) {
        // Accepted: E.164, which reads back as itself.
        Ok(phone) => {
            let again = PhoneNumber::parse(phone.as_str()).unwrap();
            prop_assert_eq!(&again, &phone);
        }
        // Refused: the reason never repeats the number.
        Err(why) => {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 7 {
                prop_assert!(!why.to_string().contains(&digits));
            }
        }
    }
    Ok(())
}

fn entry_fields() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    let name = prop_oneof![
        Just(b"campaign".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..10)
    ];
    proptest::collection::vec((name, proptest::collection::vec(any::<u8>(), 0..256)), 0..4)
}

fn form_pairs() -> impl Strategy<Value = (Vec<u8>, Vec<(String, String)>)> {
    (
        proptest::collection::vec(any::<u8>(), 0..256),
        proptest::collection::vec((".{1,12}", ".{0,24}"), 0..8),
    )
}

/// A length near `limit`: well under it, or within eight bytes of it.
fn near(limit: usize) -> impl Strategy<Value = usize> {
    prop_oneof![0..16usize, (limit - 8)..(limit + 8)]
}

fn form_limits() -> impl Strategy<Value = (usize, usize, usize)> {
    (
        near(MAX_FIELDS),
        near(MAX_NAME_BYTES),
        near(MAX_VALUE_BYTES),
    )
}

fn phone_text() -> impl Strategy<Value = String> {
    prop_oneof!["[+0-9 ().-]{0,20}", ".{0,20}"]
}

macro_rules! parsers {
    ($($name:ident, $long:ident: $strategy:expr => $check:expr;)*) => {$(
        #[test]
        fn $name() {
            run(FAST, $strategy, $check);
        }

        #[test]
        #[ignore = "the long fuzz run: cargo test --release --test fuzz_parsers -- --ignored"]
        fn $long() {
            run(long_cases(), $strategy, $check);
        }
    )*};
}

parsers! {
    campaign_json_never_panics, campaign_json_long: input(CAMPAIGN) => campaign_json;
    campaign_contact_limit_holds, campaign_contact_limit_long:
        (input(CAMPAIGN), 0usize..4) => campaign_contact_limit;
    contacts_csv_never_panics, contacts_csv_long: input(CSV) => contacts_csv;
    csv_field_limit_holds, csv_field_limit_long:
        proptest::collection::vec(near(4096), 4) => csv_field_lengths;
    dialplan_toml_never_panics, dialplan_toml_long: input(DIALPLAN) => dialplan_toml;
    dialplan_limits_hold, dialplan_limits_long:
        (near(MAX_STRING_BYTES), near(MAX_ITEMS)) => dialplan_limits;
    webhook_forms_round_trip, webhook_forms_long: form_pairs() => webhook_form;
    webhook_form_limits_hold, webhook_form_limits_long: form_limits() => webhook_form_limits;
    intake_entries_never_panic, intake_entries_long: entry_fields() => intake_entry;
    phone_numbers_round_trip, phone_numbers_long: phone_text() => phone_number;
}
