//! Guarding the data the guarantees rest on: whether the backend keeps its
//! data across a restart ([`Durability`]), and whether it still holds the
//! data the fleet has been working with (the epoch marker).
//!
//! Owns: reading those two facts and what they mean ([`Durability::problems`],
//! [`judge_epoch`]). Does not own: what to do about them (`serve` refuses to
//! start, the daemon's data watch pauses dialling; see `daemon/watch.rs`).
//!
//! **The epoch marker** (`<prefix>:epoch`, a hash) holds a random `id`
//! written once, when the first instance starts on an empty Redis. Each
//! instance remembers the id it saw. If the marker is gone, Redis came back
//! empty; if it holds another id nobody accepted, an empty Redis was started
//! on meanwhile (or the URL now points at another Redis). Either way the
//! instance that sees it writes `hold` (why) into the marker, and every
//! instance pauses dialling while `hold` is there, so resubmitting a campaign
//! does not call again the citizens whose records were lost. An operator
//! lifts it (`sampark redis accept-empty`): a new `id`, marked accepted.
//!
//! | hold | remembered | `id` in Redis             | verdict                   |
//! |------|------------|---------------------------|---------------------------|
//! | set  | any        | any                       | `Held`: stay paused       |
//! | —    | none       | none                      | `Fresh`: write an id      |
//! | —    | none       | `X`                       | `Adopt(X)`                |
//! | —    | `R`        | `R`                       | `Same`                    |
//! | —    | `R`        | `X` ≠ `R`, accepted       | `Adopt(X)` (operator said)|
//! | —    | `R`        | none                      | `Lost`: marker gone       |
//! | —    | `R`        | `X` ≠ `R`, not accepted   | `Lost`: another epoch     |
//!
//! The marker cannot tell a Redis that came back with *older* data (an RDB
//! snapshot) from the one that stopped: that is what AOF is for.

use async_trait::async_trait;

use super::Result;

/// What a backend says about keeping its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The settings, as read from Redis.
    Settings {
        /// `appendonly`: every write logged (AOF).
        appendonly: bool,
        /// `save`: RDB snapshot points (`""`: none).
        save: String,
        /// `maxmemory-policy`.
        maxmemory_policy: String,
    },
    /// They could not be read (e.g. a managed Redis that refuses CONFIG).
    Unknown(String),
}

impl Durability {
    /// What breaks the guarantees, each naming the Redis setting to change.
    /// Empty when the settings are fine or could not be read.
    pub fn problems(&self) -> Vec<String> {
        let Durability::Settings {
            appendonly,
            save,
            maxmemory_policy,
        } = self
        else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        if !appendonly && save.trim().is_empty() {
            problems.push(
                "Redis has no persistence (appendonly no, save \"\"): a restart loses every \
                 campaign, job and record; set appendonly yes (CONFIG SET appendonly yes, and \
                 in redis.conf)"
                    .to_owned(),
            );
        }
        if maxmemory_policy != "noeviction" {
            problems.push(format!(
                "Redis may evict keys (maxmemory-policy {maxmemory_policy}): jobs, rate-limit \
                 state and dedupe markers could vanish when it is full; set maxmemory-policy \
                 noeviction"
            ));
        }
        problems
    }

    /// Advice that does not break the guarantees outright.
    pub fn notes(&self) -> Vec<String> {
        match self {
            Durability::Settings {
                appendonly: false,
                save,
                ..
            } if !save.trim().is_empty() => vec![format!(
                "Redis keeps RDB snapshots only (save \"{save}\"): a crash loses the writes since \
                 the last snapshot, and calls made since may be placed again; appendonly yes is \
                 recommended"
            )],
            _ => Vec::new(),
        }
    }
}

/// The epoch marker as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochMarker {
    /// The epoch id (absent: Redis holds no marker, or only a hold).
    pub id: Option<String>,
    /// When an operator accepted the current id (`accept-empty`), if one did.
    pub accepted_at_ms: Option<i64>,
    /// Why dialling is held fleet-wide, while it is.
    pub hold: Option<String>,
    pub held_at_ms: Option<i64>,
}

/// What an epoch marker means to an instance (table in the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EpochVerdict {
    /// Nothing there and nothing remembered: the first start on this Redis.
    Fresh,
    /// Take this id as the epoch from now on.
    Adopt(String),
    /// The epoch this instance remembers.
    Same,
    /// Dialling is held fleet-wide, for this reason.
    Held(String),
    /// The data this instance worked with is gone: hold dialling, for this reason.
    Lost(String),
}

