//! Sloth `prometheus/v1` specs (<https://sloth.dev>, `pkg/prometheus/api/v1`) imported as Kura
//! specs: one spec per document (a file may hold several, separated by `---`).
//!
//! | Sloth                                   | Kura                                                     |
//! |-----------------------------------------|----------------------------------------------------------|
//! | `version: prometheus/v1`                | required; anything else is refused                       |
//! | `service`                               | `service`                                                |
//! | `labels`                                | `labels`                                                 |
//! | `slos[].name`                           | SLO `id`                                                 |
//! | `slos[].labels.journey`                 | the SLO's journey; without it, the journey is the service |
//! | `slos[].labels` (others)                | service `labels` (Kura labels are per service; the same   |
//! |                                         | key with two values is refused)                          |
//! | `slos[].objective`, `description`       | `objective` (exact decimal), `description`               |
//! | (no window in the spec)                 | `window: 30d`, Sloth's default SLO period                |
//! | `sli.events` `error_query`/`total_query`| `ratio: { bad, total }` when both are                    |
//! |                                         | `sum(rate(SELECTOR[{{.window}}]))` (or `increase`) on a  |
//! |                                         | `_total`/`_count` series, else `promql: { bad, total }`   |
//! |                                         | with the queries as written (Kura's promql SLI uses      |
//! |                                         | `{{.window}}` the same way)                              |
//! | `sli.raw.error_ratio_query` (Q)         | `promql: { bad: Q, total: (Q) * 0 + 1 }`: a ratio of Q to |
//! |                                         | one, so the SLI is exactly Q, series for series; event    |
//! |                                         | counts (`min_events_per_hour`) mean nothing for it        |
//! | `alerting.page_alert.disable: true`     | tiers `fast-page` and `slow-page` removed                |
//! | `alerting.ticket_alert.disable: true`   | tiers `fast-ticket` and `slow-ticket` removed            |
//! | (alert windows)                         | Kura's default tiers for 30d, which are Sloth's defaults |
//! |                                         | (the SRE Workbook's 14.4/6/3/1 over 1h/6h/1d/3d)          |
//!
//! Read and not carried, because they only name and route alerts (Kura's alert is always
//! `ErrorBudgetBurn` with `slo`, `journey`, `service` and `severity` labels to route on):
//! `alerting.name`, `alerting.labels`, `alerting.annotations`, and each alert's `labels` and
//! `annotations`.
//!
//! Refused, with the place: SLI plugins (`sli.plugin`: Kura cannot run Sloth's Go plugins), SLO
//! plugins (`slo_plugins`, `slos[].plugins`), and any key not listed here.

use std::path::Path;

use marked_yaml::Node;

use super::ImportError;
use super::common::{self, SpecDraft, WINDOW, counter_selector, error, from_yaml, unsupported};
use crate::math::{Objective, Severity, Window};
use crate::spec::{Alerting, Budgeting, Counting, Sli, Slo, Spec};
use crate::yaml::{self, At, Map};

/// Sloth's default SLO period (`sloth generate --default-slo-period`), in days.
const SLOTH_PERIOD_DAYS: i64 = 30;

/// Every service of a Sloth `prometheus/v1` file, as Kura specs.
pub fn import(path: &Path, text: &str) -> Result<Vec<Spec>, ImportError> {
    let docs = yaml::documents(text).map_err(from_yaml(path))?;
    if docs.is_empty() {
        return Err(error(path, At::START, "no Sloth document in the file"));
    }
    let mut specs: Vec<Spec> = Vec::new();
    for doc in &docs {
        let spec = document(path, &doc.root)?;
        if specs.iter().any(|s| s.service == spec.service) {
            return Err(error(path, doc.at, format!("service `{}` is declared twice", spec.service)));
        }
        specs.push(spec);
    }
    Ok(specs)
}

fn document(file: &Path, root: &Node) -> Result<Spec, ImportError> {
    let y = from_yaml(file);
    let root = Map::of(root, "a Sloth spec").map_err(&y)?;
    let version = root.required_str("version").map_err(&y)?;
    if version.as_str() != "prometheus/v1" {
        let what = format!("Sloth version `{}`", version.as_str());
        return Err(unsupported(file, At::of(version.span()), what, "only `prometheus/v1` files are read"));
    }
    if root.get("slo_plugins").is_some() {
        let why = "Kura generates its own rules and cannot run Sloth's plugins";
        return Err(unsupported(file, root.key_at("slo_plugins"), "`slo_plugins`", why));
    }
    root.only(&["version", "service", "labels", "slo_plugins", "slos"]).map_err(&y)?;
    let service = root.required_str("service").map_err(&y)?;
    let mut draft = SpecDraft::new(service.as_str(), At::of(service.span()));
    for (k, v) in root.string_map("labels").map_err(&y)? {
        draft.labels.insert(k.as_str().to_string(), v.as_str().to_string());
    }
    let slos = root.seq("slos").map_err(&y)?.filter(|s| !s.is_empty());
    let Some(slos) = slos else {
        return Err(error(file, root.at(), format!("service `{}` has no SLOs", service.as_str())));
    };
    for node in slos.iter() {
        slo(file, node, &mut draft)?;
    }
    draft.finish(file)
}

