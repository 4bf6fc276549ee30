//! Reading YAML with positions (see [`super`]).

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{LoadError, LoaderOptions, Node};

use super::{At, Result, YamlError};

/// One document of a stream: its top-level mapping (or sequence), and where it starts.
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
            let root = parse_document(&padded)?;
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

/// A document of a stream: a mapping, or a list of them (oslo reads a list of OpenSLO objects as
/// those objects); the importers say what each item must be.
fn parse_document(text: &str) -> Result<Node> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    match marked_yaml::parse_yaml_with_options(0, text, options) {
        Err(LoadError::TopLevelMustBeMapping(_)) => {
            let options = LoaderOptions::default().error_on_duplicate_keys(true).toplevel_sequence();
            marked_yaml::parse_yaml_with_options(0, text, options)
                .map_err(|e| load_error(&e, "a document is a mapping (`apiVersion:`, `kind:`, ...) or a list of them"))
        }
        other => other.map_err(|e| load_error(&e, "a document is a mapping (`apiVersion:`, `kind:`, ...)")),
    }
}

/// One YAML document whose top level is a mapping; duplicate keys are errors, and
/// `top_level` is the message when the top level is something else.
pub(crate) fn parse(text: &str, top_level: &str) -> Result<Node> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| load_error(&e, top_level))
}

fn load_error(e: &LoadError, top_level: &str) -> YamlError {
    let (marker, message) = match e {
        LoadError::TopLevelMustBeMapping(m) => (Some(*m), top_level.to_owned()),
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
