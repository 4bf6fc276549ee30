//! Multi-window, multi-burn-rate alert tiers (Google SRE Workbook, "Alerting on SLOs").
//!
//! A tier fires when the error ratio over its **long** window *and* over its **short** window
//! both exceed `burn_rate × budget`. The long window decides how much budget must have been
//! spent before anyone is bothered; the short window (1/12 of the long one in the Workbook)
//! makes the alert stop soon after the errors do.
//!
//! **Defaults.** The Workbook's recommended table, for a 30-day SLO window (section
//! "6: Multiwindow, Multi-Burn-Rate Alerts", table "Recommended parameters"):
//!
//! | severity | long window | short window | burn rate | budget consumed in the long window |
//! |----------|-------------|--------------|-----------|------------------------------------|
//! | page     | 1h          | 5m           | 14.4      | 2 %                                |
//! | page     | 6h          | 30m          | 6         | 5 %                                |
//! | ticket   | 1d          | 2h           | 3         | 10 %                               |
//! | ticket   | 3d          | 6h           | 1         | 10 %                               |
//!
//! The budget fractions are the fundamental numbers: burning at rate `r` for a long window `L`
//! consumes `r × L / W` of a window `W`'s budget (rate 1 spends it all in `W`), so the rate that
//! consumes a fraction `f` in `L` is **`r = f × W / L`** ([`burn_rate_consuming`]). For 30 days
//! (720 h) that gives back the table: 0.02 × 720 h / 1 h = 14.4, 0.05 × 720 / 6 = 6, 0.1 × 720 /
//! 24 = 3, 0.1 × 720 / 72 = 1. For 28 days (672 h): 13.44, 5.6, 2.8 and 0.9333…. The factor is
//! computed exactly as a fraction of integers (nanoseconds) and kept exact when its decimal
//! expansion terminates (13.44); otherwise it is rounded to the nearest multiple of 0.0001
//! (0.9333), the precision at which a threshold still reads well in a generated rule.
//!
//! **Threshold.** `error_ratio_threshold = burn_rate × budget`, exact: 14.4 × 0.001 = 0.0144.
//! "Exceeds" is strict, as in the Workbook's PromQL (`>`).
//!
//! **Detection time** ([`detection_time`]). After errors start at a constant ratio `e`, with
//! constant traffic and a clean history, the error ratio over a window of length `w` after
//! `t ≤ w` is `e × t / w`. It exceeds the threshold `θ` once `t > θ × w / e`; the long window is
//! the later of the two, so the tier fires after **`θ × L / e = budget × burn_rate × L / e`** —
//! the Workbook's "time to detect" (`(1 − SLO) / error ratio × alerting window × burn rate`,
//! section "4: Alert on Burn Rate"). For a 100 % outage at 99.9 % and the 14.4×/1h tier:
//! 0.001 × 14.4 × 60 min / 1 = 0.864 min. When `e ≤ θ` the tier never fires.

use std::fmt;
use std::str::FromStr;

use jiff::SignedDuration;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::exact;
use super::objective::Objective;
use super::sums::Counts;

/// Who is told when a tier fires: a page wakes someone up, a ticket waits for working hours.
/// Its text (`page`, `ticket`) is written in one place, [`Severity::as_str`]; everything else
/// (specs, generated rules, alerts, notifications, the API) goes through it or through serde.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    /// `page` or `ticket`, the `severity` label of generated alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is neither `page` nor `ticket`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a severity (page or ticket)")]
pub struct SeverityError(pub String);

impl FromStr for Severity {
    type Err = SeverityError;

    fn from_str(s: &str) -> Result<Severity, SeverityError> {
        [Severity::Page, Severity::Ticket]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| SeverityError(s.to_string()))
    }
}

/// One row of the Workbook's table, independent of the SLO window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierDefault {
    /// The tier's name in specs, alerts and generated rules (`fast-page`, ...).
    pub name: &'static str,
    pub severity: Severity,
    pub long_window: SignedDuration,
    pub short_window: SignedDuration,
    /// The share of the window's budget spent in `long_window` at the tier's burn rate, in
    /// percent.
    pub budget_percent: u32,
}

/// The SRE Workbook's recommended tiers, fastest first (see the module docs).
pub const DEFAULT_TIERS: [TierDefault; 4] = [
    TierDefault {
        name: "fast-page",
        severity: Severity::Page,
        long_window: SignedDuration::from_hours(1),
        short_window: SignedDuration::from_mins(5),
        budget_percent: 2,
    },
    TierDefault {
        name: "slow-page",
        severity: Severity::Page,
        long_window: SignedDuration::from_hours(6),
        short_window: SignedDuration::from_mins(30),
        budget_percent: 5,
    },
    TierDefault {
        name: "fast-ticket",
        severity: Severity::Ticket,
        long_window: SignedDuration::from_hours(24),
        short_window: SignedDuration::from_hours(2),
        budget_percent: 10,
    },
    TierDefault {
        name: "slow-ticket",
        severity: Severity::Ticket,
        long_window: SignedDuration::from_hours(72),
        short_window: SignedDuration::from_hours(6),
        budget_percent: 10,
    },
];

