//! The compact job hash: what a job stores of its contact, and how a job is
//! rebuilt from it and its campaign's header.
//!
//! A queued contact costs what its job hash costs, so the hash holds only
//! what differs between contacts; the campaign's fields (dialplan, caller id,
//! retry ladder, priority, window, machine detection, kind) are in the
//! campaign header, stored once and joined when a job is read (the header
//! never changes once stored, so readers cache it). The contact is one packed
//! value, `c`, positional and without JSON keys, so the whole hash stays in
//! Redis's compact listpack encoding (every value ≤ 64 bytes):
//!
//! ```text
//! c  = <visit ms> US <office id> US <service id> US <phone> US <language> US <first name>
//! oc = <official's phone> US <visit date> US <official's language>     (officials' calls only)
//! ```
//!
//! Besides `c`, a queued job holds `state`, `o` (its official) and `q`
//! (queued at): no citizen tag, which readers compute from the number
//! (`packed_phone`) and the job keeps only once dialled or ended (for the
//! relay), and no department unless it differs from the one its campaign's
//! jobs in the shard keep in the counts hash (`#d`; `JoinCache`). Each of
//! those would take the listpack into a larger allocation
//! (docs/architecture.md, "The compact job").
//!
//! `US` is the ASCII unit separator (0x1f). Office and service are ids
//! interned per shard (`Keys::texts`, `intern` in `lua/prelude.lua`); the
//! free texts (language, first name) are escaped so they never hold a bare
//! separator (`\` → `\\`, US → `\_`, and RS, which separates a citizen's
//! remembered visits, → `\^`). Empty means absent. The script builds `c`
//! from the visit time, the two texts and the tail this module encodes
//! (`contact_tail`), and `end_job` blanks the phone when the contact ends.
//!
//! An inbound call's job has no stored campaign header: it keeps its whole
//! spec as JSON in `spec` (inbound calls are few; see docs/architecture.md).

use crate::domain::{CampaignHeader, CampaignKind, Contact, Direction, JobSpec, OfficialCall};
use crate::domain::{CampaignId, ContactId, JobId, OfficialId, PhoneNumber};
use crate::store::ShardId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The separator of packed values.
pub(super) const US: char = '\u{1f}';
/// The separator of a citizen's visits in a visit bucket's field
/// (`lua/record_visit.lua`): escaped as well, so no packed text holds one.
const RS: char = '\u{1e}';

pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            US => out.push_str("\\_"),
            RS => out.push_str("\\^"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('_') => out.push(US),
            Some('^') => out.push(RS),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn optional(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| unescape(text))
}

/// The packed tail of `c` the script appends after the interned ids:
/// phone, language, first name.
pub(super) fn contact_tail(contact: &Contact) -> String {
    format!(
        "{}{US}{}{US}{}",
        contact.phone.as_str(),
        escape(contact.language.as_deref().unwrap_or_default()),
        escape(contact.first_name.as_deref().unwrap_or_default()),
    )
}

/// The visit time as `c` holds it (empty: none).
pub(super) fn visit(contact: &Contact) -> String {
    contact
        .visit_at_ms
        .map(|ms| ms.to_string())
        .unwrap_or_default()
}

/// `oc` of an official's call (empty: not one).
pub(super) fn official_call(spec: &JobSpec) -> String {
    spec.official_call
        .as_ref()
        .map(|o| {
            format!(
                "{}{US}{}{US}{}",
                o.phone.as_str(),
                escape(o.visit_date.as_deref().unwrap_or_default()),
                escape(o.language.as_deref().unwrap_or_default()),
            )
        })
        .unwrap_or_default()
}

/// The number a packed contact `c` holds: `None` once it ended (the
/// number is dropped then) or if `c` is not one.
pub(super) fn packed_phone(c: &str) -> Option<PhoneNumber> {
    PhoneNumber::parse(&PackedContact::parse(c).ok()?.phone?).ok()
}

/// A packed contact read back: the interned ids still to be resolved.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct PackedContact {
    pub visit_at_ms: Option<i64>,
    pub office: u64,
    pub service: u64,
    /// `None` once the contact ended (the number is dropped then).
    pub phone: Option<String>,
    pub language: Option<String>,
    pub first_name: Option<String>,
}

