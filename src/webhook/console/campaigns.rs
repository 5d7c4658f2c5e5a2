//! The campaign pages: the list with live progress (`/`), one campaign with
//! its officials (`/campaigns/{id}`), and its pause, resume and cancel
//! buttons (`POST /campaigns/{id}/pause|resume|cancel`), which do what the
//! admin API's do (`store.control_campaign`).

use askama::Template;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::auth::Access;
use super::progress::{Progress, Rate};
use super::router::Form;
use super::view::{self, Chrome, Clock, Nav};
use crate::dialer::{ETA_ASSUMES, EtaLimits, estimate};
use crate::domain::{CampaignId, JobState};
use crate::store::{CampaignAction, CampaignState, CampaignStatus, Store, StoreError};

/// One campaign's line: its state, progress, rate and estimate.
pub struct CampaignRow {
    pub id: String,
    pub name: String,
    pub state: &'static str,
    pub hangup: bool,
    pub total: u64,
    pub finished: u64,
    /// Whole percent finished, for the `<progress>` text.
    pub percent: u64,
    pub queued: u64,
    pub retry_wait: u64,
    pub dialing: u64,
    pub in_call: u64,
    /// `12.5 / min (over 3 min)`; `None` until measured.
    pub rate: Option<String>,
    /// When the remaining contacts would all have had a call, and how far
    /// off that is; `None` when finished, paused, cancelled or unknown.
    pub eta: Option<(String, String)>,
    /// Contacts ready to be dialled now.
    pub ready_now: Option<u64>,
}

impl CampaignRow {
    pub fn is_finished(&self) -> bool {
        self.total > 0 && self.finished == self.total
    }
}

/// Finished contacts by outcome, or one official's counts.
pub struct Count {
    pub label: String,
    pub n: u64,
}

/// One official's line on a campaign's page.
pub struct OfficialRow {
    pub official: String,
    pub total: u64,
    pub finished: u64,
    pub waiting: u64,
    pub in_progress: u64,
    pub outcomes: String,
}

/// The campaign list's live part (`?fragment=live`).
#[derive(Template)]
#[template(path = "campaigns_live.html")]
pub struct CampaignsLive {
    pub rows: Vec<CampaignRow>,
    pub updated: String,
    pub eta_assumes: &'static str,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
pub struct CampaignsPage {
    pub chrome: Chrome,
    pub live: CampaignsLive,
}

/// One campaign's live part.
#[derive(Template)]
#[template(path = "campaign_live.html")]
pub struct CampaignLive {
    pub row: CampaignRow,
    pub outcomes: Vec<Count>,
    pub waiting: Vec<(String, u64, String)>,
    pub officials: Vec<OfficialRow>,
    pub updated: String,
    pub eta_assumes: &'static str,
}

#[derive(Template)]
#[template(path = "campaign.html")]
pub struct CampaignPage {
    pub chrome: Chrome,
    pub id: String,
    pub department: String,
    pub dialplan: String,
    pub can_pause: bool,
    pub can_resume: bool,
    pub can_cancel: bool,
    pub live: CampaignLive,
}

/// What the campaign pages need besides the store.
pub struct Ctx<'a> {
    pub store: &'a dyn Store,
    pub eta: Option<&'a EtaLimits>,
    pub progress: &'a Progress,
    pub clock: &'a Clock,
}

