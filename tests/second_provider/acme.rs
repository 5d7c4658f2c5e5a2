//! "Acme": a fake second provider whose wire format is deliberately unlike
//! Twilio's, to prove the provider seam. Webhooks are JSON bodies signed with
//! `X-Acme-Signature: hex(HMAC-SHA256(secret, path_and_query "\n" body))`;
//! call-control documents are JSON; calls are placed with an in-process
//! `Carrier` that plays each one against the daemon's real webhook server.
//!
//! | half     | trait         | here                                   |
//! |----------|---------------|----------------------------------------|
//! | webhooks | `CallControl` | `AcmeControl`: verify, parse, render   |
//! | REST     | `Provider`    | `AcmeRest`: the carrier's call records |
//!
//! A call as the carrier plays it, by the persona of the phone dialled:
//! `ringing` to the status URL; then `answered` to the answer URL and, while
//! the document has a `gather`, a key to its URL; then `ended` with a result.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sampark::dialplan::{Action, Prompt};
use sampark::domain::{CallStatus, PhoneNumber};
use sampark::provider::{
    ActionUrls, BridgeResult, BridgeStatus, CallControl, CallInfo, InboundCall, OriginateRequest,
    Params, ParamsError, Provider, ProviderError, ProviderPair, StatusEvent, Unverified,
    WebhookRequest, check_params,
};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use crate::support::http::raw;

/// Acme's words for how a call ended.
const RESULTS: [(&str, CallStatus); 4] = [
    ("completed", CallStatus::Completed),
    ("busy", CallStatus::Busy),
    ("unanswered", CallStatus::NoAnswer),
    ("failed", CallStatus::Failed),
];

/// The signature Acme puts in `X-Acme-Signature`.
pub fn sign(secret: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(path_and_query.as_bytes());
    mac.update(b"\n");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Acme's webhook half.
pub struct AcmeControl {
    secret: String,
}

fn field<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn spoken(p: &Prompt) -> Value {
    json!({"text": p.text, "lang": p.tts_language, "audio": p.audio_url})
}

impl CallControl for AcmeControl {
    fn path_prefix(&self) -> &'static str {
        "/acme"
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Params, Unverified> {
        let given = request
            .headers
            .get("x-acme-signature")
            .ok_or(Unverified::Signature)?
            .as_bytes();
        let expected = sign(&self.secret, request.path_and_query, request.body);
        if !bool::from(expected.as_bytes().ct_eq(given)) {
            return Err(Unverified::Signature);
        }
        // Signed but not a JSON object: no parameters, so the core answers
        // what it cannot read with 400 rather than this forged-looking 403.
        let fields: Map<String, Value> = serde_json::from_slice(request.body).unwrap_or_default();
        let text = |v: Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        let params: Params = fields.into_iter().map(|(k, v)| (k, text(v))).collect();
        check_params(&params)?;
        Ok(params)
    }

    fn status_event(&self, params: &Params) -> Result<StatusEvent, ParamsError> {
        let call = field(params, "call").ok_or_else(|| ParamsError("no `call`".into()))?;
        let status = match (field(params, "event"), field(params, "result")) {
            (Some("ringing"), _) => CallStatus::Ringing,
            (Some("answered"), _) => CallStatus::InProgress,
            (Some("ended"), Some(result)) => RESULTS
                .iter()
                .find(|(word, _)| *word == result)
                .map(|(_, status)| *status)
                .ok_or_else(|| ParamsError(format!("unknown result {result:?}")))?,
            (event, _) => return Err(ParamsError(format!("no call status in {event:?}"))),
        };
        Ok(StatusEvent {
            call_sid: call.to_owned(),
            status,
        })
    }

    fn render_hold(&self, seconds: u32, redirect_url: &str) -> String {
        json!({"pause": seconds, "redirect": redirect_url}).to_string()
    }

    fn inbound_call(&self, params: &Params) -> Result<InboundCall, ParamsError> {
        let call = field(params, "call").ok_or_else(|| ParamsError("no `call`".into()))?;
        Ok(InboundCall {
            call_sid: call.to_owned(),
            from: field(params, "from").unwrap_or_default().to_owned(),
        })
    }

    fn digits(&self, params: &Params) -> String {
        field(params, "digits").unwrap_or_default().to_owned()
    }

    fn bridge_result(&self, params: &Params) -> Result<BridgeResult, ParamsError> {
        let leg = field(params, "leg").ok_or_else(|| ParamsError("no `leg`".into()))?;
        Ok(BridgeResult {
            status: BridgeStatus::parse(leg)
                .ok_or_else(|| ParamsError(format!("unknown leg {leg:?}")))?,
            duration_secs: field(params, "secs")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            recording: None,
        })
    }

    fn render(&self, actions: &[Action], urls: &ActionUrls<'_>) -> String {
        let gather_url = urls.gather;
        let (mut say, mut gather, mut hangup) = (Vec::new(), Value::Null, false);
        let mut connect = Value::Null;
        for action in actions {
            match action {
                Action::Say(prompt) => say.push(spoken(prompt)),
                Action::Pause { seconds } => say.push(json!({"pause": seconds})),
                Action::Gather {
                    prompts,
                    num_digits,
                    timeout_secs,
                    choices,
                    ..
                } => {
                    let prompts: Vec<Value> = prompts.iter().map(spoken).collect();
                    gather = json!({"url": gather_url, "keys": choices, "max": num_digits,
                        "timeout": timeout_secs, "say": prompts});
                }
                Action::Hangup => hangup = true,
                Action::Dial(bridge) => {
                    connect = json!({"to": bridge.to, "show": bridge.caller_id,
                        "ring": bridge.timeout_secs, "then": urls.bridge});
                }
            }
        }
        json!({"say": say, "gather": gather, "hangup": hangup, "connect": connect}).to_string()
    }

    fn content_type(&self) -> &'static str {
        "application/json"
    }
}

