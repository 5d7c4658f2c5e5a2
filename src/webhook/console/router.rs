//! The console's routes (table in `mod.rs`): static files and the login
//! page first, then every other page behind [`Sessions::access`], and every
//! form behind its CSRF token.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;

use super::auth::{self, Access, Login, Refused, Sessions};
use super::progress::Progress;
use super::report_cache::Reports;
use super::view::{self, Chrome, Clock};
use super::{campaigns, dead_letters, escalations, health_page, officials, scorecards};
use crate::dialer::DialGate;
use crate::webhook::AdminAccess;
use crate::webhook::admin::AdminRoutes;
use crate::webhook::audit;

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

/// The console's state: sessions, the rates it measures, the scorecard
/// reports it keeps, and this instance's dial gate (for the health page).
pub struct Console {
    sessions: Sessions,
    progress: Progress,
    reports: Arc<Reports>,
    gate: Option<DialGate>,
}

impl Console {
    pub fn new(gate: Option<DialGate>) -> Console {
        Console {
            sessions: Sessions::default(),
            progress: Progress::default(),
            reports: Arc::default(),
            gate,
        }
    }

    /// Whether a request with `headers` would be let in (a known bearer
    /// token or a live session), decided before its body is read. A wrong
    /// token is not counted here: the route that answers it counts it.
    pub(in crate::webhook) fn lets_in(
        &self,
        tokens: &AdminAccess,
        headers: &http::HeaderMap,
    ) -> bool {
        match crate::webhook::access::bearer_of(headers) {
            Some(given) => tokens.knows(given),
            None => self.sessions.access(tokens, headers, None).is_ok(),
        }
    }

    /// Whether `path` is one of the console's (the admin listener's other
    /// routes are `/admin/…`, `/metrics`, `/healthz`, `/readyz`).
    pub fn serves(path: &str) -> bool {
        matches!(
            path,
            "/" | "/login"
                | "/logout"
                | "/escalations"
                | "/scorecards"
                | "/dead-letters"
                | "/health"
                | "/officials"
        ) || ["/campaigns/", "/escalations/", "/officials/", "/static/"]
            .iter()
            .any(|p| path.starts_with(p))
    }
}

