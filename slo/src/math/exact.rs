//! Exact conversions between decimals, integers and `f64` shared by the math modules.
//!
//! `rust_decimal`'s own `to_f64` adds the integral and fractional parts in floating point,
//! which is not always the nearest `f64` (and so `0.001` could come out one ulp off). Here a
//! decimal becomes the `f64` nearest to its exact value: directly when the mantissa and the
//! power of ten are both exactly representable (then one IEEE division rounds correctly, as
//! in Clinger's fast path), otherwise through the standard library's correctly rounded parser.

use rust_decimal::Decimal;

/// The `f64` nearest to `d`.
pub(crate) fn to_f64(d: Decimal) -> f64 {
    const EXACT: i128 = 1 << 53;
    let mantissa = d.mantissa();
    let scale = d.scale();
    // 10^22 is the largest power of ten an f64 holds exactly.
    if mantissa.abs() < EXACT && scale <= 22 {
        return mantissa as f64 / 10f64.powi(scale as i32);
    }
    // Decimal's Display is an exact decimal string, and Rust's float parser rounds correctly.
    d.to_string().parse().unwrap_or(f64::NAN)
}

/// `10^exp` as an `i128`, when it fits.
pub(crate) fn pow10(exp: u32) -> Option<i128> {
    10i128.checked_pow(exp)
}

/// The greatest common divisor of two non-negative integers.
pub(crate) fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

/// `num / den` (with `den > 0`) as a decimal: exact when the quotient has a terminating
/// decimal expansion that fits a [`Decimal`], otherwise rounded to the nearest multiple of
/// `10^-dp`. A non-terminating quotient cannot lie exactly halfway between two such multiples
/// (that would make it terminate), so "nearest" needs no tie rule.
pub(crate) fn ratio_to_decimal(num: i128, den: i128, dp: u32) -> Option<Decimal> {
    if den <= 0 {
        return None;
    }
    let g = gcd(num, den).max(1);
    let (num, den) = (num / g, den / g);
    // A reduced fraction terminates exactly when its denominator is 2^a · 5^b.
    let (mut rest, mut twos, mut fives) = (den, 0u32, 0u32);
    while rest % 2 == 0 {
        rest /= 2;
        twos += 1;
    }
    while rest % 5 == 0 {
        rest /= 5;
        fives += 1;
    }
    if rest == 1 {
        let k = twos.max(fives);
        let scaled = num.checked_mul(2i128.checked_pow(k - twos)?)?.checked_mul(5i128.checked_pow(k - fives)?)?;
        if let Ok(d) = Decimal::try_from_i128_with_scale(scaled, k) {
            return Some(d.normalize());
        }
    }
    let scaled = num.checked_mul(pow10(dp)?)?;
    let (q, r) = (scaled.div_euclid(den), scaled.rem_euclid(den));
    let q = if 2 * r >= den { q + 1 } else { q };
    Decimal::try_from_i128_with_scale(q, dp).ok().map(|d| d.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).expect("test literal")
    }

    #[test]
    fn decimals_become_the_nearest_f64() {
        for s in ["0.001", "0.999", "0.0144", "13.44", "0.00000001", "99.999999", "123456789012345678.9"] {
            assert_eq!(to_f64(dec(s)), s.parse::<f64>().expect("literal"), "{s}");
        }
    }

    #[test]
    fn terminating_ratios_are_exact_and_others_round_to_nearest() {
        assert_eq!(ratio_to_decimal(1344, 100, 4).map(|d| d.to_string()), Some("13.44".into()));
        assert_eq!(ratio_to_decimal(1, 40_000, 4).map(|d| d.to_string()), Some("0.000025".into()));
        assert_eq!(ratio_to_decimal(14, 15, 4).map(|d| d.to_string()), Some("0.9333".into()));
        assert_eq!(ratio_to_decimal(29, 30, 4).map(|d| d.to_string()), Some("0.9667".into()));
        assert_eq!(ratio_to_decimal(1, 0, 4), None);
    }
}
