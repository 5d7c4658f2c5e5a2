//! Calling hours: the local window in which citizens may be called.
//!
//! Pure arithmetic on Unix milliseconds from the store's clock and a fixed UTC
//! offset (India has one time zone and no daylight saving; a region that has
//! DST would need a tz database here).

use crate::domain::calendar::civil_from_days;

/// A daily window `[start, end)` in local minutes, at a fixed UTC offset.
/// `start > end` means the window spans midnight; `start == end` means always open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallingHours {
    pub start_min: u32,
    pub end_min: u32,
    pub utc_offset_min: i32,
}

const MINUTE_MS: i64 = 60_000;
const DAY_MIN: i64 = 24 * 60;

impl CallingHours {
    /// Always open (the demo uses this).
    pub const ALWAYS: CallingHours = CallingHours {
        start_min: 0,
        end_min: 0,
        utc_offset_min: 0,
    };

    fn local_minute(&self, now_ms: i64) -> i64 {
        let local_ms = now_ms + i64::from(self.utc_offset_min) * MINUTE_MS;
        local_ms.div_euclid(MINUTE_MS).rem_euclid(DAY_MIN)
    }

    fn contains_minute(&self, m: i64) -> bool {
        let (s, e) = (i64::from(self.start_min), i64::from(self.end_min));
        match s.cmp(&e) {
            std::cmp::Ordering::Equal => true,
            std::cmp::Ordering::Less => (s..e).contains(&m),
            std::cmp::Ordering::Greater => m >= s || m < e,
        }
    }

    /// `None` when calling is allowed at `now_ms`, else when the window next opens.
    pub fn next_open(&self, now_ms: i64) -> Option<i64> {
        let m = self.local_minute(now_ms);
        if self.contains_minute(m) {
            return None;
        }
        let wait_min = (i64::from(self.start_min) - m).rem_euclid(DAY_MIN);
        let minute_start = now_ms - now_ms.rem_euclid(MINUTE_MS);
        Some(minute_start + wait_min * MINUTE_MS)
    }

    /// The local calendar day of `now_ms` as `YYYYMMDD` (for per-day caps).
    pub fn local_day(&self, now_ms: i64) -> u32 {
        let local_ms = now_ms + i64::from(self.utc_offset_min) * MINUTE_MS;
        let days = local_ms.div_euclid(DAY_MIN * MINUTE_MS);
        let (y, m, d) = civil_from_days(days);
        // INVARIANT: years from 1970 to 429496 fit; the store's clock is in that range.
        u32::try_from(y * 10_000 + m * 100 + d).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const IST: CallingHours = CallingHours {
        start_min: 9 * 60,
        end_min: 20 * 60,
        utc_offset_min: 330,
    };
    // 2026-11-28T00:00:00Z
    const MIDNIGHT_UTC: i64 = 1_795_824_000_000;

    #[test]
    fn open_inside_window_closed_outside() {
        // 05:00 UTC = 10:30 IST: open.
        assert_eq!(IST.next_open(MIDNIGHT_UTC + 5 * 3_600_000), None);
        // 15:00 UTC = 20:30 IST: closed until 09:00 IST next day = 03:30 UTC.
        let next = IST.next_open(MIDNIGHT_UTC + 15 * 3_600_000).unwrap();
        assert_eq!(next, MIDNIGHT_UTC + 27 * 3_600_000 + 30 * 60_000);
    }

    #[test]
    fn local_day_follows_offset() {
        assert_eq!(IST.local_day(MIDNIGHT_UTC), 20261128);
        // 19:00 UTC is already the next day in IST.
        assert_eq!(IST.local_day(MIDNIGHT_UTC + 19 * 3_600_000), 20261129);
        assert_eq!(CallingHours::ALWAYS.local_day(0), 19700101);
    }

    #[test]
    fn window_across_midnight() {
        let night = CallingHours {
            start_min: 22 * 60,
            end_min: 2 * 60,
            utc_offset_min: 0,
        };
        assert_eq!(night.next_open(MIDNIGHT_UTC + 3_600_000), None);
        assert!(night.next_open(MIDNIGHT_UTC + 12 * 3_600_000).is_some());
    }

    proptest! {
        #[test]
        fn next_open_is_in_window_and_in_future(
            start in 0u32..1440, end in 0u32..1440, off in -720i32..840,
            now in 0i64..4_000_000_000_000,
        ) {
            let h = CallingHours { start_min: start, end_min: end, utc_offset_min: off };
            if let Some(at) = h.next_open(now) {
                prop_assert!(at > now - 60_000);
                prop_assert!(at - now <= 24 * 3_600_000);
                prop_assert_eq!(h.next_open(at), None);
            }
        }
    }
}
