//! The router reads the intake stream through its consumer group, ingests
//! each document, and acknowledges the entry only after every contact is in
//! its shard or in the dead-letter stream. A crash in between re-delivers the
//! entry; ingestion is idempotent, so the replay changes nothing. Unknown
//! fields in a document are ignored here (one WARN per document): refusing
//! them is `campaign submit --strict`'s job, before the document is queued.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::domain::{DocumentError, JobSpec, parse_campaign_document};
use crate::store::{DeadLetter, IntakeEntry, PutOutcome, ServiceVisit, Store, StoreError};
use crate::telemetry::{ContactResult, IntakeResult, Metrics, Subsystem, events};

/// What ingesting one document did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub campaign: Option<String>,
    pub accepted: usize,
    pub duplicates: usize,
    pub dead_lettered: usize,
    /// The whole document was refused (its reason is in the dead-letter stream).
    pub refused: Option<String>,
}

/// Moves intake documents into shards.
pub struct IntakeRouter {
    store: Arc<dyn Store>,
    dialplan_exists: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    consumer: String,
    reclaim_after: Duration,
    metrics: Arc<Metrics>,
    /// How long to remember each contact's visit for inbound calls (`None`:
    /// inbound calls are off, nothing is remembered).
    remember_visits: Option<Duration>,
}

const READ_BLOCK: Duration = Duration::from_millis(500);
const READ_COUNT: usize = 16;
const ERROR_BACKOFF: Duration = Duration::from_secs(1);

impl IntakeRouter {
    pub fn new(
        store: Arc<dyn Store>,
        dialplan_exists: Arc<dyn Fn(&str) -> bool + Send + Sync>,
        consumer: String,
        reclaim_after: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            dialplan_exists,
            consumer,
            reclaim_after,
            metrics,
            remember_visits: None,
        }
    }

    /// Remembers each accepted contact's visit for `keep`, so the citizen can
    /// be asked about it when they call in.
    pub fn remembering_visits(mut self, keep: Option<Duration>) -> Self {
        self.remember_visits = keep;
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
            for entry in entries {
                let span = info_span!("intake", intake.entry = %entry.id);
                if let Err(e) = self.process(&entry).instrument(span.clone()).await {
                    events::store_error(
                        &self.metrics,
                        Subsystem::Intake,
                        &e,
                        "ingesting a document",
                    );
                    if !e.is_transient() {
                        // Retrying cannot fix it: park the document where an
                        // operator sees it instead of retrying it forever.
                        self.give_up(&entry, &e).instrument(span).await;
                    }
                }
            }
        }
        info!("intake stopped");
    }

    async fn process(&self, entry: &IntakeEntry) -> Result<IngestReport, StoreError> {
        let report = match &entry.payload {
            Ok(doc) => self.ingest(&entry.id, doc).await?,
            Err(why) => {
                self.refuse(&entry.id, why, "", IntakeResult::DeadLettered)
                    .await?;
                IngestReport {
                    refused: Some(why.clone()),
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
            refused = report.refused.is_some(),
            "campaign document ingested"
        );
        Ok(report)
    }

    /// Ingests one document. Idempotent: the same document again is a no-op.
    pub async fn ingest(&self, source: &str, doc: &str) -> Result<IngestReport, StoreError> {
        let parsed = match parse_campaign_document(doc, self.dialplan_exists.as_ref()) {
            Ok(parsed) => parsed,
            Err(e) => {
                let why = match &e {
                    DocumentError::Json(_) | DocumentError::Invalid(_) => e.to_string(),
                };
                self.refuse(source, &why, doc, IntakeResult::DeadLettered)
                    .await?;
                return Ok(IngestReport {
                    refused: Some(why),
                    ..IngestReport::default()
                });
            }
        };
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
            let why = format!(
                "campaign {} already exists with a different header (name, dialplan, caller_id or department)",
                parsed.header.id
            );
            self.refuse(source, &why, doc, IntakeResult::Conflict)
                .await?;
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
        }
        for contact in parsed.contacts {
            let spec = JobSpec::new(&parsed.header, contact);
            let outcome = self.store.enqueue(&spec).await?;
            // Also on a replay (`Unchanged`): the first delivery may have
            // stopped between the two steps.
            if let (Some(keep), PutOutcome::Created | PutOutcome::Unchanged) =
                (self.remember_visits, outcome)
            {
                self.store
                    .record_visit(&spec.contact.phone, &ServiceVisit::of(&spec), keep)
                    .await?;
            }
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
                }
            }
        }
        Ok(report)
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
