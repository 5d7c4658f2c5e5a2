//! One simulated call to its terminal status. Outbound: status callbacks,
//! ringing, the call's fate (a person or an answering machine picks up, or
//! nobody), answering-machine detection when the originate asked for it,
//! then the TwiML conversation. Inbound: the conversation at once (the
//! citizen is calling), then the terminal status callback.
//!
//! Owns: the call task and simulated call time. Does not own: the random
//! choices (`citizen`), a persona's script (`persona`), TwiML syntax
//! (`twiml`) or HTTP (`client`).

use std::sync::Arc;

use tracing::{Instrument, debug, info, warn};

use super::citizen::{Citizen, Fate, Response, silent};
use super::client::{WebhookError, resolve};
use super::clock::{now_ms, rfc2822};
use super::direction::Direction;
use super::ledger::LedgerEntry;
use super::persona::PickUp;
use super::persona::Scripted;
use super::plan::{CallPlan, MachineDetection, Script};
use super::registry::CallRecord;
use super::server::Shared;
use super::twiml::{self, Dial, Gather, Method, Verb};
use crate::domain::{CallStatus, PhoneNumber};

/// Documents one call may fetch; a Redirect loop ends the call instead of
/// running forever (Twilio stops such calls too).
const MAX_DOCUMENTS: usize = 200;

/// Simulated time answering-machine detection takes to recognise a person
/// (a short greeting, then silence), in milliseconds.
const HUMAN_DETECTED_MS: u64 = 3_000;
/// ... a machine at the start of its greeting (`Enable`).
const MACHINE_DETECTED_MS: u64 = 4_000;
/// ... the end of a machine's greeting, its beep (`DetectMessageEnd`).
const GREETING_END_MS: u64 = 12_000;

/// The seconds a connected `<Dial>` leg talks when its persona does not
/// say: drawn in this range.
const TALK_SECS: (u64, u64) = (30, 180);

/// Runs a call to its end. Shutdown stops it where it stands, without a
/// terminal callback; a REST hang-up ends it with one.
pub(crate) async fn run(shared: Arc<Shared>, call: CallRecord, plan: CallPlan) {
    let span = tracing::info_span!(
        "sim.call",
        call.sid = %call.sid,
        call.direction = call.direction.twilio(),
        call.from = %call.from,
        call.to = %call.to,
    );
    let shutdown = shared.calls.clone();
    let hangup = call.hangup.clone();
    let citizen = Citizen::new(shared.config.seed, call.index);
    let persona = plan.persona.clone().map(Scripted::new);
    let mut run = CallRun {
        shared,
        call,
        plan,
        citizen,
        persona,
        sequence: 0,
        sim_secs: 0.0,
        gathers: 0,
        machine: false,
        detection: None,
    };
    async move {
        let ended = tokio::select! {
            () = shutdown.cancelled() => None,
            // The REST handler has already recorded the terminal status.
            () = hangup.cancelled() => Some(CallStatus::Completed),
            status = run.progress() => Some(status),
        };
        match ended {
            Some(status) => run.finish(status).await,
            None => debug!("simulated call stopped by shutdown"),
        }
    }
    .instrument(span)
    .await;
}

