//! The operator console.
//!
//! `console_in_chromium`: a real headless Chromium (WebDriver, chromedriver)
//! against the real daemon on a real redis-server with the simulator as the
//! provider: a wrong token is refused, the right one logs in; a running
//! campaign's progress changes on screen (the page's own refresh); it is
//! paused and resumed with its buttons; an escalation (a citizen said money
//! was asked for) is opened and acknowledged; the scorecards rank the
//! officials; the dead letters show a refused document; no page shows a
//! phone number; the layout stacks on a phone's screen. Screenshots go to
//! the target directory, or to `docs/screenshots/` (the README's) with
//! `SAMPARK_SCREENSHOTS=docs`.
//!
//! `console_over_http`: the same listener over plain HTTP: redirects, the
//! cookie's attributes, bearer access, CSRF refusals, the failed-login limit,
//! security headers, and the open console when no token is configured.

#[path = "console/browser.rs"]
mod browser;
#[path = "console/chromium.rs"]
mod chromium;
#[path = "console/http_pages.rs"]
mod http_pages;
mod support;

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const TOKEN: &str = "console-test-admin-token";
pub const CAMPAIGN: &str = "console-demo";
/// A number only the refused document holds.
pub const REFUSED_PHONE: &str = "+919612345678";

/// A raw HTTP/1.1 exchange: (status, head, body).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Fails if `html` shows any of `phones` (E.164 or national) or a bare run
/// of ten or more digits (a number in any other spelling).
pub fn assert_no_phone(html: &str, phones: &[String], page: &str) {
    for phone in phones {
        let national = &phone[phone.len() - 10..];
        assert!(
            !html.contains(phone.as_str()) && !html.contains(national),
            "{page} shows the phone number {phone}"
        );
    }
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let bounded = |b: Option<&u8>| b.is_none_or(|b| !b.is_ascii_alphanumeric());
            if i - start >= 10
                && bounded(start.checked_sub(1).and_then(|s| bytes.get(s)))
                && bounded(bytes.get(i))
            {
                panic!(
                    "{page} shows a run of {} digits: {}",
                    i - start,
                    &html[start..i]
                );
            }
        } else {
            i += 1;
        }
    }
}
