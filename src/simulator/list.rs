//! `GET Calls.json`: the call list with Twilio's filters and page envelope.
//!
//! Owns: filter parsing (`To`, `From`, `Status`, `StartTime`, `StartTime>`,
//! `StartTime<`, `EndTime…`) and paging. Does not own: the records.

use http::StatusCode;
use serde_json::json;

use super::api::{Params, Reply, error, first, ok};
use super::clock::{day_of, parse_filter_date};
use super::registry::{CallRecord, call_resource};
use super::server::Shared;
use crate::domain::PhoneNumber;

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;

/// A time filter: on the given day, at/after, or at/before.
#[derive(Clone, Copy, Debug, Default)]
struct TimeFilter {
    on_day: Option<i64>,
    from_ms: Option<i64>,
    until_ms: Option<i64>,
}

impl TimeFilter {
    fn parse(form: &Params, name: &str) -> Result<Self, String> {
        let date = |key: String| -> Result<Option<(i64, bool)>, String> {
            first(form, &key)
                .map(|v| {
                    let date_only = v.trim().len() == 10;
                    parse_filter_date(v)
                        .map(|ms| (ms, date_only))
                        .ok_or_else(|| format!("{key} is not a date: {v:?}"))
                })
                .transpose()
        };
        Ok(Self {
            on_day: date(name.to_owned())?.map(|(ms, _)| day_of(ms)),
            from_ms: date(format!("{name}>"))?.map(|(ms, _)| ms),
            // `StartTime<=2026-11-28` includes that whole day.
            until_ms: date(format!("{name}<"))?
                .map(|(ms, date_only)| if date_only { ms + 86_399_999 } else { ms }),
        })
    }

    fn accepts(&self, at_ms: Option<i64>) -> bool {
        let checks = [
            self.on_day.is_some(),
            self.from_ms.is_some(),
            self.until_ms.is_some(),
        ];
        if !checks.contains(&true) {
            return true;
        }
        let Some(at) = at_ms else { return false };
        self.on_day.is_none_or(|d| day_of(at) == d)
            && self.from_ms.is_none_or(|f| at >= f)
            && self.until_ms.is_none_or(|u| at <= u)
    }
}

/// Numbers compare in E.164 form when they parse, as typed otherwise.
fn same_number(filter: Option<&str>, number: &PhoneNumber) -> bool {
    filter.is_none_or(|f| match PhoneNumber::parse(f) {
        Ok(parsed) => &parsed == number,
        Err(_) => f == number.as_str(),
    })
}

pub(crate) fn list_calls(shared: &Shared, query: &Params) -> Reply {
    let bad = |message: String| error(StatusCode::BAD_REQUEST, 20001, &message);
    let (start, end) = match (
        TimeFilter::parse(query, "StartTime"),
        TimeFilter::parse(query, "EndTime"),
    ) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(m), _) | (_, Err(m)) => return bad(m),
    };
    let page_size = match first(query, "PageSize").map(str::parse::<usize>) {
        None => DEFAULT_PAGE_SIZE,
        Some(Ok(n)) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        Some(_) => return bad(format!("PageSize must be 1 to {MAX_PAGE_SIZE}")),
    };
    let Ok(page) = first(query, "Page").map_or(Ok(0), str::parse::<usize>) else {
        return bad("Page must be a number".into());
    };
    let status = first(query, "Status");
    let (to, from) = (first(query, "To"), first(query, "From"));
    let keep = |c: &CallRecord| {
        same_number(to, &c.to)
            && same_number(from, &c.from)
            && status.is_none_or(|s| c.status.as_str() == s)
            && start.accepts(Some(c.started_ms()))
            && end.accepts(c.end_ms)
    };
    let all = shared.registry.list(keep);
    let account = &shared.config.account_sid;
    let first_index = page.saturating_mul(page_size);
    let calls: Vec<_> = all
        .iter()
        .skip(first_index)
        .take(page_size)
        .map(|c| call_resource(c, account))
        .collect();
    let base = format!("/2010-04-01/Accounts/{account}/Calls.json");
    let page_uri = |p: usize| format!("{base}?PageSize={page_size}&Page={p}");
    let has_next = first_index + calls.len() < all.len();
    let body = json!({
        "first_page_uri": page_uri(0),
        "end": (first_index + calls.len()).saturating_sub(1),
        "previous_page_uri": (page > 0).then(|| page_uri(page - 1)),
        "calls": calls,
        "uri": page_uri(page),
        "page_size": page_size,
        "start": first_index,
        "next_page_uri": has_next.then(|| page_uri(page + 1)),
        "page": page,
    });
    ok(StatusCode::OK, &body)
}
