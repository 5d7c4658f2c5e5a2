//! The admin API's JSON bodies, checked against `domain::json_guard`'s
//! limits before they are read: no key twice in one object (the later
//! value would silently win), nesting no deeper than 16 levels, no string
//! longer than 4,096 bytes. A body over one is refused (400) naming the
//! place; one that is not JSON at all is left to the route's own parser,
//! whose message says what the body should be.
//!
//! Owns: that check. Does not own: each body's fields (the routes).

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

use super::admin::json_response;
use crate::domain::json_guard::{GuardError, check_document};

/// The 400 reply to a body that is not UTF-8 or is over a limit; `None`
/// for any other body.
pub(super) fn refusal(body: &[u8]) -> Option<Response<Full<Bytes>>> {
    let refused = |why: String| json_response(StatusCode::BAD_REQUEST, json!({ "error": why }));
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => return Some(refused(format!("the body is not UTF-8: {e}"))),
    };
    match check_document(text) {
        Ok(()) | Err(GuardError::Syntax(_)) => None,
        Err(GuardError::Limit(why)) => Some(refused(format!("the body is refused: {why}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn refused(body: &[u8]) -> String {
        let response = super::refusal(body).unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        value["error"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn bodies_over_a_limit_are_refused_and_others_pass() {
        assert!(refusal(br#"{"by": "a", "note": "b"}"#).is_none());
        assert!(
            refusal(b"{not json").is_none(),
            "the route's parser says why"
        );
        assert_eq!(
            refused(br#"{"by": "a", "by": "b"}"#).await,
            "the body is refused: key `by` appears twice in the document"
        );
        let long = format!(r#"{{"note": "{}"}}"#, "n".repeat(5000));
        assert_eq!(
            refused(long.as_bytes()).await,
            "the body is refused: note is 5000 bytes long; at most 4096 are allowed"
        );
        let deep = format!("{}{}", "[".repeat(30), "]".repeat(30));
        assert!(
            refused(deep.as_bytes())
                .await
                .contains("nested deeper than 16 levels")
        );
        assert!(refused(b"\xff").await.starts_with("the body is not UTF-8"));
    }
}
