//! Rolling sums of good and total events, per interval, for the budget window and every
//! burn-rate window at once.
//!
//! The controller's embedded scraper turns counters into per-scrape deltas (handling counter
//! resets itself: a [`WindowSums`] only ever receives deltas) and pushes them here. From the
//! same buckets it then reads, in O(1) each:
//!
//! * the totals over the SLO's rolling window ([`WindowSums::totals`]), which "reset" on their
//!   own as old buckets leave the window: a bad minute stops counting against the budget
//!   exactly one window length after it happened;
//! * the totals over each burn-rate window of the SRE Workbook's tiers (5m, 30m, 1h, 2h, 6h,
//!   1d, 3d: [`WindowSums::sum_over`]).
//!
//! **How.** Time is cut into buckets of one `interval`, aligned on the Unix epoch: bucket `k`
//! holds the events pushed with a timestamp in `[k·interval, (k+1)·interval)`. Rather than each
//! bucket's own counts, a ring of `window / interval + 1` entries stores the *cumulative* counts
//! up to the end of each bucket — a counter, as Prometheus stores them. The sum over the newest
//! `k` buckets is then one subtraction, `cum[head] − cum[head − k]`, whatever `k` is. Moving the
//! head forward copies the head's value into the buckets it passes (at most the ring's length,
//! so O(1) amortized per interval of time); a push into the head bucket is O(1), and a late push
//! into an older bucket of the window costs one update per bucket since. Counts are `u64` and
//! exact; the cumulative values wrap around modulo 2⁶⁴, which leaves every difference exact as
//! long as one window holds fewer than 2⁶⁴ events.
//!
//! **What a window covers.** Reads are as of the head bucket, the newest one pushed or
//! [advanced](WindowSums::advance_to) to; call `advance_to(now)` before reading so that a quiet
//! period counts as quiet. A duration `d` covers the newest `⌈d / interval⌉` buckets: the head
//! (possibly still filling) and the full ones before it. Push each delta with the start of the
//! interval it covers (a scrape at `t` with the previous one at `t − 1m` pushes at `t − 1m`).
//!
//! **Memory.** 16 bytes per bucket: a 30-day window at one-minute buckets is 43,201 entries
//! (675 KiB); at ten-second buckets, 259,201 (4 MiB).

use jiff::{SignedDuration, Timestamp};

use super::budget::{Budget, BudgetStatus};
use super::objective::Objective;

/// The most buckets one [`WindowSums`] may hold (128 MiB).
pub const MAX_BUCKETS: usize = 1 << 23;

/// Good and total event counts over some span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Counts {
    pub good: u64,
    pub total: u64,
}

impl Counts {
    pub const ZERO: Counts = Counts { good: 0, total: 0 };

    pub fn new(good: u64, total: u64) -> Counts {
        Counts { good, total }
    }

    /// `total − good` (0 if good exceeds total, see [`budget`](super::budget)).
    pub fn bad(&self) -> u64 {
        self.total.saturating_sub(self.good)
    }

    /// Good / total, `None` without events.
    pub fn sli(&self) -> Option<f64> {
        (self.total > 0).then(|| self.good.min(self.total) as f64 / self.total as f64)
    }

    /// Bad / total, `None` without events.
    pub fn error_ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.bad() as f64 / self.total as f64)
    }

    /// The occurrences budget over these counts ([`Budget::from_events`]).
    pub fn budget(&self, objective: &Objective) -> BudgetStatus {
        Budget::from_events(objective, self.good as f64, self.total as f64)
    }

    fn wrapping_sub(self, earlier: Counts) -> Counts {
        Counts { good: self.good.wrapping_sub(earlier.good), total: self.total.wrapping_sub(earlier.total) }
    }

    fn wrapping_add(self, delta: Counts) -> Counts {
        Counts { good: self.good.wrapping_add(delta.good), total: self.total.wrapping_add(delta.total) }
    }
}

