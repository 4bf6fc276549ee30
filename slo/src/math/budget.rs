//! Error-budget status, burn rate and time to exhaustion.
//!
//! Sources: the Google SRE Workbook, chapter "Alerting on SLOs" (burn rate, "how fast,
//! relative to the SLO, the service consumes the error budget"), and OpenSLO v1's
//! `budgetingMethod` (`Occurrences`, `Timeslices`).
//!
//! With objective target `t` and budget `b = 1 − t` (see [`Objective`]):
//!
//! * **Occurrences** ([`Budget::from_events`]): every event weighs the same. Over the window,
//!   `sli = good / total`; the budget allows `allowed_bad = total × b` bad events; `consumed_bad
//!   = total − good`; `remaining_bad = allowed_bad − consumed_bad`; as fractions of the budget,
//!   `consumed_fraction = consumed_bad / allowed_bad` and `remaining_fraction = 1 −
//!   consumed_fraction`. Remaining goes negative once the budget is overspent and never exceeds
//!   1 (`consumed_bad ≥ 0`). With no events there is nothing to judge: the SLI is `None` and the
//!   whole budget remains.
//! * **Timeslices** ([`Budget::from_timeslices`]): time is cut into slices, each good or bad
//!   by its own SLI, and the budget is time: `allowed_bad = window minutes × b` (99.9 % over
//!   30 d allows 43.2 bad minutes); `consumed_bad = bad slices × slice minutes`. The SLI is
//!   `good slices / total slices`. Slices without data are neither good nor bad. The allowance
//!   is for the whole window, so early in a calendar period the remaining fraction already
//!   reflects the full month's budget.
//! * **Burn rate** ([`burn_rate`]): `error_ratio / b`. A burn rate of 1 spends exactly the
//!   budget over the window; 2 spends it in half the window.
//! * **Time to exhaustion** ([`time_to_exhaustion`]): at burn rate `r` the budget drains at `r /
//!   W` of itself per unit time (`W` = window length), so `remaining_fraction` of it lasts
//!   `remaining_fraction × W / r`.
//!
//! Inputs are *deltas* over the window (e.g. `increase()` of counters, or sums of per-interval
//! deltas from [`WindowSums`](super::WindowSums)); counter resets must already be handled by
//! whoever computed them. Because good and total come from separate series, scraped at
//! slightly different moments, `good` may exceed `total` by a little: it is clamped to
//! `[0, total]`, and a negative or non-finite `total` counts as no data.

use jiff::SignedDuration;
use rust_decimal::Decimal;

use super::objective::Objective;

/// What [`BudgetStatus`]'s absolute amounts count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BudgetUnit {
    /// Events (occurrences budgeting).
    Events,
    /// Minutes (timeslices budgeting).
    Minutes,
}

/// The state of an error budget over a window. See the module docs for the formulas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetStatus {
    /// Good / total (events or slices); `None` when there is no data.
    pub sli: Option<f64>,
    /// What `allowed_bad`, `consumed_bad` and `remaining_bad` count.
    pub unit: BudgetUnit,
    /// The budget in `unit`s.
    pub allowed_bad: f64,
    /// Bad events (or bad minutes) so far; never negative.
    pub consumed_bad: f64,
    /// `allowed_bad − consumed_bad`; negative when overspent.
    pub remaining_bad: f64,
    /// `consumed_bad / allowed_bad`; 0 when nothing was consumed.
    pub consumed_fraction: f64,
    /// `1 − consumed_fraction`: at most 1, negative when overspent.
    pub remaining_fraction: f64,
}

