//! The simulator's calls: their current state, the concurrency count, and
//! their JSON form as Twilio's call resource.
//!
//! Owns: call records and status moves (never backwards, terminal absorbs).
//! Does not own: what moves a call (the call task and the REST API do).

use std::collections::HashMap;
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

use super::clock::{now_ms, rfc2822};
use super::direction::Direction;
use super::ledger::lock;
use crate::domain::{CallStatus, PhoneNumber};

/// One call as the provider knows it.
#[derive(Clone, Debug)]
pub(crate) struct CallRecord {
    pub sid: String,
    /// Position in creation order; seeds the call's random choices.
    pub index: u64,
    pub to: PhoneNumber,
    pub from: PhoneNumber,
    pub status: CallStatus,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub duration_secs: Option<u64>,
    pub direction: Direction,
    /// What answering-machine detection reported (`human`,
    /// `machine_start`, ...), for a call placed with `MachineDetection`.
    pub answered_by: Option<&'static str>,
    /// Cancelled when the REST API asks for the call to end.
    pub hangup: CancellationToken,
}

impl CallRecord {
    pub(crate) fn new(index: u64, to: PhoneNumber, from: PhoneNumber) -> Self {
        let now = now_ms();
        Self {
            sid: new_call_sid(),
            index,
            to,
            from,
            status: CallStatus::Queued,
            created_ms: now,
            updated_ms: now,
            start_ms: None,
            end_ms: None,
            duration_secs: None,
            direction: Direction::Outbound,
            answered_by: None,
            hangup: CancellationToken::new(),
        }
    }

    /// A citizen's call to the programme's number `to`: answered from the
    /// start, as the number's Voice URL is fetched once the call connects.
    pub(crate) fn inbound(index: u64, to: PhoneNumber, from: PhoneNumber) -> Self {
        let mut record = Self::new(index, to, from);
        record.status = CallStatus::InProgress;
        record.start_ms = Some(record.created_ms);
        record.direction = Direction::Inbound;
        record
    }

    /// When the call counts as started for the list filters.
    pub(crate) fn started_ms(&self) -> i64 {
        self.start_ms.unwrap_or(self.created_ms)
    }
}

/// Refused because the account is at its concurrency limit.
#[derive(Debug)]
pub(crate) struct AtCapacity;

#[derive(Default)]
struct Inner {
    calls: HashMap<String, CallRecord>,
    /// Sids in creation order.
    order: Vec<String>,
    active: usize,
    created: u64,
}

impl Inner {
    fn insert(&mut self, make: impl FnOnce(u64) -> CallRecord) -> CallRecord {
        let record = make(self.created);
        self.created += 1;
        self.active += 1;
        self.order.push(record.sid.clone());
        self.calls.insert(record.sid.clone(), record.clone());
        record
    }
}

#[derive(Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
}

impl Registry {
    /// Admits a new call unless `max_active` calls are still going; the
    /// check and the insert happen under one lock so the cap holds exactly.
    pub(crate) fn admit(
        &self,
        max_active: usize,
        make: impl FnOnce(u64) -> CallRecord,
    ) -> Result<CallRecord, AtCapacity> {
        let mut inner = lock(&self.inner);
        if inner.active >= max_active {
            return Err(AtCapacity);
        }
        Ok(inner.insert(make))
    }

    /// Admits a call whatever the count (a citizen's call reaches the
    /// provider regardless); the flag says it went over `max_active`.
    pub(crate) fn admit_over_cap(
        &self,
        max_active: usize,
        make: impl FnOnce(u64) -> CallRecord,
    ) -> (CallRecord, bool) {
        let mut inner = lock(&self.inner);
        let over = inner.active >= max_active;
        (inner.insert(make), over)
    }

    pub(crate) fn get(&self, sid: &str) -> Option<CallRecord> {
        lock(&self.inner).calls.get(sid).cloned()
    }

    pub(crate) fn active(&self) -> usize {
        lock(&self.inner).active
    }

    /// Moves a live call forward to a non-terminal status. Returns false when
    /// the call already ended (the caller should stop).
    pub(crate) fn advance(&self, sid: &str, status: CallStatus) -> bool {
        let mut inner = lock(&self.inner);
        let Some(call) = inner.calls.get_mut(sid) else {
            return false;
        };
        if call.status.is_terminal() {
            return false;
        }
        if status.rank() > call.status.rank() {
            let now = now_ms();
            call.status = status;
            call.updated_ms = now;
            if call.start_ms.is_none() && status != CallStatus::Queued {
                call.start_ms = Some(now);
            }
        }
        true
    }

    /// Records answering-machine detection's verdict on a call.
    pub(crate) fn detected(&self, sid: &str, answered_by: &'static str) {
        if let Some(call) = lock(&self.inner).calls.get_mut(sid) {
            call.answered_by = Some(answered_by);
            call.updated_ms = now_ms();
        }
    }

