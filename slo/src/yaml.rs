//! YAML plumbing shared by the importers, the OpenSLO generator and the native spec writer.
//!
//! * Reading ([`documents`], [`Map`]): multi-document YAML parsed with `marked-yaml`, so every
//!   value keeps its `line:column` and every scalar stays the exact text written (objectives
//!   and thresholds are decimal-exact; nothing goes through `f64`). `marked-yaml` reads one
//!   document, so the stream is split at `---` lines first, keeping line numbers.
//! * Writing ([`Yaml`]): a small block-style emitter. Strings are written plain when YAML reads
//!   them back as the same string, quoted otherwise, and as `|` literals when they span
//!   lines (PromQL). Numbers and durations are written as the exact text Kura formats them in.

use std::fmt::Write as _;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{LoadError, LoaderOptions, Node, Span};

/// A 1-based position in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct At {
    pub line: usize,
    pub column: usize,
}

impl At {
    pub const START: At = At { line: 1, column: 1 };

    pub fn of(span: &Span) -> At {
        span.start().map_or(At::START, |m| At { line: m.line(), column: m.column() })
    }

    pub fn node(node: &Node) -> At {
        At::of(node.span())
    }
}

/// A problem at a position; importers turn it into their own error with the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    pub at: At,
    pub message: String,
}

impl YamlError {
    pub fn new(at: At, message: impl Into<String>) -> Self {
        Self { at, message: message.into() }
    }
}

pub(crate) type Result<T> = std::result::Result<T, YamlError>;

/// One document of a stream: its top-level mapping, and where it starts.
#[derive(Debug)]
pub(crate) struct Document {
    pub root: Node,
    pub at: At,
}

/// Every non-empty document of a multi-document stream, in order. A line that starts with
/// `---` begins a document and one that is `...` ends it (the YAML spec's markers; they end a
/// block scalar too, so splitting at them is exact).
pub(crate) fn documents(text: &str) -> Result<Vec<Document>> {
    let mut docs = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut first_line = 1;
    let flush = |lines: &mut Vec<String>, first_line: usize, docs: &mut Vec<Document>| -> Result<()> {
        let blank = lines.iter().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t.starts_with('%')
        });
        if !blank {
            // Pad with empty lines so that markers carry the line numbers of the whole stream.
            let mut padded = "\n".repeat(first_line - 1);
            for l in lines.iter() {
                padded.push_str(l);
                padded.push('\n');
            }
            let options = LoaderOptions::default().error_on_duplicate_keys(true);
            let root = marked_yaml::parse_yaml_with_options(0, &padded, options).map_err(|e| load_error(&e))?;
            let at = lines
                .iter()
                .position(|l| {
                    let t = l.trim();
                    !(t.is_empty() || t.starts_with('#'))
                })
                .map_or(At { line: first_line, column: 1 }, |i| At { line: first_line + i, column: 1 });
            docs.push(Document { root, at });
        }
        lines.clear();
        Ok(())
    };
    for (i, line) in text.lines().enumerate() {
        let is_start = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        let is_end = line == "..." || line.starts_with("... ");
        if is_start || is_end {
            flush(&mut current, first_line, &mut docs)?;
            first_line = i + 1;
            // Keep what follows `---` on its line (`--- {a: 1}`), at its column.
            current.push(if is_start { format!("   {}", &line[3..]) } else { String::new() });
        } else {
            current.push(line.to_string());
        }
    }
    flush(&mut current, first_line, &mut docs)?;
    Ok(docs)
}