impl Ctx<'_> {
    async fn row(&self, status: &CampaignStatus, now_ms: i64) -> Result<CampaignRow, StoreError> {
        let count = |s: &str| status.counts.get(s).copied().unwrap_or(0);
        let (total, finished) = (status.total(), status.finished());
        let rate = self
            .progress
            .observe(&status.header.id, now_ms, finished)
            .map(
                |Rate {
                     per_minute,
                     over_ms,
                 }| {
                    format!("{per_minute:.1} / min (over {})", view::span(over_ms))
                },
            );
        let mut row = CampaignRow {
            id: status.header.id.as_str().to_owned(),
            name: status.header.name.clone(),
            state: status.state.as_str(),
            hangup: matches!(status.state, CampaignState::Cancelled { hangup: true }),
            total,
            finished,
            percent: (finished * 100).checked_div(total).unwrap_or(0),
            queued: count("queued"),
            retry_wait: count("retry_wait"),
            dialing: count("dialing"),
            in_call: count("in_call"),
            rate,
            eta: None,
            ready_now: None,
        };
        // Waiting contacts are read by scanning the delayed sets: only for
        // campaigns that still dial.
        if status.state == CampaignState::Active && !row.is_finished() {
            let waiting = self.store.waiting(&status.header.id).await?;
            let estimate = estimate(status, &waiting, self.eta, now_ms);
            row.ready_now = Some(estimate.ready_now);
            row.eta = estimate
                .eta_ms
                .map(|at| (self.clock.at(at), view::span(at - now_ms)));
        }
        Ok(row)
    }

    /// Every campaign, newest state first as the store lists them.
    pub async fn list(&self) -> Result<CampaignsLive, StoreError> {
        let now_ms = self.store.now_ms().await?;
        let mut rows = Vec::new();
        for id in self.store.campaigns().await? {
            if let Some(status) = self.store.campaign_status(&id).await? {
                rows.push(self.row(&status, now_ms).await?);
            }
        }
        // Unfinished first, then by id.
        rows.sort_by(|a, b| (a.is_finished(), &a.id).cmp(&(b.is_finished(), &b.id)));
        Ok(CampaignsLive {
            rows,
            updated: self.clock.at(now_ms),
            eta_assumes: ETA_ASSUMES,
        })
    }

    /// One campaign; `None` if unknown.
    pub async fn detail(
        &self,
        id: &CampaignId,
    ) -> Result<Option<(CampaignStatus, CampaignLive)>, StoreError> {
        let Some(status) = self.store.campaign_status(id).await? else {
            return Ok(None);
        };
        let now_ms = self.store.now_ms().await?;
        let row = self.row(&status, now_ms).await?;
        let outcomes = status
            .counts
            .iter()
            .filter(|(k, n)| **n > 0 && k.parse::<JobState>().is_ok_and(JobState::is_terminal))
            .map(|(k, n)| Count {
                label: k.replace('_', " "),
                n: *n,
            })
            .collect();
        let waiting = if matches!(status.state, CampaignState::Cancelled { .. }) {
            Vec::new()
        } else {
            let w = self.store.waiting(id).await?;
            let mut rows: Vec<(String, u64, String)> = w
                .reasons
                .iter()
                .map(|r| {
                    (
                        r.reason.clone(),
                        r.contacts,
                        format!(
                            "{} – {}",
                            self.clock.at(r.first_due_ms),
                            self.clock.at(r.last_due_ms)
                        ),
                    )
                })
                .collect();
            if w.parked > 0 {
                rows.push((
                    "parked while paused".to_owned(),
                    w.parked,
                    "when resumed".to_owned(),
                ));
            }
            rows
        };
        let officials = status
            .officials
            .iter()
            .map(|(official, states)| official_row(official.as_str(), states))
            .collect();
        let live = CampaignLive {
            row,
            outcomes,
            waiting,
            officials,
            updated: self.clock.at(now_ms),
            eta_assumes: ETA_ASSUMES,
        };
        Ok(Some((status, live)))
    }
}

fn official_row(official: &str, states: &std::collections::BTreeMap<String, u64>) -> OfficialRow {
    let get = |s: &str| states.get(s).copied().unwrap_or(0);
    let mut outcomes = Vec::new();
    let mut finished = 0;
    for (state, n) in states {
        if *n > 0 && state.parse::<JobState>().is_ok_and(JobState::is_terminal) {
            finished += n;
            outcomes.push(format!("{} {n}", state.replace('_', " ")));
        }
    }
    OfficialRow {
        official: official.to_owned(),
        total: states.values().sum(),
        finished,
        waiting: get("queued") + get("retry_wait"),
        in_progress: get("dialing") + get("in_call"),
        outcomes: outcomes.join(", "),
    }
}