struct CallRun {
    shared: Arc<Shared>,
    call: CallRecord,
    plan: CallPlan,
    citizen: Citizen,
    persona: Option<Scripted>,
    sequence: u32,
    /// Simulated seconds since the call was answered.
    sim_secs: f64,
    gathers: u32,
    /// An answering machine picked up: it presses nothing.
    machine: bool,
    /// Answering-machine detection's `AnsweredBy` and how long it took
    /// (ms), sent with the first TwiML request.
    detection: Option<(&'static str, u64)>,
}

/// How a conversation went: whether the first document was ever fetched.
enum Conversation {
    /// The first TwiML request got no usable reply.
    NeverStarted,
    Held,
}

/// What a TwiML document leads to.
enum Flow {
    Fetch {
        url: String,
        method: Method,
        digits: Option<String>,
        /// More parameters for this request (a Dial's outcome).
        extra: Vec<(String, String)>,
    },
    End,
}

impl CallRun {
    /// Rings, draws the fate and, when answered, converses. Returns the
    /// terminal status. An inbound call is answered from the start; if its
    /// Voice URL gives no TwiML the citizen hears an error and the call
    /// fails.
    async fn progress(&mut self) -> CallStatus {
        if self.call.direction == Direction::Inbound {
            return match self.converse().await {
                Conversation::NeverStarted => CallStatus::Failed,
                Conversation::Held => CallStatus::Completed,
            };
        }
        let sid = self.call.sid.clone();
        self.shared.registry.advance(&sid, CallStatus::Initiated);
        if self.plan.events.initiated {
            self.callback(CallStatus::Initiated, None).await;
        }
        self.shared.registry.advance(&sid, CallStatus::Ringing);
        if self.plan.events.ringing {
            self.callback(CallStatus::Ringing, None).await;
        }
        let ring = self.citizen.delay(self.shared.config.ring_delay);
        tokio::time::sleep(ring).await;
        // A voicemail number's machine picks up whatever the draw says
        // (busy or unanswered calls go to voicemail too).
        let voicemail = self.shared.config.is_voicemail(&self.call.to);
        let scripted = self.plan.persona.as_ref().map(|p| p.pick_up);
        let fate = match scripted.and_then(picked) {
            Some(fate) => fate,
            None => self.citizen.fate(&self.shared.config),
        };
        let machine = match fate {
            _ if voicemail => true,
            Fate::Unanswered(status) => return status,
            Fate::Person => false,
            Fate::Voicemail => true,
        };
        self.shared.registry.advance(&sid, CallStatus::InProgress);
        if self.plan.events.answered {
            self.callback(CallStatus::InProgress, None).await;
        }
        self.picked_up(machine);
        // Answered: a failing answer URL is an application error, and the
        // call still completed.
        self.converse().await;
        CallStatus::Completed
    }

    /// Runs the detection the originate asked for, on simulated time, and
    /// notes a machine in the ledger.
    fn picked_up(&mut self, machine: bool) {
        self.machine = machine;
        let verdict = self
            .plan
            .machine_detection
            .map(|mode| match (mode, machine) {
                (_, false) => ("human", HUMAN_DETECTED_MS),
                (MachineDetection::Enable, true) => ("machine_start", MACHINE_DETECTED_MS),
                (MachineDetection::DetectMessageEnd, true) => ("machine_end_beep", GREETING_END_MS),
            });
        if let Some((answered_by, ms)) = verdict {
            self.sim_secs += ms as f64 / 1000.0;
            self.shared.registry.detected(&self.call.sid, answered_by);
            self.detection = verdict;
        }
        if machine {
            debug!(
                answered_by = verdict.map(|v| v.0),
                "an answering machine picked up"
            );
            self.shared.ledger.append(LedgerEntry::Machine {
                call_sid: self.call.sid.clone(),
                answered_by: verdict.map(|v| v.0.to_owned()),
                direction: self.call.direction,
            });
        }
    }

    /// Records the end, then sends the terminal callback (always, when a
    /// StatusCallback was given). A REST hang-up may have ended the call
    /// first; its status stands.
    async fn finish(&mut self, status: CallStatus) {
        let duration = self.sim_secs.ceil() as u64;
        let Some(record) = self
            .shared
            .registry
            .finish(&self.call.sid, status, duration)
        else {
            return;
        };
        let duration = record.duration_secs.unwrap_or(duration);
        info!(call.status = %record.status, call.duration_secs = duration, "simulated call ended");
        self.shared.ledger.append(LedgerEntry::End {
            call_sid: record.sid.clone(),
            status: record.status.as_str().to_owned(),
            duration_secs: duration,
            direction: record.direction,
        });
        self.callback(record.status, Some(duration)).await;
    }

    /// Runs the TwiML conversation to its end.
    async fn converse(&mut self) -> Conversation {
        let mut next = match self.plan.script.clone() {
            Script::Url { url, method } => Flow::Fetch {
                url,
                method,
                digits: None,
                extra: Vec::new(),
            },
            Script::Inline(twiml) => self.perform(&twiml, None).await,
        };
        for document in 0..MAX_DOCUMENTS {
            let Flow::Fetch {
                url,
                method,
                digits,
                extra,
            } = next
            else {
                return Conversation::Held;
            };
            // Twilio fetches an inbound call's Voice URL while it rings.
            let status = if document == 0 && self.call.direction == Direction::Inbound {
                CallStatus::Ringing
            } else {
                CallStatus::InProgress
            };
            let body = match self
                .fetch(&url, method, digits, extra, status, document == 0)
                .await
            {
                Ok(body) => body,
                Err(reason) => {
                    warn!(webhook.url = %url, %reason, "application error: the call ends");
                    return match document {
                        0 => Conversation::NeverStarted,
                        _ => Conversation::Held,
                    };
                }
            };
            next = self.perform(&body, Some(&url)).await;
        }
        warn!(
            limit = MAX_DOCUMENTS,
            "application error: too many TwiML documents, the call ends"
        );
        Conversation::Held
    }

