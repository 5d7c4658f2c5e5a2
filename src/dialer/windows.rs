//! The calling window each job is held to: its campaign's, else the daemon's
//! (`[policy.calling_window]`).
//!
//! The grant (`Store::authorize`) returns the job, whose spec carries its
//! campaign's window, so the check at the grant's time needs no read. The
//! check before authorising sees only the ready entry (job id, official), so
//! it takes the window from a small per-campaign cache, filled from the
//! stored campaign header on a miss: one read per campaign per instance,
//! not one per entry.
//!
//! A stored header never changes (`put_campaign` keeps the first and refuses
//! a different one), so a cached window cannot go stale while the data
//! lives. Should the data go (Redis flushed, the campaign submitted again
//! with another window), the grant corrects the cache: the job's own window
//! is authoritative and replaces a cached one that differs. The check before
//! authorising is a filter that spares a grant; the check at the grant is
//! the rule.
//!
//! Owns: choosing a job's window, the cache and its bound. Does not own: the
//! window's arithmetic (`crate::policy`) or acting on it (`dispatch.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tracing::warn;

use crate::domain::{CampaignId, JobSpec};
use crate::policy::CallingWindow;
use crate::store::{Store, StoreError};

/// Campaigns whose windows one instance keeps. Past it, an arbitrary entry
/// makes room (a later miss costs one read of a header).
pub const CACHED_CAMPAIGNS: usize = 1024;

/// Per-campaign calling windows, for one dispatch loop.
#[derive(Debug)]
pub struct CampaignWindows {
    daemon: Arc<CallingWindow>,
    cache: Mutex<HashMap<CampaignId, Arc<CallingWindow>>>,
    capacity: usize,
}

