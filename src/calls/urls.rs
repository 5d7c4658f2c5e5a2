//! The callback-URL contract: every URL handed to a provider is built here,
//! and every webhook request is parsed back here, so the two cannot drift.
//!
//! A per-call URL carries our own job reference (the job id *and* its shard)
//! and the attempt, plus the IVR step for gather actions. The provider signs
//! the whole URL (Twilio's `X-Twilio-Signature` covers the query), so a
//! reference cannot be forged, and no webhook needs a look-up to find its job.
//!
//! | path (under the provider's prefix) | query                        | what it is |
//! |------------------------------------|------------------------------|------------|
//! | `/answer`                          | `job`, `shard`, `attempt`    | outbound call answered |
//! | `/gather`                          | `job`, `shard`, `attempt`, `step` | keys pressed (either direction) |
//! | `/status`                          | `job`, `shard`, `attempt`    | status callback |
//! | `/bridge`                          | `job`, `shard`, `attempt`, `step` | an official's call: the citizen's leg ended |
//! | `/whisper`                         | `job`, `shard`, `attempt`    | an official's call: what the citizen hears before being connected |
//! | `/inbound`                         | —                            | a citizen called the programme's number |
//! | `/inbound/status`                  | —                            | status callback of an inbound call |
//!
//! The two inbound routes are configured once on the provider's number, so
//! they carry no reference: an inbound call's job is named after its call id
//! (`inbound_job`), and its gathers use the per-call `/gather` URL.
//!
//! While the store is unreachable a call is held (`held`): the same URL with
//! `hold` = how many holds so far and, for a gather, the `digits` pressed,
//! for an answer, `answered_by` (answering-machine detection's verdict): a
//! provider's redirect repeats neither. They are signed with the rest of
//! the URL when the provider fetches it.

use std::borrow::Cow;

use crate::domain::JobId;
use crate::provider::{AnsweredBy, BridgeResult, BridgeStatus};
use crate::store::{JobRef, ShardId};

/// One of our webhook routes, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callback {
    /// `answered_by`: detection's verdict carried over a hold (see `held`).
    Answer {
        call: CallRef,
        answered_by: Option<AnsweredBy>,
    },
    /// `digits`: the keys carried over a hold (see `held`), if any.
    Gather {
        call: CallRef,
        step: u32,
        digits: Option<String>,
    },
    Status(CallRef),
    /// The citizen's leg of an official's call ended. `leg`: the outcome
    /// carried over a hold (see `held`), if any.
    Bridge {
        call: CallRef,
        step: u32,
        leg: Option<CarriedLeg>,
    },
    /// The citizen of an official's call answered: what they hear first.
    Whisper(CallRef),
    /// A citizen's call to the programme's number was answered.
    Inbound,
    /// A status callback of an inbound call.
    InboundStatus,
}

/// Which of our routes a request went to, whether or not it parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Answer,
    Gather,
    Status,
    Bridge,
    Whisper,
    Inbound,
    InboundStatus,
}

/// A bridged leg's outcome carried in a held URL (a redirect repeats none
/// of the provider's parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarriedLeg {
    pub status: BridgeStatus,
    pub duration_secs: u32,
    pub recording: Option<String>,
}

impl From<BridgeResult> for CarriedLeg {
    fn from(r: BridgeResult) -> Self {
        CarriedLeg {
            status: r.status,
            duration_secs: r.duration_secs,
            recording: r.recording,
        }
    }
}

impl From<CarriedLeg> for BridgeResult {
    fn from(c: CarriedLeg) -> Self {
        BridgeResult {
            status: c.status,
            duration_secs: c.duration_secs,
            recording: c.recording,
        }
    }
}

impl Callback {
    pub fn route(&self) -> Route {
        match self {
            Callback::Answer { .. } => Route::Answer,
            Callback::Gather { .. } => Route::Gather,
            Callback::Status(_) => Route::Status,
            Callback::Bridge { .. } => Route::Bridge,
            Callback::Whisper(_) => Route::Whisper,
            Callback::Inbound => Route::Inbound,
            Callback::InboundStatus => Route::InboundStatus,
        }
    }
}

/// The job and attempt a per-call URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRef {
    pub job: JobRef,
    pub attempt: u32,
}

/// Why a request to one of our routes is malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct UrlError {
    /// The route the request went to.
    pub route: Route,
    reason: String,
}

