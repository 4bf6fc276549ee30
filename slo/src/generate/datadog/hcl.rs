//! Terraform's HCL as text: identifiers, strings, lists, heredocs and nested blocks, written
//! the way `terraform fmt` leaves them.

use super::*;

/// A Terraform identifier from an SLO id, tier or maintenance name.
pub(super) fn ident(name: &str) -> String {
    let mut ident: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if !ident.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        ident.insert(0, '_');
    }
    ident
}

pub(super) fn number(value: Decimal) -> String {
    value.normalize().to_string()
}

/// A quoted HCL string with every character taken literally.
pub(super) fn hcl_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `${` and `%{` start template sequences; doubling the sigil makes them literal.
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A quoted HCL string whose text is already escaped (it may interpolate on purpose).
pub(super) fn hcl_string_raw(escaped: &str) -> String {
    format!("\"{escaped}\"")
}

pub(super) fn hcl_list(items: &BTreeSet<String>) -> String {
    let quoted: Vec<String> = items.iter().map(|i| hcl_string(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// Escapes template sequences in heredoc text (which may interpolate on purpose elsewhere).
pub(super) fn heredoc_text(text: &str) -> String {
    text.replace("${", "$${").replace("%{", "%%{")
}

/// An HCL block, rendered the way `terraform fmt` lays it out (aligned `=` in runs of attributes).
pub(super) struct Block {
    header: String,
    items: Vec<Item>,
}

pub(super) enum Item {
    Attr(String, String),
    /// `key = <<EOT` and its lines (already safe: interpolations intended).
    Heredoc(String, Vec<String>),
    Block(Block),
    Comment(String),
    Raw(String),
    Blank,
}

impl Block {
    pub(super) fn new(header: impl Into<String>) -> Block {
        Block { header: header.into(), items: Vec::new() }
    }

    pub(super) fn attr(&mut self, key: &str, value: impl Into<String>) {
        self.items.push(Item::Attr(key.to_string(), value.into()));
    }

    /// A heredoc whose last line may interpolate (`${var.x}`); other text is escaped.
    pub(super) fn heredoc(&mut self, key: &str, lines: &[String]) {
        let last = lines.len().saturating_sub(1);
        let lines =
            lines.iter().enumerate().map(|(i, l)| if i == last { l.clone() } else { heredoc_text(l) }).collect();
        self.items.push(Item::Heredoc(key.to_string(), lines));
    }

    pub(super) fn block(&mut self, block: Block) {
        self.items.push(Item::Block(block));
    }

    pub(super) fn comment(&mut self, text: &str) {
        self.items.push(Item::Comment(text.to_string()));
    }

    pub(super) fn raw(&mut self, text: &str) {
        self.items.push(Item::Raw(text.to_string()));
    }

    pub(super) fn blank(&mut self) {
        self.items.push(Item::Blank);
    }

    pub(super) fn render(&self, depth: usize) -> String {
        let pad = "  ".repeat(depth);
        let inner = "  ".repeat(depth + 1);
        let mut out = format!("{pad}{} {{\n", self.header);
        let mut i = 0;
        while i < self.items.len() {
            // A run of attributes shares one `=` column.
            let run_end = (i..self.items.len())
                .find(|&j| !matches!(self.items[j], Item::Attr(..) | Item::Heredoc(..)))
                .unwrap_or(self.items.len());
            let width = self.items[i..run_end]
                .iter()
                .map(|item| match item {
                    Item::Attr(k, _) | Item::Heredoc(k, _) => k.len(),
                    _ => 0,
                })
                .max()
                .unwrap_or(0);
            for item in &self.items[i..run_end] {
                match item {
                    Item::Attr(key, value) => {
                        let _ = writeln!(out, "{inner}{key:width$} = {value}");
                    }
                    Item::Heredoc(key, lines) => {
                        // Not the indented `<<-` form: its text would depend on how HCL measures the
                        // indentation of blank lines, and four leading spaces are code in Markdown.
                        let marker = heredoc_marker(lines);
                        let _ = writeln!(out, "{inner}{key:width$} = <<{marker}");
                        for line in lines {
                            let _ = writeln!(out, "{line}");
                        }
                        let _ = writeln!(out, "{marker}");
                    }
                    _ => {}
                }
            }
            if run_end > i {
                i = run_end;
                continue;
            }
            match &self.items[i] {
                Item::Block(block) => out.push_str(&block.render(depth + 1)),
                Item::Comment(text) => {
                    let _ = writeln!(out, "{inner}# {text}");
                }
                Item::Raw(text) => {
                    for line in text.lines() {
                        let _ = writeln!(out, "{inner}{line}");
                    }
                }
                Item::Blank => out.push('\n'),
                Item::Attr(..) | Item::Heredoc(..) => {}
            }
            i += 1;
        }
        let _ = writeln!(out, "{pad}}}");
        out
    }
}

/// `EOT`, or `EOT1`, `EOT2`... when a line of the text would end the heredoc early.
pub(super) fn heredoc_marker(lines: &[String]) -> String {
    let mut marker = "EOT".to_string();
    let mut n = 0;
    while lines.iter().any(|l| l.trim() == marker) {
        n += 1;
        marker = format!("EOT{n}");
    }
    marker
}
