//! What every console page shares: the layout's data ([`Chrome`]), HTML
//! responses with their security headers, redirects, and how times, shares
//! and durations read.

use askama::Template;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::auth::Access;

/// The pages in the navigation, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    Campaigns,
    Escalations,
    Scorecards,
    Officials,
    DeadLetters,
    Health,
    /// A page outside the navigation (login, errors).
    None,
}

const NAV: [(Nav, &str, &str); 6] = [
    (Nav::Campaigns, "/", "Campaigns"),
    (Nav::Escalations, "/escalations", "Escalations"),
    (Nav::Scorecards, "/scorecards", "Scorecards"),
    (Nav::Officials, "/officials", "Officials"),
    (Nav::DeadLetters, "/dead-letters", "Dead letters"),
    (Nav::Health, "/health", "Health"),
];

/// One navigation link.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The layout's data (`base.html`): title, navigation, the CSRF token of
/// the logout form, the open-console banner and a message after an action.
pub struct Chrome {
    pub title: String,
    pub nav: Nav,
    pub csrf: String,
    /// No admin token is configured.
    pub open: bool,
    /// Logged in with a cookie (offer to log out).
    pub session: bool,
    /// What the last action did (a fixed sentence, never echoed input).
    pub flash: Option<&'static str>,
    /// Cache-busting version of the static files.
    pub version: &'static str,
}

impl Chrome {
    pub fn new(title: impl Into<String>, nav: Nav, access: &Access) -> Chrome {
        Chrome {
            title: title.into(),
            nav,
            csrf: access.csrf().to_owned(),
            open: matches!(access, Access::Open { .. }),
            session: matches!(access, Access::Session { .. }),
            flash: None,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// Outside any session (the login page, refusals).
    pub fn bare(title: impl Into<String>) -> Chrome {
        Chrome {
            title: title.into(),
            nav: Nav::None,
            csrf: String::new(),
            open: false,
            session: false,
            flash: None,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    pub fn with_flash(mut self, flash: Option<&'static str>) -> Chrome {
        self.flash = flash;
        self
    }

    pub fn nav_items(&self) -> Vec<NavItem> {
        if self.nav == Nav::None {
            return Vec::new();
        }
        NAV.iter()
            .map(|(nav, href, label)| NavItem {
                href,
                label,
                current: *nav == self.nav,
            })
            .collect()
    }
}

/// A refusal or a failure, as a page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub message: String,
    /// Where to go from here.
    pub back: Option<(&'static str, &'static str)>,
}

/// Renders `page` with `status`.
pub fn page(status: StatusCode, page: &impl Template) -> Response<Full<Bytes>> {
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(error = %e, "a console page failed to render");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>error</title><p>The page failed to render.</p>".to_owned(),
            )
        }
    }
}

/// An error page with `message`, inside the console's layout.
pub fn error(
    status: StatusCode,
    access: Option<&Access>,
    message: impl Into<String>,
) -> Response<Full<Bytes>> {
    let title = status.canonical_reason().unwrap_or("Error");
    let chrome = match access {
        Some(access) => Chrome::new(title, Nav::None, access),
        None => Chrome::bare(title),
    };
    page(
        status,
        &ErrorPage {
            chrome,
            message: message.into(),
            back: Some(("/", "Back to the campaigns")),
        },
    )
}

/// An HTML response with the console's headers: no caching, no framing, no
/// script or style from elsewhere, no inline script.
pub fn html(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    secure_headers(&mut r, "text/html; charset=utf-8");
    r
}

fn secure_headers(r: &mut Response<Full<Bytes>>, content_type: &'static str) {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// `303 See Other` to `location` (after a form, or to the login page).
pub fn redirect(location: &str) -> Response<Full<Bytes>> {
    let mut r = html(StatusCode::SEE_OTHER, String::new());
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A static file served from the binary.
pub fn asset(content_type: &'static str, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    secure_headers(&mut r, content_type);
    // Versioned by the `?v=` in the links: a new build gets a new URL.
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    r
}

/// How times read: in the programme's zone, to the second.
#[derive(Clone, Debug)]
pub struct Clock {
    zone: TimeZone,
}

impl Clock {
    /// The zone named `name` (IANA), else India's.
    pub fn in_zone(name: &str) -> Clock {
        let zone = jiff::tz::db()
            .get(name)
            .or_else(|_| jiff::tz::db().get("Asia/Kolkata"))
            .unwrap_or(TimeZone::UTC);
        Clock { zone }
    }

    /// `2026-11-30 18:44:05 IST`.
    pub fn at(&self, ms: i64) -> String {
        match Timestamp::from_millisecond(ms) {
            Ok(t) => t
                .to_zoned_datetime(self.zone.clone())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string(),
            Err(_) => "—".to_owned(),
        }
    }
}

/// `0.1234` → `12.3%`.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A duration for people: `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`.
pub fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// The message a `?done=` after an action stands for; unknown values show
/// nothing, so a link cannot put words in the console's mouth.
pub fn flash_of(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "paused" => "Campaign paused: no new calls until it is resumed; calls in progress finish.",
        "resumed" => "Campaign resumed.",
        "cancelled" => "Campaign cancelled: contacts not yet called will not be called.",
        "still-cancelled" => "The campaign is cancelled; it cannot be paused or resumed.",
        "acknowledged" => "Escalation acknowledged.",
        "call-queued" => {
            "Call queued: sampark will call the official, then connect the citizen, within the official's quota and calling hours."
        }
        "already" => {
            "Someone had already acknowledged this escalation; their acknowledgement stands."
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_the_programme_zone() {
        let clock = Clock::in_zone("Asia/Kolkata");
        assert_eq!(clock.at(1_796_000_000_000), "2026-11-30 06:23:20 IST");
        assert_eq!(Clock::in_zone("no/such").at(0), "1970-01-01 05:30:00 IST");
    }

    #[test]
    fn spans_and_shares() {
        assert_eq!(span(45_000), "45 s");
        assert_eq!(span(12 * 60_000 + 5), "12 min");
        assert_eq!(span(3 * 3_600_000 + 5 * 60_000), "3 h 05 min");
        assert_eq!(span(50 * 3_600_000), "2 d 2 h");
        assert_eq!(percent(0.1234), "12.3%");
        assert!(flash_of(Some("paused")).is_some());
        assert_eq!(flash_of(Some("<script>")), None);
    }
}