/// A query string's parameters (the first of each name).
pub struct Query(HashMap<String, String>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Query(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// A posted form (`application/x-www-form-urlencoded`).
pub type Form = Query;

impl Form {
    pub fn of(body: &Bytes) -> Form {
        Query::parse(std::str::from_utf8(body).ok())
    }

    /// A checkbox that was ticked.
    pub fn checked(&self, key: &str) -> bool {
        matches!(self.get(key), Some("on" | "true" | "1" | "yes"))
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    error: Option<&'static str>,
}

impl AdminRoutes {
    /// Answers a request for one of the console's paths ([`Console::serves`]).
    pub(in crate::webhook) async fn console(
        &self,
        request: Request<Bytes>,
    ) -> Response<Full<Bytes>> {
        let console = &self.console;
        let path = request.uri().path().to_owned();
        let method = request.method().clone();
        match (&method, path.as_str()) {
            (&Method::GET, "/static/console.css") => {
                return view::asset("text/css; charset=utf-8", CSS);
            }
            (&Method::GET, "/static/console.js") => {
                return view::asset("text/javascript; charset=utf-8", JS);
            }
            (_, p) if p.starts_with("/static/") => {
                return view::error(StatusCode::NOT_FOUND, None, "There is no such file.");
            }
            (&Method::GET, "/login") => return self.login_page(StatusCode::OK, None),
            (&Method::POST, "/login") => return self.login(&request),
            _ => {}
        }
        let query = Query::parse(request.uri().query());
        let fragment = query.get("fragment") == Some("live");
        let access = match console.sessions.access(
            &self.access,
            request.headers(),
            auth::client_ip(&request),
        ) {
            Ok(access) => access,
            Err(Refused::WrongToken) => {
                return view::error(StatusCode::UNAUTHORIZED, None, "Wrong token.");
            }
            Err(Refused::TooMany(wait)) => {
                let r = view::error(
                    StatusCode::TOO_MANY_REQUESTS,
                    None,
                    "Too many wrong tokens from here: wait a minute, then try again.",
                );
                return too_many(r, wait);
            }
            Err(Refused::NoSession) if method == Method::GET && !fragment => {
                return view::redirect("/login");
            }
            Err(Refused::NoSession) => {
                return view::error(
                    StatusCode::UNAUTHORIZED,
                    None,
                    "Your session has ended: log in again.",
                );
            }
        };
        if method == Method::POST {
            let form = Form::of(request.body());
            let caller = access.caller();
            let response = if !access.accepts_form(form.get("csrf").unwrap_or_default()) {
                view::error(
                    StatusCode::FORBIDDEN,
                    Some(&access),
                    "This form is out of date (or did not come from this console): go back, reload the page and try again.",
                )
            } else if caller.may_write() || path == "/logout" {
                self.post(&access, &path, &form).await
            } else {
                view::error(
                    StatusCode::FORBIDDEN,
                    Some(&access),
                    "Your token is read-only: this needs an operator's token.",
                )
            };
            let client = auth::client_ip(&request);
            audit::record(Some(&caller), &method, &path, client, response.status());
            return response;
        }
        if method != Method::GET {
            return view::error(
                StatusCode::METHOD_NOT_ALLOWED,
                Some(&access),
                "Not allowed.",
            );
        }
        self.get(&access, &path, &query, fragment).await
    }

    async fn get(
        &self,
        access: &Access,
        path: &str,
        query: &Query,
        fragment: bool,
    ) -> Response<Full<Bytes>> {
        let store = self.store.as_ref();
        let clock = self.clock();
        let flash = view::flash_of(query.get("done"));
        let ctx = campaigns::Ctx {
            store,
            eta: self.eta.as_ref(),
            progress: &self.console.progress,
            clock: &clock,
        };
        match path {
            "/" => campaigns::list_page(&ctx, access, fragment).await,
            "/escalations" => escalations::list_page(store, &clock, access, query).await,
            "/scorecards" => {
                scorecards::page(&self.store, &self.console.reports, &clock, access, query).await
            }
            "/dead-letters" => dead_letters::page(store, access).await,
            "/officials" => officials::list_page(self, access).await,
            "/health" => {
                health_page::page(store, &self.metrics, self.console.gate.as_ref(), access).await
            }
            p => {
                if let Some(id) = p.strip_prefix("/campaigns/").filter(|id| !id.contains('/')) {
                    return campaigns::detail_page(&ctx, access, id, fragment, flash).await;
                }
                if let Some(id) = p
                    .strip_prefix("/escalations/")
                    .filter(|id| !id.contains('/'))
                {
                    return escalations::detail_page(store, &clock, access, id, flash).await;
                }
                if let Some(id) = p.strip_prefix("/officials/").filter(|id| !id.contains('/')) {
                    return officials::detail_page(self, access, id, None, StatusCode::OK).await;
                }
                view::error(
                    StatusCode::NOT_FOUND,
                    Some(access),
                    "There is no such page.",
                )
            }
        }
    }

    async fn post(&self, access: &Access, path: &str, form: &Form) -> Response<Full<Bytes>> {
        let store = self.store.as_ref();
        if path == "/logout" {
            if let Access::Session { id, .. } = access {
                self.console.sessions.end(id);
            }
            let mut r = view::redirect("/login");
            if let Ok(v) = HeaderValue::from_str(&auth::cleared_cookie()) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            return r;
        }
        if let Some((id, verb)) = path
            .strip_prefix("/campaigns/")
            .and_then(|r| r.split_once('/'))
        {
            return campaigns::control(store, access, id, verb, form).await;
        }
        if let Some(id) = path
            .strip_prefix("/escalations/")
            .and_then(|r| r.strip_suffix("/ack"))
        {
            return escalations::acknowledge(store, access, id, form).await;
        }
        if let Some(id) = path
            .strip_prefix("/officials/")
            .and_then(|r| r.strip_suffix("/call"))
        {
            return officials::call(self, access, id, form).await;
        }
        view::error(
            StatusCode::NOT_FOUND,
            Some(access),
            "There is no such action.",
        )
    }

    /// How times read: in the daemon's calling-window zone.
    fn clock(&self) -> Clock {
        Clock::in_zone(
            self.eta
                .as_ref()
                .map_or("Asia/Kolkata", |e| e.hours.zone_name()),
        )
    }

    fn login_page(&self, status: StatusCode, error: Option<&'static str>) -> Response<Full<Bytes>> {
        if self.access.is_open() {
            return view::redirect("/");
        }
        view::page(
            status,
            &LoginPage {
                chrome: Chrome::bare("Log in"),
                error,
            },
        )
    }

    /// `POST /login`, audited as a write (who: the token's name when right).
    fn login(&self, request: &Request<Bytes>) -> Response<Full<Bytes>> {
        if self.access.is_open() {
            return view::redirect("/");
        }
        let form = Form::of(request.body());
        let given = form.get("token").unwrap_or_default().trim();
        let client = auth::client_ip(request);
        let (who, response) = match self.console.sessions.login(&self.access, given, client) {
            Login::Started(id, caller) => {
                let mut r = view::redirect("/");
                if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&id)) {
                    r.headers_mut().insert(header::SET_COOKIE, v);
                }
                (Some(caller), r)
            }
            Login::Wrong => (
                None,
                self.login_page(StatusCode::UNAUTHORIZED, Some("Wrong token.")),
            ),
            Login::TooMany(wait) => (
                None,
                too_many(
                    self.login_page(
                        StatusCode::TOO_MANY_REQUESTS,
                        Some("Too many wrong tokens from here: wait a minute, then try again."),
                    ),
                    wait,
                ),
            ),
        };
        audit::record(
            who.as_ref(),
            &Method::POST,
            "/login",
            client,
            response.status(),
        );
        response
    }
}

/// `response` with a `Retry-After` of `wait`.
fn too_many(mut response: Response<Full<Bytes>>, wait: Duration) -> Response<Full<Bytes>> {
    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}
