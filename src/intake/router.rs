//! The router reads the intake stream through its consumer group, ingests
//! each document, and acknowledges the entry only after every contact is in
//! its shard or in the dead-letter stream. A crash in between re-delivers the
//! entry; ingestion is idempotent, so the replay changes nothing. What each
//! document did (accepted, refused whole, contacts refused, with reasons) is
//! counted in its campaign's intake tally, once per entry, for `campaign
//! status`. Unknown fields in a document are ignored here (one WARN per
//! document): refusing them is `campaign submit --strict`'s job, before the
//! document is queued.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use super::read_ahead::{Ahead, Reader, Reading};
use super::sample;
use crate::domain::{CampaignHeader, CampaignId, CampaignKind, Direction, OfficialCall, Outcome};
use crate::domain::{DocumentError, JobSpec, NumberPlan, ParsedDocument};
use crate::intake::conflict_reason;
use crate::policy::CallingWindow;
use crate::store::{
    CampaignAction, DeadLetter, EndedJob, IntakeEntry, IntakeRefusal, IntakeTally, NewJob,
    NumberClaim, PutOutcome, ServiceVisit, Store, StoreError,
};
use crate::telemetry::{ContactResult, IntakeResult, Metrics, Subsystem, events};

/// What ingesting one document did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub campaign: Option<String>,
    pub accepted: usize,
    pub duplicates: usize,
    pub dead_lettered: usize,
    /// Contacts whose number another contact of the campaign already has:
    /// ended `duplicate`, not called.
    pub duplicate_numbers: usize,
    /// Contacts left out by the campaign's sample (its rate, or its
    /// per-office daily cap): ended `not_sampled`.
    pub not_sampled: usize,
    /// The whole document was refused (its reason is in the dead-letter stream).
    pub refused: Option<String>,
    /// Everything dead-lettered for the campaign (the document, or each
    /// refused contact), in order: counted in the campaign's intake tally.
    pub refusals: Vec<IntakeRefusal>,
}

impl IngestReport {
    /// What the campaign's intake tally counts for this document.
    fn tally(&self) -> IntakeTally {
        IntakeTally {
            documents_accepted: u64::from(self.refused.is_none()),
            documents_refused: u64::from(self.refused.is_some()),
            contacts_refused: u64::try_from(self.dead_lettered).unwrap_or(u64::MAX),
            refusals: self.refusals.clone(),
        }
    }
}

/// Moves intake documents into shards.
pub struct IntakeRouter {
    store: Arc<dyn Store>,
    /// Parses documents (`dialplan_exists`, `max_contacts`), here or ahead.
    reader: Reader,
    /// Whether a loaded plan has `[bridge]` (see `checking_plan_kinds`).
    bridged: Option<PlanTest>,
    consumer: String,
    reclaim_after: Duration,
    metrics: Arc<Metrics>,
    /// The programme's calendar (the default calling window's zone): the
    /// days of a `max_per_office_per_day` sample.
    days: CallingWindow,
    /// How long to remember each contact's visit for inbound calls (`None`:
    /// inbound calls are off, nothing is remembered).
    remember_visits: Option<Duration>,
    /// The numbers that may be called (`policy.number_plan`): a contact
    /// outside it is dead-lettered.
    number_plan: NumberPlan,
}

/// How long one read waits for a document. A document arriving meanwhile
/// is returned at once; the wait only sets how often an idle router asks
/// (two commands per read: the reclaim and the blocking read).
const READ_BLOCK: Duration = Duration::from_secs(10);
const READ_COUNT: usize = 16;
const ERROR_BACKOFF: Duration = Duration::from_secs(1);

/// A test on a dialplan's name (e.g. "is it loaded").
pub type PlanTest = Arc<dyn Fn(&str) -> bool + Send + Sync>;

impl IntakeRouter {
    /// `days`: the window whose zone dates a sample's days (the daemon's
    /// default calling window, `policy.calling_window`).
    pub fn new(
        store: Arc<dyn Store>,
        dialplan_exists: Arc<dyn Fn(&str) -> bool + Send + Sync>,
        consumer: String,
        reclaim_after: Duration,
        metrics: Arc<Metrics>,
        days: CallingWindow,
    ) -> Self {
        Self {
            store,
            reader: Reader::new(dialplan_exists),
            consumer,
            reclaim_after,
            metrics,
            days,
            remember_visits: None,
            bridged: None,
            number_plan: NumberPlan::default(),
        }
    }