/// Decides what an epoch marker means to an instance that remembers
/// `remembered` (see the module docs).
pub fn judge_epoch(remembered: Option<&str>, marker: &EpochMarker) -> EpochVerdict {
    if let Some(reason) = &marker.hold {
        return EpochVerdict::Held(reason.clone());
    }
    match (remembered, marker.id.as_deref()) {
        (None, None) => EpochVerdict::Fresh,
        (None, Some(id)) => EpochVerdict::Adopt(id.to_owned()),
        (Some(r), Some(id)) if r == id => EpochVerdict::Same,
        (Some(_), Some(id)) if marker.accepted_at_ms.is_some() => {
            EpochVerdict::Adopt(id.to_owned())
        }
        (Some(_), None) => EpochVerdict::Lost(
            "Redis came back empty: the epoch marker is gone, and with it every campaign, job \
             and record written before"
                .to_owned(),
        ),
        (Some(_), Some(_)) => EpochVerdict::Lost(
            "Redis holds another epoch than the one this instance worked with: it came back \
             empty and another instance started on it, or the URL now points at another Redis"
                .to_owned(),
        ),
    }
}

/// The result of asking to lift a hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// The hold (this reason) is lifted under a new epoch id.
    Lifted { reason: String, epoch: String },
    /// Dialling was not held: nothing changed.
    NotHeld,
}

/// A backend that can lose its data behind the daemon's back (Redis).
#[async_trait]
pub trait DataGuard: Send + Sync {
    /// The persistence and eviction settings (never fails: `Unknown`).
    async fn durability(&self) -> Durability;
    async fn read_epoch(&self) -> Result<EpochMarker>;
    /// Writes a new epoch id unless there is one; returns the marker after.
    async fn start_epoch(&self) -> Result<EpochMarker>;
    /// Holds dialling fleet-wide for `reason`, unless already held.
    async fn hold_dialling(&self, reason: &str) -> Result<()>;
    /// An operator accepts the data as it is: a new accepted epoch id, no
    /// hold. Returns the new id.
    async fn accept_empty(&self) -> Result<String>;
    /// Resolves when a consumer-group read found its group missing (Redis
    /// lost its data) since the last call; pending until then.
    async fn groups_lost(&self);

    /// Lifts the hold if there is one (`sampark redis accept-empty`, the
    /// admin API).
    async fn accept_if_held(&self) -> Result<Accepted> {
        let marker = self.read_epoch().await?;
        let Some(reason) = marker.hold else {
            return Ok(Accepted::NotHeld);
        };
        let epoch = self.accept_empty().await?;
        Ok(Accepted::Lifted { reason, epoch })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(appendonly: bool, save: &str, policy: &str) -> Durability {
        Durability::Settings {
            appendonly,
            save: save.into(),
            maxmemory_policy: policy.into(),
        }
    }

    #[test]
    fn durability_problems_name_the_setting_to_change() {
        assert!(settings(true, "", "noeviction").problems().is_empty());
        assert!(
            settings(false, "3600 1", "noeviction")
                .problems()
                .is_empty()
        );
        assert_eq!(settings(false, "3600 1", "noeviction").notes().len(), 1);
        assert!(settings(true, "3600 1", "noeviction").notes().is_empty());
        let none = settings(false, "", "noeviction").problems();
        assert_eq!(none.len(), 1);
        assert!(none[0].contains("appendonly yes"), "{none:?}");
        let lru = settings(true, "", "allkeys-lru").problems();
        assert_eq!(lru.len(), 1);
        assert!(lru[0].contains("maxmemory-policy noeviction"), "{lru:?}");
        assert_eq!(settings(false, " ", "volatile-lru").problems().len(), 2);
        let unknown = Durability::Unknown("NOPERM".into());
        assert!(unknown.problems().is_empty() && unknown.notes().is_empty());
    }

    fn marker(id: Option<&str>, accepted: bool, hold: Option<&str>) -> EpochMarker {
        EpochMarker {
            id: id.map(str::to_owned),
            accepted_at_ms: accepted.then_some(1),
            hold: hold.map(str::to_owned),
            held_at_ms: hold.map(|_| 1),
        }
    }

    #[test]
    fn epoch_verdicts_follow_the_table() {
        use EpochVerdict::*;
        let held = marker(Some("a"), false, Some("why"));
        assert_eq!(judge_epoch(Some("a"), &held), Held("why".into()));
        assert_eq!(judge_epoch(None, &held), Held("why".into()));
        assert_eq!(
            judge_epoch(Some("a"), &marker(None, false, Some("why"))),
            Held("why".into())
        );
        assert_eq!(judge_epoch(None, &marker(None, false, None)), Fresh);
        assert_eq!(
            judge_epoch(None, &marker(Some("x"), false, None)),
            Adopt("x".into())
        );
        assert_eq!(
            judge_epoch(Some("r"), &marker(Some("r"), false, None)),
            Same
        );
        assert_eq!(judge_epoch(Some("r"), &marker(Some("r"), true, None)), Same);
        assert_eq!(
            judge_epoch(Some("r"), &marker(Some("x"), true, None)),
            Adopt("x".into())
        );
        assert!(matches!(
            judge_epoch(Some("r"), &marker(None, false, None)),
            Lost(why) if why.contains("gone")
        ));
        assert!(matches!(
            judge_epoch(Some("r"), &marker(Some("x"), false, None)),
            Lost(why) if why.contains("another epoch")
        ));
    }
}
