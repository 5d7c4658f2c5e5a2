//! Identifier newtypes. All share one alphabet so they are safe inside Redis
//! keys, URLs and log fields without escaping.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} is empty")]
    Empty { kind: &'static str },
    #[error("{kind} is {len} characters long; at most 64 are allowed")]
    TooLong { kind: &'static str, len: usize },
    #[error("{kind} contains {ch:?}; only letters, digits, '.', '_' and '-' are allowed")]
    BadCharacter { kind: &'static str, ch: char },
    #[error("job id {0:?} is not of the form CAMPAIGN/CONTACT")]
    BadJobId(String),
}

fn validate(kind: &'static str, raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if raw.len() > 64 {
        return Err(IdError::TooLong {
            kind,
            len: raw.len(),
        });
    }
    match raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some(ch) => Err(IdError::BadCharacter { kind, ch }),
        None => Ok(()),
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an identifier.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                validate($kind, raw)?;
                Ok(Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A campaign's id, chosen by whoever submits it (e.g. `police-2026-11-27`).
    CampaignId,
    "campaign id"
);
id_type!(
    /// A contact's id, unique within its campaign.
    ContactId,
    "contact id"
);
id_type!(
    /// The official whose service the citizen used; the unit of rate limiting.
    OfficialId,
    "official id"
);

/// A job is one contact of one campaign: `CAMPAIGN/CONTACT`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId {
    pub campaign: CampaignId,
    pub contact: ContactId,
}

impl JobId {
    pub fn new(campaign: CampaignId, contact: ContactId) -> Self {
        Self { campaign, contact }
    }

    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let (c, k) = raw
            .split_once('/')
            .ok_or_else(|| IdError::BadJobId(raw.to_owned()))?;
        Ok(Self {
            campaign: CampaignId::parse(c)?,
            contact: ContactId::parse(k)?,
        })
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.campaign, self.contact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_validate_alphabet_and_length() {
        assert!(OfficialId::parse("off-17").is_ok());
        assert!(matches!(OfficialId::parse(""), Err(IdError::Empty { .. })));
        assert!(matches!(
            CampaignId::parse("a b"),
            Err(IdError::BadCharacter { ch: ' ', .. })
        ));
        assert!(matches!(
            ContactId::parse(&"x".repeat(65)),
            Err(IdError::TooLong { len: 65, .. })
        ));
    }

    #[test]
    fn job_id_round_trips() {
        let j = JobId::parse("police-2026/c-0001").unwrap();
        assert_eq!(j.to_string(), "police-2026/c-0001");
        assert!(JobId::parse("nodelimiter").is_err());
        assert!(JobId::parse("a/b/c").is_err());
    }
}
