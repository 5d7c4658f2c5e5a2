//! The admin API's do-not-call list (the same as `sampark dnc`):
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | /admin/dnc | `{"count": n}`: live entries |
//! | GET | /admin/dnc/{number} | the entry (200), or 404 `listed: false` |
//! | PUT | /admin/dnc/{number} | body `{"reason"?, "expires_at"?}`: 201 added, 200 updated |
//! | DELETE | /admin/dnc/{number} | 200 removed, 404 not listed |
//! | POST | /admin/dnc/import | body: the import file (`dnc/list.rs`); 200 with added, updated, invalid lines |
//!
//! `{number}` is any form `PhoneNumber::from_indian_input` accepts,
//! percent-encoded (`%2B91…` or `+91…`). Replies show it masked, and the
//! request log shows the path with it masked (`AdminRoutes::log_path`).
//! Every change is logged at INFO (masked), as an audit trail.

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::json;
use tracing::info;

use super::admin::{AdminRoutes, json_response};
use crate::dnc::{Expiry, PutError, check_reason, entry_json, import_list, put_number};
use crate::domain::PhoneNumber;
use crate::store::{DncWrite, StoreError};

/// `PUT /admin/dnc/{number}`'s body; both fields optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    #[serde(default)]
    reason: String,
    /// A date, an RFC 3339 time or a duration (see `dnc/expiry.rs`).
    #[serde(default)]
    expires_at: Option<String>,
}

impl AdminRoutes {
    /// `rest` is the path after `/admin/dnc`.
    pub(super) async fn dnc(
        &self,
        method: &Method,
        rest: &str,
        body: &Bytes,
    ) -> Response<Full<Bytes>> {
        match (method, rest) {
            (&Method::GET, "" | "/") => match self.store.dnc_count().await {
                Ok(count) => json_response(StatusCode::OK, json!({ "count": count })),
                Err(e) => unavailable(&e),
            },
            (&Method::POST, "/import") => self.dnc_import(body).await,
            (_, "/import") => not_allowed(),
            (method, segment) if segment.len() > 1 && segment.starts_with('/') => {
                let phone = match number_in_path(&segment[1..]) {
                    Ok(phone) => phone,
                    Err(e) => return json_response(StatusCode::BAD_REQUEST, json!({ "error": e })),
                };
                match *method {
                    Method::GET => self.dnc_get(&phone).await,
                    Method::PUT => self.dnc_put(phone, body).await,
                    Method::DELETE => self.dnc_delete(&phone).await,
                    _ => not_allowed(),
                }
            }
            _ => json_response(StatusCode::NOT_FOUND, json!({"error": "no such route"})),
        }
    }

    async fn dnc_get(&self, phone: &PhoneNumber) -> Response<Full<Bytes>> {
        match self.store.dnc_check(phone).await {
            Ok(Some(entry)) => json_response(StatusCode::OK, entry_json(phone, Some(&entry))),
            Ok(None) => json_response(StatusCode::NOT_FOUND, entry_json(phone, None)),
            Err(e) => unavailable(&e),
        }
    }

    async fn dnc_put(&self, phone: PhoneNumber, body: &Bytes) -> Response<Full<Bytes>> {
        let parsed: PutBody = if body.iter().all(u8::is_ascii_whitespace) {
            PutBody::default()
        } else {
            if let Some(refused) = super::json_body::refusal(body) {
                return refused;
            }
            match serde_json::from_slice(body) {
                Ok(parsed) => parsed,
                Err(e) => {
                    return json_response(
                        StatusCode::BAD_REQUEST,
                        json!({"error": format!("the body must be a JSON object {{\"reason\", \"expires_at\"}}: {e}")}),
                    );
                }
            }
        };
        let reason = match check_reason(&parsed.reason) {
            Ok(reason) => reason,
            Err(e) => return unprocessable(&format!("reason: {e}")),
        };
        let expires = match parsed.expires_at.as_deref().map(Expiry::parse).transpose() {
            Ok(expires) => expires,
            Err(e) => return unprocessable(&format!("expires_at: {e}")),
        };
        let write = match put_number(self.store.as_ref(), phone.clone(), reason, expires).await {
            Ok(write) => write,
            Err(PutError::Lapsed) => {
                return unprocessable("expires_at: the expiry is not in the future");
            }
            Err(PutError::Store(e)) => return unavailable(&e),
        };
        let (status, result) = match write {
            DncWrite::Updated => (StatusCode::OK, "updated"),
            _ => (StatusCode::CREATED, "added"),
        };
        info!(dnc.number = %phone, dnc.result = result, "Do-not-call entry written (admin API).");
        match self.store.dnc_check(&phone).await {
            Ok(entry) => {
                let mut reply = entry_json(&phone, entry.as_ref());
                reply["result"] = json!(result);
                json_response(status, reply)
            }
            Err(e) => unavailable(&e),
        }
    }

