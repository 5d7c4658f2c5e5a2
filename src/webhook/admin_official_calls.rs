//! `POST /admin/official-calls`: an official (or their office) asks to call
//! one citizen. The request becomes a one-contact document of the standing
//! campaign `official-calls-<department>` (`-recorded` when the call is to
//! be recorded), of `kind: "official"`, with `[officials]`'s plan and caller
//! id, and is submitted like any document (checked, then queued for
//! intake), so the call is dialled under every limit a campaign's is.
//!
//! Body: `{"official_id", "department", "recording"?, "contact": {"id",
//! "phone", "office", "service", "first_name"?, "visit_at"?, "language"?}}`.
//! 202 with the campaign id when queued; 422 when the request, the official
//! (not in the registry) or the contact is refused; 409 when `[officials]`
//! names a plan that is not loaded or has no `[bridge]`.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::{AdminRoutes, json_response};
use crate::domain::{CampaignId, OfficialId};

/// How requested officials' calls are placed (`[officials]`).
#[derive(Clone, Debug)]
pub struct OfficialCallDesk {
    pub dialplan: String,
    /// E.164 (checked by config validation; the submitted document is
    /// checked again like any other).
    pub caller_id: String,
}

/// One requested call, as the API's JSON body or the console's form gives it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CallRequest {
    pub official_id: String,
    pub department: String,
    #[serde(default)]
    pub recording: bool,
    pub contact: serde_json::Map<String, Value>,
}

/// Why a request cannot be queued, with the status it answers.
pub(super) struct Refused {
    pub status: StatusCode,
    pub message: String,
}

impl Refused {
    fn new(status: StatusCode, message: String) -> Refused {
        Refused { status, message }
    }
}

impl AdminRoutes {
    pub(super) async fn request_official_call(&self, body: &Bytes) -> Response<Full<Bytes>> {
        if let Some(refused) = super::json_body::refusal(body) {
            return refused;
        }
        let request: CallRequest = match serde_json::from_slice(body) {
            Ok(r) => r,
            Err(e) => {
                return json_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"error": format!(
                        "the body must be JSON like {{\"official_id\": \"off-1\", \"department\": \"home\", \
                         \"contact\": {{\"id\": \"c-1\", \"phone\": \"+91…\", \"office\": \"…\", \"service\": \"…\"}}}}: {e}"
                    )}),
                );
            }
        };
        match self.official_call_document(request).await {
            Ok(document) => self.submit(&Bytes::from(document.to_string()), true).await,
            Err(refused) => json_response(refused.status, json!({"error": refused.message})),
        }
    }

    /// The one-contact document that queues `request`, once the desk's plan
    /// is usable and the official is in the registry.
    pub(super) async fn official_call_document(
        &self,
        request: CallRequest,
    ) -> Result<Value, Refused> {
        let desk = &self.official_calls;
        match self.dialplans.get(&desk.dialplan) {
            Some(plan) if plan.bridge().is_some() => {}
            _ => {
                return Err(Refused::new(
                    StatusCode::CONFLICT,
                    format!(
                        "officials.dialplan {:?} is not a loaded plan with [bridge]; officials' calls cannot be taken",
                        desk.dialplan
                    ),
                ));
            }
        }
        let refuse = |message: String| Refused::new(StatusCode::UNPROCESSABLE_ENTITY, message);
        let official = OfficialId::parse(&request.official_id)
            .map_err(|e| refuse(format!("`official_id`: {e}")))?;
        let suffix = if request.recording { "-recorded" } else { "" };
        let id = format!("official-calls-{}{suffix}", request.department);
        if let Err(e) = CampaignId::parse(&id) {
            return Err(refuse(format!(
                "`department` cannot name a campaign ({id}): {e}"
            )));
        }
        match self.store.official(&official).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(refuse(format!(
                    "official {official} is not in the officials' registry (`sampark officials import`)"
                )));
            }
            Err(e) => return Err(Refused::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
        }
        let mut contact = request.contact;
        contact.insert("official_id".into(), json!(official.as_str()));
        Ok(json!({
            "version": 1,
            "id": id,
            "name": format!("Officials' calls, {}", request.department),
            "dialplan": desk.dialplan,
            "caller_id": desk.caller_id,
            "department": request.department,
            "kind": "official",
            "recording": request.recording,
            "contacts": [contact],
        }))
    }
}
