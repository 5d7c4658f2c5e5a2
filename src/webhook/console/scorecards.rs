//! The scorecards page (`/scorecards`): the ranked report
//! (`accountability::report`) by department, office, official or service,
//! drilled down department → office → official by links, sortable by any
//! column, a page of rows at a time, each row with a small trend of its
//! days (inline SVG, no script). Reports are kept between requests
//! (`report_cache.rs`): the page says as of when.
//!
//! | query      | means                                                        |
//! |------------|--------------------------------------------------------------|
//! | by         | `department` (default), `office`, `official`, `service`     |
//! | department | only this department's entities                             |
//! | office     | only this office's (by office or official)                  |
//! | days       | the last N days with scorecards (default 30; `all`)         |
//! | sort, dir  | `rank` (default), `name`, `answered`, `negative`, `share`, `bound`, `rating`; `asc` / `desc` |
//! | page       | 1-based, [`PER_PAGE`] rows each                              |

use std::cmp::Ordering;

use askama::Template;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::auth::Access;
use super::campaigns::unavailable;
use super::router::Query;
use super::view::{self, Chrome, Clock, Nav};
use std::sync::Arc;

use super::report_cache::{Ranked, Reports, narrowed};
use crate::accountability::report::{METHOD, MIN_ANSWERED, Report};
use crate::domain::scorecard::Dimension;
use crate::store::{Store, StoreError};

/// Rows on one page.
pub const PER_PAGE: usize = 100;
/// Days reported unless `days` says otherwise.
pub const DEFAULT_DAYS: i32 = 30;

/// One entity's line.
pub struct ScoreRow {
    pub rank: Option<usize>,
    pub name: String,
    /// Where it belongs (`department / office`), when not filtered to it.
    pub within: String,
    /// The next level down, for departments and offices.
    pub drill: Option<String>,
    pub answered: i64,
    pub negative: i64,
    pub share: String,
    pub bound: String,
    pub rating: String,
    /// The trend as inline SVG (built here from numbers and dates only).
    pub trend: String,
}

/// A sortable column's header.
pub struct Column {
    pub label: &'static str,
    pub href: String,
    /// `ascending` / `descending` when the table is sorted by it.
    pub sorted: Option<&'static str>,
    pub numeric: bool,
}

/// A link of the breadcrumb or the dimension switch.
pub struct Link {
    pub href: String,
    pub label: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "scorecards.html")]
pub struct ScorecardsPage {
    pub chrome: Chrome,
    pub by: &'static str,
    pub dimensions: Vec<Link>,
    pub crumbs: Vec<Link>,
    pub columns: Vec<Column>,
    pub rows: Vec<ScoreRow>,
    pub range: String,
    pub shown: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub method: &'static str,
    pub min_answered: i64,
    pub department: String,
    pub office: String,
    pub days: String,
    /// When the report shown was read.
    pub as_of: String,
    /// The scorecards changed since; a newer report is on its way.
    pub updating: bool,
}

/// The page's query, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    pub by: Dimension,
    pub department: Option<String>,
    pub office: Option<String>,
    /// `None`: every day.
    pub days: Option<i32>,
    pub sort: &'static str,
    pub descending: bool,
    pub page: usize,
}

const SORTS: [(&str, &str, bool); 7] = [
    ("rank", "Rank", true),
    ("name", "Name", false),
    ("answered", "Answered", true),
    ("negative", "Negative", true),
    ("share", "Negative share", true),
    ("bound", "Negative share, at least (95%)", true),
    ("rating", "Mean rating", true),
];

impl Params {
    pub fn parse(query: &Query) -> Result<Params, String> {
        let by = match query.get("by") {
            None | Some("") => Dimension::Department,
            Some(s) => s.parse::<Dimension>()?,
        };
        let nonempty = |k: &str| query.get(k).filter(|v| !v.is_empty()).map(str::to_owned);
        let days = match query.get("days") {
            None | Some("") => Some(DEFAULT_DAYS),
            Some("all") => None,
            Some(n) => match n.parse::<i32>() {
                Ok(n @ 1..=3660) => Some(n),
                _ => {
                    return Err(format!(
                        "days must be a number of days from 1 to 3660, or all; not {n:?}"
                    ));
                }
            },
        };
        let sort = match query.get("sort") {
            None | Some("") => "rank",
            Some(s) => SORTS
                .iter()
                .find(|(k, _, _)| *k == s)
                .map(|(k, _, _)| *k)
                .ok_or_else(|| format!("cannot sort by {s:?}"))?,
        };
        let descending = match query.get("dir") {
            Some("desc") => true,
            Some("asc") => false,
            _ => default_descending(sort),
        };
        let page = query
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1);
        let office =
            nonempty("office").filter(|_| matches!(by, Dimension::Official | Dimension::Office));
        Ok(Params {
            by,
            department: nonempty("department"),
            office,
            days,
            sort,
            descending,
            page,
        })
    }

    /// This page's URL with some parameters changed.
    fn href(&self, change: &[(&str, &str)]) -> String {
        let days = self.days.map_or("all".to_owned(), |d| d.to_string());
        let page = self.page.to_string();
        let mut pairs: Vec<(&str, &str)> = vec![
            ("by", self.by.as_str()),
            ("department", self.department.as_deref().unwrap_or("")),
            ("office", self.office.as_deref().unwrap_or("")),
            ("days", &days),
            ("sort", self.sort),
            ("dir", if self.descending { "desc" } else { "asc" }),
            ("page", &page),
        ];
        for (k, v) in change {
            match pairs.iter_mut().find(|(pk, _)| pk == k) {
                Some(p) => p.1 = v,
                None => pairs.push((k, v)),
            }
        }
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
            .finish();
        format!("/scorecards?{query}")
    }
}

