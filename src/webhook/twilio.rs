//! Twilio webhook routes: the answer URL and gather actions return TwiML from
//! the IVR engine; status callbacks move the call forward and conclude it.
//!
//! Every request is checked against `X-Twilio-Signature` computed over the
//! configured public URL (403 otherwise). A webhook gets 2xx only after its
//! effect is committed; duplicates replay the stored response and stale
//! requests (another attempt, a finished job) get a hang-up (guarantee G4).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tracing::{error, info, warn};

use super::{Routes, text_response};
use crate::dialer::{CallbackUrls, RetryPolicy, conclude_call};
use crate::dialplan::{CallContext, Dialplans, Event, Session, SessionStatus, start, step};
use crate::domain::{JobId, JobState};
use crate::provider::twilio::{
    StatusCallback, digits, hangup_response, parse_form, render, verify_request,
};
use crate::store::{IvrUpdate, Job, SaveIvr, Store, StoreError};
use crate::telemetry::{Metrics, Subsystem, WebhookKind, WebhookResult};

/// The provider-facing routes.
pub struct TwilioWebhooks {
    pub store: Arc<dyn Store>,
    pub dialplans: Arc<Dialplans>,
    pub urls: CallbackUrls,
    pub public_url: String,
    pub auth_token: String,
    pub retry: RetryPolicy,
    pub metrics: Arc<Metrics>,
}

/// Why a webhook could not be handled.
#[derive(Debug, thiserror::Error)]
enum WebhookError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The query every webhook URL carries (we put it there; the signature covers it).
struct CallRef {
    job: JobId,
    attempt: u32,
    step: Option<u32>,
}

fn call_ref(query: Option<&str>) -> Result<CallRef, WebhookError> {
    let mut job = None;
    let mut attempt = None;
    let mut step = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "job" => {
                job = Some(JobId::parse(&v).map_err(|e| WebhookError::BadRequest(e.to_string()))?)
            }
            "attempt" => attempt = v.parse().ok(),
            "step" => step = v.parse().ok(),
            _ => {}
        }
    }
    match (job, attempt) {
        (Some(job), Some(attempt)) => Ok(CallRef { job, attempt, step }),
        _ => Err(WebhookError::BadRequest(
            "the URL lacks `job` or `attempt`".into(),
        )),
    }
}

fn twiml(body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    r
}

#[async_trait]
impl Routes for TwilioWebhooks {
    async fn route(&self, request: Request<Bytes>) -> Response<Full<Bytes>> {
        let kind = match (request.method(), request.uri().path()) {
            (&Method::POST, crate::dialer::ANSWER_PATH) => WebhookKind::Answer,
            (&Method::POST, crate::dialer::GATHER_PATH) => WebhookKind::Gather,
            (&Method::POST, crate::dialer::STATUS_PATH) => WebhookKind::Status,
            (&Method::GET, "/healthz") => return text_response(StatusCode::OK, "ok\n"),
            _ => return text_response(StatusCode::NOT_FOUND, "not found\n"),
        };
        let started = Instant::now();
        let (result, response) = self.handle(kind, &request).await;
        self.metrics.webhook(kind, result, started.elapsed());
        response
    }
}