    /// Requests a TwiML document; anything but a 2xx reply is an error.
    /// The `first` request of a call carries detection's verdict, as
    /// Twilio's request to the `Url` does.
    async fn fetch(
        &self,
        url: &str,
        method: Method,
        digits: Option<String>,
        extra: Vec<(String, String)>,
        status: CallStatus,
        first: bool,
    ) -> Result<String, String> {
        let mut params = self.params(status);
        if let Some(digits) = digits {
            params.push(("Digits".into(), digits));
        }
        params.extend(extra);
        if let (true, Some((answered_by, ms))) = (first, self.detection) {
            params.push(("AnsweredBy".into(), answered_by.to_owned()));
            params.push(("MachineDetectionDuration".into(), ms.to_string()));
        }
        match self.shared.client.send(method, url, &params).await {
            Ok(reply) if reply.status.is_success() => Ok(reply.body),
            Ok(reply) => Err(format!("HTTP {}", reply.status)),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Runs one document's verbs.
    async fn perform(&mut self, body: &str, doc_url: Option<&str>) -> Flow {
        let verbs = match twiml::parse(body) {
            Ok(verbs) => verbs,
            Err(error) => {
                warn!(%error, "application error: invalid TwiML, the call ends");
                return Flow::End;
            }
        };
        for verb in verbs {
            match verb {
                Verb::Pause { secs } if self.shared.config.pause_scale > 0.0 => {
                    self.listen(&verb);
                    let real = f64::from(secs) * self.shared.config.pause_scale;
                    tokio::time::sleep(std::time::Duration::from_secs_f64(real)).await;
                }
                Verb::Say { .. } | Verb::Play { .. } | Verb::Pause { .. } => self.listen(&verb),
                Verb::Gather(gather) => {
                    if let Some(flow) = self.gather(&gather, doc_url).await {
                        return flow;
                    }
                }
                Verb::Dial(dial) => {
                    if let Some(flow) = self.dial(&dial, doc_url).await {
                        return flow;
                    }
                }
                Verb::Redirect { url, method } => {
                    return self.goto(doc_url, &url, method, None);
                }
                Verb::Hangup | Verb::Reject => return Flow::End,
            }
        }
        Flow::End
    }

    /// Runs a Gather: `None` means no input and carry on with the next verb.
    async fn gather(&mut self, gather: &Gather, doc_url: Option<&str>) -> Option<Flow> {
        for prompt in &gather.prompts {
            self.listen(prompt);
        }
        let index = self.gathers;
        self.gathers += 1;
        let think = self.citizen.delay(self.shared.config.think_delay);
        tokio::time::sleep(think).await;
        let call_sid = self.call.sid.clone();
        let config = &self.shared.config;
        let response = match &mut self.persona {
            // A machine records the prompts and presses nothing.
            _ if self.machine => silent(),
            Some(persona) => persona.respond(&mut self.citizen, config, gather),
            None => self.citizen.respond(config, gather),
        };
        let direction = self.call.direction;
        let (digits, kind) = match response {
            Response::HangUp => {
                debug!(gather = index, "simulated citizen hung up");
                self.shared.ledger.append(LedgerEntry::Hangup {
                    call_sid,
                    gather: index,
                    direction,
                });
                self.sim_secs += 1.0;
                return Some(Flow::End);
            }
            Response::Press { digits, kind } => (digits, kind),
        };
        self.shared.ledger.append(LedgerEntry::Press {
            call_sid,
            gather: index,
            digits: digits.clone(),
            kind,
            direction,
        });
        if digits.is_empty() {
            self.sim_secs += f64::from(gather.timeout_secs);
            if !gather.action_on_empty_result {
                return None;
            }
        } else {
            self.sim_secs += 2.0;
        }
        // Twilio leaves `Digits` out when nothing was pressed.
        let digits = (!digits.is_empty()).then_some(digits);
        let action = gather.action.as_deref().or(doc_url).unwrap_or("");
        Some(self.goto(doc_url, action, gather.method, digits))
    }

    /// Runs a `<Dial>`: rings the number (its persona, else a fate drawn
    /// for this leg), plays the `<Number url>` document to it when it
    /// answers, lets the two talk, then reports the leg to `action` (or
    /// carries on with the next verb when there is none). The caller stays
    /// on the line throughout.
    async fn dial(&mut self, dial: &Dial, doc_url: Option<&str>) -> Option<Flow> {
        let to = PhoneNumber::parse(&dial.number).ok();
        let persona = to
            .as_ref()
            .and_then(|to| self.shared.config.persona_for(to))
            .cloned();
        // Another draw than the caller's own, still fixed by the seed.
        let mut leg = Citizen::new(self.shared.config.seed ^ 0x5eed_d1a1, self.call.index);
        let fate = match persona.as_ref().and_then(|p| picked(p.pick_up)) {
            Some(fate) => fate,
            None => leg.fate(&self.shared.config),
        };
        let ring = leg.delay(self.shared.config.ring_delay);
        tokio::time::sleep(ring).await;
        let (status, talk_secs, whispered) = match fate {
            Fate::Unanswered(status) => {
                if status == CallStatus::NoAnswer {
                    self.sim_secs += f64::from(dial.timeout_secs);
                }
                (status.as_str(), 0, false)
            }
            // A person, or their voicemail, answers: the leg is connected.
            Fate::Person | Fate::Voicemail => {
                let whispered = match &dial.whisper {
                    Some((url, method)) => self.whisper(dial, doc_url, url, *method).await,
                    None => false,
                };
                let talk = match persona.as_ref().and_then(|p| p.talk_secs) {
                    Some(secs) => u64::from(secs),
                    None => leg.talk_secs(TALK_SECS),
                };
                self.sim_secs += talk as f64;
                ("completed", talk, whispered)
            }
        };
        let dial_sid = format!("{}D", &self.call.sid[..self.call.sid.len() - 1]);
        info!(
            dial.status = status,
            dial.talk_secs = talk_secs,
            "simulated dial leg ended"
        );
        self.shared.ledger.append(LedgerEntry::Bridge {
            call_sid: self.call.sid.clone(),
            to_masked: to.map_or_else(|| "invalid".to_owned(), |n| n.masked()),
            caller_id: dial.caller_id.clone(),
            status: status.to_owned(),
            talk_secs,
            whispered,
            recorded: dial.record,
        });
        let action = dial.action.as_deref()?;
        let mut extra = vec![
            ("DialCallStatus".to_owned(), status.to_owned()),
            ("DialCallSid".to_owned(), dial_sid.clone()),
        ];
        if talk_secs > 0 {
            extra.push(("DialCallDuration".to_owned(), talk_secs.to_string()));
            if dial.record {
                let account = &self.shared.config.account_sid;
                let recording = format!("RE{}", &dial_sid[2..]);
                extra.push((
                    "RecordingUrl".to_owned(),
                    format!("https://api.twilio.com/2010-04-01/Accounts/{account}/Recordings/{recording}"),
                ));
                extra.push(("RecordingSid".to_owned(), recording));
            }
        }
        Some(match self.goto(doc_url, action, dial.method, None) {
            Flow::Fetch {
                url,
                method,
                digits,
                ..
            } => Flow::Fetch {
                url,
                method,
                digits,
                extra,
            },
            Flow::End => Flow::End,
        })
    }

    /// Fetches and plays the `<Number url>` document to the dialled party.
    /// Returns whether it was heard.
    async fn whisper(
        &mut self,
        dial: &Dial,
        doc_url: Option<&str>,
        url: &str,
        method: Method,
    ) -> bool {
        let Some(url) = resolve(doc_url, url) else {
            warn!("the whisper URL does not resolve; connecting without it");
            return false;
        };
        let mut params = self.params(CallStatus::InProgress);
        params.retain(|(k, _)| k != "To" && k != "From");
        params.push(("To".into(), dial.number.clone()));
        params.push(("From".into(), dial.caller_id.clone().unwrap_or_default()));
        params.push(("ParentCallSid".into(), self.call.sid.clone()));
        let body = match self.shared.client.send(method, &url, &params).await {
            Ok(reply) if reply.status.is_success() => reply.body,
            Ok(reply) => {
                warn!(http.status = %reply.status, "the whisper document was refused; connecting without it");
                return false;
            }
            Err(error) => {
                warn!(%error, "the whisper document failed; connecting without it");
                return false;
            }
        };
        match twiml::parse(&body) {
            Ok(verbs) => {
                for verb in &verbs {
                    self.listen(verb);
                }
                true
            }
            Err(error) => {
                warn!(%error, "the whisper document is not TwiML; connecting without it");
                false
            }
        }
    }

    fn goto(
        &self,
        doc_url: Option<&str>,
        target: &str,
        method: Method,
        digits: Option<String>,
    ) -> Flow {
        match resolve(doc_url, target) {
            Some(url) => Flow::Fetch {
                url,
                method,
                digits,
                extra: Vec::new(),
            },
            None => {
                warn!(target, "application error: unresolvable URL, the call ends");
                Flow::End
            }
        }
    }

    /// Advances simulated time for a prompt: about 0.4 s a word of speech,
    /// 5 s a clip, the stated pause.
    fn listen(&mut self, verb: &Verb) {
        self.sim_secs += match verb {
            Verb::Say { text, loops, .. } => {
                let words = text.split_whitespace().count().max(1) as f64;
                (words * 0.4).max(1.0) * f64::from(*loops)
            }
            Verb::Play { loops, .. } => 5.0 * f64::from(*loops),
            Verb::Pause { secs } => f64::from(*secs),
            _ => 0.0,
        };
    }

    /// The parameters Twilio sends on every request about this call; an
    /// inbound call's also name the parties as `Caller` and `Called`.
    fn params(&self, status: CallStatus) -> Vec<(String, String)> {
        let (from, to) = (self.call.from.as_str(), self.call.to.as_str());
        let mut params = vec![
            ("CallSid".into(), self.call.sid.clone()),
            ("AccountSid".into(), self.shared.config.account_sid.clone()),
            ("From".into(), from.to_owned()),
            ("To".into(), to.to_owned()),
            ("CallStatus".into(), status.as_str().to_owned()),
            ("Direction".into(), self.call.direction.twilio().to_owned()),
            ("ApiVersion".into(), "2010-04-01".into()),
        ];
        if self.call.direction == Direction::Inbound {
            params.push(("Caller".into(), from.to_owned()));
            params.push(("Called".into(), to.to_owned()));
        }
        params
    }

    /// Sends one status callback, retried on 5xx and failed exchanges.
    /// `duration` is set for the terminal callback.
    async fn callback(&mut self, status: CallStatus, duration: Option<u64>) {
        let Some(url) = self.plan.status_callback.clone() else {
            return;
        };
        let mut params = self.params(status);
        params.push(("SequenceNumber".into(), self.sequence.to_string()));
        params.push(("Timestamp".into(), rfc2822(now_ms())));
        params.push(("CallbackSource".into(), "call-progress-events".into()));
        if let Some(secs) = duration {
            params.push(("CallDuration".into(), secs.to_string()));
            // Twilio's `Duration` here is billable minutes, rounded up.
            params.push(("Duration".into(), secs.div_ceil(60).to_string()));
        }
        self.sequence += 1;
        let shared = &self.shared;
        let sent = shared
            .client
            .send_with_retries(
                self.plan.status_method,
                &url,
                &params,
                shared.config.status_retries,
                &shared.calls,
            )
            .await;
        match sent {
            Ok(reply) if reply.status.is_success() => {}
            Ok(reply) => {
                warn!(call.status = %status, http.status = %reply.status, "status callback refused");
            }
            Err(WebhookError::Cancelled) => {}
            Err(error) => warn!(call.status = %status, %error, "status callback failed"),
        }
    }
}

/// The fate a persona's `pick_up` fixes; `None` when it leaves it to the
/// draw.
fn picked(pick_up: PickUp) -> Option<Fate> {
    Some(match pick_up {
        PickUp::Draw => return None,
        PickUp::Answer => Fate::Person,
        PickUp::Busy => Fate::Unanswered(CallStatus::Busy),
        PickUp::NoAnswer => Fate::Unanswered(CallStatus::NoAnswer),
        PickUp::Failed => Fate::Unanswered(CallStatus::Failed),
    })
}