/// Rank and name read best upwards; counts and shares downwards (worst first).
fn default_descending(sort: &str) -> bool {
    !matches!(sort, "rank" | "name")
}

/// `GET /scorecards`.
pub async fn page(
    store: &Arc<dyn Store>,
    reports: &Arc<Reports>,
    clock: &Clock,
    access: &Access,
    query: &Query,
) -> Response<Full<Bytes>> {
    let params = match Params::parse(query) {
        Ok(p) => p,
        Err(e) => return view::error(StatusCode::BAD_REQUEST, Some(access), e),
    };
    match render(store, reports, clock, access, &params).await {
        Ok(page) => view::page(StatusCode::OK, &page),
        Err(e) => unavailable(access, &e),
    }
}

/// Gets the report `params` asks for (kept between requests, see
/// `report_cache.rs`) and lays out its page.
pub async fn render(
    store: &Arc<dyn Store>,
    reports: &Arc<Reports>,
    clock: &Clock,
    access: &Access,
    params: &Params,
) -> Result<ScorecardsPage, StoreError> {
    let mut since = None;
    if let Some(days) = params.days
        && let Some(last) = store.score_days().await?.last().copied()
    {
        since = last
            .checked_sub(jiff::Span::new().days(i64::from(days - 1)))
            .ok();
    }
    let served = reports.get(store, params.by, since).await?;
    let mut page = layout(access, params, &served.report);
    page.as_of = clock.at(served.built_at_ms);
    page.updating = served.updating;
    Ok(page)
}

fn layout(access: &Access, params: &Params, report: &Report) -> ScorecardsPage {
    let range = match (report.since, report.until) {
        (Some(s), Some(u)) if s == u => format!("{s}"),
        (Some(s), Some(u)) => format!("{s} to {u}"),
        _ => "no scorecards yet".to_owned(),
    };
    let days: Vec<jiff::civil::Date> = match (report.since, report.until) {
        (Some(s), Some(u)) => s
            .series(jiff::Span::new().days(1))
            .take_while(|d| *d <= u)
            .take(3660)
            .collect(),
        _ => Vec::new(),
    };
    let mut rows = narrowed(
        report,
        params.department.as_deref(),
        params.office.as_deref(),
    );
    sort(&mut rows, params.sort, params.descending);
    let total = rows.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = params.page.min(pages);
    let start = (page - 1) * PER_PAGE;
    let shown = if total == 0 {
        "none".to_owned()
    } else {
        format!("{}–{} of {total}", start + 1, (start + PER_PAGE).min(total))
    };
    let rows = rows
        .iter()
        .skip(start)
        .take(PER_PAGE)
        .map(|r| row(params, r, &days))
        .collect();
    let page_href = |p: usize| params.href(&[("page", &p.to_string())]);
    ScorecardsPage {
        chrome: Chrome::new("Scorecards", Nav::Scorecards, access),
        by: params.by.as_str(),
        dimensions: dimensions(params),
        crumbs: crumbs(params),
        columns: columns(params),
        rows,
        range,
        shown,
        prev: (page > 1).then(|| page_href(page - 1)),
        next: (page < pages).then(|| page_href(page + 1)),
        method: METHOD,
        min_answered: MIN_ANSWERED,
        department: params.department.clone().unwrap_or_default(),
        office: params.office.clone().unwrap_or_default(),
        days: params.days.map_or("all".to_owned(), |d| d.to_string()),
        as_of: String::new(),
        updating: false,
    }
}

