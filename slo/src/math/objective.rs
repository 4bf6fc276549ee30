//! The objective of an SLO: a percentage in the open interval (0, 100), kept exact.
//!
//! An objective of `99.9` means that 99.9 % of events (or time slices) must be good over the
//! SLO window. From it follow:
//!
//! * the **target** `t = percent / 100` (`0.999`), the ratio OpenSLO calls `target` and the SLI
//!   is compared with;
//! * the **error budget** `b = 1 − t` (`0.001`), the fraction of events allowed to be bad
//!   (Google SRE Workbook, chapter "Implementing SLOs": "the error budget is 1 minus the SLO").
//!
//! Both are computed in [`Decimal`], so they are exact and print as written (`0.001`, never
//! `0.0009999999999999432` as `1.0 - 0.999` does in binary floating point). Their `f64` forms,
//! for arithmetic on measured traffic, are the nearest `f64` to the exact decimal and are
//! computed once, at construction.
//!
//! Parsing accepts plain decimal notation only (`99`, `99.9`, `99.95`; no `%`, no exponent),
//! with at most six decimals: `99.999999` (a budget of one event in 10⁸) is far beyond what any
//! window of real traffic can measure, and a bound keeps every derived number well inside a
//! `Decimal`'s 28 digits. Trailing zeros are not significant (`99.90` is `99.9`).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::exact;

/// The most decimals an objective may have, as a percentage.
pub const MAX_DECIMALS: u32 = 6;

/// Why a string or number is not an objective.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectiveError {
    #[error("not a number: write the percentage in plain decimal notation, e.g. 99.9 (no %, no exponent)")]
    NotANumber,
    #[error("{0} is not strictly between 0 and 100 (the objective is a percentage, e.g. 99.9)")]
    OutOfRange(String),
    #[error("{decimals} decimals is too precise: at most {MAX_DECIMALS} are allowed (e.g. 99.999999)")]
    TooManyDecimals { decimals: u32 },
}

/// An SLO objective: a percentage strictly between 0 and 100 with at most six decimals.
///
/// Equality, ordering and hashing are by value (`99.90` equals `99.9`).
#[derive(Clone, Copy)]
pub struct Objective {
    /// Normalized (no trailing zeros), in (0, 100), scale ≤ [`MAX_DECIMALS`].
    percent: Decimal,
    target: Decimal,
    budget: Decimal,
    target_f64: f64,
    budget_f64: f64,
}

impl Objective {
    /// An objective from its percentage (`99.9`).
    pub fn from_percent(percent: Decimal) -> Result<Objective, ObjectiveError> {
        let percent = percent.normalize();
        if percent <= Decimal::ZERO || percent >= Decimal::ONE_HUNDRED {
            return Err(ObjectiveError::OutOfRange(percent.to_string()));
        }
        if percent.scale() > MAX_DECIMALS {
            return Err(ObjectiveError::TooManyDecimals { decimals: percent.scale() });
        }
        // Dividing by 100 is adding 2 to the scale: exact. The mantissa is below 10^8 and the
        // scale at most 8, well inside a Decimal, so this cannot fail.
        let target = Decimal::try_from_i128_with_scale(percent.mantissa(), percent.scale() + 2)
            .map_err(|_| ObjectiveError::TooManyDecimals { decimals: percent.scale() })?
            .normalize();
        let budget = (Decimal::ONE - target).normalize();
        Ok(Objective { percent, target, budget, target_f64: exact::to_f64(target), budget_f64: exact::to_f64(budget) })
    }

    /// An objective from its target ratio (`0.999`), as OpenSLO and Sloth write it.
    pub fn from_target(target: Decimal) -> Result<Objective, ObjectiveError> {
        let percent = target
            .checked_mul(Decimal::ONE_HUNDRED)
            .ok_or_else(|| ObjectiveError::OutOfRange(target.normalize().to_string()))?;
        Objective::from_percent(percent)
    }

    /// The percentage, e.g. `99.9`.
    pub fn percent(&self) -> Decimal {
        self.percent
    }

    /// The target ratio: `percent / 100`, e.g. `0.999`.
    pub fn target(&self) -> Decimal {
        self.target
    }

    /// The error budget as a fraction of events: `1 − target`, e.g. `0.001`.
    pub fn budget(&self) -> Decimal {
        self.budget
    }

    /// The `f64` nearest to [`Objective::target`].
    pub fn target_f64(&self) -> f64 {
        self.target_f64
    }

    /// The `f64` nearest to [`Objective::budget`] (`0.001`, not `1.0 - 0.999`).
    pub fn budget_f64(&self) -> f64 {
        self.budget_f64
    }

