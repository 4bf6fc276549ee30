//! Metric selectors as SLIs write them, in PromQL's syntax: `metric{label="value", other=~"re"}`.
//! Parsed once so that the linter can check names and labels against the metric contract,
//! and the generators and the embedded scraper can rebuild exactly the same selector.

use std::fmt;

/// A label matcher's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// `label op "value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
}

/// A metric name and its label matchers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub metric: String,
    pub matchers: Vec<Matcher>,
}

/// Where in the selector text parsing stopped, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectorError {
    /// Byte offset into the selector text.
    pub offset: usize,
    pub message: String,
}

impl Selector {
    /// Parses `metric`, `metric{}` or `metric{label="value", ...}`.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let (selector, end) = Self::parse_prefix(text)?;
        let mut p = Parser { text, pos: end };
        p.skip_space();
        if p.pos != text.len() {
            return Err(p.error("unexpected text after the selector (use a `promql` SLI for expressions)"));
        }
        Ok(selector)
    }

    /// Parses a selector at the start of `text` (a sample line, say) and returns where it ends.
    pub fn parse_prefix(text: &str) -> Result<(Selector, usize), SelectorError> {
        let mut p = Parser { text, pos: 0 };
        p.skip_space();
        let metric = p.name(true).ok_or_else(|| p.error("expected a metric name"))?;
        p.skip_space();
        let mut matchers = Vec::new();
        if p.eat("{") {
            loop {
                p.skip_space();
                if p.eat("}") {
                    break;
                }
                let label = p.name(false).ok_or_else(|| p.error("expected a label name"))?;
                p.skip_space();
                let op = if p.eat("=~") {
                    MatchOp::Regex
                } else if p.eat("!~") {
                    MatchOp::NotRegex
                } else if p.eat("!=") {
                    MatchOp::NotEqual
                } else if p.eat("=") {
                    MatchOp::Equal
                } else {
                    return Err(p.error("expected `=`, `!=`, `=~` or `!~`"));
                };
                p.skip_space();
                let value = p.string()?;
                matchers.push(Matcher { label, op, value });
                p.skip_space();
                if p.eat(",") {
                    continue;
                }
                if p.eat("}") {
                    break;
                }
                return Err(p.error("expected `,` or `}`"));
            }
        }
        Ok((Selector { metric, matchers }, p.pos))
    }

    /// The same selector with another metric name (`X_bucket` from `X`, say).
    pub fn with_metric(&self, metric: impl Into<String>) -> Selector {
        Selector { metric: metric.into(), matchers: self.matchers.clone() }
    }

    /// The same selector with one more matcher.
    pub fn with_matcher(&self, label: &str, op: MatchOp, value: &str) -> Selector {
        let mut s = self.clone();
        s.matchers.push(Matcher { label: label.into(), op, value: value.into() });
        s
    }

    /// The value an equality matcher pins `label` to, if any.
    pub fn equal(&self, label: &str) -> Option<&str> {
        self.matchers.iter().find(|m| m.label == label && m.op == MatchOp::Equal).map(|m| m.value.as_str())
    }
}

impl fmt::Display for Selector {
    /// PromQL text: `metric{a="b",c=~"d"}` (no braces when there are no matchers).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.metric)?;
        if self.matchers.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}{}\"", m.label, m.op.as_str())?;
            for c in m.value.chars() {
                match c {
                    '"' => f.write_str("\\\"")?,
                    '\\' => f.write_str("\\\\")?,
                    '\n' => f.write_str("\\n")?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn error(&self, message: &str) -> SelectorError {
        SelectorError { offset: self.pos, message: message.to_string() }
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    /// A metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) or a label name (no colons).
    fn name(&mut self, metric: bool) -> Option<String> {
        let ok = |c: char, first: bool| {
            c == '_' || c.is_ascii_alphabetic() || (metric && c == ':') || (!first && c.is_ascii_digit())
        };
        let len = self.rest().char_indices().take_while(|&(i, c)| ok(c, i == 0)).count();
        if len == 0 {
            return None;
        }
        let name = self.rest()[..len].to_string();
        self.pos += len;
        Some(name)
    }

    fn string(&mut self) -> Result<String, SelectorError> {
        if !self.eat("\"") {
            return Err(self.error("expected a double-quoted label value"));
        }
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('"' | '\\'))) => value.push(c),
                    _ => {
                        self.pos += i;
                        return Err(self.error("unknown escape in label value"));
                    }
                },
                c => value.push(c),
            }
        }
        Err(self.error("unterminated label value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selector_round_trips_through_its_promql_text() {
        let text = r#"http_server_request_duration_seconds_count{journey="create-shipment", http_response_status_code=~"5..", x!="a\"b"}"#;
        let s = Selector::parse(text).unwrap();
        assert_eq!(s.metric, "http_server_request_duration_seconds_count");
        assert_eq!(s.matchers.len(), 3);
        assert_eq!(s.matchers[1].op, MatchOp::Regex);
        assert_eq!(s.matchers[2].value, "a\"b");
        assert_eq!(Selector::parse(&s.to_string()).unwrap(), s);
    }

    #[test]
    fn a_bare_metric_name_is_a_selector() {
        let s = Selector::parse("job_runs_total").unwrap();
        assert_eq!((s.metric.as_str(), s.matchers.len()), ("job_runs_total", 0));
        assert_eq!(s.to_string(), "job_runs_total");
    }

    #[test]
    fn errors_point_at_the_offending_offset() {
        let e = Selector::parse(r#"m{a="b" c="d"}"#).unwrap_err();
        assert_eq!(e.offset, 8);
        let e = Selector::parse(r#"sum(rate(m[5m]))"#).unwrap_err();
        assert_eq!(e.offset, 3);
        let e = Selector::parse(r#"m{a=b}"#).unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(Selector::parse(r#"m{a="b"#).is_err());
    }
}