fn sort(rows: &mut [Ranked<'_>], key: &str, descending: bool) {
    let num = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
    // The report's own order is the rank's: ranked worst first, then the rest.
    if key != "rank" {
        rows.sort_by(|a, b| {
            let (a, b) = (a.row, b.row);
            let o = match key {
                "name" => a.entity.name().cmp(b.entity.name()),
                "answered" => a.answered().cmp(&b.answered()),
                "negative" => a.tally.get("negative").cmp(&b.tally.get("negative")),
                "share" => num(a.negative_share).total_cmp(&num(b.negative_share)),
                "bound" => num(a.wilson_lower).total_cmp(&num(b.wilson_lower)),
                "rating" => num(a.tally.mean_rating()).total_cmp(&num(b.tally.mean_rating())),
                _ => Ordering::Equal,
            };
            o.then_with(|| a.entity.cmp(&b.entity))
        });
    }
    if descending {
        rows.reverse();
    }
}

fn row(params: &Params, ranked: &Ranked<'_>, days: &[jiff::civil::Date]) -> ScoreRow {
    let r = ranked.row;
    let path = &r.entity.path;
    let drill = match params.by {
        Dimension::Department => Some(params.href(&[
            ("by", "office"),
            ("department", r.entity.department()),
            ("sort", "rank"),
            ("dir", "asc"),
            ("page", "1"),
        ])),
        Dimension::Office => Some(params.href(&[
            ("by", "official"),
            ("department", r.entity.department()),
            ("office", r.entity.name()),
            ("sort", "rank"),
            ("dir", "asc"),
            ("page", "1"),
        ])),
        _ => None,
    };
    // What the filters do not already say.
    let shown_parents = match (params.department.is_some(), params.office.is_some()) {
        (_, true) => 2,
        (true, false) => 1,
        (false, false) => 0,
    };
    let parents = &path[..path.len().saturating_sub(1)];
    let within = parents
        .iter()
        .skip(shown_parents)
        .cloned()
        .collect::<Vec<_>>()
        .join(" / ");
    ScoreRow {
        rank: ranked.rank,
        name: r.entity.name().to_owned(),
        within,
        drill,
        answered: r.answered(),
        negative: r.tally.get("negative"),
        share: r.negative_share.map_or("—".to_owned(), view::percent),
        bound: r.wilson_lower.map_or("—".to_owned(), view::percent),
        rating: r
            .tally
            .mean_rating()
            .map_or("—".to_owned(), |m| format!("{m:.1}")),
        trend: super::trend::svg(&r.days, days),
    }
}

fn columns(params: &Params) -> Vec<Column> {
    SORTS
        .iter()
        .map(|(key, label, numeric)| {
            let sorted = (*key == params.sort).then_some(if params.descending {
                "descending"
            } else {
                "ascending"
            });
            // A click on the sorted column turns it round; on another, its
            // natural direction.
            let descending = if sorted.is_some() {
                !params.descending
            } else {
                default_descending(key)
            };
            Column {
                label,
                href: params.href(&[
                    ("sort", key),
                    ("dir", if descending { "desc" } else { "asc" }),
                    ("page", "1"),
                ]),
                sorted,
                numeric: *numeric,
            }
        })
        .collect()
}

fn dimensions(params: &Params) -> Vec<Link> {
    Dimension::ALL
        .iter()
        .map(|d| Link {
            href: params.href(&[
                ("by", d.as_str()),
                ("page", "1"),
                ("sort", "rank"),
                ("dir", "asc"),
            ]),
            label: match d {
                Dimension::Department => "Departments",
                Dimension::Office => "Offices",
                Dimension::Official => "Officials",
                Dimension::Service => "Services",
            }
            .to_owned(),
            current: *d == params.by,
        })
        .collect()
}

fn crumbs(params: &Params) -> Vec<Link> {
    let mut crumbs = vec![Link {
        href: params.href(&[
            ("by", "department"),
            ("department", ""),
            ("office", ""),
            ("page", "1"),
        ]),
        label: "All departments".to_owned(),
        current: params.department.is_none(),
    }];
    if let Some(d) = &params.department {
        crumbs.push(Link {
            href: params.href(&[("by", "office"), ("office", ""), ("page", "1")]),
            label: d.clone(),
            current: params.office.is_none(),
        });
    }
    if let Some(o) = &params.office {
        crumbs.push(Link {
            href: params.href(&[("by", "official"), ("page", "1")]),
            label: o.clone(),
            current: true,
        });
    }
    crumbs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Query {
        Query::parse(Some(q))
    }

    #[test]
    fn parameters_are_checked_and_links_keep_them() {
        let p = Params::parse(&query(
            "by=official&department=police&office=Puri+PS&sort=share",
        ))
        .unwrap();
        assert_eq!(p.by, Dimension::Official);
        assert_eq!(p.office.as_deref(), Some("Puri PS"));
        assert!(p.descending, "shares sort worst first");
        assert_eq!(p.days, Some(DEFAULT_DAYS));
        let href = p.href(&[("page", "2")]);
        assert!(
            href.contains("office=Puri+PS") && href.contains("page=2"),
            "{href}"
        );
        assert!(Params::parse(&query("by=planet")).is_err());
        assert!(Params::parse(&query("sort=phone")).is_err());
        assert!(Params::parse(&query("days=0")).is_err());
        // An office filter means nothing for departments.
        assert_eq!(Params::parse(&query("office=x")).unwrap().office, None);
    }
}
