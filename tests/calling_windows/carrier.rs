//! An in-process carrier for controlled-time tests: it implements the REST
//! half of a provider (`Provider`) without a network, so tokio's paused
//! clock stays in charge, and plays each call to its end through the
//! daemon's real call core (`CallCore::on_status`, the path status webhooks
//! take). Every originate is recorded with the store's time.
//!
//! A call rings for `ring`, then ends as the next status scripted for its
//! contact (`NoAnswer` once the script runs out). An originate may take
//! `latency` of (tokio) time, to make a dispatch round long.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use sampark::calls::{CallCore, Callback, CallbackUrls};
use sampark::domain::{CallStatus, PhoneNumber};
use sampark::provider::{CallInfo, OriginateRequest, Provider, ProviderError};
use sampark::store::Store;

/// The base URL the dialer's callback URLs carry (nothing listens there).
pub const PUBLIC_URL: &str = "http://windows.test";

/// One originate as the carrier received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dial {
    /// The store's time when the originate arrived (Unix ms).
    pub at_ms: i64,
    /// `campaign/contact`.
    pub job: String,
    pub attempt: u32,
}

pub struct Carrier {
    store: Arc<dyn Store>,
    urls: CallbackUrls,
    core: OnceLock<Arc<CallCore>>,
    ring: Duration,
    latency: Duration,
    scripts: Mutex<HashMap<String, Vec<CallStatus>>>,
    dials: Mutex<Vec<Dial>>,
}

impl Carrier {
    pub fn new(
        store: Arc<dyn Store>,
        urls: CallbackUrls,
        ring: Duration,
        latency: Duration,
    ) -> Self {
        Self {
            store,
            urls,
            core: OnceLock::new(),
            ring,
            latency,
            scripts: Mutex::new(HashMap::new()),
            dials: Mutex::new(Vec::new()),
        }
    }

    /// The core that concludes the calls (built after the carrier).
    pub fn attach(&self, core: Arc<CallCore>) {
        assert!(self.core.set(core).is_ok(), "attached once");
    }

    /// How `contact`'s calls end, in order.
    pub fn script(&self, contact: &str, statuses: &[CallStatus]) {
        self.scripts
            .lock()
            .unwrap()
            .insert(contact.to_owned(), statuses.to_vec());
    }

    pub fn dials(&self) -> Vec<Dial> {
        self.dials.lock().unwrap().clone()
    }

    fn next_status(&self, contact: &str) -> CallStatus {
        let mut scripts = self.scripts.lock().unwrap();
        match scripts.get_mut(contact) {
            Some(script) if !script.is_empty() => script.remove(0),
            _ => CallStatus::NoAnswer,
        }
    }
}

#[async_trait]
impl Provider for Carrier {
    async fn originate(&self, req: &OriginateRequest) -> Result<CallInfo, ProviderError> {
        let at_ms = self.store.now_ms().await.expect("the store's time");
        let path_and_query = req
            .status_url
            .strip_prefix(PUBLIC_URL)
            .expect("a callback URL under the public URL");
        let (path, query) = path_and_query
            .split_once('?')
            .expect("a status URL with a query");
        let Some(Ok(Callback::Status(call))) = self.urls.parse(path, Some(query)) else {
            panic!("not a status URL: {}", req.status_url);
        };
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let sid = {
            let mut dials = self.dials.lock().unwrap();
            dials.push(Dial {
                at_ms,
                job: call.job.id.to_string(),
                attempt: call.attempt,
            });
            format!("CA{:032}", dials.len())
        };
        let status = self.next_status(call.job.id.contact.as_str());
        let core = self.core.get().expect("a call core attached").clone();
        let (ring, call_sid) = (self.ring, sid.clone());
        tokio::spawn(async move {
            tokio::time::sleep(ring).await;
            core.on_status(&call.job, call.attempt, &call_sid, status)
                .await
                .expect("the call core concludes the call");
        });
        Ok(CallInfo {
            sid,
            status: CallStatus::Queued,
            created_ms: Some(at_ms),
        })
    }

    async fn fetch_call(&self, _sid: &str) -> Result<Option<CallInfo>, ProviderError> {
        Ok(None)
    }

    async fn find_calls(
        &self,
        _to: &PhoneNumber,
        _from: &PhoneNumber,
        _since_ms: i64,
    ) -> Result<Vec<CallInfo>, ProviderError> {
        Ok(Vec::new())
    }

    async fn hangup(&self, _sid: &str) -> Result<(), ProviderError> {
        Ok(())
    }
}