impl PackedContact {
    pub fn parse(c: &str) -> Result<PackedContact, String> {
        let parts: Vec<&str> = c.split(US).collect();
        let [visit, office, service, phone, language, first_name] = parts[..] else {
            return Err(format!("`c` has {} parts, not 6", parts.len()));
        };
        let id = |raw: &str, what: &str| {
            raw.parse::<u64>()
                .map_err(|e| format!("`c`: {what} id {raw:?}: {e}"))
        };
        Ok(PackedContact {
            visit_at_ms: match visit {
                "" => None,
                raw => Some(
                    raw.parse()
                        .map_err(|e| format!("`c`: visit time {raw:?}: {e}"))?,
                ),
            },
            office: id(office, "office")?,
            service: id(service, "service")?,
            phone: (!phone.is_empty()).then(|| phone.to_owned()),
            language: optional(language),
            first_name: optional(first_name),
        })
    }
}

/// The job's spec: the campaign's header joined with the contact. `office`
/// and `service` are the resolved texts; `phone` the contact's number, or
/// for an ended contact whose number was dropped `PhoneNumber::erased`.
pub(super) struct SpecParts<'a> {
    pub header: &'a CampaignHeader,
    pub id: &'a JobId,
    pub official: &'a str,
    pub packed: PackedContact,
    pub office: String,
    pub service: String,
    pub official_call: Option<&'a str>,
    /// The job's department: its own (`dept`, when it differs from the
    /// one its campaign's jobs in the shard keep: an inbound call's
    /// call-back takes the department of the visit), else that one (`#d`
    /// in the counts hash). `None`: the header's.
    pub department: Option<&'a str>,
}

impl SpecParts<'_> {
    pub fn into_spec(self) -> Result<JobSpec, String> {
        let phone = match &self.packed.phone {
            Some(raw) => PhoneNumber::parse(raw).map_err(|e| format!("`c`: phone: {e}"))?,
            None => PhoneNumber::erased(),
        };
        let contact = Contact {
            id: ContactId::clone(&self.id.contact),
            phone,
            language: self.packed.language,
            official_id: OfficialId::parse(self.official)
                .map_err(|e| format!("`official`: {e}"))?,
            office: self.office,
            service: self.service,
            visit_at_ms: self.packed.visit_at_ms,
            first_name: self.packed.first_name,
        };
        let mut spec = JobSpec::new(self.header, contact);
        if let Some(department) = self.department {
            spec.department = department.to_owned();
        }
        if let Some(oc) = self.official_call {
            let parts: Vec<&str> = oc.split(US).collect();
            let [phone, date, language] = parts[..] else {
                return Err(format!("`oc` has {} parts, not 3", parts.len()));
            };
            let record = matches!(self.header.kind, CampaignKind::Official { recording: true });
            spec.official_call = Some(OfficialCall {
                phone: if phone.is_empty() {
                    PhoneNumber::erased()
                } else {
                    PhoneNumber::parse(phone).map_err(|e| format!("`oc`: phone: {e}"))?
                },
                language: optional(language),
                record,
                visit_date: optional(date),
            });
            spec.direction = Direction::Official;
        }
        Ok(spec)
    }
}

/// What readers of compact jobs keep: campaign headers (a stored header
/// never changes: `put_campaign` refuses a different one) and interned
/// texts (an id never changes meaning). Bounded: emptied when full.
#[derive(Default)]
pub(super) struct JoinCache {
    headers: Mutex<HashMap<CampaignId, Arc<CampaignHeader>>>,
    texts: Mutex<HashMap<(ShardId, CampaignId, u64), Arc<str>>>,
    /// The department a campaign's jobs in a shard keep in its counts hash
    /// (`#d`: written once, by the first job, never changed).
    departments: Mutex<HashMap<(ShardId, CampaignId), Arc<str>>>,
}