/// The default tiers' names, fastest first (the one table above, read by name).
pub const DEFAULT_TIER_NAMES: [&str; 4] =
    [DEFAULT_TIERS[0].name, DEFAULT_TIERS[1].name, DEFAULT_TIERS[2].name, DEFAULT_TIERS[3].name];

impl TierDefault {
    /// This row for an SLO window of `window_len`; `None` when its burn rate cannot be computed
    /// for that window.
    pub fn for_window(&self, window_len: SignedDuration) -> Option<BurnTier> {
        let fraction = Decimal::new(i64::from(self.budget_percent), 2);
        let burn_rate = burn_rate_consuming(fraction, window_len, self.long_window)?;
        Some(BurnTier {
            severity: self.severity,
            long_window: self.long_window,
            short_window: self.short_window,
            burn_rate,
        })
    }
}

/// The decimal places of a burn-rate factor that does not terminate.
pub const BURN_RATE_DECIMALS: u32 = 4;

/// One alert tier: fire with `severity` when the error ratio over both windows exceeds
/// `burn_rate × budget`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BurnTier {
    pub severity: Severity,
    pub long_window: SignedDuration,
    pub short_window: SignedDuration,
    pub burn_rate: Decimal,
}

impl BurnTier {
    /// The error ratio both windows must exceed: `burn_rate × budget`, exact (14.4 × 0.001 =
    /// 0.0144). Saturates at [`Decimal::MAX`] for absurd burn rates.
    pub fn error_ratio_threshold(&self, objective: &Objective) -> Decimal {
        self.burn_rate.checked_mul(objective.budget()).map_or(Decimal::MAX, |d| d.normalize())
    }

    /// The `f64` nearest to [`BurnTier::error_ratio_threshold`].
    pub fn threshold_f64(&self, objective: &Objective) -> f64 {
        exact::to_f64(self.error_ratio_threshold(objective))
    }

    /// Whether the tier fires for these error ratios: both strictly above the threshold. NaN
    /// (no traffic) never fires.
    pub fn fires(&self, long_error_ratio: f64, short_error_ratio: f64, objective: &Objective) -> bool {
        let threshold = self.threshold_f64(objective);
        long_error_ratio > threshold && short_error_ratio > threshold
    }

    /// [`BurnTier::fires`] on counts, compared exactly (`bad × 10^scale > threshold mantissa ×
    /// total` in integers), so a ratio equal to the threshold never fires because of rounding.
    /// Windows without events never fire.
    pub fn fires_on(&self, long: Counts, short: Counts, objective: &Objective) -> bool {
        let threshold = self.error_ratio_threshold(objective);
        exceeds(long, threshold) && exceeds(short, threshold)
    }

    /// The share of a `window_len` window's budget this tier's long window spends before it
    /// fires: `burn_rate × long_window / window_len` (the inverse of [`burn_rate_consuming`];
    /// 0.02 for the 14.4×/1h tier of a 30-day window). Exact when it terminates, else rounded
    /// to 6 decimals; `None` for a non-positive window.
    pub fn budget_consumed(&self, window_len: SignedDuration) -> Option<Decimal> {
        let (long, window) = reduced(self.long_window.as_nanos(), window_len.as_nanos())?;
        let num = self.burn_rate.mantissa().checked_mul(long)?;
        let den = exact::pow10(self.burn_rate.scale())?.checked_mul(window)?;
        exact::ratio_to_decimal(num, den, 6)
    }
}

fn exceeds(counts: Counts, threshold: Decimal) -> bool {
    if counts.total == 0 {
        return false;
    }
    if threshold.is_sign_negative() {
        return true;
    }
    let bad = u128::from(counts.bad());
    let total = u128::from(counts.total);
    // The threshold is non-negative here, so its mantissa is too.
    let mantissa = threshold.mantissa().unsigned_abs();
    let scale = 10u128.checked_pow(threshold.scale());
    match (scale.and_then(|s| bad.checked_mul(s)), mantissa.checked_mul(total)) {
        (Some(lhs), Some(rhs)) => lhs > rhs,
        // Only for thresholds with very many digits: fall back to floating point.
        _ => bad as f64 / total as f64 > exact::to_f64(threshold),
    }
}