/// Why a [`WindowSums`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SumsError {
    #[error("the interval must be at least 1ms")]
    IntervalTooShort,
    #[error("the window must be a positive whole number of intervals")]
    NotMultiple,
    #[error("{0} buckets is too many (at most {MAX_BUCKETS}); use a longer interval")]
    TooManyBuckets(i128),
}

/// Per-interval good/total counts over a rolling window. See the module docs.
#[derive(Debug, Clone)]
pub struct WindowSums {
    interval: SignedDuration,
    interval_ns: i128,
    /// Buckets in the window, `n`.
    buckets: i64,
    /// Cumulative counts at the end of bucket `k`, at index `k mod (n + 1)`.
    cum: Vec<Counts>,
    /// The newest bucket, once anything was pushed or advanced to.
    head: Option<i64>,
    /// The oldest bucket ever tracked, to tell how much of the window has data.
    first: i64,
}

impl WindowSums {
    /// Sums over a rolling `window` in buckets of `interval` (`window` must be a whole number of
    /// intervals, `interval` at least a millisecond).
    pub fn new(window: SignedDuration, interval: SignedDuration) -> Result<WindowSums, SumsError> {
        let interval_ns = interval.as_nanos();
        if interval_ns < 1_000_000 {
            return Err(SumsError::IntervalTooShort);
        }
        let window_ns = window.as_nanos();
        if window_ns <= 0 || window_ns % interval_ns != 0 {
            return Err(SumsError::NotMultiple);
        }
        let buckets = window_ns / interval_ns;
        if buckets > MAX_BUCKETS as i128 {
            return Err(SumsError::TooManyBuckets(buckets));
        }
        // Bounded by MAX_BUCKETS just above.
        let buckets = buckets as i64;
        Ok(WindowSums {
            interval,
            interval_ns,
            buckets,
            cum: vec![Counts::ZERO; buckets as usize + 1],
            head: None,
            first: 0,
        })
    }

    /// The rolling window's length.
    pub fn window(&self) -> SignedDuration {
        SignedDuration::from_nanos_i128(self.interval_ns * i128::from(self.buckets))
    }

    /// The bucket width.
    pub fn interval(&self) -> SignedDuration {
        self.interval
    }

    /// The start of the newest bucket, `None` before the first push or advance.
    pub fn head(&self) -> Option<Timestamp> {
        self.head.and_then(|h| Timestamp::from_nanosecond(i128::from(h) * self.interval_ns).ok())
    }

    /// How much of the window has been tracked: from the oldest bucket ever pushed (or
    /// advanced to) to the head, at most the window. Right after a restart this is short, and
    /// totals cover only that much (feed it to [`sufficient_data`](super::sufficient_data)).
    pub fn covered(&self) -> SignedDuration {
        match self.head {
            None => SignedDuration::ZERO,
            Some(h) => {
                let buckets = (h - self.first + 1).min(self.buckets);
                SignedDuration::from_nanos_i128(self.interval_ns * i128::from(buckets))
            }
        }
    }

    fn bucket_of(&self, at: Timestamp) -> i64 {
        // |at| < 2^69 ns (jiff's range is years ±9999) and the interval is at least 10^6 ns,
        // so the quotient is below 2^49 and fits an i64.
        at.as_nanosecond().div_euclid(self.interval_ns) as i64
    }

    fn slot(&self, bucket: i64) -> usize {
        // rem_euclid by n + 1 ≤ MAX_BUCKETS + 1 is non-negative and small.
        bucket.rem_euclid(self.buckets + 1) as usize
    }

    /// Moves the head to the bucket containing `now`, so that buckets older than the window
    /// drop out. Does nothing if `now` is not newer than the head.
    pub fn advance_to(&mut self, now: Timestamp) {
        let b = self.bucket_of(now);
        match self.head {
            None => {
                self.head = Some(b);
                self.first = b;
            }
            Some(h) if b > h => {
                let current = self.cum[self.slot(h)];
                // The ring holds n + 1 buckets: past that, every slot is overwritten once.
                let steps = (b - h).min(self.buckets + 1);
                for k in (b - steps + 1)..=b {
                    let slot = self.slot(k);
                    self.cum[slot] = current;
                }
                self.head = Some(b);
            }
            Some(_) => {}
        }
    }