/// How a phone behaves when the carrier rings it.
#[derive(Clone, Copy, Debug)]
pub enum Persona {
    /// Answers; at its n-th gather presses allowed key `(pick + n) % keys`.
    Answers(usize),
    /// Never picks up: every call ends `unanswered`.
    NeverAnswers,
    /// Rings until `Carrier::release`, then answers as `Answers(0)`.
    Holds,
}

/// A call as the carrier records it.
#[derive(Clone, Debug)]
pub struct CarrierCall {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub created_ms: i64,
    pub status: CallStatus,
    pub answer_url: String,
    pub status_url: String,
    /// The key pressed at each gather, in order.
    pub presses: Vec<String>,
    pub hung_up: bool,
}

/// The in-process telephone network behind Acme's REST half.
pub struct Carrier {
    secret: String,
    personas: HashMap<String, Persona>,
    calls: Mutex<Vec<CarrierCall>>,
    /// What went wrong playing calls (an unexpected HTTP reply, say).
    failures: Mutex<Vec<String>>,
    release: CancellationToken,
}

/// Acme's REST half.
pub struct AcmeRest(Arc<Carrier>);

impl Carrier {
    /// A carrier signing with `secret`; phones not in `personas` answer as `Answers(0)`.
    pub fn new(secret: &str, personas: HashMap<String, Persona>) -> Arc<Self> {
        Arc::new(Self {
            secret: secret.to_owned(),
            personas,
            calls: Mutex::default(),
            failures: Mutex::default(),
            release: CancellationToken::new(),
        })
    }

    /// Both halves of the Acme adapter, over this carrier.
    pub fn pair(self: &Arc<Self>) -> ProviderPair {
        let control = AcmeControl {
            secret: self.secret.clone(),
        };
        ProviderPair {
            rest: Arc::new(AcmeRest(self.clone())),
            control: Arc::new(control),
        }
    }

    pub fn calls(&self) -> Vec<CarrierCall> {
        self.calls.lock().unwrap().clone()
    }

    pub fn failures(&self) -> Vec<String> {
        self.failures.lock().unwrap().clone()
    }

    /// Lets `Holds` phones answer.
    pub fn release(&self) {
        self.release.cancel();
    }

    fn update<T>(&self, sid: &str, change: impl FnOnce(&mut CarrierCall) -> T) -> T {
        let mut calls = self.calls.lock().unwrap();
        change(
            calls
                .iter_mut()
                .find(|c| c.sid == sid)
                .expect("a placed call"),
        )
    }

    async fn play(self: Arc<Self>, call: CarrierCall) {
        if let Err(e) = self.converse(&call).await {
            self.failures
                .lock()
                .unwrap()
                .push(format!("{}: {e}", call.sid));
        }
    }

    async fn converse(&self, call: &CarrierCall) -> Result<(), String> {
        let sid = call.sid.as_str();
        self.update(sid, |c| c.status = CallStatus::Ringing);
        self.post(&call.status_url, json!({"call": sid, "event": "ringing"}))
            .await?;
        let persona = self.personas.get(&call.to).copied();
        let pick = match persona.unwrap_or(Persona::Answers(0)) {
            Persona::Answers(pick) => Some(pick),
            Persona::NeverAnswers => None,
            Persona::Holds => {
                self.release.cancelled().await;
                Some(0)
            }
        };
        let ended = match pick {
            Some(pick) => {
                self.update(sid, |c| c.status = CallStatus::InProgress);
                self.survey(sid, &call.answer_url, pick).await?;
                CallStatus::Completed
            }
            None => CallStatus::NoAnswer,
        };
        self.update(sid, |c| c.status = ended);
        let result = RESULTS.iter().find(|(_, s)| *s == ended).map(|(w, _)| *w);
        let event = json!({"call": sid, "event": "ended", "result": result});
        self.post(&call.status_url, event).await.map(drop)
    }

