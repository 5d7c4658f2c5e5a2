//! A stable pseudo-random fraction of some bytes, for decisions that must be
//! reproducible (which contacts a campaign samples, a retry's jitter): the
//! same input gives the same fraction on every instance and every run.

/// A fraction in `[0, 1)` from `bytes`: FNV-1a 64, then MurmurHash3's
/// finaliser (FNV-1a's high bits barely move with the last bytes), then the
/// top 53 bits.
pub fn stable_fraction(bytes: impl IntoIterator<Item = u8>) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_in_range_and_spread() {
        let a = stable_fraction(*b"c/k-1");
        assert_eq!(a, stable_fraction(*b"c/k-1"));
        let values: Vec<f64> = (0..1000)
            .map(|i| stable_fraction(format!("c/k-{i}").into_bytes()))
            .collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let low = values.iter().filter(|v| **v < 0.5).count();
        assert!((400..=600).contains(&low), "{low} of 1000 below one half");
    }
}
