//! The rule file's shape: groups of recording and alerting rules, each with the comment that
//! says where its numbers come from (a calendar window's rolling stand-in, a maintenance
//! window in UTC), written by the crate's one YAML emitter ([`crate::yaml`]) with keys in
//! Prometheus's documented order (`record`/`alert`, `expr`, `for`, `labels`, `annotations`) and
//! multi-line alert expressions as `|-` blocks, one clause per line.

use std::collections::BTreeMap;

use crate::yaml::{MapBuilder, Yaml};

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
    /// Alerts only: how long the condition must hold before the alert fires (`for:`).
    pub pending: Option<String>,
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
    let groups = groups
        .iter()
        .map(|g| {
            MapBuilder::new()
                .put("name", Yaml::str(&g.name))
                .put("interval", Yaml::raw(&g.interval))
                .put("rules", Yaml::Seq(g.rules.iter().map(rule).collect()))
                .build()
                .commented(g.comment.clone())
        })
        .collect();
    crate::yaml::document(header, &MapBuilder::new().put("groups", Yaml::Seq(groups)).build())
}

fn rule(r: &Rule) -> Yaml {
    let (kind, name) = match &r.kind {
        RuleKind::Record(name) => ("record", name),
        RuleKind::Alert(name) => ("alert", name),
    };
    MapBuilder::new()
        .put(kind, Yaml::str(name))
        .put("expr", Yaml::str(&r.expr))
        .put_opt("for", r.pending.as_ref().map(Yaml::raw))
        .put_opt("labels", strings(&r.labels))
        .put_opt("annotations", strings(&r.annotations))
        .build()
        .commented(r.comment.clone())
}

fn strings(map: &BTreeMap<String, String>) -> Option<Yaml> {
    (!map.is_empty()).then(|| Yaml::Map(map.iter().map(|(k, v)| (k.clone(), Yaml::str(v))).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_file_keeps_prometheus_key_order_comments_and_a_literal_block_per_multi_line_expression() {
        let group = Group {
            comment: vec!["why".into()],
            name: "slo:shop".into(),
            interval: "30s".into(),
            rules: vec![Rule {
                comment: Vec::new(),
                kind: RuleKind::Alert("ErrorBudgetBurn".into()),
                expr: "a > 1\nand b > 2".into(),
                pending: None,
                labels: [("severity".to_owned(), "page".to_owned())].into(),
                annotations: [("summary".to_owned(), "yes".to_owned())].into(),
            }],
        };

        let text = document(&["generated".into()], &[group]);

        assert_eq!(
            text,
            "# generated\ngroups:\n  # why\n  - name: slo:shop\n    interval: 30s\n    rules:\n      - alert: ErrorBudgetBurn\n        expr: |-\n          a > 1\n          and b > 2\n        labels:\n          severity: page\n        annotations:\n          summary: 'yes'\n"
        );
    }
}