    async fn dnc_delete(&self, phone: &PhoneNumber) -> Response<Full<Bytes>> {
        match self.store.dnc_remove(phone).await {
            Ok(true) => {
                info!(dnc.number = %phone, "Do-not-call entry removed (admin API).");
                json_response(
                    StatusCode::OK,
                    json!({"number": phone.masked(), "removed": true}),
                )
            }
            Ok(false) => json_response(
                StatusCode::NOT_FOUND,
                json!({"number": phone.masked(), "removed": false, "error": "not on the do-not-call list"}),
            ),
            Err(e) => unavailable(&e),
        }
    }

    async fn dnc_import(&self, body: &Bytes) -> Response<Full<Bytes>> {
        let Ok(text) = std::str::from_utf8(body) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": "body is not UTF-8"}),
            );
        };
        match import_list(self.store.as_ref(), text).await {
            Ok(report) => {
                info!(
                    dnc.added = report.added,
                    dnc.updated = report.updated,
                    dnc.invalid = report.invalid.len(),
                    "Do-not-call list imported (admin API)."
                );
                json_response(StatusCode::OK, json!(report))
            }
            Err(e) => unavailable(&e),
        }
    }
}

/// The request log's path: a do-not-call number masked (or, if it does not
/// parse, replaced), so no full number reaches a log.
pub(super) fn masked_path(path: &str) -> Option<String> {
    let segment = path.strip_prefix("/admin/dnc/")?;
    if segment.is_empty() || segment == "import" {
        return None;
    }
    Some(match number_in_path(segment) {
        Ok(phone) => format!("/admin/dnc/{}", phone.masked()),
        Err(_) => "/admin/dnc/{number}".to_owned(),
    })
}

/// The number in a path segment: percent-decoded (a `+` stays a `+`), then
/// read as Indian input. The error never holds the number's digits.
fn number_in_path(segment: &str) -> Result<PhoneNumber, String> {
    let decoded = percent_decode(segment)
        .ok_or_else(|| "the number in the path is not valid percent-encoded UTF-8".to_owned())?;
    PhoneNumber::from_indian_input(&decoded).map_err(|e| e.to_string())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn unprocessable(error: &str) -> Response<Full<Bytes>> {
    json_response(StatusCode::UNPROCESSABLE_ENTITY, json!({ "error": error }))
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
    use super::*;

    #[test]
    fn numbers_in_paths_are_decoded_and_masked_for_the_log() {
        assert_eq!(
            number_in_path("%2B919876543210").unwrap().as_str(),
            "+919876543210"
        );
        assert_eq!(
            number_in_path("+91%2098765%2043210").unwrap().as_str(),
            "+919876543210"
        );
        assert_eq!(
            number_in_path("9876543210").unwrap().as_str(),
            "+919876543210"
        );
        assert!(number_in_path("%ZZ").is_err());
        assert!(number_in_path("%E2%82").is_err());
        assert_eq!(
            masked_path("/admin/dnc/%2B919876543210").as_deref(),
            Some("/admin/dnc/+91******3210")
        );
        assert_eq!(
            masked_path("/admin/dnc/98765432").as_deref(),
            Some("/admin/dnc/{number}")
        );
        assert_eq!(masked_path("/admin/dnc/import"), None);
        assert_eq!(masked_path("/admin/dnc"), None);
        assert_eq!(masked_path("/admin/campaigns/x"), None);
    }
}
