//! Error-budget math: pure functions over objectives, windows and window sums.
//!
//! Everything the spec parser, the rule generators, the controller and the deploy gate compute
//! about an SLO's numbers lives here, with no I/O and no clock (callers pass `now`):
//!
//! * [`objective`] -- [`Objective`]: the target percentage, kept as an exact decimal, with the
//!   target ratio and the error budget derived from it (`99.9` → `0.999` → `0.001`).
//! * [`window`] -- [`Window`]: rolling (`28d`) or calendar (`week`, `month`, `quarter` in a
//!   time zone) windows and their bounds; Prometheus-style durations ([`parse_duration`],
//!   [`format_duration`]).
//! * [`budget`] -- [`Budget`]: budget status for the two OpenSLO budgeting methods
//!   (occurrences and timeslices), burn rate, time to exhaustion, the minimum-traffic guard and
//!   composite SLIs.
//! * [`sums`] -- [`WindowSums`]: per-interval good/total counts over a rolling window, from
//!   which the budget window and every burn-rate window are read in O(1).
//! * [`alert`] -- [`BurnTier`]: the multi-window, multi-burn-rate alert tiers of the Google SRE
//!   Workbook ("Alerting on SLOs"), their thresholds and detection times.
//! * [`sim`] -- a traffic simulator that replays an error-ratio pattern through
//!   [`WindowSums`] and reports when each tier starts and stops firing.
//!
//! Decimals ([`rust_decimal::Decimal`]) carry every number a person writes or reads
//! (objectives, budgets, burn-rate factors, thresholds) so that `99.9` always prints as
//! `0.001`, never `0.0009999999999999432`. Event counts and ratios measured from traffic are
//! `f64` (or `u64` in [`WindowSums`]); decisions that compare a measured ratio with a threshold
//! have an exact integer form ([`BurnTier::fires_on`]).

pub mod alert;
pub mod budget;
mod exact;
pub mod objective;
pub mod sim;
pub mod sums;
pub mod window;

pub use alert::{
    BurnTier, DEFAULT_TIER_NAMES, DEFAULT_TIERS, Severity, TierDefault, burn_rate_consuming, default_tiers,
    detection_time,
};
pub use budget::{
    Budget, BudgetStatus, BudgetUnit, allowed_bad_exact, allowed_downtime, burn_rate, composite_sli, error_ratio,
    sufficient_data, time_to_exhaustion,
};
pub use objective::{Objective, ObjectiveError};
pub use sums::{Counts, SumsError, WindowSums};
pub use window::{CalendarPeriod, DurationError, Window, WindowError, format_duration, parse_duration};
