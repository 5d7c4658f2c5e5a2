//! Inbound calls: a citizen dials the programme's number and the simulator,
//! as Twilio does for a number whose Voice URL points at the daemon, fetches
//! that URL and runs the conversation.
//!
//! Owns: the programme's line (its number, who calls it) and placing an
//! inbound call — the one implementation behind `Simulator::place_inbound`,
//! `POST /sim/inbound` and the automatic arrivals. Does not own: the call
//! once placed (`call`), when automatic calls arrive (`arrivals`) or the
//! control route's HTTP (`control`).

use std::sync::{Arc, Mutex};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tracing::{info, warn};

use super::call;
use super::client::Encoding;
use super::ledger::{LedgerEntry, lock};
use super::persona::Persona;
use super::plan::{CallPlan, Events, Script};
use super::registry::CallRecord;
use super::server::Shared;
use super::twiml::Method;
use super::{SimulatorConfig, SimulatorError};
use crate::domain::{PhoneError, PhoneNumber};

/// Mixed into the seed so callers are not drawn in step with any call's
/// citizen (which is seeded with `seed + call index`).
const CALLER_SALT: u64 = 0x1b0a_11ca_11e5_0001;

/// The programme's number and who calls it.
pub(crate) struct Line {
    number: PhoneNumber,
    callers: Vec<PhoneNumber>,
    rng: Mutex<SmallRng>,
}

impl Line {
    /// Parses the configured numbers (already validated by `validate`).
    pub(crate) fn new(config: &SimulatorConfig) -> Result<Self, SimulatorError> {
        let parse = |what: &str, number: &str| {
            PhoneNumber::parse(number)
                .map_err(|e| SimulatorError::Config(format!("{what} is not E.164: {e}")))
        };
        let callers = config
            .inbound_callers
            .iter()
            .map(|c| parse("an inbound caller", c))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            number: parse("inbound_number", &config.inbound_number)?,
            callers,
            rng: Mutex::new(SmallRng::seed_from_u64(config.seed ^ CALLER_SALT)),
        })
    }

    /// A caller: one of the configured callers, uniformly, or else a random
    /// Indian mobile number (`+91`, then 10 digits starting 6 to 9).
    fn draw_caller(&self) -> Result<PhoneNumber, PhoneError> {
        let mut rng = lock(&self.rng);
        if !self.callers.is_empty() {
            let index = rng.random_range(0..self.callers.len());
            if let Some(caller) = self.callers.get(index) {
                return Ok(caller.clone());
            }
        }
        let first: u8 = rng.random_range(6..=9);
        let rest: u32 = rng.random_range(0..1_000_000_000);
        PhoneNumber::parse(&format!("+91{first}{rest:09}"))
    }
}

/// Places one inbound call from `from` (drawn from the line when `None`),
/// answered by `persona` (the seeded random citizen when `None`). Returns
/// the call as registered; its task is already running.
pub(crate) fn place(
    shared: &Arc<Shared>,
    from: Option<&str>,
    persona: Option<Persona>,
) -> Result<CallRecord, SimulatorError> {
    if shared.calls.is_cancelled() {
        return Err(SimulatorError::ShuttingDown);
    }
    let config = &shared.config;
    let voice_url = config
        .inbound_voice_url
        .clone()
        .ok_or(SimulatorError::NoInboundVoiceUrl)?;
    if let Some(persona) = &persona {
        persona.validate()?;
    }
    let caller = match from {
        Some(from) => PhoneNumber::parse(from),
        None => shared.line.draw_caller(),
    }
    .map_err(SimulatorError::InvalidCaller)?;
    let to = shared.line.number.clone();
    let (record, over) = shared
        .registry
        .admit_over_cap(config.max_concurrent, |index| {
            CallRecord::inbound(index, to, caller)
        });
    if over {
        // Twilio has no say over who dials a number: the call goes ahead.
        warn!(call.sid = %record.sid, active = shared.registry.active(), "inbound call over max_concurrent, placed anyway");
    }
    info!(call.sid = %record.sid, call.from = %record.from, "simulator placed an inbound call");
    shared.ledger.append(LedgerEntry::Incoming {
        call_sid: record.sid.clone(),
        url: voice_url.clone(),
        status_callback: config.inbound_status_url.clone(),
        from_masked: record.from.to_string(),
        at_ms: record.created_ms,
        direction: record.direction,
    });
    let plan = CallPlan {
        script: Script::Url {
            url: voice_url,
            method: Method::Post,
        },
        status_callback: config.inbound_status_url.clone(),
        status_method: Method::Post,
        status_encoding: Encoding::Form,
        // A number's status callback hears only the end of the call.
        events: Events::default(),
        persona,
        // Detection is for calls the application places.
        machine_detection: None,
    };
    let task = call::run(Arc::clone(shared), record.clone(), plan);
    shared.tracker.spawn_on(task, &shared.runtime);
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_come_from_the_list_or_are_indian_mobiles() {
        let config = SimulatorConfig {
            inbound_callers: vec!["+919876543210".into(), "+14155550100".into()],
            ..SimulatorConfig::default()
        };
        let line = Line::new(&config).unwrap();
        let drawn: Vec<_> = (0..40).map(|_| line.draw_caller().unwrap()).collect();
        let listed: Vec<_> = config
            .inbound_callers
            .iter()
            .map(|c| PhoneNumber::parse(c).unwrap())
            .collect();
        assert!(drawn.iter().all(|c| listed.contains(c)));
        assert!(listed.iter().all(|c| drawn.contains(c)), "both drawn");

        let line = Line::new(&SimulatorConfig::default()).unwrap();
        let mobiles: Vec<_> = (0..40).map(|_| line.draw_caller().unwrap()).collect();
        for mobile in &mobiles {
            let national = mobile.as_str().strip_prefix("+91").unwrap();
            assert_eq!(national.len(), 10);
            assert!("6789".contains(&national[..1]), "{national}");
        }
        let again = Line::new(&SimulatorConfig::default()).unwrap();
        let repeat: Vec<_> = (0..40).map(|_| again.draw_caller().unwrap()).collect();
        assert_eq!(mobiles, repeat, "the seed decides the callers");
    }
}