/// Builds and parses callback URLs under the public base URL and the
/// provider's path prefix (e.g. `/twilio`).
#[derive(Clone, Debug)]
pub struct CallbackUrls {
    base: String,
    prefix: String,
    shards: ShardId,
}

const ANSWER: &str = "/answer";
const GATHER: &str = "/gather";
const STATUS: &str = "/status";
const BRIDGE: &str = "/bridge";
const WHISPER: &str = "/whisper";
const INBOUND: &str = "/inbound";
const INBOUND_STATUS: &str = "/inbound/status";

impl CallbackUrls {
    /// `public_base` as the provider reaches us; `prefix` the provider's
    /// route prefix; `shards` the store's shard count (references naming
    /// another shard are refused).
    pub fn new(public_base: &str, prefix: &str, shards: ShardId) -> Self {
        Self {
            base: public_base.trim_end_matches('/').to_owned(),
            prefix: prefix.trim_end_matches('/').to_owned(),
            shards,
        }
    }

    fn url(&self, path: &str, call: &CallRef, step: Option<u32>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("job", &call.job.id.to_string());
        q.append_pair("shard", &call.job.shard.to_string());
        q.append_pair("attempt", &call.attempt.to_string());
        if let Some(step) = step {
            q.append_pair("step", &step.to_string());
        }
        format!("{}{}{path}?{}", self.base, self.prefix, q.finish())
    }

    pub fn answer(&self, job: &JobRef, attempt: u32) -> String {
        self.url(ANSWER, &call_ref(job, attempt), None)
    }

    pub fn status(&self, job: &JobRef, attempt: u32) -> String {
        self.url(STATUS, &call_ref(job, attempt), None)
    }

    pub fn gather(&self, job: &JobRef, attempt: u32, step: u32) -> String {
        self.url(GATHER, &call_ref(job, attempt), Some(step))
    }

    pub fn bridge(&self, job: &JobRef, attempt: u32, step: u32) -> String {
        self.url(BRIDGE, &call_ref(job, attempt), Some(step))
    }

    pub fn whisper(&self, job: &JobRef, attempt: u32) -> String {
        self.url(WHISPER, &call_ref(job, attempt), None)
    }

    /// Where the programme number's voice webhook must point.
    pub fn inbound(&self) -> String {
        format!("{}{}{INBOUND}", self.base, self.prefix)
    }

    /// Where the programme number's status callback must point.
    pub fn inbound_status(&self) -> String {
        format!("{}{}{INBOUND_STATUS}", self.base, self.prefix)
    }