/// `a / b` as a fraction in lowest terms with a positive denominator; `None` unless both are
/// positive.
fn reduced(a: i128, b: i128) -> Option<(i128, i128)> {
    if a <= 0 || b <= 0 {
        return None;
    }
    let g = exact::gcd(a, b);
    Some((a / g, b / g))
}

/// The burn rate that spends `budget_fraction` of a `window_len` window's budget within
/// `long_window`: `budget_fraction × window_len / long_window`, exact when the decimal
/// terminates, else rounded to [`BURN_RATE_DECIMALS`] places (see the module docs). `None`
/// for non-positive windows, a negative fraction, or a result beyond a `Decimal`.
pub fn burn_rate_consuming(
    budget_fraction: Decimal,
    window_len: SignedDuration,
    long_window: SignedDuration,
) -> Option<Decimal> {
    if budget_fraction.is_sign_negative() {
        return None;
    }
    let (window, long) = reduced(window_len.as_nanos(), long_window.as_nanos())?;
    let num = budget_fraction.mantissa().checked_mul(window)?;
    let den = exact::pow10(budget_fraction.scale())?.checked_mul(long)?;
    exact::ratio_to_decimal(num, den, BURN_RATE_DECIMALS)
}

/// The Workbook's default tiers scaled to `window_len` (fastest first: page 1h/5m, page
/// 6h/30m, ticket 1d/2h, ticket 3d/6h). Empty for a non-positive window. For a calendar window
/// pass [`Window::nominal_length`](super::Window::nominal_length) so the tiers do not change
/// from month to month.
pub fn default_tiers(window_len: SignedDuration) -> Vec<BurnTier> {
    DEFAULT_TIERS.iter().filter_map(|d| d.for_window(window_len)).collect()
}

/// How long a constant `error_ratio`, starting on a clean history with steady traffic, takes to
/// make `tier` fire: `budget × burn_rate × max(long, short) / error_ratio` (see the module
/// docs). `None` when it never fires (`error_ratio` at or below the threshold, or not a ratio
/// in `[0, 1]`). Exact to the nanosecond when `error_ratio` is a short decimal (`1.0`,
/// `0.035`): 51.84 s for a 100 % outage on the 14.4×/1h tier at 99.9 %.
pub fn detection_time(tier: &BurnTier, error_ratio: f64, objective: &Objective) -> Option<SignedDuration> {
    let threshold = tier.error_ratio_threshold(objective);
    if !(error_ratio > exact::to_f64(threshold) && error_ratio <= 1.0) {
        return None;
    }
    let window = tier.long_window.max(tier.short_window);
    // The shortest decimal that round-trips to `error_ratio` is what the caller wrote.
    let exact_time = error_ratio.to_string().parse::<Decimal>().ok().and_then(|e| {
        let nanos = Decimal::from_i128_with_scale(window.as_nanos(), 0);
        let t = threshold.checked_mul(nanos)?.checked_div(e)?.round().to_i128()?;
        // e > threshold, so t < window: it fits a SignedDuration.
        Some(SignedDuration::from_nanos_i128(t))
    });
    exact_time.or_else(|| {
        SignedDuration::try_from_secs_f64(exact::to_f64(threshold) * window.as_secs_f64() / error_ratio).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective(s: &str) -> Objective {
        s.parse().expect("valid objective")
    }

    #[test]
    fn severities_parse_from_their_labels() {
        assert_eq!("page".parse::<Severity>(), Ok(Severity::Page));
        assert_eq!("ticket".parse::<Severity>(), Ok(Severity::Ticket));
        assert!("warning".parse::<Severity>().is_err());
    }

    #[test]
    fn a_ratio_exactly_at_the_threshold_does_not_fire_on_counts() {
        let tier = &default_tiers(SignedDuration::from_hours(720))[0];
        let at_threshold = Counts::new(10_000 - 144, 10_000);
        let just_above = Counts::new(10_000 - 145, 10_000);
        assert!(!tier.fires_on(at_threshold, at_threshold, &objective("99.9")));
        assert!(tier.fires_on(just_above, just_above, &objective("99.9")));
    }

    #[test]
    fn empty_windows_never_fire() {
        let tier = &default_tiers(SignedDuration::from_hours(720))[0];
        assert!(!tier.fires_on(Counts::ZERO, Counts::new(0, 5), &objective("99.9")));
        assert!(!tier.fires(f64::NAN, 1.0, &objective("99.9")));
    }

    #[test]
    fn non_positive_windows_have_no_default_tiers() {
        assert!(default_tiers(SignedDuration::ZERO).is_empty());
        assert!(default_tiers(-SignedDuration::from_hours(1)).is_empty());
    }
}
