use proptest::prelude::*;

use super::*;

#[test]
fn accepts_e164_and_strips_separators() {
    let p = PhoneNumber::parse(" +91 98765-43210 ").unwrap();
    assert_eq!(p.as_str(), "+919876543210");
    assert_eq!(
        PhoneNumber::parse("+1 (415) 555-0100").unwrap().as_str(),
        "+14155550100"
    );
}

#[test]
fn rejects_with_reasons() {
    assert_eq!(PhoneNumber::parse(""), Err(PhoneError::Empty));
    assert_eq!(
        PhoneNumber::parse("9876543210"),
        Err(PhoneError::MissingPlus)
    );
    assert_eq!(
        PhoneNumber::parse("+91987654321x"),
        Err(PhoneError::BadCharacter('x'))
    );
    assert_eq!(
        PhoneNumber::parse("+1234567"),
        Err(PhoneError::BadLength(7))
    );
    assert_eq!(
        PhoneNumber::parse("+0123456789"),
        Err(PhoneError::LeadingZero)
    );
    assert_eq!(
        PhoneNumber::parse("+91987654321"),
        Err(PhoneError::IndiaLength(9))
    );
    assert_eq!(
        PhoneNumber::parse("+910876543210"),
        Err(PhoneError::IndiaLeadingZero)
    );
}

#[test]
fn parse_stays_strict_about_the_plus() {
    for national in ["09876543210", "919876543210", "(+91) 98765 43210"] {
        assert_eq!(
            PhoneNumber::parse(national),
            Err(PhoneError::MissingPlus),
            "{national}"
        );
    }
}

fn indian(input: &str) -> Result<String, PhoneError> {
    PhoneNumber::from_indian_input(input).map(|p| p.as_str().to_owned())
}

#[test]
fn every_indian_form_normalises_to_e164() {
    let mobile = "+919876543210";
    for input in [
        "+919876543210",
        "+91 98765 43210",
        "(+91) 98765-43210",
        "+91-98765.43210",
        "009198765 43210",
        "0091 98765 43210",
        "091 98765 43210",
        "0919876543210",
        "919876543210",
        "91-98765-43210",
        "09876543210",
        "098765 43210",
        "9876543210",
        "98765 43210",
        "  9876543210\t",
    ] {
        assert_eq!(indian(input).as_deref(), Ok(mobile), "{input:?}");
    }
    // Landlines: Bhubaneswar (STD 674), Delhi (11), Mumbai (22).
    let landlines = [
        ("0674 2390000", "+916742390000"),
        ("(0674) 239-0000", "+916742390000"),
        ("+91 674 2390000", "+916742390000"),
        ("091 674 2390000", "+916742390000"),
        ("0091 674 2390000", "+916742390000"),
        ("91 674 2390000", "+916742390000"),
        ("674 2390000", "+916742390000"),
        ("011-2345 6789", "+911123456789"),
        ("+91 11 2345 6789", "+911123456789"),
        ("0091 11 2345 6789", "+911123456789"),
        ("022 2345 6789", "+912223456789"),
        ("91 22 2345 6789", "+912223456789"),
    ];
    for (input, e164) in landlines {
        assert_eq!(indian(input).as_deref(), Ok(e164), "{input:?}");
    }
    // Mobiles start 6–9.
    for first in ['6', '7', '8', '9'] {
        let bare = format!("{first}123456789");
        assert_eq!(indian(&bare), Ok(format!("+91{bare}")));
    }
}

#[test]
fn foreign_numbers_with_a_plus_are_kept() {
    assert_eq!(indian("+1 (415) 555-0100").as_deref(), Ok("+14155550100"));
    assert_eq!(indian("+44 20 7946 0958").as_deref(), Ok("+442079460958"));
}

#[test]
fn every_refusal_names_its_rule() {
    use PhoneError::*;
    let cases: &[(&str, PhoneError)] = &[
        ("", Empty),
        ("  ", Empty),
        ("( - )", Empty),
        ("98765x43210", BadCharacter('x')),
        ("98765/43210", BadCharacter('/')),
        ("9.87654E+09", BadCharacter('E')),
        ("98765+43210", MisplacedPlus),
        ("++919876543210", MisplacedPlus),
        ("+", BadLength(0)),
        ("+1234567", BadLength(7)),
        ("+1234567890123456", BadLength(16)),
        ("+0091 98765 43210", LeadingZero),
        ("+91 98765 4321", IndiaLength(9)),
        ("+91 98765 432100", IndiaLength(11)),
        ("+91 09876 54321", IndiaLeadingZero),
        ("0091 98765 4321", IndiaLength(9)),
        ("0091 09876 54321", IndiaLeadingZero),
        ("091 09876 54321", IndiaLeadingZero),
        ("91 09876 54321", IndiaLeadingZero),
        ("0044 20 7946 0958", ForeignWithoutPlus),
        ("001 415 555 0100", ForeignWithoutPlus),
        ("0987654321", TrunkLength(9)),
        ("0 98765 432100", TrunkLength(11)),
        ("0", TrunkLength(0)),
        ("1123456789", BareLandline),
        ("2223456789", BareLandline),
        ("5123456789", BareLandline),
        ("987654321", NationalLength(9)),
        ("98765432100", NationalLength(11)),
        ("929876543210", NationalLength(12)),
        ("9198765432100", NationalLength(13)),
    ];
    for (input, reason) in cases {
        assert_eq!(
            PhoneNumber::from_indian_input(input).as_ref(),
            Err(reason),
            "{input:?}"
        );
    }
}

