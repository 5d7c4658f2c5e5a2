//! The dead letters page (`/dead-letters`): the newest documents and
//! contacts the intake refused, and why. A refused contact is stored
//! masked, but a refused document is stored as it came, so everything shown
//! here goes through `mask_digit_runs` first: no page shows a number.

use askama::Template;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::auth::Access;
use super::campaigns::unavailable;
use super::view::{self, Chrome, Nav};
use crate::domain::mask_digit_runs;
use crate::store::Store;

/// Dead letters shown, newest first.
pub const SHOWN: usize = 200;
/// Characters of a payload shown; a whole document can be large.
const PAYLOAD_CHARS: usize = 600;

pub struct LetterRow {
    pub source: String,
    pub reason: String,
    pub payload: String,
    /// The payload was longer than shown.
    pub cut: bool,
}

#[derive(Template)]
#[template(path = "dead_letters.html")]
pub struct DeadLettersPage {
    pub chrome: Chrome,
    pub rows: Vec<LetterRow>,
    pub shown: usize,
}

/// `GET /dead-letters`.
pub async fn page(store: &dyn Store, access: &Access) -> Response<Full<Bytes>> {
    let letters = match store.dead_letters(SHOWN).await {
        Ok(l) => l,
        Err(e) => return unavailable(access, &e),
    };
    let rows = letters
        .iter()
        .rev()
        .map(|l| {
            let payload = mask_digit_runs(&l.payload);
            let cut = payload.chars().count() > PAYLOAD_CHARS;
            LetterRow {
                source: mask_digit_runs(&l.source),
                reason: mask_digit_runs(&l.reason),
                payload: payload.chars().take(PAYLOAD_CHARS).collect(),
                cut,
            }
        })
        .collect();
    view::page(
        StatusCode::OK,
        &DeadLettersPage {
            chrome: Chrome::new("Dead letters", Nav::DeadLetters, access),
            rows,
            shown: SHOWN,
        },
    )
}
