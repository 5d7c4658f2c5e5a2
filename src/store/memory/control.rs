//! Operators' campaign commands in memory (`redis/control.rs` and
//! `campaign_control.lua` are the counterpart): pause parks waiting jobs as
//! they are read, resume puts them back, cancel ends every waiting job.

use super::call::end_waiting;
use super::state::{Now, State};
use crate::domain::{CampaignId, JobState, Outcome};
use crate::store::{CampaignAction, CampaignState, Job, JobRef, Result};

impl State {
    pub fn control_campaign(
        &mut self,
        now: Now,
        id: &CampaignId,
        action: CampaignAction,
    ) -> Result<Option<CampaignState>> {
        if self.campaign_status(id).is_none() {
            return Ok(None);
        }
        let current = self
            .campaign_states
            .get(id)
            .copied()
            .unwrap_or(CampaignState::Active);
        let state = match (current, action) {
            (CampaignState::Cancelled { hangup }, CampaignAction::Cancel { hangup: more }) => {
                CampaignState::Cancelled {
                    hangup: hangup || more,
                }
            }
            (CampaignState::Cancelled { .. }, _) => return Ok(Some(current)),
            (_, CampaignAction::Pause) => CampaignState::Paused,
            (_, CampaignAction::Resume) => CampaignState::Active,
            (_, CampaignAction::Cancel { hangup }) => CampaignState::Cancelled { hangup },
        };
        match state {
            CampaignState::Active => {
                self.campaign_states.remove(id);
                for job_id in self.parked.remove(id).unwrap_or_default() {
                    let Some(job) = self.jobs.get_mut(&job_id) else {
                        continue;
                    };
                    if job.state == JobState::Queued {
                        job.reason = Some("campaign resumed".into());
                        self.shards[usize::from(job.shard)].add_ready(now.ms, job);
                    }
                }
            }
            CampaignState::Paused => {
                self.campaign_states.insert(id.clone(), state);
            }
            CampaignState::Cancelled { hangup } => {
                self.campaign_states.insert(id.clone(), state);
                if hangup {
                    self.hangup_requests.insert(id.clone());
                }
                let parked = self.parked.remove(id).unwrap_or_default();
                let State {
                    jobs,
                    shards,
                    counts,
                    ..
                } = self;
                for job in jobs.values_mut() {
                    if &job.id.campaign != id
                        || !matches!(job.state, JobState::Queued | JobState::RetryWait)
                    {
                        continue;
                    }
                    let shard = &mut shards[usize::from(job.shard)];
                    // Waiting in the delayed set, parked, or in its
                    // official's held queue; a job on the ready stream ends
                    // when the dialer reads it.
                    let mut was_held = false;
                    for queue in shard.held.values_mut() {
                        let before = queue.len();
                        queue.retain(|(held, _)| held != &job.id);
                        was_held |= queue.len() != before;
                    }
                    shard.held.retain(|_, queue| !queue.is_empty());
                    if was_held || shard.delayed.remove(&job.id) || parked.contains(&job.id) {
                        end_waiting(
                            counts,
                            &mut shard.outbox,
                            job,
                            Outcome::Cancelled,
                            "campaign cancelled",
                            now,
                        )?;
                    }
                }
            }
        }
        Ok(Some(state))
    }

    pub fn in_flight_of(&self, id: &CampaignId) -> Vec<JobRef> {
        self.jobs
            .values()
            .filter(|j| &j.id.campaign == id)
            .filter(|j| matches!(j.state, JobState::Dialing | JobState::InCall))
            .map(Job::job_ref)
            .collect()
    }
}
