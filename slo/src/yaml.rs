//! YAML, read and written in one place for the whole crate: the spec loader, the importers,
//! the OpenSLO generator, the Prometheus rule generator and the native spec writer.
//!
//! * Reading ([`read`]): YAML parsed with `marked-yaml`, so every value keeps its
//!   `line:column` and every scalar stays the exact text written (objectives and thresholds are
//!   decimal-exact; nothing goes through `f64`); duplicate keys are errors. [`parse`] reads one
//!   document (the spec loader deserialises it with serde); [`documents`] splits a
//!   multi-document stream at `---` lines first, keeping line numbers, and [`Map`] walks one.
//! * Writing ([`write`]): one block-style emitter, [`Yaml`]. Strings are written plain when YAML
//!   (1.1 as well as 1.2) reads them back as the same string, quoted otherwise, and as `|`
//!   literals when they span lines (PromQL); numbers and durations are written as the exact
//!   text Kura formats them in; comments go above a mapping entry or a list item, and a
//!   document may open with a header comment ([`document`]).

mod read;
mod write;

pub(crate) use read::{Map, documents, parse, scalar};
pub(crate) use write::{MapBuilder, Yaml, document};

use marked_yaml::{Node, Span};

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

#[cfg(test)]
mod tests {
    use super::write::quote;
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
    fn comments_go_above_their_entry_or_item_and_a_header_opens_the_document() {
        let rule = MapBuilder::new().put("record", Yaml::str("a:b")).put("expr", Yaml::str("sum(x)")).build();
        let doc = MapBuilder::new()
            .put("groups", Yaml::Seq(vec![rule.commented(vec!["why".into(), String::new()])]))
            .put("interval", Yaml::raw("30s").commented(vec!["every cycle".into()]))
            .build();

        let text = document(&["generated".into()], &doc);

        assert_eq!(
            text,
            "# generated\ngroups:\n  # why\n  #\n  - record: a:b\n    expr: sum(x)\n# every cycle\ninterval: 30s\n"
        );
        assert!(documents(&text).is_ok());
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
