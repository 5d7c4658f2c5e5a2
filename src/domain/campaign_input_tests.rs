//! Campaign documents as upstream systems write them: phone numbers in
//! national forms, unknown and misspelt keys.

use serde_json::{Value, json};

use super::*;
use crate::domain::FieldLevel;

fn document(extra: Value, contacts: Vec<Value>) -> String {
    let mut doc = json!({"version": 1, "id": "police-1", "name": "Police feedback",
        "dialplan": "mo-sarkar-feedback", "caller_id": "+916742000000", "department": "home",
        "contacts": contacts});
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc.to_string()
}

fn contact(id: &str, phone: Value) -> Value {
    json!({"id": id, "phone": phone, "official_id": "off-1", "office": "Dhenkanal Town PS",
           "service": "FIR registration"})
}

fn parse(doc: &str) -> ParsedDocument {
    parse_campaign_document(doc, &|_| true).unwrap()
}

#[test]
fn contact_phones_in_indian_forms_are_normalised() {
    let forms = [
        json!("+91 98765 43210"),
        json!("0091-98765-43210"),
        json!("091 9876543210"),
        json!("919876543210"),
        json!("098765 43210"),
        json!("98765 43210"),
        json!(9876543210u64),
        json!(919876543210u64),
    ];
    let contacts = forms
        .iter()
        .enumerate()
        .map(|(i, p)| contact(&format!("c-{i}"), p.clone()))
        .collect();
    let parsed = parse(&document(json!({}), contacts));
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
    assert_eq!(parsed.contacts.len(), forms.len());
    for c in &parsed.contacts {
        assert_eq!(c.phone.as_str(), "+919876543210", "{}", c.id);
    }
    let landline = parse(&document(
        json!({}),
        vec![contact("l", json!("(0674) 239 0000"))],
    ));
    assert_eq!(landline.contacts[0].phone.as_str(), "+916742390000");
}

#[test]
fn the_same_contact_in_two_forms_is_one_contact() {
    let parsed = parse(&document(
        json!({}),
        vec![
            contact("c-1", json!("9876543210")),
            contact("c-1", json!("+91 98765 43210")),
        ],
    ));
    assert_eq!(parsed.contacts.len(), 1);
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
}

#[test]
fn bad_phones_are_rejected_with_their_rule_and_masked() {
    let parsed = parse(&document(
        json!({}),
        vec![
            contact("ok", json!("9876543210")),
            contact("landline", json!("2223456789")),
            contact("short", json!("098765 4321")),
            contact("foreign", json!("0044 20 7946 0958")),
            contact("float", json!(9.876543210e9)),
        ],
    ));
    assert_eq!(parsed.contacts.len(), 1);
    let rejected: Vec<_> = parsed
        .rejected
        .iter()
        .map(|r| {
            (
                r.id.as_deref().unwrap(),
                r.reason.as_str(),
                &r.masked["phone"],
            )
        })
        .collect();
    assert_eq!(rejected[0].0, "landline");
    assert!(rejected[0].1.contains("trunk 0"), "{}", rejected[0].1);
    assert_eq!(rejected[0].2, "******6789");
    assert!(rejected[1].1.contains("found 9"), "{}", rejected[1].1);
    assert_eq!(rejected[1].2, "****** 4321");
    assert!(rejected[2].1.contains("'+'"), "{}", rejected[2].1);
    assert!(
        rejected[3].1.contains("a string or a whole number"),
        "{}",
        rejected[3].1
    );
    for r in &parsed.rejected {
        assert!(!r.reason.contains("98765"), "{}", r.reason);
        assert!(!r.masked.to_string().contains("98765"), "{}", r.masked);
    }
}

#[test]
fn caller_id_must_be_e164_and_says_how_to_write_it() {
    let doc = document(json!({"caller_id": "0674 2000000"}), vec![]);
    let Err(DocumentError::Invalid(problems)) = parse_campaign_document(&doc, &|_| true) else {
        panic!("a national caller id is refused");
    };
    assert_eq!(
        problems,
        vec![
            "field `caller_id`: phone number must start with '+' and a country code (E.164): \
             write it as +91******0000"
        ]
    );
}

