//! Keys a campaign document carries that sampark does not know: found,
//! grouped by key, with a "did you mean" for near-misses of known keys.
//!
//! Owns: finding and describing unknown keys. Does not own: which keys are
//! known (`CAMPAIGN_FIELDS` and `CONTACT_FIELDS` in `campaign.rs`) or what is
//! done about them: `campaign submit` warns and with `--strict` refuses, the
//! admin API returns them, the daemon logs them once per document and
//! ignores them.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::phone::mask_digits;

/// Where an unknown key was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldLevel {
    Campaign,
    Contact,
}

/// A contact that carries an unknown key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContactRef {
    /// Position in the document's `contacts` array.
    pub index: usize,
    /// The contact's id, when it had a readable one.
    pub id: Option<String>,
}

/// One unknown key and where it appears.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnknownField {
    pub level: FieldLevel,
    /// The key as written, cut at 64 characters, digits masked as a phone
    /// number's would be (a key may be one).
    pub field: String,
    /// How many contacts carry it; 1 for a campaign field.
    pub count: usize,
    /// The first contacts that carry it, in document order (at most 5).
    pub contacts: Vec<ContactRef>,
    /// A known key of the same level that this one is probably a misspelling of.
    pub did_you_mean: Option<&'static str>,
}

const EXAMPLES: usize = 5;
const MAX_KEY_CHARS: usize = 64;

impl fmt::Display for UnknownField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level {
            FieldLevel::Campaign => write!(f, "unknown campaign field `{}`", self.field)?,
            FieldLevel::Contact => {
                write!(f, "unknown contact field `{}` in ", self.field)?;
                if self.count > 1 {
                    write!(f, "{} contacts: ", self.count)?;
                }
                for (i, c) in self.contacts.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}contacts[{}]", c.index)?;
                    if let Some(id) = &c.id {
                        write!(f, " ({id})")?;
                    }
                }
                if self.count > self.contacts.len() {
                    f.write_str(", …")?;
                }
            }
        }
        match self.did_you_mean {
            Some(known) => write!(f, " (did you mean `{known}`?); it is ignored"),
            None => f.write_str("; it is ignored"),
        }
    }
}

/// Gathers the unknown keys of one document, one entry per distinct key.
#[derive(Default)]
pub(super) struct UnknownFields {
    found: Vec<UnknownField>,
    by_key: HashMap<(FieldLevel, String), usize>,
}

impl UnknownFields {
    /// Records the keys of a campaign object not in `known`.
    pub(super) fn campaign(&mut self, obj: &Map<String, Value>, known: &[&'static str]) {
        for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            self.note(FieldLevel::Campaign, key, known, None);
        }
    }

    /// Records the keys of contact `index` not in `known`.
    pub(super) fn contact(
        &mut self,
        index: usize,
        obj: &Map<String, Value>,
        known: &[&'static str],
    ) {
        let id = obj.get("id").and_then(Value::as_str);
        for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            let at = ContactRef {
                index,
                id: id.map(str::to_owned),
            };
            self.note(FieldLevel::Contact, key, known, Some(at));
        }
    }

    pub(super) fn into_vec(self) -> Vec<UnknownField> {
        self.found
    }

