//! Writing YAML (see [`super`]).

use std::fmt::Write as _;

/// A YAML value to write. Scalars are either strings (quoted when needed) or raw text that is
/// already valid YAML (numbers, durations, `true`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Yaml {
    Str(String),
    Raw(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
    /// Written `{ a: 1, b: 2 }` on one line; values must be scalars.
    FlowMap(Vec<(String, Yaml)>),
    /// Written `[a, b]` on one line; items must be scalars.
    FlowSeq(Vec<Yaml>),
    /// A value with comment lines written above its mapping entry or list item (block context
    /// only; an empty line is a bare `#`).
    Commented(Vec<String>, Box<Yaml>),
}

impl Yaml {
    pub fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }

    pub fn raw(s: impl ToString) -> Yaml {
        Yaml::Raw(s.to_string())
    }

    /// This value with `lines` of comment above it (none: the value as it is).
    pub fn commented(self, lines: Vec<String>) -> Yaml {
        if lines.is_empty() { self } else { Yaml::Commented(lines, Box::new(self)) }
    }

    /// The whole value as a document (a mapping at the top level), ending with a newline.
    pub fn to_document(&self) -> String {
        let mut out = String::new();
        match uncomment(self).1 {
            Yaml::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0),
            Yaml::Seq(items) if !items.is_empty() => write_seq(&mut out, items, 0),
            other => {
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
        out
    }
}

/// `header` as comment lines, then `value` as a document.
pub(crate) fn document(header: &[String], value: &Yaml) -> String {
    let mut out = String::new();
    comment(&mut out, header, 0);
    out.push_str(&value.to_document());
    out
}

fn comment(out: &mut String, lines: &[String], indent: usize) {
    for text in lines {
        out.push_str(&" ".repeat(indent));
        out.push('#');
        if !text.is_empty() {
            out.push(' ');
            out.push_str(text);
        }
        out.push('\n');
    }
}

/// Builds a mapping entry by entry, skipping absent optional values.
#[derive(Debug, Default)]
pub(crate) struct MapBuilder(Vec<(String, Yaml)>);

impl MapBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(mut self, key: &str, value: Yaml) -> Self {
        self.0.push((key.to_string(), value));
        self
    }

    pub fn put_opt(self, key: &str, value: Option<Yaml>) -> Self {
        match value {
            Some(v) => self.put(key, v),
            None => self,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn build(self) -> Yaml {
        Yaml::Map(self.0)
    }

    pub fn flow(self) -> Yaml {
        Yaml::FlowMap(self.0)
    }
}

fn is_block(v: &Yaml) -> bool {
    matches!(v, Yaml::Map(e) if !e.is_empty()) || matches!(v, Yaml::Seq(i) if !i.is_empty())
}

/// The comment lines of a value, and the value under them.
fn uncomment(v: &Yaml) -> (&[String], &Yaml) {
    match v {
        Yaml::Commented(lines, inner) => (lines, uncomment(inner).1),
        other => (&[], other),
    }
}

fn write_map(out: &mut String, entries: &[(String, Yaml)], indent: usize) {
    for (i, (key, value)) in entries.iter().enumerate() {
        let (lines, value) = uncomment(value);
        // The first entry of a mapping inside a list item follows its `- ` (its comment, if
        // any, goes above the item: see `write_seq`).
        if i > 0 || !out.ends_with("- ") {
            comment(out, lines, indent);
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&quote(key, false));
        out.push(':');
        write_value(out, value, indent);
    }
}

fn write_seq(out: &mut String, items: &[Yaml], indent: usize) {
    for item in items {
        let (lines, item) = uncomment(item);
        comment(out, lines, indent);
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            Yaml::Map(entries) if !entries.is_empty() => {
                out.push(' ');
                write_map(out, entries, indent + 2);
            }
            Yaml::Seq(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, indent + 2);
            }
            Yaml::Str(s) if literal(s).is_some() => write_literal(out, s, indent + 2),
            other => {
                out.push(' ');
                out.push_str(&inline(other));
                out.push('\n');
            }
        }
    }
}

/// Writes what follows `key:`.
fn write_value(out: &mut String, value: &Yaml, indent: usize) {
    let value = uncomment(value).1;
    match value {
        Yaml::Map(entries) if is_block(value) => {
            out.push('\n');
            write_map(out, entries, indent + 2);
        }
        Yaml::Seq(items) if is_block(value) => {
            out.push('\n');
            write_seq(out, items, indent + 2);
        }
        Yaml::Str(s) if literal(s).is_some() => write_literal(out, s, indent + 2),
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

/// A `|` block for a multi-line string, when one reads back exactly (else `None`: quote it).
fn literal(s: &str) -> Option<&'static str> {
    if !s.contains('\n') || s.starts_with([' ', '\n', '\t']) {
        return None;
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return None;
    }
    let body = s.trim_end_matches('\n');
    if body.lines().any(|l| !l.is_empty() && l.trim().is_empty()) {
        return None;
    }
    match s.len() - body.len() {
        0 => Some("|-"),
        1 => Some("|"),
        _ => None,
    }
}

fn write_literal(out: &mut String, s: &str, indent: usize) {
    out.push(' ');
    out.push_str(literal(s).unwrap_or("|"));
    out.push('\n');
    for line in s.trim_end_matches('\n').split('\n') {
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// A value on one line: a scalar, or a flow collection.
fn inline(v: &Yaml) -> String {
    match v {
        Yaml::Str(s) => quote(s, false),
        Yaml::Raw(s) => s.clone(),
        Yaml::Seq(items) | Yaml::FlowSeq(items) => {
            let items: Vec<String> = items.iter().map(inline_in_flow).collect();
            format!("[{}]", items.join(", "))
        }
        // Comments have no place on one line.
        Yaml::Commented(_, inner) => inline(inner),
        Yaml::Map(entries) | Yaml::FlowMap(entries) => {
            if entries.is_empty() {
                return "{}".to_string();
            }
            let entries: Vec<String> =
                entries.iter().map(|(k, v)| format!("{}: {}", quote(k, true), inline_in_flow(v))).collect();
            format!("{{ {} }}", entries.join(", "))
        }
    }
}

fn inline_in_flow(v: &Yaml) -> String {
    match v {
        Yaml::Str(s) => quote(s, true),
        other => inline(other),
    }
}

/// `s` as a YAML scalar that reads back as the string `s`: plain when that is unambiguous,
/// double-quoted otherwise. `flow` is for values inside `{ }` or `[ ]`.
pub(crate) fn quote(s: &str, flow: bool) -> String {
    if is_plain_safe(s, flow) {
        return s.to_string();
    }
    // Single quotes escape nothing but `'` itself: the readable choice for selectors and JSON.
    if !s.chars().any(|c| c.is_control()) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_plain_safe(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else { return false };
    if s.trim() != s || s.chars().any(|c| c.is_control()) {
        return false;
    }
    // Indicators that start something other than a plain scalar, and anything that would read
    // back as a number, a boolean, null or a date.
    if "-?:,[]{}#&*!|>'\"%@`.+<=~".contains(first) {
        return false;
    }
    // Numbers (`2`, `1e3`, `0x1f`), times (`12:30`) and dates (`2024-01-01 00:00:00Z`) are
    // made of these; `5m` or `28d` are not, and stay plain.
    if first.is_ascii_digit() && s.chars().all(|c| "0123456789.+-_:eExXoObBtTzZ ".contains(c)) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    !matches!(lower.as_str(), "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n")
}