impl BudgetStatus {
    /// The status for `consumed_bad` against an allowance of `base × budget` (`base` = total
    /// events, or window minutes). Uses the budget's exact mantissa and power of ten so that
    /// each quantity is rounded once: spending exactly the allowance gives exactly 1.
    fn new(objective: &Objective, sli: Option<f64>, unit: BudgetUnit, base: f64, consumed_bad: f64) -> BudgetStatus {
        let (mantissa, power) = objective.budget_parts_f64();
        let allowed_bad = base * mantissa / power;
        let consumed_fraction = if consumed_bad == 0.0 {
            0.0
        } else if allowed_bad > 0.0 {
            consumed_bad * power / (base * mantissa)
        } else {
            // Bad events against a zero allowance (a zero-length window): infinitely overspent.
            f64::INFINITY
        };
        BudgetStatus {
            sli,
            unit,
            allowed_bad,
            consumed_bad,
            remaining_bad: allowed_bad - consumed_bad,
            consumed_fraction,
            remaining_fraction: 1.0 - consumed_fraction,
        }
    }

    /// Whether the budget is spent (nothing remains).
    pub fn is_exhausted(&self) -> bool {
        self.remaining_fraction <= 0.0
    }
}

/// The budgeting methods of OpenSLO (`budgetingMethod`). Never constructed: a namespace for
/// [`Budget::from_events`] and [`Budget::from_timeslices`].
#[derive(Debug)]
pub enum Budget {}

impl Budget {
    /// Occurrences budgeting: every event counts (OpenSLO `Occurrences`).
    pub fn from_events(objective: &Objective, good: f64, total: f64) -> BudgetStatus {
        let total = if total.is_finite() && total > 0.0 { total } else { 0.0 };
        // `max` before `min` also maps a NaN `good` to 0.
        let good = good.max(0.0).min(total);
        let sli = (total > 0.0).then(|| good / total);
        BudgetStatus::new(objective, sli, BudgetUnit::Events, total, total - good)
    }

    /// Timeslices budgeting (OpenSLO `Timeslices`): `good_slices` of `total_slices` slices of
    /// length `slice` met their own target; the budget is `window_len × budget` in minutes.
    pub fn from_timeslices(
        objective: &Objective,
        good_slices: u64,
        total_slices: u64,
        slice: SignedDuration,
        window_len: SignedDuration,
    ) -> BudgetStatus {
        let good = good_slices.min(total_slices);
        let sli = (total_slices > 0).then(|| good as f64 / total_slices as f64);
        let minutes = |d: SignedDuration| d.as_secs_f64().max(0.0) / 60.0;
        let consumed = (total_slices - good) as f64 * minutes(slice);
        BudgetStatus::new(objective, sli, BudgetUnit::Minutes, minutes(window_len), consumed)
    }
}

/// Bad / total, or `None` without traffic. Clamped to `[0, 1]` (see the module docs).
pub fn error_ratio(good: f64, total: f64) -> Option<f64> {
    if !(total.is_finite() && total > 0.0) {
        return None;
    }
    Some((total - good.max(0.0).min(total)) / total)
}

/// The budget as time, exactly: `window_len × budget`, truncated to the nanosecond. 99.9 %
/// over 30 days allows 43 min 12 s.
pub fn allowed_downtime(objective: &Objective, window_len: SignedDuration) -> SignedDuration {
    let budget = objective.budget();
    let nanos = window_len.as_nanos();
    // |nanos| < 2^93 and the budget's mantissa < 10^8 < 2^27: the product fits an i128.
    let scaled = nanos * budget.mantissa() / 10i128.pow(budget.scale());
    let secs = scaled / 1_000_000_000;
    // A part of `window_len`, so it fits a SignedDuration whenever `window_len` does.
    let secs = i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX });
    SignedDuration::new(secs, (scaled % 1_000_000_000) as i32)
}

/// The burn rate of an error ratio: `error_ratio / budget` (SRE Workbook, "Alerting on SLOs").
pub fn burn_rate(error_ratio: f64, objective: &Objective) -> f64 {
    let (mantissa, power) = objective.budget_parts_f64();
    error_ratio * power / mantissa
}

