//! The rule file as text. Written by hand rather than through `serde_yaml_ng` because the
//! generated file is read in review: comments say where a number comes from (a calendar
//! window's rolling stand-in, a maintenance window in UTC), alert expressions keep one clause
//! per line, and keys keep Prometheus's documented order (`record`/`alert`, `expr`, `labels`,
//! `annotations`). Scalars are plain only when YAML cannot read them as anything but the same
//! string; everything else is single-quoted (only `'` needs escaping there) or, when it spans
//! lines, a `|-` block.

use std::collections::BTreeMap;

/// One `groups:` entry.
pub struct Group {
    /// Comment lines written above the group.
    pub comment: Vec<String>,
    pub name: String,
    pub interval: String,
    pub rules: Vec<Rule>,
}

/// A recording or alerting rule.
pub struct Rule {
    /// Comment lines written above the rule.
    pub comment: Vec<String>,
    pub kind: RuleKind,
    pub expr: String,
    pub labels: BTreeMap<String, String>,
    /// Alerts only; empty for recording rules.
    pub annotations: BTreeMap<String, String>,
}

pub enum RuleKind {
    Record(String),
    Alert(String),
}

/// `header` comment lines, then `groups:`.
pub fn document(header: &[String], groups: &[Group]) -> String {
    let mut out = String::new();
    comment(&mut out, "", header);
    out.push_str("groups:\n");
    for group in groups {
        comment(&mut out, "  ", &group.comment);
        line(&mut out, "  - name: ", &scalar(&group.name, ""));
        line(&mut out, "    interval: ", &group.interval);
        out.push_str("    rules:\n");
        for rule in &group.rules {
            comment(&mut out, "      ", &rule.comment);
            match &rule.kind {
                RuleKind::Record(name) => line(&mut out, "      - record: ", &scalar(name, "")),
                RuleKind::Alert(name) => line(&mut out, "      - alert: ", &scalar(name, "")),
            }
            line(&mut out, "        expr: ", &scalar(&rule.expr, "          "));
            map(&mut out, "labels", &rule.labels);
            map(&mut out, "annotations", &rule.annotations);
        }
    }
    out
}

fn line(out: &mut String, prefix: &str, value: &str) {
    out.push_str(prefix);
    out.push_str(value);
    out.push('\n');
}

fn comment(out: &mut String, indent: &str, lines: &[String]) {
    for text in lines {
        // An empty comment line is `#` alone: the file has no trailing spaces.
        line(out, &format!("{indent}#"), &if text.is_empty() { String::new() } else { format!(" {text}") });
    }
}

fn map(out: &mut String, key: &str, entries: &BTreeMap<String, String>) {
    if entries.is_empty() {
        return;
    }
    line(out, &format!("        {key}:"), "");
    for (k, v) in entries {
        line(out, &format!("          {}: ", scalar(k, "")), &scalar(v, "            "));
    }
}

/// `s` as a YAML scalar; `indent` is the indentation of a block scalar's lines.
pub fn scalar(s: &str, indent: &str) -> String {
    if s.contains('\n') {
        let mut block = String::from("|-");
        for line in s.lines() {
            block.push('\n');
            if !line.is_empty() {
                block.push_str(indent);
                block.push_str(line);
            }
        }
        block
    } else if is_plain(s) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// Letters, digits, `_`, `-`, `.` and `:` (not followed by a space, and only after the first
/// character), starting with a letter, and not one of the words a YAML 1.1 reader (Go's
/// yaml.v2, which older Prometheus uses) turns into a boolean or null.
fn is_plain(s: &str) -> bool {
    const SPECIAL: [&str; 11] = ["true", "false", "null", "yes", "no", "on", "off", "y", "n", "~", ""];
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        && !s.ends_with(':')
        && !SPECIAL.contains(&s.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unambiguous_strings_stay_plain() {
        assert_eq!(scalar("slo:sli_error:ratio_rate5m", ""), "slo:sli_error:ratio_rate5m");
        assert_eq!(scalar("create-shipment", ""), "create-shipment");
        assert_eq!(scalar("yes", ""), "'yes'");
        assert_eq!(scalar("1.0", ""), "'1.0'");
        assert_eq!(scalar("a: b", ""), "'a: b'");
        assert_eq!(scalar("it's", ""), "'it''s'");
        assert_eq!(scalar("", ""), "''");
    }

    #[test]
    fn multi_line_text_becomes_a_literal_block() {
        assert_eq!(scalar("a > 1\nand b > 2", "  "), "|-\n  a > 1\n  and b > 2");
    }
}
