//! Test harness: a simulator on port 0, a REST client, and a webhook
//! receiver that verifies `X-Twilio-Signature` and serves scripted TwiML.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::provider::twilio::signature;
use crate::simulator::{Simulator, SimulatorConfig};

pub const SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const TOKEN: &str = "test_auth_token";

/// A config whose calls are all answered and whose citizens always press a
/// valid key; tests switch on what they exercise.
pub fn quiet_config() -> SimulatorConfig {
    SimulatorConfig {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        answer_rate: 1.0,
        busy_rate: 0.0,
        no_answer_rate: 0.0,
        failed_rate: 0.0,
        invalid_key_rate: 0.0,
        silent_rate: 0.0,
        opt_out_rate: 0.0,
        hangup_rate: 0.0,
        ring_delay: (Duration::from_millis(1), Duration::from_millis(2)),
        think_delay: (Duration::from_millis(0), Duration::from_millis(1)),
        ..SimulatorConfig::default()
    }
}

pub struct Sim {
    pub sim: Simulator,
    pub shutdown: CancellationToken,
    client: Client<HttpConnector, Full<Bytes>>,
}

pub async fn start(config: SimulatorConfig) -> Sim {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shutdown = CancellationToken::new();
    let sim = Simulator::start(config, listener, shutdown.clone())
        .await
        .unwrap();
    Sim {
        sim,
        shutdown,
        client: Client::builder(TokioExecutor::new()).build_http(),
    }
}

impl Sim {
    /// Sends a REST request with the given Basic credentials.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
        auth: Option<(&str, &str)>,
    ) -> (StatusCode, Value) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let content_type = "application/x-www-form-urlencoded";
        self.send(method, path, content_type, body, auth).await
    }

    /// POSTs a JSON body (the control routes) with the given credentials.
    pub async fn post_json(
        &self,
        path: &str,
        body: &str,
        auth: Option<(&str, &str)>,
    ) -> (StatusCode, Value) {
        let body = body.to_owned();
        self.send("POST", path, "application/json", body, auth)
            .await
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: String,
        auth: Option<(&str, &str)>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.sim.base_url()))
            .header("content-type", content_type);
        if let Some((user, pass)) = auth {
            let cred = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            req = req.header("authorization", format!("Basic {cred}"));
        }
        let resp = self
            .client
            .request(req.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn api(
        &self,
        method: &str,
        tail: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let path = format!("/2010-04-01/Accounts/{SID}/{tail}");
        self.request(method, &path, form, Some((SID, TOKEN))).await
    }

    /// Originates a call and returns its sid.
    pub async fn originate(&self, extra: &[(&str, &str)]) -> String {
        // Extras come first so they win over the defaults (first key wins).
        let mut form = extra.to_vec();
        form.extend_from_slice(&[("To", "+919876543210"), ("From", "+916742000000")]);
        let (status, body) = self.api("POST", "Calls.json", &form).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["sid"].as_str().unwrap().to_owned()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.sim.wait())
            .await
            .expect("simulator drains");
    }
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Hit {
    pub method: String,
    /// Path and query as requested.
    pub target: String,
    pub path: String,
    pub params: HashMap<String, String>,
    pub signature_ok: bool,
}

type Script = Arc<dyn Fn(&Hit) -> (u16, String) + Send + Sync>;

/// An application server: records every hit and answers per `script`.
pub struct Receiver {
    pub base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    pub async fn start(script: impl Fn(&Hit) -> (u16, String) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::new(script);
        let (base2, hits2) = (base.clone(), Arc::clone(&hits));
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (base, hits, script) = (base2.clone(), Arc::clone(&hits2), Arc::clone(&script));
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (base, hits, script) =
                        (base.clone(), Arc::clone(&hits), Arc::clone(&script));
                    async move {
                        let hit = read_hit(&base, req).await;
                        let (status, body) = script(&hit);
                        hits.lock().unwrap().push(hit);
                        let mut resp = Response::new(Full::new(Bytes::from(body)));
                        *resp.status_mut() = StatusCode::from_u16(status).unwrap();
                        resp.headers_mut()
                            .insert("content-type", "text/xml".parse().unwrap());
                        Ok::<_, Infallible>(resp)
                    }
                });
                tokio::spawn(
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned(),
                );
            }
        });
        Self { base, hits }
    }

    pub fn url(&self, target: &str) -> String {
        format!("{}{target}", self.base)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    pub fn hits_for(&self, call_sid: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.params.get("CallSid").map(String::as_str) == Some(call_sid))
            .collect()
    }
}

async fn read_hit(base: &str, req: Request<hyper::body::Incoming>) -> Hit {
    let method = req.method().to_string();
    let target = req.uri().path_and_query().unwrap().to_string();
    let path = req.uri().path().to_owned();
    let query: Vec<(String, String)> =
        form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let sig = req
        .headers()
        .get("x-twilio-signature")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let url = format!("{base}{target}");
    let signature_ok = if method == "GET" {
        signature::verify(TOKEN, &url, &[], &sig)
    } else {
        signature::verify(TOKEN, &url, &form, &sig)
    };
    let params = query.into_iter().chain(form).collect();
    Hit {
        method,
        target,
        path,
        params,
        signature_ok,
    }
}

/// Polls `check` until it returns `Some` or the deadline passes.
pub async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
