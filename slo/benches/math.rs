//! The controller's evaluation pass over 10,000 SLOs: for each, the budget status over its
//! 30-day window and all four default burn-rate tiers (eight window reads and exact threshold
//! comparisons), plus the time to exhaustion at the 1 h burn rate, from prepared
//! [`WindowSums`]. One iteration is all 10,000 SLOs.
//!
//! The window sums are real (30 days of one-minute buckets, 675 KiB each) but shared: 100 of
//! them, each read by 100 SLOs with different objectives, to keep the bench at 70 MB on a
//! shared machine. Every read still lands in a different place of a 70 MB working set, so
//! the cost per SLO is the same as with 10,000 distinct sums. Run with
//! `cargo bench -p slo --bench math`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use slo::math::{BurnTier, Objective, WindowSums, burn_rate, default_tiers, time_to_exhaustion};

const SLOS: usize = 10_000;
const DISTINCT_SUMS: usize = 100;

struct Slo {
    sums: usize,
    objective: Objective,
    window_len: SignedDuration,
    tiers: Vec<BurnTier>,
}

/// A small deterministic generator (xorshift64*), so every run measures the same traffic.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// 30 days of per-minute traffic: a steady error ratio between 0 and 0.18 % and, for one
/// in seven, a 5 % incident over the last 20 minutes.
fn prepared_sums(index: usize, now: Timestamp, rng: &mut Rng) -> WindowSums {
    let window = SignedDuration::from_hours(24 * 30);
    let mut sums = WindowSums::new(window, SignedDuration::from_mins(1)).expect("valid window");
    let per_minute = 100 + (index as u64 * 37) % 900;
    let steady = (index % 10) as f64 * 0.0002;
    let minutes = 30 * 24 * 60;
    for m in 0..minutes {
        let ratio = if index.is_multiple_of(7) && m >= minutes - 20 { 0.05 } else { steady };
        // Stochastic rounding keeps the long-run ratio exact.
        let bad = ((ratio * per_minute as f64) + rng.next_f64()).floor() as u64;
        let at = now - SignedDuration::from_mins(minutes - 1 - m);
        sums.push(at, per_minute - bad.min(per_minute), per_minute);
    }
    sums
}

fn prepare() -> (Vec<WindowSums>, Vec<Slo>) {
    let now: Timestamp = "2026-11-25T12:00:00Z".parse().expect("literal");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sums: Vec<WindowSums> = (0..DISTINCT_SUMS).map(|i| prepared_sums(i, now, &mut rng)).collect();
    let objectives: Vec<Objective> =
        ["99", "99.5", "99.9", "99.95", "99.99"].iter().map(|s| s.parse().expect("valid objective")).collect();
    let window_len = SignedDuration::from_hours(24 * 30);
    let slos = (0..SLOS)
        .map(|i| Slo {
            sums: i % DISTINCT_SUMS,
            objective: objectives[(i / DISTINCT_SUMS) % objectives.len()],
            window_len,
            tiers: default_tiers(window_len),
        })
        .collect();
    (sums, slos)
}

/// One evaluation pass; returns (tiers firing, exhausted budgets, sum of remaining fractions).
fn evaluate(sums: &[WindowSums], slos: &[Slo]) -> (usize, usize, f64) {
    let mut firing = 0;
    let mut exhausted = 0;
    let mut remaining = 0.0;
    for slo in slos {
        let sums = &sums[slo.sums];
        let status = sums.totals().budget(&slo.objective);
        if status.is_exhausted() {
            exhausted += 1;
        }
        remaining += status.remaining_fraction;
        for tier in &slo.tiers {
            if let (Some(long), Some(short)) = (sums.sum_over(tier.long_window), sums.sum_over(tier.short_window))
                && tier.fires_on(long, short, &slo.objective)
            {
                firing += 1;
            }
        }
        let last_hour = sums.sum_over(SignedDuration::from_hours(1)).and_then(|c| c.error_ratio()).unwrap_or(0.0);
        let ttl = time_to_exhaustion(status.remaining_fraction, burn_rate(last_hour, &slo.objective), slo.window_len);
        black_box(ttl);
    }
    (firing, exhausted, remaining)
}

fn bench(c: &mut Criterion) {
    let (sums, slos) = prepare();
    let (firing, exhausted, _) = evaluate(&sums, &slos);
    // The workload must be mixed, or the bench would measure a shortcut.
    assert!(firing > 0 && firing < slos.len() * 4, "{firing} tiers firing");
    assert!(exhausted > 0 && exhausted < slos.len(), "{exhausted} budgets exhausted");
    eprintln!("{} SLOs: {firing} tiers firing, {exhausted} budgets exhausted", slos.len());

    c.bench_function("budget and burn-rate tiers, 10,000 SLOs", |b| {
        b.iter(|| evaluate(black_box(&sums), black_box(&slos)))
    });
}

criterion_group! {
    name = benches;
    // The machine is shared: a short, small run is enough for a millisecond-scale pass.
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
