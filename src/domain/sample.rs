//! A campaign's `sample`: which of its contacts are called.
//!
//! `{"rate": r}` calls a stable share `r` of the contacts;
//! `{"max_per_office_per_day": n}` calls at most `n` contacts per office per
//! local day; both together apply the rate first, then the cap. Every choice
//! rests on a contact's *sample fraction*, a stable hash of the campaign and
//! contact ids in `[0, 1)`: a contact is in the rate's share when its
//! fraction is below `r`, and the cap takes a group's contacts lowest
//! fraction first. So the same document gives the same sample on every
//! instance and every run, reproducible from the campaign id alone.
//!
//! Owns: the schema and its validation, and the fraction. Does not own: the
//! day a contact falls on or the claims that keep the cap across documents
//! (`intake/sample.rs`, `Store::claim_sample`).

use serde_json::Value;

use super::{CampaignId, ContactId, stable_fraction};

/// A campaign's sample, validated: at least one of the two is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// The share of contacts called, `0 < rate <= 1`.
    pub rate: Option<f64>,
    /// The most contacts called per office per local day, at least 1.
    pub max_per_office_per_day: Option<u32>,
}

const KEYS: &str = "`rate` and/or `max_per_office_per_day`";

impl Sample {
    /// Reads the document's `sample` value; every problem is listed, each
    /// naming the field.
    pub fn parse(value: &Value) -> Result<Sample, Vec<String>> {
        let Some(fields) = value.as_object().filter(|o| !o.is_empty()) else {
            return Err(vec![format!(
                "field `sample` must be an object with {KEYS}, e.g. {{\"rate\": 0.2}} or {{\"max_per_office_per_day\": 50}}"
            )]);
        };
        let mut problems = Vec::new();
        for key in fields.keys() {
            if key != "rate" && key != "max_per_office_per_day" {
                problems.push(format!(
                    "field `sample`: unknown key `{key}` (it takes {KEYS})"
                ));
            }
        }
        let rate = fields.get("rate").and_then(|v| match v.as_f64() {
            Some(rate) if rate > 0.0 && rate <= 1.0 => Some(rate),
            _ => {
                problems.push(format!(
                    "field `sample`: `rate` must be a number r with 0 < r <= 1 (it is {v})"
                ));
                None
            }
        });
        let cap = fields.get("max_per_office_per_day").and_then(|v| {
            match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if n >= 1 => Some(n),
                _ => {
                    problems.push(format!(
                        "field `sample`: `max_per_office_per_day` must be a whole number from 1 to {} (it is {v})",
                        u32::MAX
                    ));
                    None
                }
            }
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Sample {
            rate,
            max_per_office_per_day: cap,
        })
    }
}

/// The contact's sample fraction in `[0, 1)`: a stable hash of
/// `<campaign id>/<contact id>`.
pub fn sample_fraction(campaign: &CampaignId, contact: &ContactId) -> f64 {
    let key = campaign
        .as_str()
        .bytes()
        .chain([b'/'])
        .chain(contact.as_str().bytes());
    stable_fraction(key)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rate_cap_or_both_are_read() {
        let read = |v: Value| Sample::parse(&v).unwrap();
        assert_eq!(
            read(json!({"rate": 0.2})),
            Sample {
                rate: Some(0.2),
                max_per_office_per_day: None
            }
        );
        assert_eq!(
            read(json!({"max_per_office_per_day": 50})),
            Sample {
                rate: None,
                max_per_office_per_day: Some(50)
            }
        );
        assert_eq!(
            read(json!({"rate": 1, "max_per_office_per_day": 1})),
            Sample {
                rate: Some(1.0),
                max_per_office_per_day: Some(1)
            }
        );
    }

    #[test]
    fn every_problem_is_listed() {
        let problems = |v: Value| Sample::parse(&v).unwrap_err().join("\n");
        let all = problems(json!({"rate": 0, "max_per_office_per_day": 0, "max_per_day": 5}));
        for want in [
            "`rate`",
            "`max_per_office_per_day`",
            "unknown key `max_per_day`",
        ] {
            assert!(all.contains(want), "{want} in {all}");
        }
        for bad in [
            json!({"max_per_office_per_day": 2.5}),
            json!({"max_per_office_per_day": -1}),
            json!({"max_per_office_per_day": "50"}),
            json!({"max_per_office_per_day": 4_294_967_296u64}),
            json!({"rate": 1.5}),
            json!({"rate": "0.2"}),
        ] {
            assert!(problems(bad.clone()).contains("field `sample`"), "{bad}");
        }
        for shapeless in [json!({}), json!(0.2), json!([0.2]), json!("all")] {
            let all = problems(shapeless.clone());
            assert!(all.contains("must be an object"), "{shapeless}: {all}");
        }
    }

    fn document(sample: Value) -> String {
        json!({"version": 1, "id": "c", "name": "n", "dialplan": "d",
               "caller_id": "+916742000000", "department": "home", "sample": sample,
               "contacts": [{"id": "k", "phone": "+919876543210", "official_id": "o",
                             "office": "x", "service": "y"}]})
        .to_string()
    }

    #[test]
    fn a_document_carries_its_sample_in_the_header() {
        let parse =
            |sample: Value| crate::domain::parse_campaign_document(&document(sample), &|_| true);
        let header = parse(json!({"rate": 0.5, "max_per_office_per_day": 50}))
            .unwrap()
            .header;
        assert_eq!(header.sample_rate, Some(0.5));
        assert_eq!(header.sample_max_per_office_per_day, Some(50));
        let stored = serde_json::to_value(&header).unwrap();
        assert_eq!(stored["sample_max_per_office_per_day"], 50);
        let round: crate::domain::CampaignHeader = serde_json::from_value(stored).unwrap();
        assert_eq!(round, header);
        // Headers stored without a cap keep their JSON (they compare equal).
        let header = parse(json!({"rate": 0.5})).unwrap().header;
        let stored = serde_json::to_string(&header).unwrap();
        assert!(!stored.contains("max_per_office"), "{stored}");
        let header = parse(Value::Null).unwrap().header;
        assert_eq!(
            (header.sample_rate, header.sample_max_per_office_per_day),
            (None, None)
        );
        let Err(crate::domain::DocumentError::Invalid(problems)) =
            parse(json!({"max_per_office_per_day": 0, "rat": 0.2}))
        else {
            panic!("refused");
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn the_fraction_is_stable_and_depends_on_both_ids() {
        let campaign = CampaignId::parse("police-1").unwrap();
        let other = CampaignId::parse("police-2").unwrap();
        let contact = ContactId::parse("c-1").unwrap();
        let f = sample_fraction(&campaign, &contact);
        assert_eq!(f, sample_fraction(&campaign, &contact));
        assert_eq!(f, stable_fraction(*b"police-1/c-1"));
        assert_ne!(f, sample_fraction(&other, &contact));
        assert!((0.0..1.0).contains(&f));
    }
}
