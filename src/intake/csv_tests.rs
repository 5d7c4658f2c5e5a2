use super::*;

fn read(text: &str) -> CsvContacts {
    read_contacts(text.as_bytes(), DefaultCountry::India).unwrap()
}

fn refused(bytes: &[u8]) -> Vec<CsvError> {
    read_contacts(bytes, DefaultCountry::India).unwrap_err()
}

#[test]
fn reads_an_excel_export_with_bom_crlf_semicolons_and_quotes() {
    let text = "\u{feff}id;phone;language;official_id;office;service\r\n\
                c-1;098765 43210;or;off-17;\"Dhenkanal Town PS; Dhenkanal\";FIR registration\r\n\
                c-2;+919876543211;;off-17;\"The \"\"Big\"\" Office\";\"Passport\r\nrenewal\"\r\n\
                c-3;9876543212;hi;off-18;Puri Sadar PS;Passport\r\n";
    let csv = read(text);
    assert_eq!(csv.separator, ';');
    assert!(csv.bad_rows.is_empty(), "{:?}", csv.bad_rows);
    assert_eq!(
        csv.lines,
        [2, 3, 5],
        "a row starts where it starts; line breaks in quotes count"
    );
    let c = &csv.contacts;
    assert_eq!(
        c[0]["id"], "c-1",
        "the BOM is not part of the first column's name"
    );
    assert_eq!(c[0]["office"], "Dhenkanal Town PS; Dhenkanal");
    assert_eq!(c[0]["phone"], "+919876543210", "normalised to E.164");
    assert_eq!(c[0]["language"], "or");
    assert!(
        c[1].get("language").is_none(),
        "an empty optional cell is absent"
    );
    assert_eq!(c[1]["office"], "The \"Big\" Office");
    assert_eq!(c[1]["service"], "Passport\nrenewal");
    assert_eq!(c[2]["phone"], "+919876543212");
}

#[test]
fn the_separator_is_the_one_the_header_uses_most() {
    let tab =
        read("id\tphone\tofficial_id\toffice\tservice\nk\t9876500001\to\tCuttack, Sadar\ts\n");
    assert_eq!(tab.separator, '\t');
    assert_eq!(tab.contacts[0]["office"], "Cuttack, Sadar");
    let comma = read("id,phone,official_id,office,service\nk,9876500001,o,\"x; y\",s\n");
    assert_eq!(comma.separator, ',');
    assert_eq!(comma.contacts[0]["office"], "x; y");
    // Excel's `sep=` line names it; the header is then line 2.
    let named = read("sep=;\r\nid;phone;official_id;office;service\r\nk;9876500001;o;x, y;s\r\n");
    assert_eq!(named.separator, ';');
    assert_eq!(named.lines, [3]);
    assert_eq!(named.contacts[0]["office"], "x, y");
}

#[test]
fn every_bad_row_is_reported_with_its_line_and_the_rest_are_kept() {
    let text = "id;phone;official_id;office;service\n\
                a;9876500001;o;x;s\n\
                b;9876500002;o;x\n\
                c;9876500003;o;\"x\"y;s\n\
                ;;;;\n\
                \n\
                d;9876500004;o;x;s;;\n\
                e;9876500005;o;x;s;extra\n\
                f;9876500006;o;\"never closed;s\n\
                g;9876500007;o;x;s\n";
    let csv = read(text);
    let ids: Vec<_> = csv.contacts.iter().map(|c| c["id"].clone()).collect();
    assert_eq!(ids, ["a", "d"]);
    assert_eq!(csv.lines, [2, 7]);
    let bad: Vec<(usize, &str)> = csv
        .bad_rows
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        bad,
        [
            (
                3,
                "4 field(s), but the header has 5 (a value holding the separator `;` must be in double quotes)"
            ),
            (
                4,
                "field 4: text after its closing quote (a quote inside a quoted field is written twice: \"\")"
            ),
            (
                8,
                "6 field(s), but the header has 5 (a value holding the separator `;` must be in double quotes)"
            ),
            (
                9,
                "field 4: its opening quote is never closed (the rest of the file, to line 10, was read into it)"
            ),
        ]
    );
}

#[test]
fn every_header_problem_is_reported_at_once() {
    let errors = refused(b"ID;Phone;langauge;office;office;extra\n");
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert!(errors.iter().all(|e| e.line == 1));
    assert_eq!(messages.len(), 5, "{messages:?}");
    assert!(messages[0].starts_with("unknown column \"langauge\" (did you mean \"language\"?)"));
    assert_eq!(messages[1], "column \"office\" appears twice");
    assert!(messages[2].starts_with("unknown column \"extra\""));
    assert_eq!(messages[3], "missing column \"official_id\"");
    assert_eq!(messages[4], "missing column \"service\"");
    let empty = refused(b"\r\n\r\n");
    assert_eq!(
        empty[0].message,
        "the file has no rows; the first line must name the columns"
    );
}

#[test]
fn unnamed_columns_may_only_be_empty() {
    let csv = read(
        "id;phone;official_id;office;service;\nk;9876500001;o;x;s;\nm;9876500002;o;x;s;note\n",
    );
    assert_eq!(csv.contacts.len(), 1);
    assert_eq!(
        csv.bad_rows,
        [CsvError::new(
            3,
            "field 6 has a value, but its column has no name in the header"
        )]
    );
}