    /// Ends a call with `status` unless it already ended; returns the record
    /// as it now stands (its first terminal status wins).
    pub(crate) fn finish(
        &self,
        sid: &str,
        status: CallStatus,
        duration_secs: u64,
    ) -> Option<CallRecord> {
        let mut inner = lock(&self.inner);
        let call = inner.calls.get_mut(sid)?;
        if call.status.is_terminal() {
            return Some(call.clone());
        }
        let now = now_ms();
        call.status = status;
        call.updated_ms = now;
        call.end_ms = Some(now);
        call.start_ms.get_or_insert(now);
        call.duration_secs = Some(duration_secs);
        let record = call.clone();
        inner.active = inner.active.saturating_sub(1);
        Some(record)
    }

    /// Every call matching `keep`, newest first (Twilio's list order).
    pub(crate) fn list(&self, keep: impl Fn(&CallRecord) -> bool) -> Vec<CallRecord> {
        let inner = lock(&self.inner);
        inner
            .order
            .iter()
            .rev()
            .filter_map(|sid| inner.calls.get(sid))
            .filter(|c| keep(c))
            .cloned()
            .collect()
    }
}

fn new_call_sid() -> String {
    format!("CA{:032x}", rand::random::<u128>())
}

/// The call as Twilio's `api.v2010.account.call` resource, in Twilio's
/// field order. Typed rather than a `serde_json::Value`: every originate's
/// reply is one, and building the value's map cost 7.8 % of the
/// simulator's instructions per call (docs/performance.md, "The daemon's
/// work per call, counted").
#[derive(serde::Serialize)]
pub(crate) struct CallResource<'a> {
    sid: &'a str,
    date_created: String,
    date_updated: String,
    parent_call_sid: Option<&'a str>,
    account_sid: &'a str,
    to: &'a str,
    to_formatted: &'a str,
    from: &'a str,
    from_formatted: &'a str,
    phone_number_sid: Option<&'a str>,
    status: &'a str,
    start_time: Option<String>,
    end_time: Option<String>,
    duration: Option<String>,
    price: Option<&'a str>,
    price_unit: &'a str,
    direction: &'a str,
    answered_by: Option<&'a str>,
    api_version: &'a str,
    forwarded_from: Option<&'a str>,
    group_sid: Option<&'a str>,
    caller_name: Option<&'a str>,
    queue_time: &'a str,
    trunk_sid: Option<&'a str>,
    uri: String,
    subresource_uris: SubresourceUris<'a>,
}

/// The call's subresources, each `<call uri without .json>/<Name>.json`.
struct SubresourceUris<'a> {
    account_sid: &'a str,
    call_sid: &'a str,
}

impl serde::Serialize for SubresourceUris<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        const NAMES: [(&str, &str); 9] = [
            ("notifications", "Notifications"),
            ("recordings", "Recordings"),
            ("payments", "Payments"),
            ("events", "Events"),
            ("siprec", "Siprec"),
            ("streams", "Streams"),
            ("transcriptions", "Transcriptions"),
            (
                "user_defined_message_subscriptions",
                "UserDefinedMessageSubscriptions",
            ),
            ("user_defined_messages", "UserDefinedMessages"),
        ];
        let mut map = serializer.serialize_map(Some(NAMES.len()))?;
        for (key, name) in NAMES {
            map.serialize_entry(
                key,
                &format_args!(
                    "/2010-04-01/Accounts/{}/Calls/{}/{name}.json",
                    self.account_sid, self.call_sid
                ),
            )?;
        }
        map.end()
    }
}