fn slo(file: &Path, node: &Node, draft: &mut SpecDraft) -> Result<(), ImportError> {
    let y = from_yaml(file);
    let m = Map::of(node, "an SLO").map_err(&y)?;
    if m.get("plugins").is_some() {
        let why = "Kura generates its own rules and cannot run Sloth's plugins";
        return Err(unsupported(file, m.key_at("plugins"), "SLO `plugins`", why));
    }
    m.only(&["name", "objective", "description", "plugins", "labels", "sli", "alerting"]).map_err(&y)?;
    let name = m.required_str("name").map_err(&y)?;
    let objective_text = m.required_str("objective").map_err(&y)?;
    let objective: Objective = objective_text.as_str().parse().map_err(|e| {
        error(file, At::of(objective_text.span()), format!("objective `{}`: {e}", objective_text.as_str()))
    })?;
    let description = m.str("description").map_err(&y)?.map(|d| d.as_str().trim().to_string()).unwrap_or_default();

    let mut journey = draft.service.clone();
    for (k, v) in m.string_map("labels").map_err(&y)? {
        if k.as_str() == "journey" {
            journey = v.as_str().to_string();
        } else {
            draft.label(file, At::of(k.span()), k.as_str(), v.as_str())?;
        }
    }

    let sli = sli(file, Map::of(m.required("sli").map_err(&y)?, "`sli`").map_err(&y)?)?;
    let window = Window::Rolling(jiff::SignedDuration::from_hours(24 * SLOTH_PERIOD_DAYS));
    let mut tiers = common::default_tiers(&window);
    if let Some(alerting) = m.map("alerting", "`alerting`").map_err(&y)? {
        alerting.only(&["name", "labels", "annotations", "page_alert", "ticket_alert"]).map_err(&y)?;
        for (key, severity) in [("page_alert", Severity::Page), ("ticket_alert", Severity::Ticket)] {
            let Some(alert) = alerting.map(key, key).map_err(&y)? else { continue };
            alert.only(&["disable", "labels", "annotations"]).map_err(&y)?;
            if alert.bool("disable").map_err(&y)? == Some(true) {
                tiers.retain(|t| t.tier.severity != severity);
            }
        }
    }

    draft.positions.insert(name.as_str().to_string(), At::of(name.span()));
    draft.journey(&journey).slos.push(Slo {
        id: name.as_str().to_string(),
        journey: journey.clone(),
        description,
        objective,
        window,
        budgeting: Budgeting::Occurrences,
        sli,
        min_events_per_hour: None,
        alerting: Alerting { tiers, no_data: None },
    });
    Ok(())
}

fn sli(file: &Path, m: Map<'_>) -> Result<Sli, ImportError> {
    let y = from_yaml(file);
    if m.get("plugin").is_some() {
        let plugin = m.map("plugin", "`plugin`").map_err(&y)?;
        let id = plugin.and_then(|p| p.str("id").ok().flatten()).map(|s| format!(" `{}`", s.as_str()));
        let what = format!("SLI plugin{}", id.unwrap_or_default());
        let why = "Kura cannot run Sloth's Go plugins; write the plugin's queries as `events` or `raw`";
        return Err(unsupported(file, m.key_at("plugin"), what, why));
    }
    m.only(&["events", "raw", "plugin"]).map_err(&y)?;
    match (m.map("events", "`events`").map_err(&y)?, m.map("raw", "`raw`").map_err(&y)?) {
        (Some(events), None) => {
            events.only(&["error_query", "total_query"]).map_err(&y)?;
            let bad = events.required_str("error_query").map_err(&y)?.as_str();
            let total = events.required_str("total_query").map_err(&y)?.as_str();
            Ok(match (counter_selector(bad), counter_selector(total)) {
                (Some(numerator), Some(all)) if mentions_window(bad) && mentions_window(total) => {
                    Sli::Ratio { counting: Counting::Bad, numerator, total: all }
                }
                _ => Sli::Promql { counting: Counting::Bad, numerator: bad.trim().into(), total: total.trim().into() },
            })
        }
        (None, Some(raw)) => {
            raw.only(&["error_ratio_query"]).map_err(&y)?;
            let q = raw.required_str("error_ratio_query").map_err(&y)?.as_str().trim();
            Ok(Sli::Promql { counting: Counting::Bad, numerator: q.to_string(), total: format!("({q}) * 0 + 1") })
        }
        (Some(_), Some(_)) => Err(error(file, m.key_at("raw"), "an SLI is either `events` or `raw`, not both")),
        (None, None) => Err(error(file, m.at(), "an SLI needs `events` or `raw`")),
    }
}

/// Sloth queries always range over `{{.window}}`; a plain selector is not a Sloth query.
fn mentions_window(q: &str) -> bool {
    q.contains(WINDOW)
}