    /// Refuses a document whose kind does not fit its plan: an officials'
    /// call campaign (`kind: "official"`) needs a plan with `[bridge]`, a
    /// survey one without. `bridged` says whether a loaded plan has it.
    pub fn checking_plan_kinds(mut self, bridged: PlanTest) -> Self {
        self.bridged = Some(bridged);
        self
    }

    /// Remembers each accepted contact's visit for `keep`, so the citizen can
    /// be asked about it when they call in.
    pub fn remembering_visits(mut self, keep: Option<Duration>) -> Self {
        self.remember_visits = keep;
        self
    }

    /// Dead-letters contacts whose number is outside `plan` (the default:
    /// `policy.number_plan`'s).
    pub fn with_number_plan(mut self, plan: NumberPlan) -> Self {
        self.number_plan = plan;
        self
    }

    /// Dead-letters, whole, a document holding more than `max` contacts
    /// (the default: `intake.max_contacts_per_document`'s).
    pub fn with_max_contacts(mut self, max: usize) -> Self {
        self.reader.max_contacts = max;
        self
    }

    /// Runs until `cancel`. An entry being ingested when cancelled is left
    /// unacknowledged and is ingested again (idempotently) later.
    pub async fn run(self, cancel: CancellationToken) {
        while !cancel.is_cancelled() {
            let read = tokio::select! {
                _ = cancel.cancelled() => break,
                r = self.store.read_intake(&self.consumer, READ_COUNT, READ_BLOCK, self.reclaim_after) => r,
            };
            let entries = match read {
                Ok(entries) => entries,
                Err(e) => {
                    events::store_error(
                        &self.metrics,
                        Subsystem::Intake,
                        &e,
                        "reading the intake stream",
                    );
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(ERROR_BACKOFF) => continue,
                    }
                }
            };
            // Each entry after the first is parsed on a blocking thread
            // while the one before it goes into Redis (`read_ahead.rs`).
            let mut entries = entries.into_iter().peekable();
            let mut ahead: Option<Ahead> = None;
            while let Some(entry) = entries.next() {
                let reading = match ahead.take() {
                    Some(ahead) => ahead.finished().await,
                    None => None,
                };
                ahead = entries.peek().and_then(|next| self.reader.ahead(next));
                let span = info_span!("intake", intake.entry = %entry.id);
                if !self.finish(&entry, reading, &cancel).instrument(span).await {
                    break;
                }
            }
        }
        info!("intake stopped");
    }

    /// Ingests one entry, trying again here after a transient error (Redis
    /// slow or away) until it is done: read again from the stream it would
    /// count as one more delivery, and a Redis outage would push a good
    /// document towards `intake.max_deliveries`. An error retrying cannot
    /// fix parks the entry as a dead letter. False when cancelled first
    /// (the entry stays pending, and is taken again after a restart).
    /// `read`: the entry's document read ahead, for the first try.
    async fn finish(
        &self,
        entry: &IntakeEntry,
        mut read: Option<Reading>,
        cancel: &CancellationToken,
    ) -> bool {
        loop {
            let Err(e) = self.process(entry, read.take()).await else {
                return true;
            };
            events::store_error(&self.metrics, Subsystem::Intake, &e, "ingesting a document");
            if !e.is_transient() {
                // Retrying cannot fix it: park the document where an
                // operator sees it instead of retrying it forever.
                self.give_up(entry, &e).await;
                return true;
            }
            tokio::select! {
                _ = cancel.cancelled() => return false,
                _ = tokio::time::sleep(ERROR_BACKOFF) => {}
            }
        }
    }

    async fn process(
        &self,
        entry: &IntakeEntry,
        read: Option<Reading>,
    ) -> Result<IngestReport, StoreError> {
        let report = match &entry.payload {
            Ok(doc) => {
                let reading = read.unwrap_or_else(|| self.reader.read(doc));
                self.ingest_read(&entry.id, doc, reading).await?
            }
            // Not a document to read (too large, taken too often, or not
            // one UTF-8 `campaign` field): its excerpt, masked, is kept.
            Err(refused) => {
                self.refuse(
                    &entry.id,
                    &refused.reason,
                    &refused.masked_payload(),
                    IntakeResult::DeadLettered,
                )
                .await?;
                IngestReport {
                    refused: Some(refused.reason.clone()),
                    ..IngestReport::default()
                }
            }
        };
        self.store.ack_intake(&entry.id).await?;
        info!(
            campaign.id = report.campaign.as_deref().unwrap_or("-"),
            accepted = report.accepted,
            duplicates = report.duplicates,
            dead_lettered = report.dead_lettered,
            duplicate_numbers = report.duplicate_numbers,
            not_sampled = report.not_sampled,
            refused = report.refused.is_some(),
            "campaign document ingested"
        );
        Ok(report)
    }

    /// A control command on the intake stream (the way other programs pause,
    /// resume or cancel a campaign through Redis), applied in stream order
    /// with the documents around it.
    async fn apply_command(
        &self,
        source: &str,
        doc: &str,
        command: Result<(CampaignId, CampaignAction), String>,
    ) -> Result<IngestReport, StoreError> {
        let refused = match command {
            Err(why) => Some(why),
            Ok((id, action)) => match self.store.control_campaign(&id, action).await? {
                Some(state) => {
                    info!(campaign.id = %id, state = state.as_str(), "campaign command applied");
                    None
                }
                None => Some(format!("no campaign {id} to {}", action.as_str())),
            },
        };
        if let Some(why) = &refused {
            self.refuse(source, why, doc, IntakeResult::DeadLettered)
                .await?;
        }
        Ok(IngestReport {
            refused,
            ..IngestReport::default()
        })
    }

    /// Ingests one document and counts what it did in its campaign's intake
    /// tally (once per `source`, the intake entry). Idempotent: the same
    /// document again is a no-op.
    pub async fn ingest(&self, source: &str, doc: &str) -> Result<IngestReport, StoreError> {
        self.ingest_read(source, doc, self.reader.read(doc)).await
    }

    /// `ingest` of a document already read.
    async fn ingest_read(
        &self,
        source: &str,
        doc: &str,
        reading: Reading,
    ) -> Result<IngestReport, StoreError> {
        let parsed = match reading {
            Reading::Command(command) => return self.apply_command(source, doc, command).await,
            Reading::Document(parsed) => *parsed,
        };
        let report = self.ingest_document(source, doc, parsed).await?;
        let campaign = report.campaign.as_deref().map(CampaignId::parse);
        if let Some(Ok(id)) = campaign {
            self.store
                .record_intake(&id, source, &report.tally())
                .await?;
        }
        Ok(report)
    }

    async fn ingest_document(
        &self,
        source: &str,
        doc: &str,
        parsed: Result<ParsedDocument, DocumentError>,
    ) -> Result<IngestReport, StoreError> {
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(e) => {
                let why = match &e {
                    DocumentError::Json(_) | DocumentError::Invalid(_) => e.to_string(),
                };
                self.refuse(source, &why, doc, IntakeResult::DeadLettered)
                    .await?;
                return Ok(IngestReport {
                    // Counted under the campaign when its id can be read.
                    campaign: campaign_id_of(doc),
                    refusals: vec![IntakeRefusal {
                        source: source.to_owned(),
                        reason: why.clone(),
                    }],
                    refused: Some(why),
                    ..IngestReport::default()
                });
            }
        };
        let official = !parsed.header.kind.is_survey();
        if let Some(bridged) = &self.bridged
            && official != bridged(&parsed.header.dialplan)
        {
            let why = if official {
                format!(
                    "campaign {}: an officials' call campaign (`kind: \"official\"`) needs a dialplan with [bridge]; {:?} has none",
                    parsed.header.id, parsed.header.dialplan
                )
            } else {
                format!(
                    "campaign {}: dialplan {:?} is an officials' call plan ([bridge]); set `kind: \"official\"` or name a survey plan",
                    parsed.header.id, parsed.header.dialplan
                )
            };
            self.refuse(source, &why, doc, IntakeResult::DeadLettered)
                .await?;
            return Ok(IngestReport {
                campaign: Some(parsed.header.id.to_string()),
                refusals: vec![IntakeRefusal {
                    source: source.to_owned(),
                    reason: why.clone(),
                }],
                refused: Some(why),
                ..IngestReport::default()
            });
        }
        if !parsed.warnings.is_empty() {
            // Strictness is `campaign submit`'s choice; here unknown fields
            // are ignored, and said once per document.
            let fields: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
            warn!(
                campaign.id = %parsed.header.id,
                intake.entry = source,
                unknown.count = fields.len(),
                unknown.fields = fields.join("; "),
                "campaign document has unknown fields; ingested without them"
            );
        }
        let mut report = IngestReport {
            campaign: Some(parsed.header.id.to_string()),
            ..IngestReport::default()
        };
        if self.store.put_campaign(&parsed.header).await? == PutOutcome::Conflict {
            // Submission checked this; another document stored its header
            // in between. Name the fields, as submission would have.
            let differences = match self.store.campaign_header(&parsed.header.id).await? {
                Some(stored) => stored.differences(&parsed.header),
                None => Vec::new(),
            };
            let why = conflict_reason(&parsed.header.id, &differences);
            self.refuse(source, &why, doc, IntakeResult::Conflict)
                .await?;
            report.refusals.push(IntakeRefusal {
                source: source.to_owned(),
                reason: why.clone(),
            });
            report.refused = Some(why);
            return Ok(report);
        }
        self.metrics.intake_document(IntakeResult::Accepted);
        for rejected in &parsed.rejected {
            let letter = DeadLetter {
                source: format!("{source} contacts[{}]", rejected.index),
                reason: format!(
                    "campaign {}: contact rejected: {}",
                    parsed.header.id, rejected.reason
                ),
                payload: rejected.masked.to_string(),
            };
            self.store.dead_letter(&letter).await?;
            self.metrics.contacts(ContactResult::Rejected, 1);
            report.dead_lettered += 1;
            report.refusals.push(refusal_of(&letter));
        }
        // The sample is decided first (its cap claims places in document
        // groups, lowest fraction first); a contact left out never claims
        // its number, so a duplicate always points at a contact called.
        let intake_ms = match sample::entry_time_ms(source) {
            Some(ms) => ms,
            None if parsed.header.sample_max_per_office_per_day.is_some() => {
                self.store.now_ms().await?
            }
            None => 0,
        };
        let verdicts = sample::decide(
            self.store.as_ref(),
            &parsed.header,
            &parsed.contacts,
            &self.days,
            intake_ms,
        )
        .await?;
        let mut specs = Vec::with_capacity(parsed.contacts.len());
        for (contact, left_out) in parsed.contacts.into_iter().zip(verdicts) {
            let mut spec = JobSpec::new(&parsed.header, contact);
            if let Err(why) = self.number_plan.check(&spec.contact.phone) {
                self.refuse_contact(source, &spec, &why, &mut report)
                    .await?;
                continue;
            }
            if let CampaignKind::Official { recording } = parsed.header.kind {
                match self.official_call(&spec, recording).await? {
                    Ok(call) => {
                        spec.official_call = Some(call);
                        spec.direction = Direction::Official;
                    }
                    Err(why) => {
                        self.refuse_contact(source, &spec, &why, &mut report)
                            .await?;
                        continue;
                    }
                }
            }
            specs.push((spec, left_out));
        }
        let outcomes = self.place(&parsed.header, &specs, &mut report).await?;
        // Also on a replay (`Unchanged`): the first delivery may have
        // stopped before the visits were remembered.
        if let Some(keep) = self.remember_visits {
            let visits: Vec<_> = specs
                .iter()
                .zip(&outcomes)
                .filter(|(_, outcome)| {
                    matches!(outcome, PutOutcome::Created | PutOutcome::Unchanged)
                })
                .map(|((spec, _), _)| (&spec.contact.phone, ServiceVisit::of(spec)))
                .collect();
            self.store.record_visits(&visits, keep).await?;
        }
        for ((spec, _), outcome) in specs.iter().zip(outcomes) {
            self.account(source, spec, outcome, &mut report).await?;
        }
        Ok(report)
    }

    /// Dead-letters one contact of a document, for `why`, its number masked.
    async fn refuse_contact(
        &self,
        source: &str,
        spec: &JobSpec,
        why: &str,
        report: &mut IngestReport,
    ) -> Result<(), StoreError> {
        let letter = DeadLetter {
            source: source.to_owned(),
            reason: format!(
                "campaign {}: contact {} rejected: {why}",
                spec.campaign_id, spec.contact.id
            ),
            payload: serde_json::json!({"id": spec.contact.id.as_str(), "phone": spec.contact.phone.masked(), "official_id": spec.contact.official_id.as_str()}).to_string(),
        };
        self.store.dead_letter(&letter).await?;
        self.metrics.contacts(ContactResult::Rejected, 1);
        report.dead_lettered += 1;
        report.refusals.push(refusal_of(&letter));
        Ok(())
    }

    /// Puts a document's contacts in their shards, in order: one pipeline
    /// claims the numbers of the contacts the sample keeps, one creates the
    /// queued jobs (parked when their window is closed at ingest); contacts
    /// left out or holding a number another contact has end at once. One
    /// outcome per contact.
    async fn place(
        &self,
        header: &CampaignHeader,
        specs: &[(JobSpec, Option<String>)],
        report: &mut IngestReport,
    ) -> Result<Vec<PutOutcome>, StoreError> {
        let claims: Vec<_> = specs
            .iter()
            .filter(|(_, left_out)| left_out.is_none())
            .map(|(spec, _)| (&spec.contact.phone, &spec.contact.id))
            .collect();
        // The clock is read while Redis runs the claims.
        let (holders, now_ms) = tokio::try_join!(
            self.store.claim_numbers(&header.id, &claims),
            self.store.now_ms()
        )?;
        let mut holders = holders.into_iter();
        let window = header.calling_window.as_ref().unwrap_or(&self.days);
        let opens_at_ms = window.next_open(now_ms);
        let mut outcomes = vec![PutOutcome::Unchanged; specs.len()];
        let mut queued = Vec::new();
        let mut queued_at = Vec::new();
        let mut reasons = Vec::new();
        let mut ended_at = Vec::new();
        for (index, (spec, left_out)) in specs.iter().enumerate() {
            let claim = match left_out {
                None => holders.next().unwrap_or(NumberClaim::Holds),
                Some(_) => NumberClaim::Holds,
            };
            match (left_out, claim) {
                // Left out of the campaign's sample: never called.
                (Some(why), _) => reasons.push((Outcome::NotSampled, why.clone())),
                // The same number twice in one campaign is called once.
                // Called before and ended: a document replayed, maybe after
                // the job was removed (retention). Never called again.
                (None, NumberClaim::Ended) => continue,
                (None, NumberClaim::HeldBy(holder)) => reasons.push((
                    Outcome::Duplicate,
                    format!(
                        "same number as contact {holder} of this campaign, which is called instead"
                    ),
                )),
                (None, NumberClaim::Holds) => {
                    queued.push(NewJob { spec, opens_at_ms });
                    queued_at.push(index);
                    continue;
                }
            }
            ended_at.push(index);
        }
        let ended: Vec<EndedJob> = ended_at
            .iter()
            .zip(&reasons)
            .map(|(&index, (outcome, reason))| EndedJob {
                spec: &specs[index].0,
                outcome: *outcome,
                reason,
            })
            .collect();
        let made = self.store.enqueue_ended_batch(&ended).await?;
        for ((index, job), outcome) in ended_at.into_iter().zip(&ended).zip(made) {
            if outcome == PutOutcome::Created {
                match job.outcome {
                    Outcome::NotSampled => report.not_sampled += 1,
                    _ => report.duplicate_numbers += 1,
                }
            }
            outcomes[index] = outcome;
        }
        let created = self.store.enqueue_batch(&queued).await?;
        for (index, outcome) in queued_at.into_iter().zip(created) {
            outcomes[index] = outcome;
        }
        Ok(outcomes)
    }

    /// Counts what placing `spec` did, dead-letters a conflict.
    async fn account(
        &self,
        source: &str,
        spec: &JobSpec,
        outcome: PutOutcome,
        report: &mut IngestReport,
    ) -> Result<(), StoreError> {
        match outcome {
            PutOutcome::Created => {
                self.metrics.contacts(ContactResult::Accepted, 1);
                report.accepted += 1;
            }
            PutOutcome::Unchanged => {
                self.metrics.contacts(ContactResult::Duplicate, 1);
                report.duplicates += 1;
            }
            PutOutcome::Conflict => {
                let letter = DeadLetter {
                    source: source.to_owned(),
                    reason: format!(
                        "contact {} of campaign {} already exists with different data",
                        spec.contact.id, spec.campaign_id
                    ),
                    payload: serde_json::json!({"id": spec.contact.id.as_str(), "phone": spec.contact.phone.masked()}).to_string(),
                };
                self.store.dead_letter(&letter).await?;
                self.metrics.contacts(ContactResult::Rejected, 1);
                report.dead_lettered += 1;
                report.refusals.push(refusal_of(&letter));
            }
        }
        Ok(())
    }

    /// The official's side of an official's call to `spec`'s citizen, from
    /// the registry; `Err` says why the contact cannot be called (not in
    /// the registry, or the official's own number).
    async fn official_call(
        &self,
        spec: &JobSpec,
        record: bool,
    ) -> Result<Result<OfficialCall, String>, StoreError> {
        let Some(official) = self.store.official(&spec.contact.official_id).await? else {
            return Ok(Err(format!(
                "official {} is not in the officials' registry",
                spec.contact.official_id
            )));
        };
        if official.phone() == &spec.contact.phone {
            return Ok(Err("the citizen's number is the official's own".into()));
        }
        let visit_date = spec.contact.visit_at_ms.map(|ms| {
            let zone = spec
                .calling_window
                .as_ref()
                .map_or_else(|| self.days.zone().clone(), |w| w.zone().clone());
            zone.to_datetime(
                jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            )
            .date()
            .to_string()
        });
        Ok(Ok(OfficialCall {
            phone: official.phone().clone(),
            language: official.languages().first().cloned(),
            record,
            visit_date,
        }))
    }

    /// Dead-letters an entry whose ingestion failed for good, then acknowledges
    /// it. If the store cannot even take that, the entry stays pending.
    async fn give_up(&self, entry: &IntakeEntry, error: &StoreError) {
        let letter = DeadLetter {
            source: entry.id.clone(),
            reason: format!("ingestion failed and cannot succeed on retry: {error}"),
            payload: entry.payload.clone().unwrap_or_default(),
        };
        let parked = async {
            self.store.dead_letter(&letter).await?;
            self.store.ack_intake(&entry.id).await
        };
        if let Err(e) = parked.await {
            events::store_error(
                &self.metrics,
                Subsystem::Intake,
                &e,
                "dead-lettering a document",
            );
        }
    }

    async fn refuse(
        &self,
        source: &str,
        reason: &str,
        payload: &str,
        result: IntakeResult,
    ) -> Result<(), StoreError> {
        warn!(intake.entry = source, reason, "campaign document refused");
        self.metrics.intake_document(result);
        let letter = DeadLetter {
            source: source.to_owned(),
            reason: reason.to_owned(),
            payload: payload.to_owned(),
        };
        self.store.dead_letter(&letter).await
    }
}

