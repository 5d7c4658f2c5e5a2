//! Calling policy shared by the settings, the dialer and campaign documents:
//! today the calling window (time zone, weekdays, daily ranges, holidays).
//!
//! It lives outside `dialer` because three modules build or read it: `config`
//! parses the default window, campaign parsing (`domain/campaign_window.rs`)
//! parses per-campaign ones with the same validation, and the dialer applies
//! them. All of it is pure
//! except [`CallingWindow::from_spec`], which reads the holiday files a spec
//! names.
//!
//! | file | owns |
//! |---|---|
//! | `window.rs` | [`CallingWindow`]: instants in a zone, DST rules, holidays |
//! | `spec.rs` | [`WindowSpec`], validation listing every problem, serde form |
//! | `range.rs` | [`DailyRange`] `HH:MM-HH:MM`, midnight, overlap |
//! | `holidays.rs` | `YYYY-MM-DD` dates and holiday files |

mod holidays;
mod range;
mod spec;
mod window;

pub use holidays::{parse_date, parse_holiday_text, read_holiday_file};
pub use range::DailyRange;
pub use spec::WindowSpec;
pub use window::{CallingWindow, Weekdays};

#[cfg(test)]
mod window_tests;

#[cfg(test)]
mod window_props;