    /// Parses a POST to `path` (as our server sees it) with `query`.
    /// `None`: not one of our routes. The signature is checked by the caller.
    pub fn parse(&self, path: &str, query: Option<&str>) -> Option<Result<Callback, UrlError>> {
        let route = self.route(path)?;
        let query = Query::of(query);
        let query = &query;
        let parsed = match route {
            Route::Answer => self.call_ref(query).and_then(|call| {
                let answered_by = match query.get("answered_by") {
                    None => None,
                    Some(by) => Some(AnsweredBy::parse(by).ok_or_else(|| {
                        format!("the answer URL's `answered_by` {by:?} is not a known verdict")
                    })?),
                };
                Ok(Callback::Answer { call, answered_by })
            }),
            Route::Status => self.call_ref(query).map(Callback::Status),
            Route::Gather => self.call_ref(query).and_then(|call| {
                let step = query
                    .get("step")
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| "the gather URL lacks a numeric `step`".to_owned())?;
                let digits = query.get("digits").map(str::to_owned);
                Ok(Callback::Gather { call, step, digits })
            }),
            Route::Bridge => self.call_ref(query).and_then(|call| {
                let step = query
                    .get("step")
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| "the bridge URL lacks a numeric `step`".to_owned())?;
                let leg = match query.get("leg") {
                    None => None,
                    Some(raw) => Some(CarriedLeg {
                        status: BridgeStatus::parse(raw).ok_or_else(|| {
                            format!("the bridge URL's `leg` {raw:?} is not a known outcome")
                        })?,
                        duration_secs: query
                            .get("leg_secs")
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0),
                        recording: query.get("recording").map(str::to_owned),
                    }),
                };
                Ok(Callback::Bridge { call, step, leg })
            }),
            Route::Whisper => self.call_ref(query).map(Callback::Whisper),
            Route::Inbound => Ok(Callback::Inbound),
            Route::InboundStatus => Ok(Callback::InboundStatus),
        };
        Some(parsed.map_err(|reason| UrlError { route, reason }))
    }

    /// The callback route `path` names, if it is one (its query unread).
    pub fn route(&self, path: &str) -> Option<Route> {
        Some(match path.strip_prefix(self.prefix.as_str())? {
            ANSWER => Route::Answer,
            STATUS => Route::Status,
            GATHER => Route::Gather,
            BRIDGE => Route::Bridge,
            WHISPER => Route::Whisper,
            INBOUND => Route::Inbound,
            INBOUND_STATUS => Route::InboundStatus,
            _ => return None,
        })
    }

    /// How many times the request's call was held already.
    pub fn holds(query: Option<&str>) -> u32 {
        param(query, "hold")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// The URL that asks again for `path_and_query` after a hold: `hold`
    /// counted up and, when given (or carried by an earlier hold), the
    /// `digits` pressed and the `answered_by` verdict.
    /// For the bridge route, the citizen's leg's outcome (`leg`,
    /// `leg_secs`, `recording`) is carried the same way.
    pub fn held(
        &self,
        path_and_query: &str,
        digits: Option<&str>,
        answered_by: Option<AnsweredBy>,
        leg: Option<&CarriedLeg>,
    ) -> String {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let holds = Self::holds(Some(query));
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let carried = [
                "hold",
                "digits",
                "answered_by",
                "leg",
                "leg_secs",
                "recording",
            ];
            if !carried.contains(&k.as_ref()) {
                q.append_pair(&k, &v);
            }
        }
        q.append_pair("hold", &(holds + 1).to_string());
        let carried = digits
            .map(str::to_owned)
            .or_else(|| param(Some(query), "digits"));
        if let Some(d) = carried {
            q.append_pair("digits", &d);
        }
        let verdict = answered_by
            .map(|by| by.as_str().to_owned())
            .or_else(|| param(Some(query), "answered_by"));
        if let Some(by) = verdict {
            q.append_pair("answered_by", &by);
        }
        let leg_params = ["leg", "leg_secs", "recording"];
        match leg {
            Some(leg) => {
                q.append_pair("leg", leg.status.as_str());
                q.append_pair("leg_secs", &leg.duration_secs.to_string());
                if let Some(r) = &leg.recording {
                    q.append_pair("recording", r);
                }
            }
            None => {
                for name in leg_params {
                    if let Some(v) = param(Some(query), name) {
                        q.append_pair(name, &v);
                    }
                }
            }
        }
        format!("{}{path}?{}", self.base, q.finish())
    }

    fn call_ref(&self, query: &Query<'_>) -> Result<CallRef, String> {
        let job = query.get("job").ok_or("the URL lacks `job`")?;
        let job = JobId::parse(job).map_err(|e| e.to_string())?;
        let shard: ShardId = query
            .get("shard")
            .and_then(|s| s.parse().ok())
            .ok_or("the URL lacks a numeric `shard`")?;
        if shard >= self.shards {
            return Err(format!(
                "shard {shard} does not exist (the store has {})",
                self.shards
            ));
        }
        let attempt = query
            .get("attempt")
            .and_then(|s| s.parse().ok())
            .ok_or("the URL lacks a numeric `attempt`")?;
        Ok(CallRef {
            job: JobRef::new(shard, job),
            attempt,
        })
    }
}

fn call_ref(job: &JobRef, attempt: u32) -> CallRef {
    CallRef {
        job: job.clone(),
        attempt,
    }
}

fn param(query: Option<&str>, name: &str) -> Option<String> {
    Query::of(query).get(name).map(str::to_owned)
}

