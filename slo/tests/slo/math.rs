//! Black-box tests of the error-budget math (`slo::math`): objectives, windows, budgets,
//! window sums and the SRE Workbook's burn-rate tiers, with expected values worked out by hand
//! from the Workbook and the calendar, never from the implementation.

#[path = "math/alert.rs"]
mod alert;
#[path = "math/budget.rs"]
mod budget;
#[path = "math/objective.rs"]
mod objective;
#[path = "math/sums.rs"]
mod sums;
#[path = "math/window.rs"]
mod window;
#[path = "math/workbook.rs"]
mod workbook;

use jiff::{SignedDuration, Timestamp};
use slo::math::Objective;

/// An objective from a literal.
pub fn objective(s: &str) -> Objective {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A timestamp from an RFC 3339 literal.
pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

pub fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

pub fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

pub fn secs(s: i64) -> SignedDuration {
    SignedDuration::from_secs(s)
}

pub fn days(d: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * d)
}