#[test]
fn unknown_keys_are_warnings_with_suggestions() {
    let mut misspelt = contact("c-2", json!("9876543210"));
    misspelt["langauge"] = json!("or");
    let parsed = parse(&document(
        json!({"not_after": "72h", "comment": "from the SP's office"}),
        vec![contact("c-1", json!("9876543210")), misspelt],
    ));
    assert_eq!(parsed.contacts.len(), 2, "unknown keys refuse nothing");
    let shown: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(parsed.warnings.len(), 3, "{shown:#?}");
    let campaign: Vec<_> = parsed
        .warnings
        .iter()
        .filter(|w| w.level == FieldLevel::Campaign)
        .map(|w| w.field.as_str())
        .collect();
    assert_eq!(campaign.len(), 2);
    assert!(campaign.contains(&"not_after") && campaign.contains(&"comment"));
    let contact = parsed
        .warnings
        .iter()
        .find(|w| w.level == FieldLevel::Contact)
        .unwrap();
    assert_eq!(contact.did_you_mean, Some("language"));
    assert_eq!(contact.contacts[0].index, 1);
    assert!(
        contact
            .to_string()
            .contains("`langauge` in contacts[1] (c-2) (did you mean `language`?)"),
        "{contact}"
    );
}

#[test]
fn a_document_with_every_known_key_has_no_warnings() {
    let mut full = contact("c-1", json!("9876543210"));
    full["language"] = json!("or");
    full["visit_at"] = json!("2026-11-27T10:30:00+05:30");
    full["first_name"] = json!("ସୁନୀତା");
    let header = json!({
        "kind": "official", "recording": true,
        "call_not_before": "2h", "call_not_after": "72h",
        "expires_at": "2026-12-31T18:30:00Z", "sample": {"rate": 1.0},
        "calling_window": {"zone": "Asia/Kolkata", "ranges": ["09:00-20:00"]},
        "retry": {"busy": ["10m"], "machine": ["1h"]}, "machine_detection": true,
        "priority": "urgent",
    });
    let doc = document(header, vec![full.clone()]);
    assert!(parse(&doc).warnings.is_empty());
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let mut expected: Vec<String> = CONTACT_FIELDS.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(keys(&full), expected, "the test contact uses every field");
    let mut expected: Vec<String> = CAMPAIGN_FIELDS.iter().map(|k| k.to_string()).collect();
    expected.sort();
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(keys(&doc), expected);
}

#[test]
fn an_officials_call_campaign_says_so_and_may_record() {
    let c = contact("c-1", json!("9876543210"));
    let parsed = parse(&document(json!({"kind": "official"}), vec![c.clone()]));
    assert_eq!(
        parsed.header.kind,
        crate::domain::CampaignKind::Official { recording: false }
    );
    let parsed = parse(&document(
        json!({"kind": "official", "recording": true}),
        vec![c.clone()],
    ));
    assert_eq!(
        parsed.header.kind,
        crate::domain::CampaignKind::Official { recording: true }
    );
    assert!(
        parse(&document(json!({}), vec![c.clone()]))
            .header
            .kind
            .is_survey()
    );
    for (header, problem) in [
        (
            json!({"kind": "minister"}),
            "field `kind` must be \"survey\" or \"official\"",
        ),
        (
            json!({"recording": true}),
            "field `recording` applies to officials' calls",
        ),
        (
            json!({"kind": "official", "recording": "yes"}),
            "field `recording` must be true or false",
        ),
    ] {
        let err = parse_campaign_document(&document(header, vec![c.clone()]), &|_| true)
            .unwrap_err()
            .to_string();
        assert!(err.contains(problem), "{err}");
    }
}

#[test]
fn a_misspelt_header_key_is_named_beside_the_missing_field() {
    let mut doc: Value =
        serde_json::from_str(&document(json!({"departmnet": "home"}), vec![])).unwrap();
    doc.as_object_mut().unwrap().remove("department");
    let Err(DocumentError::Invalid(problems)) =
        parse_campaign_document(&doc.to_string(), &|_| true)
    else {
        panic!("the header lacks `department`");
    };
    assert_eq!(
        problems,
        vec![
            "field `department` is missing",
            "unknown campaign field `departmnet` (did you mean `department`?); it is ignored",
        ]
    );
}

#[test]
fn every_policy_problem_is_listed_at_once() {
    let header = json!({
        "calling_window": {"zone": "Asia/Kolkatta", "weekdays": ["mon", "funday"],
                           "ranges": ["09:00-13:00", "12:00-18:00"]},
        "retry": {"max_attempts": 40, "busy": ["10 minutes"], "machine": "1h"},
        "priority": "asap",
        "machine_detection": "yes",
        "call_not_before": "72h", "call_not_after": "2h",
        "sample": {"rate": 1.5},
    });
    let Err(DocumentError::Invalid(problems)) =
        parse_campaign_document(&document(header, vec![]), &|_| true)
    else {
        panic!("a document with bad policy must be refused");
    };
    let text = problems.join("\n");
    for needle in [
        "calling_window.zone",
        "funday",
        "overlap",
        "retry.max_attempts",
        "retry.busy[0]",
        "retry.machine",
        "priority",
        "machine_detection",
        "call_not_before",
        "sample",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}