    /// Adds `good` of `total` events that happened at `at`. A timestamp newer than the head
    /// advances it first. Returns `false` (and drops the events) when `at` is older than the
    /// window.
    pub fn push(&mut self, at: Timestamp, good: u64, total: u64) -> bool {
        self.advance_to(at);
        let b = self.bucket_of(at);
        // advance_to has set the head.
        let Some(h) = self.head else { return false };
        if b <= h - self.buckets {
            return false;
        }
        self.first = self.first.min(b);
        let delta = Counts { good, total };
        for k in b..=h {
            let slot = self.slot(k);
            self.cum[slot] = self.cum[slot].wrapping_add(delta);
        }
        true
    }

    fn newest(&self, buckets: i64) -> Counts {
        match self.head {
            None => Counts::ZERO,
            Some(h) => self.cum[self.slot(h)].wrapping_sub(self.cum[self.slot(h - buckets)]),
        }
    }

    /// The counts over the whole window, as of the head.
    pub fn totals(&self) -> Counts {
        self.newest(self.buckets)
    }

    /// The counts over the newest `⌈duration / interval⌉` buckets, as of the head. `None` when
    /// `duration` is not positive or longer than the window.
    pub fn sum_over(&self, duration: SignedDuration) -> Option<Counts> {
        let ns = duration.as_nanos();
        if ns <= 0 {
            return None;
        }
        let buckets = (ns + self.interval_ns - 1) / self.interval_ns;
        if buckets > i128::from(self.buckets) {
            return None;
        }
        // At most self.buckets, an i64.
        Some(self.newest(buckets as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).expect("in range")
    }

    #[test]
    fn a_window_must_be_a_whole_number_of_intervals() {
        let m = SignedDuration::from_mins(1);
        assert_eq!(WindowSums::new(SignedDuration::from_secs(90), m).err(), Some(SumsError::NotMultiple));
        assert_eq!(WindowSums::new(SignedDuration::ZERO, m).err(), Some(SumsError::NotMultiple));
        assert_eq!(WindowSums::new(m, SignedDuration::from_micros(10)).err(), Some(SumsError::IntervalTooShort));
        assert!(matches!(
            WindowSums::new(SignedDuration::from_hours(24 * 400), SignedDuration::from_millis(1)),
            Err(SumsError::TooManyBuckets(_))
        ));
    }

    #[test]
    fn a_jump_longer_than_the_ring_clears_it() {
        let mut s = WindowSums::new(SignedDuration::from_mins(3), SignedDuration::from_mins(1)).expect("valid");
        assert!(s.push(at(0), 1, 2));
        s.advance_to(at(3600));
        assert_eq!(s.totals(), Counts::ZERO);
        assert!(s.push(at(3600), 5, 5));
        assert_eq!(s.totals(), Counts::new(5, 5));
    }

    #[test]
    fn counts_before_the_epoch_land_in_their_own_buckets() {
        let mut s = WindowSums::new(SignedDuration::from_mins(2), SignedDuration::from_mins(1)).expect("valid");
        s.push(at(-61), 0, 1);
        s.push(at(-1), 1, 1);
        assert_eq!(s.sum_over(SignedDuration::from_mins(1)), Some(Counts::new(1, 1)));
        assert_eq!(s.totals(), Counts::new(1, 2));
    }

    #[test]
    fn cumulative_counts_may_wrap_around() {
        let mut s = WindowSums::new(SignedDuration::from_mins(2), SignedDuration::from_mins(1)).expect("valid");
        s.push(at(0), u64::MAX - 1, u64::MAX - 1);
        s.push(at(60), 3, 4);
        s.push(at(120), 2, 2);
        assert_eq!(s.sum_over(SignedDuration::from_mins(2)), Some(Counts::new(5, 6)));
    }
}