#[test]
fn a_windows_1252_file_is_refused_naming_line_and_byte() {
    // "Bhubaneswar Café" in Windows-1252: é is 0xE9.
    let mut bytes = b"id,phone,official_id,office,service\r\nk,9876500001,o,Caf".to_vec();
    bytes.extend([0xE9, b',', b's', b'\r', b'\n']);
    bytes.extend(b"m,9876500002,o,x,s\r\nn,9876500003,o,Caf");
    bytes.extend([0xE9, b',', b's', b'\r', b'\n']);
    let errors = refused(&bytes);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].line, 2);
    assert!(
        errors[0]
            .message
            .starts_with("byte 19 of the line (byte 56 of the file) is 0xE9, which is not UTF-8: the file is not UTF-8 (2 line(s)"),
        "{}",
        errors[0].message
    );
    assert!(
        errors[0].message.contains("CSV UTF-8"),
        "{}",
        errors[0].message
    );
    assert_eq!(errors[1].line, 4);
    let utf16 = refused(&[0xFF, 0xFE, b'i', 0, b'd', 0]);
    assert!(utf16[0].message.contains("UTF-16"), "{}", utf16[0].message);
}

#[test]
fn cr_only_line_ends_are_lines() {
    let csv = read("id,phone,official_id,office,service\rk,9876500001,o,x,s\rm,9876500002,o,x,s");
    assert_eq!(csv.lines, [2, 3]);
}

#[test]
fn phones_are_normalised_and_a_refused_one_is_kept_as_written_for_the_parser() {
    let text = "id,phone,official_id,office,service\n\
                c-1,098765 43210,off-1,o,s\n\
                c-2,\"+91 (98765) 43211\",off-1,o,s\n\
                c-3,0674-2390000,off-1,o,s\n\
                c-4,12345,off-1,o,s\n";
    let csv = read(text);
    let phones: Vec<_> = csv.contacts.iter().map(|c| c["phone"].clone()).collect();
    assert_eq!(
        phones,
        ["+919876543210", "+919876543211", "+916742390000", "12345"]
    );
    let doc = serde_json::json!({"version": 1, "id": "csv", "name": "n", "dialplan": "d",
        "caller_id": "+916742000000", "department": "d", "contacts": csv.contacts});
    let parsed = crate::domain::parse_campaign_document(&doc.to_string(), &|_| true).unwrap();
    assert_eq!(parsed.contacts.len(), 3);
    assert_eq!(parsed.rejected[0].index, 3);
    assert_eq!(csv.lines[parsed.rejected[0].index], 5);
    assert_eq!(parsed.rejected[0].masked["phone"], "*2345");
}

#[test]
fn fields_rows_and_field_counts_over_their_limits_are_refused_naming_the_line() {
    use super::super::csv_text::{MAX_FIELD_BYTES, MAX_FIELDS, MAX_RECORD_BYTES};
    let header = "id,phone,official_id,office,service\n";
    let long = "x".repeat(MAX_FIELD_BYTES + 1);
    let wide = vec!["a"; MAX_FIELDS + 1].join(",");
    let text = format!(
        "{header}c-1,9876543210,off-1,{long},Passport\n\
         c-2,9876543211,off-1,Puri,Passport\n\
         {wide}\n\
         c-3,9876543212,off-1,\"{}\",Passport\n",
        "y".repeat(MAX_FIELD_BYTES)
    );
    let csv = read(&text);
    assert_eq!(csv.lines, [3, 5], "the rows within the limits are read");
    assert_eq!(
        csv.contacts[1]["office"].as_str().map(str::len),
        Some(MAX_FIELD_BYTES),
        "a field of exactly the limit is kept whole"
    );
    let problems: Vec<String> = csv.bad_rows.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            format!("line 2: field 4 is 4097 bytes long; at most {MAX_FIELD_BYTES} are allowed"),
            format!("line 4: 65 fields; a row may have at most {MAX_FIELDS}"),
        ]
    );
    // Many fields each within the limit, together over the row's.
    let row = vec!["z".repeat(2000); 40].join(",");
    let csv = read(&format!(
        "{header}{row}\nc-4,9876543213,off-1,Puri,Passport\n"
    ));
    assert_eq!(csv.lines, [3]);
    assert_eq!(
        csv.bad_rows[0].to_string(),
        format!("line 2: the row is 80040 bytes long; at most {MAX_RECORD_BYTES} are allowed")
    );
}

#[test]
fn an_unclosed_quote_over_the_limits_is_still_reported_as_unclosed() {
    let text = format!(
        "id,phone,official_id,office,service\nc-1,9876543210,off-1,\"{}",
        "x\n".repeat(50_000)
    );
    let csv = read(&text);
    assert!(csv.contacts.is_empty());
    assert_eq!(csv.bad_rows.len(), 1);
    assert!(
        csv.bad_rows[0]
            .to_string()
            .starts_with("line 2: field 4: its opening quote is never closed"),
        "{}",
        csv.bad_rows[0]
    );
}

#[test]
fn a_header_over_the_column_limit_refuses_the_file() {
    let header = vec!["id"; 70].join(",");
    let problems = refused(format!("{header}\n").as_bytes());
    assert!(
        problems
            .iter()
            .any(|p| p.to_string() == "line 1: 70 fields; a row may have at most 64"),
        "{problems:?}"
    );
}
