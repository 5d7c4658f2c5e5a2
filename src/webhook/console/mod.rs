//! The operator console: HTML pages served by the admin listener, rendered
//! on the server from templates (askama, compile-time checked, HTML
//! escaped), with a small stylesheet and script served from the binary.
//! Every page works without JavaScript; with it, the live parts of the
//! campaign pages refresh every few seconds (`?fragment=live`).
//!
//! | method | path                        | page or action                                  |
//! |--------|-----------------------------|-------------------------------------------------|
//! | GET    | /login                      | the login form (the admin token)                |
//! | POST   | /login                      | checks the token: a session cookie, or 401 / 429 |
//! | POST   | /logout                     | ends the session                                |
//! | GET    | /                           | campaigns: progress by state, rate, estimate    |
//! | GET    | /campaigns/{id}             | one campaign: officials, why contacts wait      |
//! | POST   | /campaigns/{id}/pause       | pause (as the admin API)                        |
//! | POST   | /campaigns/{id}/resume      | resume                                          |
//! | POST   | /campaigns/{id}/cancel      | cancel (`confirm=on`; `hangup=on` hangs up)     |
//! | GET    | /escalations                | open first; `department`, `severity`, `status`  |
//! | GET    | /escalations/{id}           | one escalation and its answers                  |
//! | POST   | /escalations/{id}/ack       | acknowledge (`by`, `note`)                      |
//! | GET    | /scorecards                 | ranked scorecards (see `scorecards.rs`)         |
//! | GET    | /officials                  | the officials' registry, numbers masked         |
//! | GET    | /officials/{id}             | one official and the form to call a citizen     |
//! | POST   | /officials/{id}/call        | queue an official's call (as `/admin/official-calls`) |
//! | GET    | /dead-letters               | refused documents and contacts, numbers masked  |
//! | GET    | /health                     | store, dial gate, provider, queues              |
//! | GET    | /static/console.css, .js    | the stylesheet and the script                   |
//!
//! Access (`auth.rs`): an admin token (`webhook/access.rs`), as a session
//! cookie after `/login` or as `Authorization: Bearer` on any request; every
//! form carries a CSRF token, needs an operator's token and is audit-logged. No page shows a phone number: the console shows ids, masked
//! numbers, and dead letters through `mask_digit_runs`.
//!
//! Owns: presenting. Does not own: any decision (campaign control, the
//! acknowledgement, ranking are the store's and `accountability`'s), nor
//! the JSON API (`admin*.rs`).

mod auth;
mod campaigns;
mod dead_letters;
mod escalations;
mod health_page;
mod officials;
mod progress;
mod report_cache;
mod router;
mod scorecards;
mod trend;
mod view;

pub use router::Console;
