//! `promql` SLIs checked as Prometheus would parse them (with GreptimeDB's `promql-parser`),
//! and the metric selectors inside them checked against the metric catalogue like structured
//! SLIs' selectors.
//!
//! `{{.window}}` is replaced by a duration of the same length (`0000000005m`, which Prometheus
//! reads as 5m) before parsing, so offsets in the query are offsets in the spec. The parser
//! reports grammar errors without a position, so Kura finds the place itself where it can: an
//! unbalanced `(`, `{` or `[` (outside strings), or the character a lexer error names; other
//! errors point at the start of the query.

use std::collections::BTreeSet;

use promql_parser::label::{METRIC_NAME, MatchOp};
use promql_parser::parser::{Expr, VectorSelector};
use promql_parser::util::{ExprVisitor, walk_expr};

/// The placeholder and its same-length stand-in.
const WINDOW: &str = "{{.window}}";
const STAND_IN: &str = "0000000005m";

/// A problem in a query, `offset` bytes into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromqlError {
    pub offset: usize,
    pub message: String,
}

/// A metric selector found in a query: the metric, the labels it matches on, and where the
/// metric name is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedSelector {
    pub metric: String,
    pub labels: Vec<String>,
    pub offset: usize,
}

/// Parses `query` (with `{{.window}}` in it) and returns its metric selectors, in order.
pub fn selectors(query: &str) -> Result<Vec<UsedSelector>, PromqlError> {
    let text = query.replace(WINDOW, STAND_IN);
    let expr = promql_parser::parser::parse(&text).map_err(|message| locate(&text, message))?;
    let mut collect = Collect { found: Vec::new() };
    let _ = walk_expr(&mut collect, &expr);
    let mut out = Vec::new();
    let mut from = 0;
    for s in collect.found {
        let metric = s
            .name
            .clone()
            .or_else(|| s.matchers.matchers.iter().find(|m| m.name == METRIC_NAME).map(|m| m.value.clone()));
        let Some(metric) = metric else {
            return Err(PromqlError { offset: 0, message: "a selector without a metric name".into() });
        };
        let labels = s
            .matchers
            .matchers
            .iter()
            .filter(|m| m.name != METRIC_NAME && !matches!(m.op, MatchOp::Equal if m.value.is_empty()))
            .map(|m| m.name.clone())
            .collect();
        // The next place the name is written as a whole word (selectors are visited in order).
        let offset = find_word(&text, &metric, from).or_else(|| find_word(&text, &metric, 0)).unwrap_or(0);
        from = offset + metric.len();
        out.push(UsedSelector { metric, labels, offset });
    }
    Ok(out)
}

struct Collect {
    found: Vec<VectorSelector>,
}

impl ExprVisitor for Collect {
    type Error = std::convert::Infallible;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
        match expr {
            Expr::VectorSelector(s) => self.found.push(s.clone()),
            Expr::MatrixSelector(m) => self.found.push(m.vs.clone()),
            _ => {}
        }
        Ok(true)
    }
}

fn find_word(text: &str, word: &str, from: usize) -> Option<usize> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut start = from;
    while let Some(i) = text.get(start..)?.find(word) {
        let at = start + i;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        if !before.is_some_and(is_name) && !after.is_some_and(is_name) {
            return Some(at);
        }
        start = at + word.len();
    }
    None
}

/// Where a parse error is, as near as Kura can tell, with its message.
fn locate(text: &str, message: String) -> PromqlError {
    if let Some(e) = unbalanced(text) {
        return e;
    }
    let offset =
        message.split(['\'', '"']).nth(1).filter(|c| c.chars().count() == 1).and_then(|c| text.find(c)).unwrap_or(0);
    PromqlError { offset, message: format!("invalid PromQL: {message}") }
}

/// The first bracket without its partner, outside string literals.
fn unbalanced(text: &str) -> Option<PromqlError> {
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '{' | '[' => open.push((c, i)),
            ')' | '}' | ']' => {
                let expected = match c {
                    ')' => '(',
                    '}' => '{',
                    _ => '[',
                };
                match open.pop() {
                    Some((o, _)) if o == expected => {}
                    _ => return Some(PromqlError { offset: i, message: format!("invalid PromQL: unexpected `{c}`") }),
                }
            }
            _ => {}
        }
    }
    open.pop().map(|(c, i)| PromqlError { offset: i, message: format!("invalid PromQL: `{c}` is never closed") })
}

/// The labels a selector of `series` may match on, given its family's labels (`le` on buckets).
pub fn allowed_labels(family_labels: &BTreeSet<String>, series: super::catalogue::Series) -> BTreeSet<String> {
    let mut labels = family_labels.clone();
    if series == super::catalogue::Series::HistogramBucket {
        labels.insert("le".into());
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_found_with_their_labels_and_places() {
        let q = r#"sum(rate(a_total{code=~"5.."}[{{.window}}])) / sum(rate(b_count[{{.window}}]))"#;
        let found = selectors(q).unwrap();
        assert_eq!(found[0], UsedSelector { metric: "a_total".into(), labels: vec!["code".into()], offset: 9 });
        assert_eq!((found[1].metric.as_str(), found[1].offset), ("b_count", q.find("b_count").unwrap()));
    }

    #[test]
    fn an_unclosed_parenthesis_is_reported_where_it_opens() {
        let q = "sum(rate(x_total[{{.window}}])";
        assert_eq!(
            selectors(q).unwrap_err(),
            PromqlError { offset: 3, message: "invalid PromQL: `(` is never closed".into() }
        );
    }

    #[test]
    fn a_stray_closing_brace_is_reported_where_it_is() {
        assert_eq!(selectors("x_total}").unwrap_err().offset, 7);
    }

    #[test]
    fn a_grammar_error_without_brackets_is_still_an_error() {
        assert!(selectors("sum(rate(x_total[{{.window}}])) +").is_err());
        assert!(selectors("rate(x_total[{{.window}}]) by (a)").is_err());
    }
}