/// A dead-lettered contact as its campaign's tally keeps it (the payload,
/// even masked, stays in the dead-letter stream).
fn refusal_of(letter: &DeadLetter) -> IntakeRefusal {
    IntakeRefusal {
        source: letter.source.clone(),
        reason: letter.reason.clone(),
    }
}

/// The campaign id of a refused document, when it has a valid one.
fn campaign_id_of(doc: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(doc).ok()?;
    let id = value.get("id")?.as_str()?;
    CampaignId::parse(id).ok().map(|id| id.to_string())
}

#[cfg(test)]
#[path = "router_sample_tests.rs"]
mod sample_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CampaignId, JobState};
    use crate::store::memory::MemoryStore;

    fn router(store: Arc<dyn Store>) -> IntakeRouter {
        IntakeRouter::new(
            store,
            Arc::new(|_: &str| true),
            "test".into(),
            Duration::from_secs(60),
            Arc::new(Metrics::new()),
            crate::policy::CallingWindow::default(),
        )
    }

    #[tokio::test]
    async fn a_number_listed_twice_is_called_once() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(4));
        let contact = |id: &str, phone: &str, official: &str| {
            serde_json::json!({"id": id, "phone": phone, "official_id": official,
                               "office": "Puri Sadar PS", "service": "Passport verification"})
        };
        let doc = serde_json::json!({
            "version": 1, "id": "dups", "name": "d", "dialplan": "p",
            "caller_id": "+916742000000", "department": "home",
            "contacts": [contact("a", "+919811111111", "off-1"),
                         contact("b", "+919822222222", "off-1"),
                         contact("c", "+919811111111", "off-2")],
        })
        .to_string();
        let report = router(store.clone()).ingest("1-0", &doc).await.unwrap();
        assert_eq!((report.accepted, report.duplicate_numbers), (3, 1));
        // Ingesting the same document again changes nothing.
        let again = router(store.clone()).ingest("1-1", &doc).await.unwrap();
        assert_eq!((again.duplicates, again.duplicate_numbers), (3, 0));
        let id = CampaignId::parse("dups").unwrap();
        let status = store.campaign_status(&id).await.unwrap().unwrap();
        assert_eq!(status.counts.get("queued"), Some(&2));
        assert_eq!(status.counts.get("duplicate"), Some(&1));
        for shard in 0..store.shards() {
            store
                .relay_feedback(shard, 10, &crate::domain::ScoringRules::default())
                .await
                .unwrap();
        }
        let records = store.read_feedback("0", 10).await.unwrap();
        assert_eq!(records.len(), 1);
        let (_, record) = &records[0];
        assert_eq!(record.contact_id, "c");
        assert_eq!(record.outcome, Outcome::Duplicate);
        assert_eq!(record.attempts, 0);
        assert!(record.reason.as_deref().unwrap().contains("contact a"));
        let c = store
            .load_job(
                &store.job_ref_of(&JobSpec::new(
                    &crate::domain::parse_campaign_document(&doc, &|_| true)
                        .unwrap()
                        .header,
                    serde_json::from_value(contact("c", "+919811111111", "off-2")).unwrap(),
                )),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.state, JobState::Done(Outcome::Duplicate));
    }

    #[tokio::test]
    async fn a_sample_is_reproducible_and_the_rest_end_not_sampled() {
        let contacts: Vec<_> = (0..400)
            .map(|i| {
                serde_json::json!({"id": format!("c-{i}"), "phone": format!("+9198{:08}", i),
                                   "official_id": "off-1", "office": "o", "service": "s"})
            })
            .collect();
        let doc = serde_json::json!({
            "version": 1, "id": "sampled", "name": "s", "dialplan": "p",
            "caller_id": "+916742000000", "department": "home",
            "sample": {"rate": 0.25}, "contacts": contacts,
        })
        .to_string();
        let first: Arc<dyn Store> = Arc::new(MemoryStore::new(4));
        let second: Arc<dyn Store> = Arc::new(MemoryStore::new(4));
        let a = router(first.clone()).ingest("1-0", &doc).await.unwrap();
        let b = router(second.clone()).ingest("1-0", &doc).await.unwrap();
        assert_eq!(
            a.not_sampled, b.not_sampled,
            "the same document, the same sample"
        );
        assert_eq!(a.accepted, 400);
        // Near a quarter called (a stable hash, not an exact count).
        let called = 400 - a.not_sampled;
        assert!((70..=130).contains(&called), "{called} of 400 sampled");
        let id = CampaignId::parse("sampled").unwrap();
        let status = first.campaign_status(&id).await.unwrap().unwrap();
        assert_eq!(status.counts.get("queued").copied(), Some(called as u64));
        assert_eq!(
            status.counts.get("not_sampled").copied(),
            Some(a.not_sampled as u64)
        );
        // A bad sample is refused with the reason.
        let bad = doc.replace(r#"{"rate":0.25}"#, r#"{"rate":2}"#);
        let refused = router(first).ingest("1-1", &bad).await.unwrap();
        assert!(refused.refused.unwrap().contains("`sample`"));
    }
}