    /// Answers, then presses a key at every gather until the document has none.
    async fn survey(&self, sid: &str, answer_url: &str, pick: usize) -> Result<(), String> {
        let mut doc = self
            .post(answer_url, json!({"call": sid, "event": "answered"}))
            .await?;
        while let Some(gather) = doc.get("gather").filter(|g| g.is_object()) {
            let keys: Vec<char> = gather["keys"].as_str().unwrap_or("").chars().collect();
            let url = gather["url"]
                .as_str()
                .ok_or("a gather without a url")?
                .to_owned();
            let key = self.update(sid, |c| {
                let key = keys
                    .get((pick + c.presses.len()) % keys.len().max(1))
                    .map(char::to_string)
                    .unwrap_or_default();
                c.presses.push(key.clone());
                key
            });
            doc = self
                .post(&url, json!({"call": sid, "event": "digits", "digits": key}))
                .await?;
        }
        Ok(())
    }

    /// Posts a signed event to one of the daemon's callback URLs; the reply's
    /// JSON document (`null` for 204).
    async fn post(&self, url: &str, event: Value) -> Result<Value, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let addr: SocketAddr = uri
            .authority()
            .and_then(|a| a.as_str().parse().ok())
            .ok_or_else(|| format!("{url}: no socket address"))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let body = event.to_string();
        let signature = sign(&self.secret, path, body.as_bytes());
        match post_json(addr, path, &body, Some(&signature)).await {
            (200, reply) => serde_json::from_str(&reply).map_err(|e| format!("{path}: {e}")),
            (204, _) => Ok(Value::Null),
            (status, reply) => Err(format!("{path}: HTTP {status}: {reply}")),
        }
    }

    fn info(call: &CarrierCall) -> CallInfo {
        CallInfo {
            sid: call.sid.clone(),
            status: call.status,
            created_ms: Some(call.created_ms),
        }
    }
}

/// Posts `body` as Acme does, with `signature` (if any) in `X-Acme-Signature`.
pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    body: &str,
    signature: Option<&str>,
) -> (u16, String) {
    let signature = signature
        .map(|s| format!("X-Acme-Signature: {s}\r\n"))
        .unwrap_or_default();
    raw(addr, &format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{signature}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
    .await
}

#[async_trait]
impl Provider for AcmeRest {
    async fn originate(&self, req: &OriginateRequest) -> Result<CallInfo, ProviderError> {
        let carrier = &self.0;
        let call = {
            let mut calls = carrier.calls.lock().unwrap();
            let call = CarrierCall {
                sid: format!("AC-{}", calls.len() + 1),
                to: req.to.as_str().to_owned(),
                from: req.from.as_str().to_owned(),
                created_ms: now_ms(),
                status: CallStatus::Queued,
                answer_url: req.answer_url.clone(),
                status_url: req.status_url.clone(),
                presses: Vec::new(),
                hung_up: false,
            };
            calls.push(call.clone());
            call
        };
        tokio::spawn(carrier.clone().play(call.clone()));
        Ok(Carrier::info(&call))
    }

    async fn fetch_call(&self, sid: &str) -> Result<Option<CallInfo>, ProviderError> {
        let calls = self.0.calls.lock().unwrap();
        Ok(calls.iter().find(|c| c.sid == sid).map(Carrier::info))
    }

    async fn find_calls(
        &self,
        to: &PhoneNumber,
        from: &PhoneNumber,
        since_ms: i64,
    ) -> Result<Vec<CallInfo>, ProviderError> {
        let calls = self.0.calls.lock().unwrap();
        Ok(calls
            .iter()
            .filter(|c| c.to == to.as_str() && c.from == from.as_str())
            .filter(|c| c.created_ms >= since_ms)
            .map(Carrier::info)
            .collect())
    }

    async fn hangup(&self, sid: &str) -> Result<(), ProviderError> {
        let mut calls = self.0.calls.lock().unwrap();
        match calls.iter_mut().find(|c| c.sid == sid) {
            Some(call) => {
                call.hung_up = true;
                Ok(())
            }
            None => Err(ProviderError::Rejected {
                http: 404,
                code: None,
                message: format!("no call {sid}"),
            }),
        }
    }
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since_epoch.as_millis()).unwrap()
}
