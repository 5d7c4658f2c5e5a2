//! The admin API's officials' registry (the same as `sampark officials`):
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | /admin/officials | `{"officials": [...]}` by id; `?department=`, `office=` (exact; empty: not set) |
//! | GET | /admin/officials/{id} | one official; 404 unknown |
//! | POST | /admin/officials | body: an import file, CSV (`Content-Type: text/csv`) or JSON (`application/json`; any other type: told by its first character); 200 `{"imported", "created", "updated", "unchanged"}`; 422 `{"error", "problems": [{"line", "record"?, "field"?, "reason"}]}` and nothing written |
//! | DELETE | /admin/officials/{id} | 200 removed; 404 unknown |
//!
//! Every reply shows numbers masked (`registry::list_json`,
//! `Official::masked_json`); problems never hold a number's digits. Imports
//! and removals are logged at INFO, as an audit trail. A query parameter
//! this API does not know is refused (400), as `admin_reports.rs` does.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::json;
use tracing::info;

use super::admin::{AdminRoutes, json_response};
use super::admin_reports::Params;
use crate::domain::OfficialId;
use crate::registry::{ImportError, ImportFormat, import_officials, list_json};
use crate::store::{OfficialQuery, StoreError};

/// Whether `path` is one of this file's routes (under `/admin/officials`).
pub(super) fn owns(path: &str) -> bool {
    path.strip_prefix("/admin/officials")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl AdminRoutes {
    /// Routes a request [`owns`] says is ours.
    pub(super) async fn officials(&self, request: &Request<Bytes>) -> Response<Full<Bytes>> {
        let params = match Params::parse(request.uri().query()) {
            Ok(params) => params,
            Err(e) => return bad_request(&e),
        };
        let rest = request.uri().path()["/admin/officials".len()..].trim_end_matches('/');
        match (request.method(), rest.strip_prefix('/')) {
            (&Method::GET, None) => self.list_officials(&params).await,
            (&Method::POST, None) => self.import_officials(request, &params).await,
            (_, None) => not_allowed(),
            (method, Some(id)) if !id.contains('/') => {
                if let Err(e) = params.only(&[]) {
                    return bad_request(&e);
                }
                let id = match OfficialId::parse(id) {
                    Ok(id) => id,
                    Err(e) => return bad_request(&e.to_string()),
                };
                match *method {
                    Method::GET => self.show_official(&id).await,
                    Method::DELETE => self.remove_official(&id).await,
                    _ => not_allowed(),
                }
            }
            _ => json_response(StatusCode::NOT_FOUND, json!({"error": "no such route"})),
        }
    }

    async fn list_officials(&self, params: &Params) -> Response<Full<Bytes>> {
        if let Err(e) = params.only(&["department", "office"]) {
            return bad_request(&e);
        }
        let query = OfficialQuery {
            department: params.get("department").map(str::to_owned),
            office: params.get("office").map(str::to_owned),
        };
        match self.store.officials(&query).await {
            Ok(officials) => json_response(StatusCode::OK, list_json(&officials)),
            Err(e) => unavailable(&e),
        }
    }

    async fn show_official(&self, id: &OfficialId) -> Response<Full<Bytes>> {
        match self.store.official(id).await {
            Ok(Some(official)) => json_response(StatusCode::OK, official.masked_json()),
            Ok(None) => no_official(id),
            Err(e) => unavailable(&e),
        }
    }

    async fn remove_official(&self, id: &OfficialId) -> Response<Full<Bytes>> {
        match self.store.remove_official(id).await {
            Ok(true) => {
                info!(official.id = %id, "Official removed from the registry (admin API).");
                json_response(
                    StatusCode::OK,
                    json!({"official_id": id.as_str(), "removed": true}),
                )
            }
            Ok(false) => no_official(id),
            Err(e) => unavailable(&e),
        }
    }

    async fn import_officials(
        &self,
        request: &Request<Bytes>,
        params: &Params,
    ) -> Response<Full<Bytes>> {
        if let Err(e) = params.only(&[]) {
            return bad_request(&e);
        }
        let body = request.body();
        let format = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(ImportFormat::of_content_type)
            .unwrap_or_else(|| ImportFormat::of_content(body));
        match import_officials(self.store.as_ref(), body, format).await {
            Ok(summary) => {
                let imported = summary.created + summary.updated + summary.unchanged;
                info!(
                    officials.created = summary.created,
                    officials.updated = summary.updated,
                    officials.unchanged = summary.unchanged,
                    "Officials imported into the registry (admin API)."
                );
                json_response(
                    StatusCode::OK,
                    json!({
                        "imported": imported,
                        "created": summary.created,
                        "updated": summary.updated,
                        "unchanged": summary.unchanged,
                    }),
                )
            }
            Err(ImportError::Invalid(problems)) => json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "error": format!(
                        "the file has {} problem(s); nothing was imported",
                        problems.len()
                    ),
                    "problems": problems,
                }),
            ),
            Err(ImportError::Store(e)) => unavailable(&e),
        }
    }
}

fn no_official(id: &OfficialId) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::NOT_FOUND,
        json!({"error": format!("no official {id} in the registry")}),
    )
}

fn bad_request(error: &str) -> Response<Full<Bytes>> {
    json_response(StatusCode::BAD_REQUEST, json!({ "error": error }))
}

fn not_allowed() -> Response<Full<Bytes>> {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        json!({"error": "method not allowed here"}),
    )
}

fn unavailable(e: &StoreError) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": e.to_string()}),
    )
}

#[cfg(test)]
mod tests {
    use super::owns;

    #[test]
    fn owns_only_its_own_paths() {
        assert!(owns("/admin/officials"));
        assert!(owns("/admin/officials/col-1"));
        assert!(!owns("/admin/officialsx"));
        assert!(!owns("/admin/campaigns"));
    }
}
