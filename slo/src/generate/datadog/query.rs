//! Datadog metric queries from Kura SLIs: the metric names the Agent's OpenMetrics check
//! submits and PromQL label matchers as tag filters (see the tables in [`super`]).

use super::*;

/// Good and total event counts as Datadog queries.
pub(super) struct Counts {
    pub good: Good,
    pub total: String,
}

pub(super) enum Good {
    Query(String),
    /// `total - bad`.
    TotalMinus(String),
}

impl Counts {
    /// The metric SLO's numerator.
    pub(super) fn good_expression(&self) -> String {
        match &self.good {
            Good::Query(good) => good.clone(),
            Good::TotalMinus(bad) => format!("{} - {bad}", self.total),
        }
    }

    /// Named queries and the formula a time slice compares with its target. The names are
    /// the provider's own examples' (`query1`, `query2`).
    pub(super) fn slice_formula(&self) -> (Vec<(&'static str, String)>, String) {
        match &self.good {
            Good::Query(good) => {
                (vec![("query1", good.clone()), ("query2", self.total.clone())], "query1 / query2".to_string())
            }
            Good::TotalMinus(bad) => (
                vec![("query1", bad.clone()), ("query2", self.total.clone())],
                "(query2 - query1) / query2".to_string(),
            ),
        }
    }
}

pub(super) fn counts(namespace: &str, sli: &Sli) -> Result<Counts, String> {
    match sli {
        Sli::Ratio { counting, numerator, total } => {
            let numerator = query(namespace, numerator, None)?;
            let total = query(namespace, total, None)?;
            let good = match counting {
                Counting::Good => Good::Query(numerator),
                Counting::Bad => Good::TotalMinus(numerator),
            };
            Ok(Counts { good, total })
        }
        Sli::Latency { histogram, threshold } | Sli::Freshness { histogram, threshold } => {
            if histogram.matchers.iter().any(|m| m.label == "le") {
                return Err(format!("the `le` matcher in the histogram selector `{histogram}`"));
            }
            let bound = upper_bound(threshold)?;
            let bucket = histogram.with_metric(format!("{}_bucket", histogram.metric));
            let count = histogram.with_metric(format!("{}_count", histogram.metric));
            Ok(Counts {
                good: Good::Query(query(namespace, &bucket, Some(&bound))?),
                total: query(namespace, &count, None)?,
            })
        }
        Sli::Promql { .. } => Err("a `promql` SLI (Datadog metric queries are not PromQL)".to_string()),
    }
}

/// The `upper_bound` tag value the OpenMetrics check gives a bucket: Python's `str(float(le))`.
pub(super) fn upper_bound(threshold: &Threshold) -> Result<String, String> {
    let seconds = threshold.seconds;
    if seconds < Decimal::new(1, 4) || seconds >= Decimal::from(10_000_000_000_000_000_i64) {
        return Err(format!(
            "the threshold {}s (the OpenMetrics check writes such bucket bounds in exponent notation)",
            seconds.normalize()
        ));
    }
    Ok(threshold.le_label())
}

/// `sum:<metric>{<filters>}.as_count()`, with `upper_bound:<bound>` added for a latency bucket.
pub(super) fn query(namespace: &str, selector: &Selector, bound: Option<&str>) -> Result<String, String> {
    let metric = &selector.metric;
    if metric.contains(':') {
        return Err(format!("the metric `{metric}` (a recording rule: the Datadog Agent scrapes only services)"));
    }
    let (stem, suffix) = if let Some(stem) = metric.strip_suffix("_total") {
        (stem, "count")
    } else if let Some(stem) = metric.strip_suffix("_count") {
        (stem, "count")
    } else if let Some(stem) = metric.strip_suffix("_bucket") {
        (stem, "bucket")
    } else {
        return Err(format!(
            "the metric `{metric}` as a count of events (the OpenMetrics check sends counts for a counter's `_total` \
             and a histogram's `_count` and `_bucket`)"
        ));
    };
    let name = format!("{namespace}.{stem}.{suffix}");
    if !valid_metric_name(&name) {
        return Err(format!("the metric `{metric}` as the Datadog metric `{name}`"));
    }
    let mut filters = Vec::new();
    for matcher in &selector.matchers {
        filters.push(
            filter(matcher, suffix == "bucket").map_err(|why| format!("the matcher `{}` ({why})", show(matcher)))?,
        );
    }
    if let Some(bound) = bound {
        filters.push(Filter::Simple(format!("upper_bound:{bound}")));
    }
    let joined = if filters.is_empty() {
        "*".to_string()
    } else {
        let boolean = filters.iter().any(|f| matches!(f, Filter::Set(_)));
        let texts: Vec<&str> = filters.iter().map(Filter::text).collect();
        texts.join(if boolean { " AND " } else { "," })
    };
    Ok(format!("sum:{name}{{{joined}}}.as_count()"))
}

pub(super) fn show(matcher: &Matcher) -> String {
    format!("{}{}\"{}\"", matcher.label, matcher.op.as_str(), matcher.value)
}

pub(super) enum Filter {
    /// `key:value`, `!key:value`, `key:5*`.
    Simple(String),
    /// `key IN (...)`, `key NOT IN (...)`: needs the boolean syntax.
    Set(String),
}

impl Filter {
    pub(super) fn text(&self) -> &str {
        match self {
            Filter::Simple(text) | Filter::Set(text) => text,
        }
    }
}

pub(super) fn filter(matcher: &Matcher, on_bucket: bool) -> Result<Filter, String> {
    let label = matcher.label.as_str();
    if label == "le" {
        if !on_bucket || matcher.op != MatchOp::Equal {
            return Err("`le` is only a bucket's `upper_bound` tag, and only `=` selects one bucket".to_string());
        }
        let bound: Decimal =
            matcher.value.parse().map_err(|_| "the +Inf bucket is not sent; use `_count`".to_string())?;
        let bound = upper_bound(&Threshold { seconds: bound })?;
        return Ok(Filter::Simple(format!("upper_bound:{bound}")));
    }
    if !valid_tag_key(label) {
        return Err(format!("`{label}` is not a Datadog tag key as written"));
    }
    let negate = matches!(matcher.op, MatchOp::NotEqual | MatchOp::NotRegex);
    let bang = if negate { "!" } else { "" };
    match matcher.op {
        MatchOp::Equal | MatchOp::NotEqual => {
            if matcher.value.is_empty() {
                return Err("an empty value matches a missing label, which a tag filter cannot say".to_string());
            }
            if !valid_tag_value(&matcher.value) {
                return Err(format!("`{}` is not a Datadog tag value as written", matcher.value));
            }
            Ok(Filter::Simple(format!("{bang}{label}:{}", matcher.value)))
        }
        MatchOp::Regex | MatchOp::NotRegex => {
            let status = label.ends_with("status_code");
            let terms =
                matcher.value.split('|').map(|alternative| term(alternative, status)).collect::<Option<Vec<_>>>();
            let terms = terms.ok_or_else(|| {
                "Datadog tag filters have no regular expressions; only literal alternatives `a|b` and, on \
                 `*status_code` labels, status classes like `5..` translate"
                    .to_string()
            })?;
            let filters: Vec<String> = terms
                .iter()
                .map(|t| match t {
                    Term::Literal(value) => format!("{bang}{label}:{value}"),
                    Term::Class(class) => format!("{bang}{label}:{class}*"),
                })
                .collect();
            if let [only] = filters.as_slice() {
                return Ok(Filter::Simple(only.clone()));
            }
            let literals: Option<Vec<&str>> = terms
                .iter()
                .map(|t| match t {
                    Term::Literal(value) => Some(value.as_str()),
                    Term::Class(_) => None,
                })
                .collect();
            let not = if negate { "NOT " } else { "" };
            Ok(Filter::Set(match literals {
                Some(values) => format!("{label} {not}IN ({})", values.join(",")),
                None => format!("({})", filters.join(if negate { " AND " } else { " OR " })),
            }))
        }
    }
}

/// One alternative of a matcher's regex that a tag filter can say.
pub(super) enum Term {
    Literal(String),
    /// A status class: the leading digit, matched as a prefix.
    Class(char),
}

/// A literal (with `\.` for a dot) or, on a status-code label, a status class.
pub(super) fn term(alternative: &str, status_code: bool) -> Option<Term> {
    if status_code && let Some(class) = status_class(alternative) {
        return Some(Term::Class(class));
    }
    let value = alternative.replace(r"\.", ".");
    let literal = !alternative.replace(r"\.", "").contains(['.', '\\']) && valid_tag_value(&value);
    literal.then_some(Term::Literal(value))
}

/// The leading digit of a status-class regex: `5..`, `5\d\d`, `5[0-9][0-9]`.
pub(super) fn status_class(regex: &str) -> Option<char> {
    let mut chars = regex.chars();
    let class = chars.next().filter(|c| ('1'..='5').contains(c))?;
    matches!(chars.as_str(), ".." | r"\d\d" | "[0-9][0-9]").then_some(class)
}

/// Datadog metric names: a letter, then ASCII letters, digits, `_` and `.`, at most 200 characters.
pub(super) fn valid_metric_name(name: &str) -> bool {
    name.len() <= 200
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Tag keys as Datadog stores them: a lowercase letter, then lowercase letters, digits, `_-./`.
pub(super) fn valid_tag_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_lowercase()) && key.chars().all(|c| tag_char(c) && c != ':')
}

pub(super) fn valid_tag_value(value: &str) -> bool {
    !value.is_empty() && value.chars().all(tag_char)
}

pub(super) fn tag_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.' | '/' | ':')
}

pub(super) fn tag(key: &str, value: &str) -> Result<String, String> {
    let tag = format!("{key}:{value}");
    if !valid_tag_key(key) || !valid_tag_value(value) || tag.len() > 200 {
        return Err(format!("the tag `{tag}` (Datadog tags are lowercase letters, digits and `_-./:`, up to 200)"));
    }
    Ok(tag)
}
