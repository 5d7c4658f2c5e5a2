//! Ranking with a confidence bound: the Wilson score interval's lower bound
//! of a share, so that a small sample cannot look worse than it is known to
//! be. Twenty complaints out of a hundred answered calls have a lower bound
//! of about 0.13, two hundred out of a thousand about 0.18. The bound alone
//! does not protect the smallest samples (one out of one: about 0.21), so
//! reports rank only entities with a few answered calls (`report.rs`).

/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The lower bound of the Wilson score interval of `hits` out of `n` at
/// confidence `z`; `None` when `n` is 0 (nothing is known).
pub fn wilson_lower(hits: i64, n: i64, z: f64) -> Option<f64> {
    if n <= 0 {
        return None;
    }
    let n = n as f64;
    let p = (hits.clamp(0, n as i64) as f64) / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - spread) / (1.0 + z2 / n)).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-4
    }

    #[test]
    fn known_values() {
        // Reference values of the Wilson interval (95 %).
        assert!(close(wilson_lower(1, 1, Z95).unwrap(), 0.2065));
        assert!(close(wilson_lower(20, 100, Z95).unwrap(), 0.1333));
        assert!(close(wilson_lower(0, 10, Z95).unwrap(), 0.0));
        assert!(close(wilson_lower(10, 10, Z95).unwrap(), 0.7225));
        assert_eq!(wilson_lower(0, 0, Z95), None);
    }

    #[test]
    fn a_small_sample_is_bounded_low() {
        // Half the calls negative: the bound grows with the evidence.
        let five = wilson_lower(5, 10, Z95).unwrap();
        let fifty = wilson_lower(50, 100, Z95).unwrap();
        assert!(five < fifty);
        assert!(five < 0.25);
    }

    #[test]
    fn more_evidence_tightens_the_bound() {
        let small = wilson_lower(2, 10, Z95).unwrap();
        let large = wilson_lower(200, 1000, Z95).unwrap();
        assert!(small < large);
    }
}