    fn note(
        &mut self,
        level: FieldLevel,
        key: &str,
        known: &[&'static str],
        at: Option<ContactRef>,
    ) {
        let shown = shown_key(key);
        let slot = *self
            .by_key
            .entry((level, shown.clone()))
            .or_insert_with(|| {
                self.found.push(UnknownField {
                    level,
                    field: shown,
                    count: 0,
                    contacts: Vec::new(),
                    did_you_mean: did_you_mean(key, known),
                });
                self.found.len() - 1
            });
        let entry = &mut self.found[slot];
        entry.count += 1;
        if entry.contacts.len() < EXAMPLES {
            entry.contacts.extend(at);
        }
    }
}

fn shown_key(key: &str) -> String {
    let masked = mask_digits(key);
    match masked.char_indices().nth(MAX_KEY_CHARS) {
        Some((cut, _)) => format!("{}…", &masked[..cut]),
        None => masked,
    }
}

/// The known key `key` is probably a misspelling of: within edit distance 2
/// (ignoring case, and less than the known key's length, so `x` is not
/// taken for `id`), or the same words with one `_`-joined word more or
/// fewer at either end (`not_after` for `call_not_after`).
pub fn did_you_mean(key: &str, known: &[&'static str]) -> Option<&'static str> {
    let key = key.to_lowercase();
    let near = known
        .iter()
        .map(|k| (edit_distance(&key, k), *k))
        .filter(|(d, k)| *d <= 2 && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k);
    near.or_else(|| {
        known
            .iter()
            .find(|k| affix_of(&key, k) || affix_of(k, &key))
            .copied()
    })
}

/// `short` is `long` without one leading or trailing `_`-joined word.
fn affix_of(short: &str, long: &str) -> bool {
    short.len() >= 3
        && (long
            .strip_suffix(short)
            .is_some_and(|head| head.ends_with('_') && !head[..head.len() - 1].contains('_'))
            || long
                .strip_prefix(short)
                .is_some_and(|tail| tail.starts_with('_') && !tail[1..].contains('_')))
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const KNOWN: &[&str] = &["id", "phone", "official_id", "call_not_after", "window"];

    #[test]
    fn near_misses_get_a_suggestion() {
        assert_eq!(did_you_mean("phnoe", KNOWN), Some("phone"));
        assert_eq!(did_you_mean("Phone", KNOWN), Some("phone"));
        assert_eq!(did_you_mean("officialid", KNOWN), Some("official_id"));
        assert_eq!(did_you_mean("ID", KNOWN), Some("id"));
        assert_eq!(did_you_mean("not_after", KNOWN), Some("call_not_after"));
        assert_eq!(
            did_you_mean("call_not_afterr", KNOWN),
            Some("call_not_after")
        );
        assert_eq!(did_you_mean("windows", KNOWN), Some("window"));
        assert_eq!(did_you_mean("x", KNOWN), None);
        assert_eq!(did_you_mean("after", KNOWN), None, "two words away");
        assert_eq!(did_you_mean("citizen_name", KNOWN), None);
    }

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("phnoe", "phone"), 2);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn keys_are_grouped_counted_and_masked() {
        let mut found = UnknownFields::default();
        let campaign = json!({"id": "x", "windw": {}});
        found.campaign(campaign.as_object().unwrap(), KNOWN);
        for i in 0..7 {
            let contact = json!({"id": format!("c-{i}"), "phone": "+919876543210", "alt": 1});
            found.contact(i, contact.as_object().unwrap(), KNOWN);
        }
        let odd = json!({"+919876543210": "x", "phnoe": "9876543210"});
        found.contact(7, odd.as_object().unwrap(), KNOWN);
        let found = found.into_vec();
        assert_eq!(found.len(), 4, "{found:?}");
        assert_eq!(
            found[0].to_string(),
            "unknown campaign field `windw` (did you mean `window`?); it is ignored"
        );
        assert_eq!(found[1].count, 7);
        assert_eq!(found[1].contacts.len(), 5);
        assert_eq!(
            found[1].to_string(),
            "unknown contact field `alt` in 7 contacts: contacts[0] (c-0), contacts[1] (c-1), \
             contacts[2] (c-2), contacts[3] (c-3), contacts[4] (c-4), …; it is ignored"
        );
        assert_eq!(found[2].field, "+91******3210");
        assert_eq!(
            found[3].to_string(),
            "unknown contact field `phnoe` in contacts[7] (did you mean `phone`?); it is ignored"
        );
        let long = "k".repeat(100);
        assert_eq!(shown_key(&long).chars().count(), MAX_KEY_CHARS + 1);
    }
}