const HEADERS_KEPT: usize = 1024;
const TEXTS_KEPT: usize = 65_536;
const DEPARTMENTS_KEPT: usize = 16_384;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl JoinCache {
    pub fn header(&self, id: &CampaignId) -> Option<Arc<CampaignHeader>> {
        lock(&self.headers).get(id).cloned()
    }

    pub fn keep_header(&self, header: CampaignHeader) -> Arc<CampaignHeader> {
        let mut headers = lock(&self.headers);
        if headers.len() >= HEADERS_KEPT {
            headers.clear();
        }
        let header = Arc::new(header);
        headers.insert(header.id.clone(), header.clone());
        header
    }

    pub fn text(&self, shard: ShardId, campaign: &CampaignId, id: u64) -> Option<Arc<str>> {
        lock(&self.texts)
            .get(&(shard, campaign.clone(), id))
            .cloned()
    }

    pub fn keep_text(&self, shard: ShardId, campaign: &CampaignId, id: u64, text: &str) {
        let mut texts = lock(&self.texts);
        if texts.len() >= TEXTS_KEPT {
            texts.clear();
        }
        texts.insert((shard, campaign.clone(), id), text.into());
    }

    pub fn department(&self, shard: ShardId, campaign: &CampaignId) -> Option<Arc<str>> {
        lock(&self.departments)
            .get(&(shard, campaign.clone()))
            .cloned()
    }

    pub fn keep_department(&self, shard: ShardId, campaign: &CampaignId, text: &str) -> Arc<str> {
        let mut departments = lock(&self.departments);
        if departments.len() >= DEPARTMENTS_KEPT {
            departments.clear();
        }
        let text: Arc<str> = text.into();
        departments.insert((shard, campaign.clone()), text.clone());
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(language: Option<&str>, first_name: Option<&str>) -> Contact {
        Contact {
            id: ContactId::parse("c-1").unwrap(),
            phone: PhoneNumber::parse("+919876543210").unwrap(),
            language: language.map(str::to_owned),
            official_id: OfficialId::parse("off-1").unwrap(),
            office: "Puri Sadar PS".into(),
            service: "Passport verification".into(),
            visit_at_ms: Some(1_796_000_000_000),
            first_name: first_name.map(str::to_owned),
        }
    }

    #[test]
    fn free_texts_survive_separators_and_backslashes() {
        for (language, name) in [
            (Some("or"), Some("Sanjukta")),
            (None, None),
            (Some("a\u{1f}b"), Some("x\\_y\\")),
            (Some("\\"), Some("\u{1f}\u{1f}")),
            (Some("a\u{1e}b"), Some("\\^\u{1e}")),
        ] {
            let c = contact(language, name);
            let packed = format!("{}{US}3{US}7{US}{}", visit(&c), contact_tail(&c));
            let back = PackedContact::parse(&packed).unwrap();
            assert_eq!(back.language.as_deref(), language);
            assert_eq!(back.first_name.as_deref(), name);
            assert_eq!(back.phone.as_deref(), Some("+919876543210"));
            assert_eq!((back.office, back.service), (3, 7));
            assert_eq!(back.visit_at_ms, Some(1_796_000_000_000));
        }
    }

    #[test]
    fn a_realistic_contact_packs_under_the_compact_limit() {
        let c = contact(Some("or"), Some("Sanjukta"));
        let packed = format!("{}{US}123{US}45{US}{}", visit(&c), contact_tail(&c));
        assert!(packed.len() <= 64, "{} bytes", packed.len());
    }

    #[test]
    fn a_dropped_number_and_bad_values_are_told_apart() {
        let ended = PackedContact::parse("\u{1f}1\u{1f}2\u{1f}\u{1f}\u{1f}").unwrap();
        assert_eq!(ended.phone, None);
        assert_eq!(ended.visit_at_ms, None);
        assert!(PackedContact::parse("1\u{1f}2").is_err());
        assert!(PackedContact::parse("x\u{1f}1\u{1f}2\u{1f}+91\u{1f}\u{1f}").is_err());
        assert!(PackedContact::parse("\u{1f}one\u{1f}2\u{1f}+91\u{1f}\u{1f}").is_err());
    }
}