/// `GET /` (or its live part).
pub async fn list_page(ctx: &Ctx<'_>, access: &Access, fragment: bool) -> Response<Full<Bytes>> {
    match ctx.list().await {
        Ok(live) if fragment => view::page(StatusCode::OK, &live),
        Ok(live) => view::page(
            StatusCode::OK,
            &CampaignsPage {
                chrome: Chrome::new("Campaigns", Nav::Campaigns, access),
                live,
            },
        ),
        Err(e) => unavailable(access, &e),
    }
}

/// `GET /campaigns/{id}` (or its live part).
pub async fn detail_page(
    ctx: &Ctx<'_>,
    access: &Access,
    raw_id: &str,
    fragment: bool,
    flash: Option<&'static str>,
) -> Response<Full<Bytes>> {
    let Ok(id) = CampaignId::parse(raw_id) else {
        return view::error(
            StatusCode::NOT_FOUND,
            Some(access),
            "There is no such campaign.",
        );
    };
    match ctx.detail(&id).await {
        Ok(Some((_, live))) if fragment => view::page(StatusCode::OK, &live),
        Ok(Some((status, live))) => {
            let cancelled = matches!(status.state, CampaignState::Cancelled { .. });
            let page = CampaignPage {
                chrome: Chrome::new(
                    format!("Campaign {}", status.header.name),
                    Nav::Campaigns,
                    access,
                )
                .with_flash(flash),
                id: id.as_str().to_owned(),
                department: status.header.department.clone(),
                dialplan: status.header.dialplan.clone(),
                can_pause: status.state == CampaignState::Active,
                can_resume: status.state == CampaignState::Paused,
                can_cancel: !cancelled && !live.row.is_finished(),
                live,
            };
            view::page(StatusCode::OK, &page)
        }
        Ok(None) => view::error(
            StatusCode::NOT_FOUND,
            Some(access),
            format!("There is no campaign {id}."),
        ),
        Err(e) => unavailable(access, &e),
    }
}

/// `POST /campaigns/{id}/{verb}`: pause, resume or cancel (with
/// `hangup=on` to hang up calls in progress, and `confirm=on`, as cancelling
/// is final).
pub async fn control(
    store: &dyn Store,
    access: &Access,
    raw_id: &str,
    verb: &str,
    form: &Form,
) -> Response<Full<Bytes>> {
    let action = match verb {
        "pause" => CampaignAction::Pause,
        "resume" => CampaignAction::Resume,
        "cancel" if form.checked("confirm") => CampaignAction::Cancel {
            hangup: form.checked("hangup"),
        },
        "cancel" => {
            return view::error(
                StatusCode::BAD_REQUEST,
                Some(access),
                "Cancelling is final: tick the box that confirms it.",
            );
        }
        _ => return view::error(StatusCode::NOT_FOUND, Some(access), "No such action."),
    };
    let Ok(id) = CampaignId::parse(raw_id) else {
        return view::error(
            StatusCode::NOT_FOUND,
            Some(access),
            "There is no such campaign.",
        );
    };
    let done = match store.control_campaign(&id, action).await {
        Ok(Some(CampaignState::Cancelled { .. }))
            if !matches!(action, CampaignAction::Cancel { .. }) =>
        {
            "still-cancelled"
        }
        Ok(Some(CampaignState::Active)) => "resumed",
        Ok(Some(CampaignState::Paused)) => "paused",
        Ok(Some(CampaignState::Cancelled { .. })) => "cancelled",
        Ok(None) => {
            return view::error(
                StatusCode::NOT_FOUND,
                Some(access),
                format!("There is no campaign {id}."),
            );
        }
        Err(e) => return unavailable(access, &e),
    };
    tracing::info!(campaign.id = %id, action = action.as_str(), "campaign control from the console");
    view::redirect(&format!("/campaigns/{}?done={done}", id.as_str()))
}

pub fn unavailable(access: &Access, e: &StoreError) -> Response<Full<Bytes>> {
    view::error(
        StatusCode::SERVICE_UNAVAILABLE,
        Some(access),
        format!("The store did not answer: {e}. Try again in a moment."),
    )
}
