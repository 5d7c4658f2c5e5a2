//! Turning script replies and job hashes into store types.
//!
//! Scripts reply with flat arrays of strings: a verdict, then verdict data,
//! then (for snapshots) the job hash as field/value pairs.

use std::collections::HashMap;
use std::str::FromStr;

use crate::domain::{Answer, CallStatus, JobId, JobSpec, JobState};
use crate::store::{Job, ShardId, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// A job hash read back from Redis, with the key for error messages.
pub(super) struct JobFields<'a> {
    key: &'a str,
    fields: HashMap<String, String>,
}

impl<'a> JobFields<'a> {
    /// From `field, value, field, value, ...`.
    pub fn from_flat(key: &'a str, flat: &[String]) -> Self {
        let fields = flat
            .chunks_exact(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect();
        Self { key, fields }
    }

    pub fn from_map(key: &'a str, fields: HashMap<String, String>) -> Self {
        Self { key, fields }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn corrupt(&self, detail: String) -> StoreError {
        corrupt(self.key, detail)
    }

    fn text(&self, field: &str) -> Option<String> {
        self.fields.get(field).cloned()
    }

    fn required<T: FromStr>(&self, field: &str) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        self.optional(field)?
            .ok_or_else(|| self.corrupt(format!("field `{field}` is missing")))
    }

    fn optional<T: FromStr>(&self, field: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        self.fields
            .get(field)
            .map(|raw| {
                raw.parse()
                    .map_err(|e| self.corrupt(format!("field `{field}` = {raw:?}: {e}")))
            })
            .transpose()
    }

    fn json<T: serde::de::DeserializeOwned>(&self, field: &str) -> Result<Option<T>> {
        self.fields
            .get(field)
            .map(|raw| {
                serde_json::from_str(raw)
                    .map_err(|e| self.corrupt(format!("field `{field}` is not valid JSON: {e}")))
            })
            .transpose()
    }

    /// A field's raw value.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    /// The spec an inbound call's job keeps whole (`None`: a compact job,
    /// joined with its campaign's header by `RedisStore::job_from`).
    pub fn own_spec(&self) -> Result<Option<JobSpec>> {
        self.json("spec")
    }

    /// The job snapshot with its `spec` (joined or its own). Missing
    /// counters default to zero: a new job stores none.
    pub fn into_job(self, id: &JobId, shard: ShardId, spec: JobSpec) -> Result<Job> {
        let state: JobState = self.required("state")?;
        let status: Option<CallStatus> = self.optional("status")?;
        let queued_at_ms: i64 = self.required("q")?;
        Ok(Job {
            id: id.clone(),
            shard,
            spec: spec.into(),
            state,
            attempt: self.optional("attempt")?.unwrap_or(0),
            dials: self.optional("dials")?.unwrap_or(0),
            call_sid: self.text("sid"),
            past_call_sids: self
                .text("past")
                .map(|p| p.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
            status_rank: self.optional("rank")?.unwrap_or(0),
            call_status: status,
            ivr: self.text("ivr"),
            attribution: self.json("attr")?,
            bridge: self.json("bridge")?,
            ivr_step: self.optional("step")?.unwrap_or(0),
            answers: self.json::<Vec<Answer>>("answers")?.unwrap_or_default(),
            last_response: self.text("resp"),
            reason: self.text("reason"),
            queued_at_ms,
            first_dialled_at_ms: self.optional("first_dial_at")?,
            dial_started_at_ms: self.optional("dial_at")?,
            // Not written until the job first changes.
            updated_at_ms: self.optional("updated_at")?.unwrap_or(queued_at_ms),
        })
    }
}

pub(super) fn corrupt(key: &str, detail: String) -> StoreError {
    StoreError::Corrupt {
        key: key.to_owned(),
        detail,
    }
}

/// A script reply: the verdict and what follows it.
pub(super) fn verdict<'r>(script: &str, reply: &'r [String]) -> Result<(&'r str, &'r [String])> {
    reply
        .split_first()
        .map(|(head, rest)| (head.as_str(), rest))
        .ok_or_else(|| unexpected(script, reply))
}

/// A reply this version of the scripts never produces.
pub(super) fn unexpected(script: &str, reply: &[String]) -> StoreError {
    StoreError::Refused(format!(
        "script {script} replied unexpectedly: [{}]",
        reply.join(", ")
    ))
}

/// An integer from a reply position.
pub(super) fn int_at(script: &str, reply: &[String], index: usize) -> Result<i64> {
    reply
        .get(index)
        .and_then(|raw| raw.parse().ok())
        .ok_or_else(|| unexpected(script, reply))
}

/// An answer as sent to `save_ivr.lua`: its JSON object without `at_ms`,
/// which the script appends with the Redis clock.
pub(super) fn answer_without_time(answer: &Answer) -> Result<String> {
    let mut value = serde_json::to_value(answer)
        .map_err(|e| StoreError::Refused(format!("answer does not serialize: {e}")))?;
    if let Some(object) = value.as_object_mut() {
        object.remove("at_ms");
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_lose_only_their_time() {
        let answer = Answer {
            question: "q".into(),
            digits: "1".into(),
            value: "yes".into(),
            label: "Yes".into(),
            flag: None,
            at_ms: 5,
        };
        let json = answer_without_time(&answer).unwrap();
        assert!(!json.contains("at_ms"));
        assert!(json.starts_with('{') && json.ends_with('}'));
        let stamped = format!("{},\"at_ms\":7}}", &json[..json.len() - 1]);
        let back: Answer = serde_json::from_str(&stamped).unwrap();
        assert_eq!(back, Answer { at_ms: 7, ..answer });
    }

    #[test]
    fn verdict_splits_and_rejects_empty() {
        let reply = vec!["saved".to_owned(), "3".to_owned()];
        assert_eq!(verdict("x", &reply).unwrap().0, "saved");
        assert_eq!(int_at("x", &reply, 1).unwrap(), 3);
        assert!(verdict("x", &[]).is_err());
    }
}