/// The call as Twilio's `api.v2010.account.call` resource.
pub(crate) fn call_resource<'a>(call: &'a CallRecord, account_sid: &'a str) -> CallResource<'a> {
    CallResource {
        sid: &call.sid,
        date_created: rfc2822(call.created_ms),
        date_updated: rfc2822(call.updated_ms),
        parent_call_sid: None,
        account_sid,
        to: call.to.as_str(),
        to_formatted: call.to.as_str(),
        from: call.from.as_str(),
        from_formatted: call.from.as_str(),
        phone_number_sid: None,
        status: call.status.as_str(),
        start_time: call.start_ms.map(rfc2822),
        end_time: call.end_ms.map(rfc2822),
        duration: call.duration_secs.map(|d| d.to_string()),
        price: None,
        price_unit: "USD",
        direction: call.direction.twilio(),
        answered_by: call.answered_by,
        api_version: "2010-04-01",
        forwarded_from: None,
        group_sid: None,
        caller_name: None,
        queue_time: "0",
        trunk_sid: None,
        uri: format!("/2010-04-01/Accounts/{account_sid}/Calls/{}.json", call.sid),
        subresource_uris: SubresourceUris {
            account_sid,
            call_sid: &call.sid,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(call: &CallRecord) -> serde_json::Value {
        serde_json::to_value(call_resource(call, "ACx")).unwrap()
    }

    fn record(index: u64) -> CallRecord {
        CallRecord::new(
            index,
            PhoneNumber::parse("+919876543210").unwrap(),
            PhoneNumber::parse("+916742000000").unwrap(),
        )
    }

    #[test]
    fn admit_enforces_the_cap_and_finish_releases_it() {
        let reg = Registry::default();
        let a = reg.admit(2, record).unwrap();
        let b = reg.admit(2, record).unwrap();
        assert_eq!((a.index, b.index), (0, 1));
        assert!(reg.admit(2, record).is_err());
        let ended = reg.finish(&a.sid, CallStatus::Busy, 0).unwrap();
        assert_eq!(ended.status, CallStatus::Busy);
        assert_eq!(reg.active(), 1);
        // A second finish keeps the first terminal status and the count.
        let again = reg.finish(&a.sid, CallStatus::Completed, 9).unwrap();
        assert_eq!(again.status, CallStatus::Busy);
        assert_eq!(reg.active(), 1);
        assert_eq!(reg.admit(2, record).unwrap().index, 2);
    }

    #[test]
    fn inbound_calls_count_but_are_never_refused() {
        let reg = Registry::default();
        let inbound = |index| {
            let r = record(index);
            CallRecord::inbound(index, r.from, r.to)
        };
        let (a, over) = reg.admit_over_cap(1, inbound);
        assert!(!over);
        let (b, over) = reg.admit_over_cap(1, inbound);
        assert!(over, "admitted, and reported over the cap");
        assert_eq!((reg.active(), b.index), (2, 1));
        assert!(reg.admit(1, record).is_err(), "outbound still refused");
        assert_eq!(a.status, CallStatus::InProgress);
        assert!(a.start_ms.is_some());
        let v = json(&a);
        assert_eq!(v["direction"], "inbound");
        assert_eq!(v["to"], "+916742000000");
    }

    #[test]
    fn status_never_moves_backwards() {
        let reg = Registry::default();
        let a = reg.admit(5, record).unwrap();
        assert!(reg.advance(&a.sid, CallStatus::InProgress));
        assert!(reg.advance(&a.sid, CallStatus::Ringing));
        assert_eq!(reg.get(&a.sid).unwrap().status, CallStatus::InProgress);
        reg.finish(&a.sid, CallStatus::Completed, 3);
        assert!(!reg.advance(&a.sid, CallStatus::Ringing));
    }

    #[test]
    fn the_detection_verdict_shows_on_the_resource() {
        let reg = Registry::default();
        let a = reg.admit(5, record).unwrap();
        reg.detected(&a.sid, "machine_start");
        let v = json(&reg.get(&a.sid).unwrap());
        assert_eq!(v["answered_by"], "machine_start");
    }

    #[test]
    fn resource_has_twilio_fields() {
        let call = record(0);
        let v = json(&call);
        assert!(call.sid.starts_with("CA") && call.sid.len() == 34);
        assert_eq!(v["status"], "queued");
        assert_eq!(v["direction"], "outbound-api");
        assert_eq!(v["to"], "+919876543210");
        assert!(v["start_time"].is_null());
        assert!(v["answered_by"].is_null());
        assert!(v["date_created"].as_str().unwrap().ends_with("+0000"));
        assert_eq!(
            v["uri"],
            format!("/2010-04-01/Accounts/ACx/Calls/{}.json", call.sid)
        );
        assert_eq!(
            v["subresource_uris"]["user_defined_message_subscriptions"],
            format!(
                "/2010-04-01/Accounts/ACx/Calls/{}/UserDefinedMessageSubscriptions.json",
                call.sid
            )
        );
    }

    #[test]
    fn resource_has_twilios_fields_in_twilios_order() {
        let call = record(0);
        let text = serde_json::to_string(&call_resource(&call, "ACx")).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        // serde_json's map is sorted (no `preserve_order`): the order is
        // read from the text.
        let order: Vec<usize> = [
            "sid",
            "date_created",
            "date_updated",
            "parent_call_sid",
            "account_sid",
            "to",
            "to_formatted",
            "from",
            "from_formatted",
            "phone_number_sid",
            "status",
            "start_time",
            "end_time",
            "duration",
            "price",
            "price_unit",
            "direction",
            "answered_by",
            "api_version",
            "forwarded_from",
            "group_sid",
            "caller_name",
            "queue_time",
            "trunk_sid",
            "uri",
            "subresource_uris",
        ]
        .iter()
        .map(|key| text.find(&format!("\"{key}\":")).unwrap())
        .collect();
        assert_eq!(value.as_object().unwrap().len(), order.len(), "{text}");
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(value["subresource_uris"].as_object().unwrap().len(), 9);
    }
}