fn load_error(e: &LoadError) -> YamlError {
    let (marker, message) = match e {
        LoadError::TopLevelMustBeMapping(m) => {
            (Some(*m), "a document is a mapping (`apiVersion:`, `kind:`, ...)".into())
        }
        LoadError::TopLevelMustBeSequence(m) => (Some(*m), "expected a sequence".into()),
        LoadError::UnexpectedAnchor(m) => (Some(*m), "anchors and aliases are not supported".into()),
        LoadError::MappingKeyMustBeScalar(m) => (Some(*m), "mapping keys must be plain strings".into()),
        LoadError::UnexpectedTag(m) => (Some(*m), "YAML tags are not supported".into()),
        LoadError::ScanError(m, scan) => (Some(*m), format!("invalid YAML: {scan}")),
        LoadError::DuplicateKey(inner) => {
            let first =
                inner.prev_key.span().start().map(|m| format!(" (first at line {})", m.line())).unwrap_or_default();
            (inner.key.span().start().copied(), format!("duplicate key `{}`{first}", inner.key.as_str()))
        }
    };
    let at = marker.map_or(At::START, |m| At { line: m.line(), column: m.column() });
    YamlError::new(at, message)
}

/// Is this scalar YAML's null (`~`, `null`, or nothing at all)?
fn is_null(s: &MarkedScalarNode) -> bool {
    matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL") && s.may_coerce()
}

/// A mapping being read, with what it is (for messages: "SLO `x` spec").
#[derive(Clone, Copy)]
pub(crate) struct Map<'a> {
    pub node: &'a MarkedMappingNode,
    pub what: &'a str,
}