impl CampaignWindows {
    /// Windows falling back to `daemon`, keeping at most `capacity` campaigns.
    pub fn new(daemon: CallingWindow, capacity: usize) -> Self {
        Self {
            daemon: Arc::new(daemon),
            cache: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The window of `campaign`, from the cache or its stored header. A
    /// campaign without a stored header (its data lost) gets the daemon's,
    /// until one of its grants says otherwise.
    pub async fn for_campaign(
        &self,
        store: &dyn Store,
        campaign: &CampaignId,
    ) -> Result<Arc<CallingWindow>, StoreError> {
        if let Some(window) = self.lock().get(campaign) {
            return Ok(window.clone());
        }
        let window = match store.campaign_header(campaign).await? {
            Some(header) => header
                .calling_window
                .map_or_else(|| self.daemon.clone(), Arc::new),
            None => {
                warn!(campaign.id = %campaign, "ready work of a campaign with no stored header; holding it to the daemon's calling window");
                self.daemon.clone()
            }
        };
        self.insert(campaign.clone(), window.clone());
        Ok(window)
    }

    /// The window of a granted job (its spec's, else the daemon's), which
    /// also corrects the cache should it hold another for the campaign.
    pub fn for_job(&self, spec: &JobSpec) -> Arc<CallingWindow> {
        let own = spec.calling_window.as_ref().unwrap_or(self.daemon.as_ref());
        if let Some(cached) = self.lock().get(&spec.campaign_id)
            && cached.as_ref() == own
        {
            return cached.clone();
        }
        let window = match &spec.calling_window {
            Some(window) => Arc::new(window.clone()),
            None => self.daemon.clone(),
        };
        self.insert(spec.campaign_id.clone(), window.clone());
        window
    }

    /// Campaigns cached now.
    #[cfg(test)]
    fn cached(&self) -> usize {
        self.lock().len()
    }

    fn insert(&self, campaign: CampaignId, window: Arc<CallingWindow>) {
        let mut cache = self.lock();
        if cache.len() >= self.capacity
            && !cache.contains_key(&campaign)
            && let Some(evict) = cache.keys().next().cloned()
        {
            cache.remove(&evict);
        }
        cache.insert(campaign, window);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CampaignId, Arc<CallingWindow>>> {
        // Every update is a single insert or remove: a panic elsewhere while
        // the lock was held cannot leave the map half changed.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CampaignHeader, Contact, ContactId, OfficialId, PhoneNumber};
    use crate::policy::WindowSpec;
    use crate::store::memory::MemoryStore;

    fn window(ranges: &[&str]) -> CallingWindow {
        CallingWindow::from_spec(&WindowSpec {
            zone: "Europe/London".into(),
            ranges: ranges.iter().map(|r| (*r).to_owned()).collect(),
            ..WindowSpec::default()
        })
        .unwrap()
    }

    fn header(id: &str, calling_window: Option<CallingWindow>) -> CampaignHeader {
        CampaignHeader {
            machine_detection: false,
            kind: crate::domain::CampaignKind::Survey,
            sample_max_per_office_per_day: None,
            priority: Default::default(),
            calling_window,
            retry: None,
            sample_rate: None,
            freshness: Default::default(),
            id: CampaignId::parse(id).unwrap(),
            name: "n".into(),
            dialplan: "d".into(),
            caller_id: PhoneNumber::parse("+916742000000").unwrap(),
            department: "home".into(),
        }
    }

    fn spec(header: &CampaignHeader) -> JobSpec {
        JobSpec::new(
            header,
            Contact {
                id: ContactId::parse("c").unwrap(),
                phone: PhoneNumber::parse("+919876543210").unwrap(),
                language: None,
                official_id: OfficialId::parse("o").unwrap(),
                office: "x".into(),
                service: "y".into(),
                visit_at_ms: None,
                first_name: None,
            },
        )
    }

    #[tokio::test]
    async fn the_campaign_window_is_read_once_and_the_daemon_one_is_the_fallback() {
        let store = MemoryStore::new(1);
        let own = header("own", Some(window(&["10:00-12:00"])));
        let plain = header("plain", None);
        store.put_campaign(&own).await.unwrap();
        store.put_campaign(&plain).await.unwrap();
        let windows = CampaignWindows::new(CallingWindow::default(), 8);

        let got = windows.for_campaign(&store, &own.id).await.unwrap();
        assert_eq!(*got, window(&["10:00-12:00"]));
        let daemon = windows.for_campaign(&store, &plain.id).await.unwrap();
        assert_eq!(*daemon, CallingWindow::default());
        let missing = CampaignId::parse("gone").unwrap();
        let fallback = windows.for_campaign(&store, &missing).await.unwrap();
        assert_eq!(*fallback, CallingWindow::default());
        assert_eq!(windows.cached(), 3);

        // Served from the cache: the same allocation, no second read.
        let again = windows.for_campaign(&store, &own.id).await.unwrap();
        assert!(Arc::ptr_eq(&got, &again));
        assert!(Arc::ptr_eq(&windows.for_job(&spec(&own)), &got));
        assert_eq!(*windows.for_job(&spec(&plain)), CallingWindow::default());
    }

    #[tokio::test]
    async fn a_grant_corrects_a_cached_window_that_differs() {
        let store = MemoryStore::new(1);
        let before = header("c", Some(window(&["10:00-12:00"])));
        store.put_campaign(&before).await.unwrap();
        let windows = CampaignWindows::new(CallingWindow::default(), 8);
        windows.for_campaign(&store, &before.id).await.unwrap();

        // The data went and the campaign came back with another window.
        let after = header("c", Some(window(&["14:00-16:00"])));
        assert_eq!(*windows.for_job(&spec(&after)), window(&["14:00-16:00"]));
        let cached = windows.for_campaign(&store, &before.id).await.unwrap();
        assert_eq!(*cached, window(&["14:00-16:00"]));
        // And back to the daemon's when the job names none.
        let none = header("c", None);
        assert_eq!(*windows.for_job(&spec(&none)), CallingWindow::default());
        let cached = windows.for_campaign(&store, &before.id).await.unwrap();
        assert_eq!(*cached, CallingWindow::default());
    }

    #[tokio::test]
    async fn the_cache_is_bounded() {
        let store = MemoryStore::new(1);
        let windows = CampaignWindows::new(CallingWindow::default(), 3);
        for i in 0..10 {
            let h = header(&format!("c{i}"), Some(window(&["10:00-12:00"])));
            store.put_campaign(&h).await.unwrap();
            windows.for_campaign(&store, &h.id).await.unwrap();
            assert!(windows.cached() <= 3);
        }
        assert_eq!(windows.cached(), 3);
    }
}
