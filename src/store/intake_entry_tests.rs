use proptest::prelude::*;

use super::*;

fn whole(fields: &[(&[u8], &[u8])]) -> RawEntry {
    let fields: Vec<(Vec<u8>, Vec<u8>)> = fields
        .iter()
        .map(|(n, v)| (n.to_vec(), v.to_vec()))
        .collect();
    RawEntry {
        id: "1-0".into(),
        cut: false,
        deliveries: 1,
        bytes: fields.iter().map(|(n, v)| (n.len() + v.len()) as u64).sum(),
        field_count: fields.len() as u64,
        fields,
    }
}

fn refusal(raw: RawEntry) -> RefusedEntry {
    check_entry(raw, &IntakeLimits::default())
        .payload
        .expect_err("refused")
}

#[test]
fn one_campaign_field_of_utf8_is_the_document() {
    let entry = check_entry(
        whole(&[(b"campaign", "{\"n\": \"ଓଡ଼ିଆ\"}".as_bytes())]),
        &IntakeLimits::default(),
    );
    assert_eq!(entry.payload, Ok("{\"n\": \"ଓଡ଼ିଆ\"}".to_owned()));
}

#[test]
fn each_malformed_entry_says_why_and_keeps_a_masked_excerpt() {
    let missing = refusal(whole(&[(b"doc", b"{\"phone\": \"9876543210\"}")]));
    assert!(
        missing
            .reason
            .contains("no `campaign` field (its fields: `doc`)"),
        "{}",
        missing.reason
    );
    let payload = missing.masked_payload();
    assert!(payload.contains("******3210"), "{payload}");
    assert!(!payload.contains("9876543210"), "{payload}");

    let twice = refusal(whole(&[
        (b"campaign", b"{\"a\":1}"),
        (b"campaign", b"{\"b\":2}"),
    ]));
    assert!(
        twice.reason.contains("has 2 `campaign` fields"),
        "{}",
        twice.reason
    );
    assert_eq!(twice.excerpt.len(), 2, "both documents kept");

    let extra = refusal(whole(&[(b"campaign", b"{}"), (b"priority", b"high")]));
    assert!(
        extra.reason.contains("unknown field `priority`"),
        "{}",
        extra.reason
    );

    let latin1 = refusal(whole(&[(
        b"campaign",
        b"{\"name\": \"caf\xE9 9876543210\"}",
    )]));
    assert!(
        latin1.reason.contains("not UTF-8 (byte 14 is not)"),
        "{}",
        latin1.reason
    );
    let payload = latin1.masked_payload();
    assert!(payload.contains("caf\u{FFFD} ******3210"), "{payload}");
}

#[test]
fn too_large_or_taken_too_often_is_refused_before_anything_is_read() {
    let limits = IntakeLimits {
        max_document_bytes: 100,
        max_deliveries: 3,
    };
    let big = RawEntry {
        cut: true,
        bytes: 5_000_000,
        fields: vec![(b"campaign".to_vec(), vec![b'x'; EXCERPT_BYTES])],
        ..whole(&[])
    };
    let refused = check_entry(big, &limits).payload.unwrap_err();
    assert!(
        refused
            .reason
            .contains("4.8 MiB, more than intake.max_document_bytes (100 bytes)"),
        "{}",
        refused.reason
    );
    assert!(
        refused
            .masked_payload()
            .contains("\"entry_size\":\"4.8 MiB\"")
    );
    assert!(refused.excerpt[0].1.ends_with('…'));
    let retried = RawEntry {
        deliveries: 4,
        ..whole(&[(b"campaign", b"{}")])
    };
    let refused = check_entry(retried, &limits).payload.unwrap_err();
    assert!(
        refused
            .reason
            .contains("taken 4 times without being finished"),
        "{}",
        refused.reason
    );
    let third = RawEntry {
        deliveries: 3,
        ..whole(&[(b"campaign", b"{}")])
    };
    assert!(check_entry(third, &limits).payload.is_ok());
}

proptest! {
    /// Any entry: no panic; a document only from exactly one `campaign`
    /// field holding UTF-8 under the limits, and then exactly that text;
    /// otherwise a reason and an excerpt bounded whatever the entry's size.
    #[test]
    fn any_entry_is_a_document_or_a_bounded_refusal(
        fields in proptest::collection::vec(
            (prop_oneof![Just(b"campaign".to_vec()), proptest::collection::vec(any::<u8>(), 0..12)],
             proptest::collection::vec(any::<u8>(), 0..3000)),
            0..6),
        deliveries in 1u64..6,
    ) {
        let raw = RawEntry { deliveries, ..whole(&[]) };
        let raw = RawEntry {
            bytes: fields.iter().map(|(n, v)| (n.len() + v.len()) as u64).sum(),
            field_count: fields.len() as u64,
            fields: fields.clone(),
            ..raw
        };
        let limits = IntakeLimits { max_document_bytes: 4000, max_deliveries: 3 };
        let fits = raw.bytes <= 4000 && deliveries <= 3;
        match check_entry(raw, &limits).payload {
            Ok(document) => {
                prop_assert!(fits);
                prop_assert_eq!(fields.len(), 1);
                prop_assert_eq!(&fields[0].0[..], b"campaign");
                prop_assert_eq!(document.as_bytes(), &fields[0].1[..]);
            }
            Err(refused) => {
                prop_assert!(!refused.reason.is_empty());
                prop_assert!(refused.excerpt.len() <= EXCERPT_FIELDS);
                for (name, value) in &refused.excerpt {
                    // Lossy decoding may widen a byte to three.
                    prop_assert!(name.len() <= 3 * EXCERPT_BYTES + 3);
                    prop_assert!(value.len() <= 3 * EXCERPT_BYTES + 3);
                }
                serde_json::from_str::<serde_json::Value>(&refused.masked_payload()).unwrap();
            }
        }
    }
}
