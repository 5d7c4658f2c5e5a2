//! Which contacts of a document the campaign's `sample` calls.
//!
//! The rate is decided per contact from its sample fraction
//! (`domain/sample.rs`). The cap, `max_per_office_per_day`, groups the
//! contacts the rate keeps by office and local day — the date of `visit_at`
//! in the programme's zone (`policy.calling_window.zone`), or of the intake
//! entry for contacts without one — and takes each group lowest fraction
//! first, claiming places in the store (`Store::claim_samples`: one atomic
//! step per office and day).
//! The claims are atomic and idempotent, so the cap holds across every
//! document of the campaign and every instance, and a replayed document
//! finds its contacts' places already held: it neither counts them twice nor
//! changes who was chosen. The intake date comes from the entry id (the
//! time the entry was added), not the clock, so a replay on another day
//! puts a contact in the same group.

use std::collections::BTreeMap;

use crate::domain::{CampaignHeader, Contact};
use crate::policy::CallingWindow;
use crate::store::{SampleSlot, Store, StoreError};

/// Why each contact is left out of the sample (`None`: it is called), in
/// the order of `contacts`. `intake_ms` is when the document arrived.
pub(super) async fn decide(
    store: &dyn Store,
    header: &CampaignHeader,
    contacts: &[Contact],
    days: &CallingWindow,
    intake_ms: i64,
) -> Result<Vec<Option<String>>, StoreError> {
    let mut verdicts: Vec<Option<String>> = contacts
        .iter()
        .map(|c| {
            (!header.samples(&c.id)).then(|| {
                format!(
                    "not in the campaign's sample (rate {})",
                    header.sample_rate.unwrap_or(1.0)
                )
            })
        })
        .collect();
    let Some(cap) = header.sample_max_per_office_per_day else {
        return Ok(verdicts);
    };
    let groups = groups(header, contacts, &verdicts, days, intake_ms);
    let claims: Vec<_> = groups
        .iter()
        .map(|(slot, members)| (slot, members.iter().map(|&i| &contacts[i].id).collect()))
        .collect();
    let held = store.claim_samples(&claims, cap).await?;
    for ((slot, members), places) in groups.iter().zip(held) {
        for (&index, place) in members.iter().zip(places) {
            if !place {
                verdicts[index] = Some(format!(
                    "not in the campaign's sample: max_per_office_per_day {cap} already reached for office {:?} on {}",
                    slot.office, slot.day
                ));
            }
        }
    }
    Ok(verdicts)
}

/// The contacts still in the sample (`verdicts[i]` is `None`), by (office,
/// day), each group in claim order: lowest sample fraction first, ties by
/// contact id.
fn groups(
    header: &CampaignHeader,
    contacts: &[Contact],
    verdicts: &[Option<String>],
    days: &CallingWindow,
    intake_ms: i64,
) -> BTreeMap<SampleSlot, Vec<usize>> {
    let mut groups: BTreeMap<SampleSlot, Vec<usize>> = BTreeMap::new();
    for (index, contact) in contacts.iter().enumerate() {
        if verdicts[index].is_some() {
            continue;
        }
        let slot = SampleSlot {
            campaign: header.id.clone(),
            office: contact.office.clone(),
            day: local_date(days, contact.visit_at_ms.unwrap_or(intake_ms)),
        };
        groups.entry(slot).or_default().push(index);
    }
    for members in groups.values_mut() {
        members.sort_by(|a, b| {
            let (a, b) = (&contacts[*a], &contacts[*b]);
            header
                .sample_fraction(&a.id)
                .total_cmp(&header.sample_fraction(&b.id))
                .then_with(|| a.id.cmp(&b.id))
        });
    }
    groups
}

/// The local date of `at_ms` in the window's zone, `YYYY-MM-DD`.
fn local_date(days: &CallingWindow, at_ms: i64) -> String {
    let ymd = days.local_day(at_ms);
    format!(
        "{:04}-{:02}-{:02}",
        ymd / 10_000,
        ymd / 100 % 100,
        ymd % 100
    )
}