    /// The budget as `(mantissa, 10^scale)`, both exact in an `f64` (the budget has at most 8
    /// decimals): `0.001` is `(1.0, 1000.0)`. Multiplying by the mantissa and dividing by the
    /// power of ten rounds once, where multiplying by the already-rounded `budget_f64` would
    /// round twice; with whole event counts below 2⁵³ the products are exact and so is, for
    /// instance, `total × budget` whenever it is a whole number.
    pub(crate) fn budget_parts_f64(&self) -> (f64, f64) {
        // Mantissa < 10^8 and scale ≤ 8: both exactly representable.
        (self.budget.mantissa() as f64, 10f64.powi(self.budget.scale() as i32))
    }
}

impl FromStr for Objective {
    type Err = ObjectiveError;

    /// Parses `99`, `99.9`, `99.95`, … (plain decimal notation, optional sign so that `-5`
    /// reads as out of range rather than not a number).
    fn from_str(s: &str) -> Result<Objective, ObjectiveError> {
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (int, frac) = match body.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (body, None),
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || frac.is_some_and(|f| !digits(f)) {
            return Err(ObjectiveError::NotANumber);
        }
        let int = int.trim_start_matches('0');
        let frac = frac.unwrap_or("").trim_end_matches('0');
        let zero = int.is_empty() && frac.is_empty();
        let shown = || {
            format!(
                "{}{}{}{}",
                if negative { "-" } else { "" },
                if int.is_empty() { "0" } else { int },
                if frac.is_empty() { "" } else { "." },
                frac
            )
        };
        if zero || negative || int.len() > 2 {
            return Err(ObjectiveError::OutOfRange(shown()));
        }
        if frac.len() > MAX_DECIMALS as usize {
            return Err(ObjectiveError::TooManyDecimals { decimals: frac.len() as u32 });
        }
        // At most 2 + 6 digits: the mantissa fits easily.
        let mantissa: i128 = format!("{int}{frac}").parse().map_err(|_| ObjectiveError::NotANumber)?;
        let percent = Decimal::try_from_i128_with_scale(mantissa, frac.len() as u32)
            .map_err(|_| ObjectiveError::TooManyDecimals { decimals: frac.len() as u32 })?;
        Objective::from_percent(percent)
    }
}

impl fmt::Display for Objective {
    /// The percentage in canonical decimal form: `99.9`, `99.95`, `99`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.percent, f)
    }
}

impl fmt::Debug for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Objective({})", self.percent)
    }
}

impl PartialEq for Objective {
    fn eq(&self, other: &Objective) -> bool {
        self.percent == other.percent
    }
}

impl Eq for Objective {}

impl Hash for Objective {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Normalized at construction, so equal values have equal mantissa and scale.
        self.percent.mantissa().hash(state);
        self.percent.scale().hash(state);
    }
}

impl PartialOrd for Objective {
    fn partial_cmp(&self, other: &Objective) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Objective {
    fn cmp(&self, other: &Objective) -> Ordering {
        self.percent.cmp(&other.percent)
    }
}

impl Serialize for Objective {
    /// As a string (`"99.9"`), which every format carries exactly.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Objective {
    /// From a string (`"99.9"`) or a number (`99.9`, `99`). A floating-point number is read as
    /// the shortest decimal that round-trips to it, which is what its author wrote.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Objective, D::Error> {
        deserializer.deserialize_any(ObjectiveVisitor)
    }
}

struct ObjectiveVisitor;

impl Visitor<'_> for ObjectiveVisitor {
    type Value = Objective;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a percentage strictly between 0 and 100, e.g. 99.9 or \"99.9\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Objective, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Objective, E> {
        if !v.is_finite() {
            return Err(E::custom(ObjectiveError::NotANumber));
        }
        // `Display` for f64 prints the shortest round-tripping decimal, never an exponent.
        self.visit_str(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Objective, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Objective, E> {
        self.visit_str(&v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_zeros_are_not_significant() {
        let a: Objective = "99.90".parse().expect("valid");
        let b: Objective = "99.9".parse().expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "99.9");
    }

    #[test]
    fn leading_zeros_and_a_plus_sign_are_accepted() {
        let o: Objective = "+099.5".parse().expect("valid");
        assert_eq!(o.to_string(), "99.5");
    }

    #[test]
    fn a_negative_objective_is_out_of_range_not_garbage() {
        assert_eq!("-5".parse::<Objective>(), Err(ObjectiveError::OutOfRange("-5".into())));
    }

    #[test]
    fn trailing_zeros_do_not_count_as_decimals() {
        assert!("99.9990000000".parse::<Objective>().is_ok());
    }

    #[test]
    fn a_target_ratio_converts_to_the_same_objective() {
        let from_target = Objective::from_target("0.9995".parse().expect("literal")).expect("valid");
        assert_eq!(from_target, "99.95".parse().expect("valid"));
        assert!(Objective::from_target(Decimal::ONE).is_err());
    }
}
