//! The admin API's campaign control: `GET /admin/campaigns`,
//! `POST /admin/campaigns/{id}/pause|resume|cancel[?hangup=true]`.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

use super::admin::{AdminRoutes, json_response};
use crate::domain::CampaignId;
use crate::store::{CampaignAction, CampaignState};

impl AdminRoutes {
    pub(super) async fn list(&self) -> Response<Full<Bytes>> {
        let ids = match self.store.campaigns().await {
            Ok(ids) => ids,
            Err(e) => return unavailable(&e),
        };
        let mut all = Vec::with_capacity(ids.len());
        for id in ids {
            match self.store.campaign_status(&id).await {
                Ok(Some(status)) => all.push(status.summary()),
                Ok(None) => {}
                Err(e) => return unavailable(&e),
            }
        }
        json_response(StatusCode::OK, json!({ "campaigns": all }))
    }

    /// `rest` is `{id}/{action}`.
    pub(super) async fn control(&self, rest: &str, query: Option<&str>) -> Response<Full<Bytes>> {
        let Some((raw_id, verb)) = rest.rsplit_once('/') else {
            return json_response(StatusCode::NOT_FOUND, json!({"error": "no such route"}));
        };
        let hangup = query.is_some_and(|q| {
            form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "hangup" && v == "true")
        });
        let action = match verb {
            "pause" => CampaignAction::Pause,
            "resume" => CampaignAction::Resume,
            "cancel" => CampaignAction::Cancel { hangup },
            _ => return json_response(StatusCode::NOT_FOUND, json!({"error": "no such route"})),
        };
        let id = match CampaignId::parse(raw_id) {
            Ok(id) => id,
            Err(e) => {
                return json_response(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
            }
        };
        match self.store.control_campaign(&id, action).await {
            Ok(Some(CampaignState::Cancelled { .. }))
                if !matches!(action, CampaignAction::Cancel { .. }) =>
            {
                json_response(
                    StatusCode::CONFLICT,
                    json!({"error": format!("campaign {id} is cancelled"), "state": "cancelled"}),
                )
            }
            Ok(Some(state)) => json_response(
                StatusCode::OK,
                json!({"id": id.as_str(), "state": state.as_str(),
                       "hangup": matches!(state, CampaignState::Cancelled { hangup: true })}),
            ),
            Ok(None) => json_response(
                StatusCode::NOT_FOUND,
                json!({"error": format!("no campaign {id}")}),
            ),
            Err(e) => unavailable(&e),
        }
    }
}

fn unavailable(e: &crate::store::StoreError) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": e.to_string()}),
    )
}
