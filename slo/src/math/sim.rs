//! A traffic simulator: replays an error-ratio pattern through [`WindowSums`] and reports
//! when each alert tier starts and stops firing.
//!
//! It answers "would these tiers have paged for that incident, and when?" the way the
//! controller evaluates them — the same buckets, the same exact comparison
//! ([`BurnTier::fires_on`]) — without a clock or a Prometheus. The tests use it to check the
//! tiers against the SRE Workbook's worked examples; the controller and docs can use it to
//! preview a spec's alerting.
//!
//! Model: time advances in steps of `step` from offset 0. Each step carries
//! `events_per_step` events, of which `round(error_ratio(t) × events_per_step)` are bad, `t`
//! being the step's start; the steps are the buckets of the [`WindowSums`]. After each step,
//! at offset `t + step`, every tier is evaluated over its long and short windows (which should
//! be multiples of `step`; see [`WindowSums::sum_over`]). The history before offset 0 is empty,
//! so a pattern that needs a clean past starts with enough good traffic.

use jiff::{SignedDuration, Timestamp};

use super::alert::{BurnTier, Severity};
use super::objective::Objective;
use super::sums::{SumsError, WindowSums};

/// One stretch of time during which a tier fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firing {
    /// Index of the tier in [`Simulation::tiers`].
    pub tier: usize,
    pub severity: Severity,
    /// Offset of the evaluation at which it started firing.
    pub start: SignedDuration,
    /// Offset of the first evaluation at which it no longer fired; `None` if it still fired at
    /// the end.
    pub end: Option<SignedDuration>,
}

/// Simulated traffic against a set of tiers. See the module docs.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub objective: Objective,
    pub tiers: Vec<BurnTier>,
    pub step: SignedDuration,
    pub events_per_step: u64,
}

impl Simulation {
    pub fn new(objective: Objective, tiers: Vec<BurnTier>, step: SignedDuration, events_per_step: u64) -> Simulation {
        Simulation { objective, tiers, step, events_per_step }
    }

    /// Runs the pattern for `duration` and returns every firing, ordered by start (then tier).
    /// Fails when `step` cannot be a bucket interval or the tiers' windows need too many
    /// buckets.
    pub fn run(
        &self,
        duration: SignedDuration,
        error_ratio: impl Fn(SignedDuration) -> f64,
    ) -> Result<Vec<Firing>, SumsError> {
        let step_ns = self.step.as_nanos();
        if step_ns <= 0 {
            return Err(SumsError::IntervalTooShort);
        }
        let longest = self.tiers.iter().map(|t| t.long_window.max(t.short_window)).max().unwrap_or(self.step);
        // Round the ring up to whole steps so every tier window fits.
        let buckets = ((longest.as_nanos() + step_ns - 1) / step_ns).max(1);
        let window = SignedDuration::from_nanos_i128(buckets.saturating_mul(step_ns).min(i128::from(i64::MAX)));
        let mut sums = WindowSums::new(window, self.step)?;

        let mut firing: Vec<Option<SignedDuration>> = vec![None; self.tiers.len()];
        let mut done = Vec::new();
        let steps = (duration.as_nanos() + step_ns - 1) / step_ns;
        for i in 0..steps {
            let start = SignedDuration::from_nanos_i128(i * step_ns);
            let ratio = error_ratio(start);
            let ratio = if ratio.is_nan() { 0.0 } else { ratio.clamp(0.0, 1.0) };
            let bad = (ratio * self.events_per_step as f64).round() as u64;
            let at = Timestamp::UNIX_EPOCH.saturating_add(start).unwrap_or(Timestamp::MAX);
            sums.push(at, self.events_per_step - bad.min(self.events_per_step), self.events_per_step);

            let now = start + self.step;
            for (index, tier) in self.tiers.iter().enumerate() {
                let fires = match (sums.sum_over(tier.long_window), sums.sum_over(tier.short_window)) {
                    (Some(long), Some(short)) => tier.fires_on(long, short, &self.objective),
                    _ => false,
                };
                match (firing[index], fires) {
                    (None, true) => firing[index] = Some(now),
                    (Some(since), false) => {
                        done.push(Firing { tier: index, severity: tier.severity, start: since, end: Some(now) });
                        firing[index] = None;
                    }
                    _ => {}
                }
            }
        }
        for (index, since) in firing.into_iter().enumerate() {
            if let Some(since) = since {
                done.push(Firing { tier: index, severity: self.tiers[index].severity, start: since, end: None });
            }
        }
        done.sort_by_key(|f| (f.start, f.tier));
        Ok(done)
    }
}