#[test]
fn display_and_debug_are_masked() {
    let p = PhoneNumber::parse("+919876543210").unwrap();
    assert_eq!(p.to_string(), "+91******3210");
    assert!(!format!("{p:?}").contains("98765"));
}

#[test]
fn raw_input_is_masked_but_the_last_four_digits_and_the_shape() {
    assert_eq!(mask_digits("+91987654321"), "+91*****4321");
    assert_eq!(mask_digits("9876543210"), "******3210");
    assert_eq!(mask_digits("0091 98765 x3210"), "**** ***** x3210");
    assert_eq!(mask_digits("not_a_field"), "not_a_field");
    assert_eq!(mask_digits("123"), "123");
}

#[test]
fn serde_round_trips_as_string() {
    let p = PhoneNumber::parse("+919876543210").unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(json, "\"+919876543210\"");
    let back: PhoneNumber = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    assert!(serde_json::from_str::<PhoneNumber>("\"12345\"").is_err());
    assert!(
        serde_json::from_str::<PhoneNumber>("\"9876543210\"").is_err(),
        "stored numbers are E.164 already"
    );
}

/// A separator (or none) between digits, as an upstream system might write.
fn spaced(digits: &str, seps: &[u8]) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        out.push(c);
        match seps.get(i).copied().unwrap_or(0) % 8 {
            1 => out.push(' '),
            2 => out.push('-'),
            3 => out.push('.'),
            _ => {}
        }
    }
    out
}

proptest! {
    #[test]
    fn parse_never_panics(s in "\\PC{0,24}") {
        let _ = PhoneNumber::parse(&s);
        let _ = PhoneNumber::from_indian_input(&s);
    }

    #[test]
    fn masked_form_never_shows_the_middle(cc in 1u32..=89, rest in "[0-9]{7,12}") {
        let raw = format!("+{cc}{rest}");
        if let Ok(p) = PhoneNumber::parse(&raw) {
            let masked = p.masked();
            prop_assert_eq!(masked.len(), p.as_str().len());
            let digits = &p.as_str()[1..];
            let hidden = &masked[3..masked.len() - 4];
            prop_assert!(hidden.chars().all(|c| c == '*'));
            prop_assert_eq!(&masked[masked.len() - 4..], &digits[digits.len() - 4..]);
        }
    }

    /// Every accepted form of one national number gives the same E.164.
    #[test]
    fn every_form_of_a_number_is_the_same_number(
        n in "[1-9][0-9]{9}",
        seps in proptest::collection::vec(any::<u8>(), 14),
    ) {
        let e164 = format!("+91{n}");
        let mut forms = vec![
            format!("+91{n}"),
            format!("0091{n}"),
            format!("091{n}"),
            format!("91{n}"),
            format!("0{n}"),
        ];
        if matches!(n.as_bytes()[0], b'6'..=b'9') {
            forms.push(n.clone());
        }
        for form in forms {
            let written = match form.strip_prefix('+') {
                Some(digits) => format!("+{}", spaced(digits, &seps)),
                None => spaced(&form, &seps),
            };
            let p = PhoneNumber::from_indian_input(&written);
            prop_assert_eq!(p.map(|p| p.as_str().to_owned()), Ok(e164.clone()), "{}", written);
        }
    }

    /// Normalising is idempotent, its output is what `parse` accepts, and a
    /// refusal never quotes the number.
    #[test]
    fn normalising_is_idempotent_and_refusals_hide_the_number(
        s in prop_oneof![
            "[+]?[0-9 ().-]{0,20}",
            ("(|[+]|[+]91|0|00|0091|091|91)", "[0-9]{7,13}", proptest::collection::vec(any::<u8>(), 13))
                .prop_map(|(prefix, digits, seps)| format!("{prefix}{}", spaced(&digits, &seps))),
        ],
    ) {
        match PhoneNumber::from_indian_input(&s) {
            Ok(p) => {
                prop_assert_eq!(PhoneNumber::from_indian_input(p.as_str()), Ok(p.clone()));
                prop_assert_eq!(PhoneNumber::parse(p.as_str()), Ok(p));
            }
            Err(e) => {
                let message = e.to_string();
                let longest_run = message
                    .split(|c: char| !c.is_ascii_digit())
                    .map(str::len)
                    .max()
                    .unwrap_or(0);
                prop_assert!(longest_run <= 4, "{message}");
            }
        }
    }
}
