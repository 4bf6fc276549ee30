//! Objectives: parsing, exact target and budget, display, serde.

use proptest::prelude::*;
use rust_decimal::Decimal;
use slo::math::{Objective, ObjectiveError};

use super::objective;

#[test]
fn an_objective_of_99_9_has_a_target_of_0_999_and_a_budget_of_exactly_0_001() {
    let o = objective("99.9");

    assert_eq!(o.percent().to_string(), "99.9");
    assert_eq!(o.target().to_string(), "0.999");
    assert_eq!(o.budget().to_string(), "0.001");
    assert_eq!(o.target_f64(), 0.999);
    assert_eq!(o.budget_f64(), 0.001);
}

#[test]
fn objectives_print_exactly_as_written() {
    for s in ["99.9", "99.95", "99", "99.999999", "0.5", "50", "0.000001"] {
        assert_eq!(objective(s).to_string(), s);
    }
}

#[test]
fn budgets_print_as_short_decimals() {
    assert_eq!(objective("99.95").budget().to_string(), "0.0005");
    assert_eq!(objective("99").budget().to_string(), "0.01");
    assert_eq!(objective("99.999999").budget().to_string(), "0.00000001");
    assert_eq!(objective("90").target().to_string(), "0.9");
}

#[test]
fn an_objective_must_lie_strictly_between_0_and_100() {
    for s in ["0", "0.0", "100", "100.0", "100.5", "-1", "250"] {
        assert!(matches!(s.parse::<Objective>(), Err(ObjectiveError::OutOfRange(_))), "{s}");
    }
}

#[test]
fn an_objective_that_is_not_a_plain_decimal_is_not_a_number() {
    for s in ["", "abc", "99.9%", "9.99e1", ".5", "99.", " 99.9", "99,9", "1_0", "NaN", "inf"] {
        assert_eq!(s.parse::<Objective>(), Err(ObjectiveError::NotANumber), "{s:?}");
    }
}

#[test]
fn more_than_six_decimals_are_too_many() {
    assert_eq!("99.9999999".parse::<Objective>(), Err(ObjectiveError::TooManyDecimals { decimals: 7 }));
    assert!("99.999999".parse::<Objective>().is_ok());
}

#[test]
fn errors_say_why_an_objective_is_rejected() {
    let message = |s: &str| s.parse::<Objective>().expect_err("invalid").to_string();

    assert!(message("abc").contains("not a number"), "{}", message("abc"));
    assert!(message("100").contains("between 0 and 100"), "{}", message("100"));
    assert!(message("99.9999999").contains("at most 6"), "{}", message("99.9999999"));
}

#[test]
fn objectives_compare_by_value() {
    assert!(objective("99.95") > objective("99.9"));
    assert_eq!(objective("99.90"), objective("99.9"));
}

#[test]
fn a_target_ratio_as_openslo_writes_it_gives_the_same_objective() {
    let target: Decimal = "0.999".parse().expect("literal");
    assert_eq!(Objective::from_target(target), Ok(objective("99.9")));
}

#[test]
fn objectives_serialize_as_strings() {
    assert_eq!(serde_json::to_string(&objective("99.95")).expect("serializes"), "\"99.95\"");
}

#[test]
fn objectives_deserialize_from_strings_and_numbers() {
    let from = |json: &str| serde_json::from_str::<Objective>(json);

    assert_eq!(from("\"99.9\"").expect("string"), objective("99.9"));
    assert_eq!(from("99.9").expect("float"), objective("99.9"));
    assert_eq!(from("99").expect("integer"), objective("99"));
    assert_eq!(from("99.9").expect("float").budget().to_string(), "0.001");
    assert!(from("100").is_err());
    assert!(from("\"x\"").is_err());
}

proptest! {
    #[test]
    fn budget_is_exactly_one_minus_target(mantissa in 1u64..100_000_000) {
        // percent = mantissa / 10^6, so budget × 10^8 = 10^8 − mantissa, in integers.
        let percent = Decimal::new(mantissa as i64, 6);
        let o = Objective::from_percent(percent).expect("in range");

        prop_assert_eq!(o.target() + o.budget(), Decimal::ONE);
        prop_assert_eq!(o.budget() * Decimal::from(100_000_000u64), Decimal::from(100_000_000 - mantissa));
    }

    #[test]
    fn display_parses_back_to_the_same_objective(mantissa in 1u64..100_000_000) {
        let o = Objective::from_percent(Decimal::new(mantissa as i64, 6)).expect("in range");
        prop_assert_eq!(o.to_string().parse::<Objective>(), Ok(o));
    }

    #[test]
    fn budget_f64_is_the_float_nearest_to_the_exact_budget(mantissa in 1u64..100_000_000) {
        let o = Objective::from_percent(Decimal::new(mantissa as i64, 6)).expect("in range");
        prop_assert_eq!(o.budget_f64(), o.budget().to_string().parse::<f64>().expect("decimal"));
        prop_assert_eq!(o.target_f64(), o.target().to_string().parse::<f64>().expect("decimal"));
    }
}
