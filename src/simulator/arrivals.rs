//! Automatic inbound calls: citizens calling the programme's number at
//! `inbound_rate_per_minute` on average, as a Poisson process (exponential
//! gaps drawn from the seed), until the simulator shuts down.
//!
//! Owns: when automatic inbound calls arrive. Does not own: placing them
//! (`inbound`).

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tracing::{debug, warn};

use super::inbound;
use super::server::Shared;

/// Mixed into the seed so arrival gaps are a stream of their own.
const ARRIVAL_SALT: u64 = 0xa771_7a15_0000_0002;

/// Places inbound calls until `shared.calls` is cancelled. Does nothing
/// when the rate is not positive.
pub(crate) async fn run(shared: Arc<Shared>) {
    let per_minute = shared.config.inbound_rate_per_minute;
    if per_minute <= 0.0 || !per_minute.is_finite() {
        return;
    }
    let mut rng = SmallRng::seed_from_u64(shared.config.seed ^ ARRIVAL_SALT);
    loop {
        let gap = next_gap(&mut rng, per_minute);
        tokio::select! {
            () = shared.calls.cancelled() => break,
            () = tokio::time::sleep(gap) => {}
        }
        if let Err(error) = inbound::place(&shared, None, None) {
            warn!(%error, "automatic inbound call not placed");
        }
    }
    debug!("automatic inbound calls stopped");
}

/// An exponential gap with mean `60 / per_minute` seconds.
fn next_gap(rng: &mut SmallRng, per_minute: f64) -> Duration {
    // 1 - u is in (0, 1], so the logarithm is finite.
    let u: f64 = rng.random();
    let secs = -(1.0 - u).ln() * 60.0 / per_minute;
    // Absurdly low rates overflow a Duration: they mean "not in this run".
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_average_the_rate_and_repeat_from_the_seed() {
        let mut rng = SmallRng::seed_from_u64(3);
        let gaps: Vec<_> = (0..4000).map(|_| next_gap(&mut rng, 120.0)).collect();
        let mean = gaps.iter().map(Duration::as_secs_f64).sum::<f64>() / 4000.0;
        assert!((0.45..0.55).contains(&mean), "mean gap {mean}s at 120/min");
        let mut again = SmallRng::seed_from_u64(3);
        assert_eq!(next_gap(&mut again, 120.0), gaps[0]);
        assert_eq!(next_gap(&mut again, 1e-300), Duration::MAX);
    }
}