/// A callback URL's query, decoded once for all the names a route reads
/// (a value without escapes is borrowed, not copied).
struct Query<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Query<'a> {
    fn of(query: Option<&'a str>) -> Self {
        Self(form_urlencoded::parse(query.unwrap_or("").as_bytes()).collect())
    }

    /// The first value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> CallbackUrls {
        CallbackUrls::new("https://ivr.example.gov.in/", "/twilio", 16)
    }

    fn job() -> JobRef {
        JobRef::new(3, JobId::parse("police-1/c-7").unwrap())
    }

    fn split(url: &str) -> (String, Option<String>) {
        let rest = url.strip_prefix("https://ivr.example.gov.in").unwrap();
        match rest.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (rest.to_owned(), None),
        }
    }

    #[test]
    fn urls_carry_job_shard_and_attempt() {
        assert_eq!(
            urls().answer(&job(), 2),
            "https://ivr.example.gov.in/twilio/answer?job=police-1%2Fc-7&shard=3&attempt=2"
        );
        assert!(urls().gather(&job(), 1, 3).ends_with("attempt=1&step=3"));
    }

    #[test]
    fn what_is_built_parses_back() {
        let u = urls();
        let call = CallRef {
            job: job(),
            attempt: 2,
        };
        for (url, want) in [
            (
                u.answer(&job(), 2),
                Callback::Answer {
                    call: call.clone(),
                    answered_by: None,
                },
            ),
            (u.status(&job(), 2), Callback::Status(call.clone())),
            (
                u.gather(&job(), 2, 4),
                Callback::Gather {
                    call: call.clone(),
                    step: 4,
                    digits: None,
                },
            ),
        ] {
            let (path, query) = split(&url);
            assert_eq!(u.parse(&path, query.as_deref()), Some(Ok(want)));
        }
    }

    #[test]
    fn a_held_request_asks_again_with_its_digits() {
        let u = urls();
        let (path, query) = split(&u.gather(&job(), 2, 4));
        let pq = format!("{path}?{}", query.unwrap());
        let again = u.held(&pq, Some("3"), None, None);
        let (path, query) = split(&again);
        assert_eq!(CallbackUrls::holds(query.as_deref()), 1);
        assert_eq!(
            u.parse(&path, query.as_deref()),
            Some(Ok(Callback::Gather {
                call: CallRef {
                    job: job(),
                    attempt: 2
                },
                step: 4,
                digits: Some("3".into()),
            }))
        );
        // Held again: counted up, the digits kept, nothing duplicated.
        let twice = u.held(
            &again["https://ivr.example.gov.in".len()..],
            None,
            None,
            None,
        );
        let (_, query) = split(&twice);
        assert_eq!(CallbackUrls::holds(query.as_deref()), 2);
        assert_eq!(query.unwrap().matches("digits=").count(), 1);
        let (_, query) = split(&u.held("/twilio/inbound", None, None, None));
        assert_eq!(query.as_deref(), Some("hold=1"));
    }

    #[test]
    fn a_held_answer_keeps_the_machine_verdict() {
        let u = urls();
        let (path, query) = split(&u.answer(&job(), 2));
        let pq = format!("{path}?{}", query.unwrap());
        let again = u.held(&pq, None, Some(AnsweredBy::Machine), None);
        let want = Callback::Answer {
            call: CallRef {
                job: job(),
                attempt: 2,
            },
            answered_by: Some(AnsweredBy::Machine),
        };
        let (path, query) = split(&again);
        assert_eq!(u.parse(&path, query.as_deref()), Some(Ok(want.clone())));
        // Held again: the verdict rides along once, even if the redirect
        // had none of its own.
        let twice = u.held(
            &again["https://ivr.example.gov.in".len()..],
            None,
            None,
            None,
        );
        let (path, query) = split(&twice);
        assert_eq!(CallbackUrls::holds(query.as_deref()), 2);
        assert_eq!(query.as_deref().unwrap().matches("answered_by=").count(), 1);
        assert_eq!(u.parse(&path, query.as_deref()), Some(Ok(want)));
        let forged = "job=police-1%2Fc-7&shard=3&attempt=2&answered_by=robot";
        assert!(matches!(
            u.parse("/twilio/answer", Some(forged)),
            Some(Err(_))
        ));
    }

    #[test]
    fn inbound_routes_need_no_reference() {
        let u = urls();
        assert_eq!(u.inbound(), "https://ivr.example.gov.in/twilio/inbound");
        let (path, _) = split(&u.inbound());
        assert_eq!(u.parse(&path, None), Some(Ok(Callback::Inbound)));
        let (path, _) = split(&u.inbound_status());
        assert_eq!(
            u.parse(&path, Some("ignored=1")),
            Some(Ok(Callback::InboundStatus))
        );
    }

    #[test]
    fn malformed_references_are_refused() {
        let u = urls();
        assert_eq!(u.parse("/other/answer", None), None);
        assert_eq!(u.parse("/twilio/nothing", None), None);
        for query in [
            "job=police-1%2Fc-7&attempt=1",
            "job=police-1%2Fc-7&shard=16&attempt=1",
            "job=nojob&shard=1&attempt=1",
            "job=police-1%2Fc-7&shard=1",
        ] {
            assert!(
                matches!(u.parse("/twilio/answer", Some(query)), Some(Err(_))),
                "{query}"
            );
        }
        assert!(matches!(
            u.parse("/twilio/gather", Some("job=a%2Fb&shard=1&attempt=1")),
            Some(Err(_))
        ));
    }
}