/// When an intake entry was added (Unix ms), from its stream id
/// (`<ms>-<seq>`); `None` for a source that is not an entry id.
pub(super) fn entry_time_ms(source: &str) -> Option<i64> {
    let (ms, seq) = source.split_once('-')?;
    seq.parse::<u64>().ok()?;
    ms.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CampaignId, ContactId, OfficialId, PhoneNumber, parse_rfc3339};
    use crate::policy::WindowSpec;
    use crate::store::memory::MemoryStore;

    fn header(rate: Option<f64>, cap: Option<u32>) -> CampaignHeader {
        CampaignHeader {
            calling_window: None,
            machine_detection: false,
            kind: crate::domain::CampaignKind::Survey,
            priority: Default::default(),
            id: CampaignId::parse("camp").unwrap(),
            name: "c".into(),
            dialplan: "p".into(),
            caller_id: PhoneNumber::parse("+916742000000").unwrap(),
            department: "home".into(),
            freshness: Default::default(),
            sample_rate: rate,
            sample_max_per_office_per_day: cap,
            retry: None,
        }
    }

    fn contact(id: &str, office: &str, visit: Option<&str>) -> Contact {
        Contact {
            id: ContactId::parse(id).unwrap(),
            phone: PhoneNumber::parse("+919876543210").unwrap(),
            language: None,
            official_id: OfficialId::parse("off-1").unwrap(),
            office: office.into(),
            service: "s".into(),
            visit_at_ms: visit.map(|v| parse_rfc3339(v).unwrap()),
            first_name: None,
        }
    }

    fn kolkata() -> CallingWindow {
        CallingWindow::default()
    }

    #[test]
    fn groups_are_by_office_and_local_day_lowest_fraction_first() {
        let h = header(None, Some(1));
        let contacts = vec![
            // 23:59 and 00:01 in Kolkata: two days, though the same UTC date.
            contact("a", "Puri PS", Some("2026-11-27T18:29:00Z")),
            contact("b", "Puri PS", Some("2026-11-27T18:31:00Z")),
            contact("c", "Puri PS", Some("2026-11-28T10:00:00+05:30")),
            contact("d", "Cuttack PS", Some("2026-11-28T10:00:00+05:30")),
            // No visit: the intake date (2026-11-28 11:00 in Kolkata).
            contact("e", "Puri PS", None),
        ];
        let intake = parse_rfc3339("2026-11-28T05:30:00Z").unwrap();
        let verdicts = vec![None; contacts.len()];
        let groups = groups(&h, &contacts, &verdicts, &kolkata(), intake);
        let named: Vec<(String, String, Vec<&str>)> = groups
            .iter()
            .map(|(slot, members)| {
                let ids = members.iter().map(|i| contacts[*i].id.as_str()).collect();
                (slot.office.clone(), slot.day.clone(), ids)
            })
            .collect();
        assert_eq!(named.len(), 3, "{named:?}");
        assert_eq!(named[0].0, "Cuttack PS");
        assert_eq!(named[1].1, "2026-11-27");
        assert_eq!(named[1].2, ["a"]);
        assert_eq!(named[2].1, "2026-11-28");
        let mut puri = named[2].2.clone();
        puri.sort_by(|x, y| {
            let f = |id: &str| h.sample_fraction(&ContactId::parse(id).unwrap());
            f(x).total_cmp(&f(y))
        });
        assert_eq!(named[2].2, puri, "lowest fraction first");
        assert_eq!(named[2].2.len(), 3, "b, c and e share the day");
        // In another zone the late-evening visit falls on the same day as a.
        let london = WindowSpec {
            zone: "Europe/London".into(),
            ..WindowSpec::default()
        };
        let london = CallingWindow::from_spec(&london).unwrap();
        let groups = super::groups(&h, &contacts, &verdicts, &london, intake);
        let day_of_a = groups
            .iter()
            .find(|(_, m)| m.contains(&0))
            .map(|(s, m)| (s.day.clone(), m.len()));
        assert_eq!(day_of_a, Some(("2026-11-27".into(), 2)));
    }

    #[tokio::test]
    async fn rate_first_then_the_cap_and_replays_change_nothing() {
        let store = MemoryStore::new(4);
        let h = header(Some(0.5), Some(3));
        let contacts: Vec<Contact> = (0..60)
            .map(|i| contact(&format!("k-{i}"), ["A", "B"][i % 2], None))
            .collect();
        let first = decide(&store, &h, &contacts, &kolkata(), 0).await.unwrap();
        let called: Vec<&str> = contacts
            .iter()
            .zip(&first)
            .filter(|(_, v)| v.is_none())
            .map(|(c, _)| c.id.as_str())
            .collect();
        assert_eq!(called.len(), 6, "3 per office: {called:?}");
        for (c, verdict) in contacts.iter().zip(&first) {
            let in_rate = h.samples(&c.id);
            match verdict.as_deref() {
                Some(why) if !in_rate => assert!(why.contains("rate 0.5"), "{why}"),
                Some(why) => assert!(why.contains("max_per_office_per_day 3"), "{why}"),
                None => assert!(in_rate, "{} called outside the rate", c.id),
            }
        }
        // The chosen are the lowest fractions of each office.
        for office in ["A", "B"] {
            let mut kept: Vec<&Contact> = contacts
                .iter()
                .filter(|c| c.office == office && h.samples(&c.id))
                .collect();
            kept.sort_by(|a, b| {
                h.sample_fraction(&a.id)
                    .total_cmp(&h.sample_fraction(&b.id))
            });
            for c in &kept[..3] {
                assert!(called.contains(&c.id.as_str()), "{} should be called", c.id);
            }
        }
        let again = decide(&store, &h, &contacts, &kolkata(), 0).await.unwrap();
        assert_eq!(again, first, "a replay makes the same choice");
        let reversed: Vec<Contact> = contacts.iter().rev().cloned().collect();
        let mut back = decide(&store, &h, &reversed, &kolkata(), 0).await.unwrap();
        back.reverse();
        assert_eq!(back, first, "order in the document does not matter");
    }

    #[test]
    fn entry_ids_give_the_intake_time() {
        assert_eq!(entry_time_ms("1764305400000-3"), Some(1_764_305_400_000));
        assert_eq!(entry_time_ms("1-0"), Some(1));
        for bad in ["", "abc", "12", "12-x", "x-1", "1-2-3"] {
            assert_eq!(entry_time_ms(bad), None, "{bad}");
        }
    }
}