impl<'a> Map<'a> {
    pub fn of(node: &'a Node, what: &'a str) -> Result<Map<'a>> {
        match node {
            Node::Mapping(m) => Ok(Map { node: m, what }),
            _ => Err(YamlError::new(At::node(node), format!("{what} must be a mapping"))),
        }
    }

    pub fn at(&self) -> At {
        At::of(self.node.span())
    }

    /// Fails on the first key not in `allowed`: what a format says is either read or refused.
    pub fn only(&self, allowed: &[&str]) -> Result<()> {
        for key in self.node.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(YamlError::new(
                    At::of(key.span()),
                    format!("unknown key `{}` in {} (known: {})", key.as_str(), self.what, allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The value of `key`, unless absent or null.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.node.get_node(key).filter(|n| !matches!(n, Node::Scalar(s) if is_null(s)))
    }

    /// Where `key` is written (or the mapping, when absent).
    pub fn key_at(&self, key: &str) -> At {
        self.node.keys().find(|k| k.as_str() == key).map_or(self.at(), |k| At::of(k.span()))
    }

    pub fn required(&self, key: &str) -> Result<&'a Node> {
        self.get(key).ok_or_else(|| YamlError::new(self.at(), format!("{} needs `{key}`", self.what)))
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a MarkedScalarNode>> {
        self.get(key).map(|n| scalar(n, key)).transpose()
    }

    pub fn required_str(&self, key: &str) -> Result<&'a MarkedScalarNode> {
        scalar(self.required(key)?, key)
    }

    pub fn map(&self, key: &str, what: &'a str) -> Result<Option<Map<'a>>> {
        self.get(key).map(|n| Map::of(n, what)).transpose()
    }

    pub fn seq(&self, key: &str) -> Result<Option<&'a MarkedSequenceNode>> {
        self.get(key)
            .map(|n| match n {
                Node::Sequence(s) => Ok(s),
                _ => Err(YamlError::new(At::node(n), format!("`{key}` in {} must be a list", self.what))),
            })
            .transpose()
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        self.str(key)?
            .map(|s| match s.as_str() {
                "true" | "True" | "TRUE" => Ok(true),
                "false" | "False" | "FALSE" => Ok(false),
                other => Err(YamlError::new(At::of(s.span()), format!("`{key}` is true or false, not `{other}`"))),
            })
            .transpose()
    }

    /// A mapping of strings to strings (labels, annotations), in file order.
    pub fn string_map(&self, key: &str) -> Result<Vec<(&'a MarkedScalarNode, &'a MarkedScalarNode)>> {
        let Some(node) = self.get(key) else { return Ok(Vec::new()) };
        let map = Map::of(node, "a mapping of strings")?;
        map.node.iter().map(|(k, v)| Ok((k, scalar(v, k.as_str())?))).collect()
    }
}

/// The node as a scalar, or an error naming `key`.
pub(crate) fn scalar<'a>(node: &'a Node, key: &str) -> Result<&'a MarkedScalarNode> {
    match node {
        Node::Scalar(s) => Ok(s),
        _ => Err(YamlError::new(At::node(node), format!("`{key}` must be a single value"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

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
}

impl Yaml {
    pub fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }

    pub fn raw(s: impl ToString) -> Yaml {
        Yaml::Raw(s.to_string())
    }

    /// The whole value as a document (a mapping at the top level), ending with a newline.
    pub fn to_document(&self) -> String {
        let mut out = String::new();
        match self {
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

fn write_map(out: &mut String, entries: &[(String, Yaml)], indent: usize) {
    for (i, (key, value)) in entries.iter().enumerate() {
        // The first entry of a mapping inside a list item follows its `- `.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&quote(key, false));
        out.push(':');
        write_value(out, value, indent);
    }
}

fn write_seq(out: &mut String, items: &[Yaml], indent: usize) {
    for item in items {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_that_would_read_back_as_something_else_are_quoted() {
        assert_eq!(quote("fulfillment", false), "fulfillment");
        assert_eq!(quote("2", false), "'2'");
        assert_eq!(quote("5m", false), "5m");
        assert_eq!(quote("2024-01-01 00:00:00", false), "'2024-01-01 00:00:00'");
        assert_eq!(quote("true", false), "'true'");
        assert_eq!(quote("{{.window}}", false), "'{{.window}}'");
        assert_eq!(quote("a: b", false), "'a: b'");
        assert_eq!(quote("", false), "''");
        assert_eq!(quote(r#"m{a="b", c=~"5.."}"#, false), r#"m{a="b", c=~"5.."}"#);
        assert_eq!(quote(r#"m{a="b", c=~"5.."}"#, true), r#"'m{a="b", c=~"5.."}'"#);
        assert_eq!(quote("it's: x", false), "'it''s: x'");
        assert_eq!(quote("a\tb", false), "\"a\\tb\"");
    }

    #[test]
    fn documents_keep_the_line_numbers_of_the_stream() {
        let docs = documents("# c\n---\na: 1\n---\n\nb:\n  c: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].at.line, 3);
        let b = Map::of(&docs[1].root, "doc").unwrap();
        let c = Map::of(b.get("b").unwrap(), "b").unwrap();
        assert_eq!(At::node(c.get("c").unwrap()), At { line: 7, column: 6 });
    }

    #[test]
    fn a_written_document_reads_back_as_the_same_strings() {
        let doc = MapBuilder::new()
            .put("q", Yaml::str("sum(rate(x[{{.window}}]))\n/\nsum(rate(y[{{.window}}]))\n"))
            .put(
                "l",
                Yaml::Seq(vec![MapBuilder::new().put("k", Yaml::str("v: w")).put("n", Yaml::raw("1.50")).build()]),
            )
            .put("f", MapBuilder::new().put("a", Yaml::str("x,y")).flow())
            .build()
            .to_document();
        let docs = documents(&doc).unwrap();
        let root = Map::of(&docs[0].root, "doc").unwrap();
        assert_eq!(
            root.required_str("q").unwrap().as_str(),
            "sum(rate(x[{{.window}}]))\n/\nsum(rate(y[{{.window}}]))\n"
        );
        let f = root.map("f", "f").unwrap().unwrap();
        assert_eq!(f.required_str("a").unwrap().as_str(), "x,y");
        let item = Map::of(&root.seq("l").unwrap().unwrap()[0], "item").unwrap();
        assert_eq!(item.required_str("k").unwrap().as_str(), "v: w");
        assert_eq!(item.required_str("n").unwrap().as_str(), "1.50");
    }
}