impl TwilioWebhooks {
    async fn handle(
        &self,
        kind: WebhookKind,
        request: &Request<Bytes>,
    ) -> (WebhookResult, Response<Full<Bytes>>) {
        let params = parse_form(request.body());
        let path_and_query = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let signature = request
            .headers()
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok());
        if !verify_request(
            &self.auth_token,
            &self.public_url,
            path_and_query,
            &params,
            signature,
        ) {
            warn!(webhook = ?kind, "webhook signature invalid; refused");
            return (
                WebhookResult::Forbidden,
                text_response(StatusCode::FORBIDDEN, "invalid signature\n"),
            );
        }
        let outcome = match call_ref(request.uri().query()) {
            Ok(call) => match kind {
                WebhookKind::Answer => self.answer(&call).await.map(twiml),
                WebhookKind::Gather => self.gather(&call, &params).await.map(twiml),
                WebhookKind::Status => self.status(&call, &params).await,
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok(response) => (WebhookResult::Ok, response),
            Err(WebhookError::BadRequest(why)) => {
                warn!(webhook = ?kind, reason = %why, "bad webhook");
                (
                    WebhookResult::BadRequest,
                    text_response(StatusCode::BAD_REQUEST, format!("{why}\n")),
                )
            }
            Err(WebhookError::Store(e)) => {
                self.metrics.store_error(Subsystem::Webhook);
                warn!(webhook = ?kind, error = %e, "store unavailable; the provider will retry");
                (
                    WebhookResult::StoreError,
                    text_response(StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n"),
                )
            }
        }
    }

    /// The job, if this request belongs to its current, unfinished attempt.
    async fn live_job(&self, call: &CallRef) -> Result<Option<Job>, WebhookError> {
        let job = self.store.load_job(&call.job).await?;
        Ok(job.filter(|j| {
            j.attempt == call.attempt && matches!(j.state, JobState::Dialing | JobState::InCall)
        }))
    }

    async fn answer(&self, call: &CallRef) -> Result<String, WebhookError> {
        let Some(job) = self.live_job(call).await? else {
            return Ok(hangup_response());
        };
        if job.ivr.is_some() {
            // The provider asked again: replay what we answered.
            return Ok(job.last_response.unwrap_or_else(hangup_response));
        }
        let Some(plan) = self.dialplans.get(&job.spec.dialplan) else {
            error!(job.id = %job.id, dialplan = %job.spec.dialplan, "dialplan is no longer loaded; hanging up");
            return Ok(hangup_response());
        };
        let ctx = CallContext {
            language: job.spec.contact.language.clone(),
            office: job.spec.contact.office.clone(),
            service: job.spec.contact.service.clone(),
        };
        let out = start(&plan, &ctx);
        self.save(&job, 0, &out.session, out.new_answers, &out.actions)
            .await
    }

    async fn gather(
        &self,
        call: &CallRef,
        params: &[(String, String)],
    ) -> Result<String, WebhookError> {
        let step_no = call
            .step
            .ok_or_else(|| WebhookError::BadRequest("the gather URL lacks `step`".into()))?;
        let Some(job) = self.live_job(call).await? else {
            return Ok(hangup_response());
        };
        if job.ivr_step != step_no {
            let replay = (job.ivr_step == step_no + 1)
                .then(|| job.last_response.clone())
                .flatten();
            return Ok(replay.unwrap_or_else(hangup_response));
        }
        let (Some(plan), Some(raw)) = (self.dialplans.get(&job.spec.dialplan), job.ivr.as_deref())
        else {
            return Ok(hangup_response());
        };
        let session: Session = serde_json::from_str(raw)
            .map_err(|e| WebhookError::BadRequest(format!("stored IVR session unreadable: {e}")))?;
        let out = step(&plan, &session, &Event::Digits(digits(params)));
        if out.session.status() == SessionStatus::OptedOut
            && session.status() != SessionStatus::OptedOut
        {
            self.store.record_opt_out(&job.spec.contact.phone).await?;
            info!(job.id = %job.id, "citizen opted out");
        }
        self.save(&job, step_no, &out.session, out.new_answers, &out.actions)
            .await
    }

    async fn save(
        &self,
        job: &Job,
        expected_step: u32,
        session: &Session,
        new_answers: Vec<crate::domain::Answer>,
        actions: &[crate::dialplan::Action],
    ) -> Result<String, WebhookError> {
        let body = render(
            actions,
            &self.urls.gather(&job.id, job.attempt, expected_step + 1),
        );
        let update = IvrUpdate {
            attempt: job.attempt,
            expected_step,
            session: serde_json::to_string(session).map_err(|e| {
                WebhookError::BadRequest(format!("cannot encode the IVR session: {e}"))
            })?,
            new_answers,
            response: body.clone(),
        };
        Ok(match self.store.save_ivr(&job.id, &update).await? {
            SaveIvr::Saved { .. } => body,
            SaveIvr::Duplicate { response } => response.unwrap_or_else(hangup_response),
            SaveIvr::Stale => hangup_response(),
        })
    }

    async fn status(
        &self,
        call: &CallRef,
        params: &[(String, String)],
    ) -> Result<Response<Full<Bytes>>, WebhookError> {
        let cb = StatusCallback::from_params(params)
            .map_err(|e| WebhookError::BadRequest(e.to_string()))?;
        let applied = self
            .store
            .apply_status(&call.job, call.attempt, &cb.call_sid, cb.status)
            .await?;
        if applied.job.is_none() {
            warn!(job.id = %call.job, call.sid = %cb.call_sid, "status callback for an unknown job");
        }
        if cb.status.is_terminal() {
            let decision = conclude_call(
                self.store.as_ref(),
                &call.job,
                call.attempt,
                &cb.call_sid,
                cb.status,
                &self.retry,
                applied.job.map(|job| *job),
            )
            .await
            .map_err(|e| match e {
                crate::dialer::ConcludeError::Store(s) => WebhookError::Store(s),
            })?;
            if let Some(d) = decision {
                self.metrics.concluded(&d);
                info!(job.id = %call.job, call.sid = %cb.call_sid, status = %cb.status, decision = ?d, "call concluded");
            }
        }
        Ok(text_response(StatusCode::NO_CONTENT, ""))
    }
}
