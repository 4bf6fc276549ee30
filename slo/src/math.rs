//! Error-budget math: pure functions over window sums.