/// How long the remaining budget lasts at `burn_rate`: `remaining_fraction × window_len /
/// burn_rate`. `Some(0)` when it is already exhausted (`remaining_fraction ≤ 0`), `None` when
/// it is never exhausted (`burn_rate ≤ 0`) or an input is NaN. A finite time too long for a
/// [`SignedDuration`] saturates at [`SignedDuration::MAX`].
pub fn time_to_exhaustion(
    remaining_fraction: f64,
    burn_rate: f64,
    window_len: SignedDuration,
) -> Option<SignedDuration> {
    if remaining_fraction.is_nan() || burn_rate.is_nan() {
        return None;
    }
    if remaining_fraction <= 0.0 {
        return Some(SignedDuration::ZERO);
    }
    if burn_rate <= 0.0 {
        return None;
    }
    let secs = remaining_fraction * window_len.as_secs_f64() / burn_rate;
    Some(SignedDuration::try_from_secs_f64(secs).unwrap_or(SignedDuration::MAX))
}

/// The minimum-traffic guard: whether `total_events` seen over `span` are enough to judge an
/// SLO. At least one event is always required (without events the SLI is undefined); with a
/// minimum rate, `total_events ≥ min_events_per_hour × span in hours` as well. Below it a
/// single failure among a handful of requests would page, so the controller reports
/// "insufficient data" instead.
pub fn sufficient_data(total_events: f64, span: SignedDuration, min_events_per_hour: Option<f64>) -> bool {
    if total_events.is_nan() || total_events <= 0.0 {
        return false;
    }
    match min_events_per_hour {
        None => true,
        Some(min) => total_events >= min * span.as_secs_f64() / 3600.0,
    }
}

/// The weighted mean `Σ wᵢ·slіᵢ / Σ wᵢ` of component SLIs, for a journey-level composite SLO
/// (OpenSLO `CompositeSLO`, weighted average). `None` when there are no components, a weight
/// is not a positive finite number, or an SLI is outside `[0, 1]`.
pub fn composite_sli(components: &[(f64, f64)]) -> Option<f64> {
    if components.is_empty() {
        return None;
    }
    let mut weighted = 0.0;
    let mut weights = 0.0;
    for &(sli, weight) in components {
        if !(weight.is_finite() && weight > 0.0 && (0.0..=1.0).contains(&sli)) {
            return None;
        }
        weighted += weight * sli;
        weights += weight;
    }
    // Rounding can push a mean of values ≤ 1 a hair above 1.
    Some((weighted / weights).min(1.0))
}

/// The exact allowance in events for a whole number of events: `total × budget`.
pub fn allowed_bad_exact(objective: &Objective, total: u64) -> Decimal {
    Decimal::from(total) * objective.budget()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective(s: &str) -> Objective {
        s.parse().expect("valid objective")
    }

    #[test]
    fn good_above_total_is_clamped() {
        let s = Budget::from_events(&objective("99"), 101.0, 100.0);
        assert_eq!(s.sli, Some(1.0));
        assert_eq!(s.consumed_bad, 0.0);
        assert_eq!(s.remaining_fraction, 1.0);
    }

    #[test]
    fn a_negative_total_is_no_data() {
        let s = Budget::from_events(&objective("99"), 0.0, -3.0);
        assert_eq!(s.sli, None);
        assert_eq!(s.remaining_fraction, 1.0);
    }

    #[test]
    fn bad_slices_in_a_zero_length_window_overspend_infinitely() {
        let s = Budget::from_timeslices(&objective("99"), 0, 1, SignedDuration::from_mins(1), SignedDuration::ZERO);
        assert_eq!(s.remaining_fraction, f64::NEG_INFINITY);
    }

    #[test]
    fn a_nan_remaining_fraction_has_no_exhaustion_time() {
        assert_eq!(time_to_exhaustion(f64::NAN, 1.0, SignedDuration::from_hours(1)), None);
    }
}
