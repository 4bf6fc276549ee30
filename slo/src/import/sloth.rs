//! Sloth specs (<https://sloth.dev>) imported as Kura specs: the CLI's `prometheus/v1` format
//! and the Kubernetes `PrometheusServiceLevel` CRD (`sloth.slok.dev/v1`), one spec per service.
//! A file may hold several documents separated by `---`, in either format, and `AlertWindows`
//! documents, which set the SLO period and alert windows of every SLO in the file.
//!
//! | Sloth (`prometheus/v1` key / CRD key)       | Kura                                                |
//! |---------------------------------------------|-----------------------------------------------------|
//! | `version: prometheus/v1`, or `apiVersion:   | required; other versions and kinds are refused,     |
//! | sloth.slok.dev/v1` + `kind:                 | naming what they are (OpenSLO v1alpha, which Sloth  |
//! | PrometheusServiceLevel` (fields in `spec`)  | also reads; Pyrra; other Sloth versions)            |
//! | `service`                                   | `service` (documents of one service are merged)     |
//! | `labels`                                    | service `labels`                                    |
//! | `slos[].name`                               | SLO `id`                                            |
//! | `slos[].labels.journey`                     | the SLO's journey; without it, the service          |
//! | `slos[].labels` (others)                    | that SLO's `labels`, on its rules and alerts only   |
//! | `slos[].infoLabels`                         | that SLO's `labels` too (Kura has no labels for the |
//! |                                             | info series alone; `labels` win on a clash)         |
//! | `slos[].objective`, `description`           | `objective` (exact decimal), `description`          |
//! | (no period in the spec)                     | `window: 30d`, Sloth's default SLO period, or the   |
//! |                                             | `AlertWindows` document's `sloPeriod`               |
//! | `sli.events` `error_query`/`total_query`    | `ratio: { bad, total }` when both are               |
//! | (`errorQuery`/`totalQuery`)                 | `sum(rate(SELECTOR[{{.window}}]))` (or `increase`)  |
//! |                                             | on a `_total`/`_count` series, else `promql: { bad, |
//! |                                             | total }` with the queries as written                |
//! | `sli.raw.error_ratio_query` (Q)             | `promql: { bad: Q, total: (Q) * 0 + 1 }`: exactly Q, |
//! | (`errorRatioQuery`)                         | series for series                                   |
//! | `alerting.name`                             | `alerting.name` (the alert name under `slo generate |
//! |                                             | prometheus --compat sloth`)                         |
//! | `alerting.labels`, `annotations`            | `alerting.labels`, `annotations`                    |
//! | `page_alert`/`ticket_alert` (`pageAlert`/   | `alerting.page`/`ticket` `labels`, `annotations`    |
//! | `ticketAlert`) `labels`, `annotations`      | (a `severity` label is kept for `--compat sloth`;   |
//! |                                             | one in `alerting.labels` goes to each alert that    |
//! |                                             | sets none, as Sloth merges them)                    |
//! | `page_alert.disable: true`                  | tiers `fast-page` and `slow-page` removed           |
//! | `ticket_alert.disable: true`                | tiers `fast-ticket` and `slow-ticket` removed       |
//! | (alert windows)                             | Kura's default tiers for 30d, which are Sloth's     |
//! |                                             | defaults (the Workbook's 14.4/6/3/1 over            |
//! |                                             | 1h/6h/1d/3d)                                        |
//! | `AlertWindows` `page.quick`, `page.slow`,   | tiers `fast-page`, `slow-page`, `fast-ticket`,      |
//! | `ticket.quick`, `ticket.slow`               | `slow-ticket`: the same windows, and the burn rate  |
//! |                                             | that spends `errorBudgetPercent` of the period's    |
//! |                                             | budget in the long window (`percent / 100 × period  |
//! |                                             | / longWindow`, Sloth's own formula)                 |
//! | CRD `metadata` (name, namespace, labels)    | read and not carried: they place the Kubernetes     |
//! |                                             | object, not the SLO                                 |
//!
//! Refused, with the place: SLI plugins (`sli.plugin`: Kura cannot run Sloth's Go plugins), SLO
//! plugins (`slo_plugins`, `slos[].plugins`), `slos[].interval` (Kura's groups run every 30s),
//! and any key not listed here.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::SignedDuration;
use marked_yaml::Node;
use rust_decimal::Decimal;

use super::ImportError;
use super::common::{self, SpecDraft, WINDOW, counter_selector, error, from_yaml, unsupported};
use crate::math::{self, BurnTier, Objective, Severity, Window};
use crate::spec::{AlertExtras, AlertRoute, Alerting, Budgeting, Counting, NamedTier, Sli, Slo, Spec};
use crate::yaml::{self, At, Map};

/// Sloth's default SLO period (`sloth generate --default-slo-period`), in days.
const SLOTH_PERIOD_DAYS: i64 = 30;

/// The keys of one dialect: the CLI format is snake_case, the CRD camelCase.
struct Keys {
    error_query: &'static str,
    total_query: &'static str,
    error_ratio_query: &'static str,
    page_alert: &'static str,
    ticket_alert: &'static str,
}

const CLI: Keys = Keys {
    error_query: "error_query",
    total_query: "total_query",
    error_ratio_query: "error_ratio_query",
    page_alert: "page_alert",
    ticket_alert: "ticket_alert",
};

const CRD: Keys = Keys {
    error_query: "errorQuery",
    total_query: "totalQuery",
    error_ratio_query: "errorRatioQuery",
    page_alert: "pageAlert",
    ticket_alert: "ticketAlert",
};

/// The SLO period and tiers every SLO of the file gets.
#[derive(Clone)]
struct Period {
    window: Window,
    /// `None`: Kura's defaults for the window.
    tiers: Option<Vec<NamedTier>>,
}

impl Period {
    fn tiers(&self) -> Vec<NamedTier> {
        self.tiers.clone().unwrap_or_else(|| common::default_tiers(&self.window))
    }
}

/// Every service of a Sloth file, as Kura specs, in the order they first appear.
pub fn import(path: &Path, text: &str) -> Result<Vec<Spec>, ImportError> {
    let docs = yaml::documents(text).map_err(from_yaml(path))?;
    if docs.is_empty() {
        return Err(error(path, At::START, "no Sloth document in the file"));
    }
    let y = from_yaml(path);
    // `AlertWindows` first: they apply to every SLO of the file, wherever they are written.
    let mut period =
        Period { window: Window::Rolling(SignedDuration::from_hours(24 * SLOTH_PERIOD_DAYS)), tiers: None };
    let mut windows_at: Option<At> = None;
    for doc in &docs {
        let root = Map::of(&doc.root, "a Sloth document").map_err(&y)?;
        if root.str("kind").map_err(&y)?.is_some_and(|k| k.as_str() == "AlertWindows") {
            if let Some(first) = windows_at {
                let message = format!("a second `AlertWindows` document (the first is at line {})", first.line);
                return Err(error(path, doc.at, message));
            }
            windows_at = Some(doc.at);
            period = alert_windows(path, root)?;
        }
    }
    let mut drafts: Vec<SpecDraft> = Vec::new();
    let mut slos = 0;
    for doc in &docs {
        let root = Map::of(&doc.root, "a Sloth document").map_err(&y)?;
        let Some((body, keys)) = dialect(path, root, doc.at)? else { continue };
        slos += document(path, body, keys, &period, &mut drafts)?;
    }
    if slos == 0 {
        return Err(error(path, At::START, "no Sloth SLO in the file (an `AlertWindows` document alone defines none)"));
    }
    drafts.into_iter().map(|d| d.finish(path)).collect()
}

/// The spec body of a document and its dialect; `None` for `AlertWindows` (already read).
fn dialect<'a>(file: &Path, root: Map<'a>, at: At) -> Result<Option<(Map<'a>, &'static Keys)>, ImportError> {
    let y = from_yaml(file);
    if let Some(version) = root.str("version").map_err(&y)? {
        if version.as_str() != "prometheus/v1" {
            let what = format!("Sloth version `{}`", version.as_str());
            return Err(unsupported(file, At::of(version.span()), what, "only `prometheus/v1` files are read"));
        }
        return Ok(Some((root, &CLI)));
    }
    let Some(api) = root.str("apiVersion").map_err(&y)? else {
        return Err(error(
            file,
            at,
            "not a Sloth document: expected `version: prometheus/v1` or `apiVersion: sloth.slok.dev/v1` with `kind: \
             PrometheusServiceLevel`",
        ));
    };
    let kind = root.str("kind").map_err(&y)?;
    let kind_text = kind.map_or("", |k| k.as_str());
    let at = At::of(api.span());
    match (api.as_str(), kind_text) {
        ("sloth.slok.dev/v1", "PrometheusServiceLevel") => {
            root.only(&["apiVersion", "kind", "metadata", "spec"]).map_err(&y)?;
            let spec = root
                .map("spec", "`spec`")
                .map_err(&y)?
                .ok_or_else(|| error(file, root.at(), "a PrometheusServiceLevel needs `spec`"))?;
            Ok(Some((spec, &CRD)))
        }
        ("sloth.slok.dev/v1", "AlertWindows") => Ok(None),
        ("sloth.slok.dev/v1", other) => {
            let at = kind.map_or(at, |k| At::of(k.span()));
            Err(error(file, at, format!("unknown Sloth kind `{other}` (PrometheusServiceLevel or AlertWindows)")))
        }
        (v, _) if v.starts_with("openslo/") => Err(unsupported(
            file,
            at,
            format!("OpenSLO `{v}` (a format Sloth also reads)"),
            "this is OpenSLO, not a Sloth spec: import OpenSLO v1 with `slo import openslo`; v1alpha is not supported",
        )),
        (v, "ServiceLevelObjective") if v.starts_with("pyrra.dev/") => Err(error(
            file,
            at,
            format!("a Pyrra ServiceLevelObjective (`{v}`), not a Sloth spec: use `slo import pyrra`"),
        )),
        (v, _) => Err(unsupported(file, at, format!("`apiVersion: {v}`"), "Sloth specs are `sloth.slok.dev/v1`")),
    }
}

/// `AlertWindows`: the period and the four tiers, mapped onto Kura's tier names.
fn alert_windows(file: &Path, root: Map<'_>) -> Result<Period, ImportError> {
    let y = from_yaml(file);
    let spec =
        root.map("spec", "`spec`").map_err(&y)?.ok_or_else(|| error(file, root.at(), "AlertWindows needs `spec`"))?;
    spec.only(&["sloPeriod", "page", "ticket"]).map_err(&y)?;
    let period_text = spec.required_str("sloPeriod").map_err(&y)?;
    let period = math::parse_duration(period_text.as_str()).map_err(|e| {
        error(file, At::of(period_text.span()), format!("`{}` is not a duration: {e}", period_text.as_str()))
    })?;
    let mut tiers = Vec::new();
    for (severity, key) in [(Severity::Page, "page"), (Severity::Ticket, "ticket")] {
        let group = spec.map(key, key).map_err(&y)?.ok_or_else(|| {
            error(file, spec.at(), format!("AlertWindows needs `{key}` (Sloth requires both quick and slow windows)"))
        })?;
        group.only(&["quick", "slow"]).map_err(&y)?;
        for (speed, sloth) in [("fast", "quick"), ("slow", "slow")] {
            let w = group
                .map(sloth, sloth)
                .map_err(&y)?
                .ok_or_else(|| error(file, group.at(), format!("`{key}` needs `{sloth}`")))?;
            w.only(&["errorBudgetPercent", "shortWindow", "longWindow"]).map_err(&y)?;
            let duration = |k: &str| -> Result<SignedDuration, ImportError> {
                let t = w.required_str(k).map_err(&y)?;
                math::parse_duration(t.as_str())
                    .map_err(|e| error(file, At::of(t.span()), format!("`{}` is not a duration: {e}", t.as_str())))
            };
            let (short_window, long_window) = (duration("shortWindow")?, duration("longWindow")?);
            let percent_text = w.required_str("errorBudgetPercent").map_err(&y)?;
            let percent = percent_text
                .as_str()
                .parse::<Decimal>()
                .ok()
                .filter(|p| *p > Decimal::ZERO && *p <= Decimal::ONE_HUNDRED);
            let Some(percent) = percent else {
                let message = format!("errorBudgetPercent `{}` is not a percentage in (0, 100]", percent_text.as_str());
                return Err(error(file, At::of(percent_text.span()), message));
            };
            // Sloth: the burn rate that spends this share of the period's budget in the long window.
            let burn_rate = (percent / Decimal::ONE_HUNDRED * Decimal::from(period.as_secs())
                / Decimal::from(long_window.as_secs()))
            .round_dp(6)
            .normalize();
            tiers.push(NamedTier {
                name: format!("{speed}-{}", severity.as_str()),
                tier: BurnTier { severity, long_window, short_window, burn_rate },
                pending: None,
            });
        }
    }
    Ok(Period { window: Window::Rolling(period), tiers: Some(tiers) })
}

/// One service document, merged into its service's draft; the number of SLOs read.
fn document(
    file: &Path,
    root: Map<'_>,
    keys: &Keys,
    period: &Period,
    drafts: &mut Vec<SpecDraft>,
) -> Result<usize, ImportError> {
    let y = from_yaml(file);
    if root.get("slo_plugins").is_some() || root.get("sloPlugins").is_some() {
        let key = if root.get("slo_plugins").is_some() { "slo_plugins" } else { "sloPlugins" };
        let why = "Kura generates its own rules and cannot run Sloth's plugins";
        return Err(unsupported(file, root.key_at(key), format!("`{key}`"), why));
    }
    let allowed: &[&str] = if std::ptr::eq(keys, &CLI) {
        &["version", "service", "labels", "slos"]
    } else {
        &["service", "labels", "slos"]
    };
    root.only(allowed).map_err(&y)?;
    let service = root.required_str("service").map_err(&y)?;
    let i = match drafts.iter().position(|d| d.service == service.as_str()) {
        Some(i) => i,
        None => {
            drafts.push(SpecDraft::new(service.as_str(), At::of(service.span())));
            drafts.len() - 1
        }
    };
    let draft = &mut drafts[i];
    for (k, v) in root.string_map("labels").map_err(&y)? {
        draft.label(file, At::of(k.span()), k.as_str(), v.as_str())?;
    }
    let slos = root.seq("slos").map_err(&y)?.filter(|s| !s.is_empty());
    let Some(slos) = slos else {
        return Err(error(file, root.at(), format!("service `{}` has no SLOs", service.as_str())));
    };
    for node in slos.iter() {
        slo(file, node, keys, period, draft)?;
    }
    Ok(slos.len())
}

fn slo(file: &Path, node: &Node, keys: &Keys, period: &Period, draft: &mut SpecDraft) -> Result<(), ImportError> {
    let y = from_yaml(file);
    let m = Map::of(node, "an SLO").map_err(&y)?;
    if m.get("plugins").is_some() {
        let why = "Kura generates its own rules and cannot run Sloth's plugins";
        return Err(unsupported(file, m.key_at("plugins"), "SLO `plugins`", why));
    }
    if m.get("interval").is_some() {
        let why = "Kura evaluates every rule group every 30s, which its thresholds and maintenance rules assume; \
                   remove `interval`";
        return Err(unsupported(file, m.key_at("interval"), "`interval` (rule group intervals)", why));
    }
    m.only(&["name", "objective", "description", "plugins", "labels", "infoLabels", "sli", "alerting"]).map_err(&y)?;
    let name = m.required_str("name").map_err(&y)?;
    if draft.positions.contains_key(name.as_str()) {
        let message = format!("SLO `{}` of service `{}` is declared twice", name.as_str(), draft.service);
        return Err(error(file, At::of(name.span()), message));
    }
    let objective_text = m.required_str("objective").map_err(&y)?;
    let objective: Objective = objective_text.as_str().parse().map_err(|e| {
        error(file, At::of(objective_text.span()), format!("objective `{}`: {e}", objective_text.as_str()))
    })?;
    let description = m.str("description").map_err(&y)?.map(|d| d.as_str().trim().to_string()).unwrap_or_default();

    let mut journey = draft.service.clone();
    let mut labels = BTreeMap::new();
    // `infoLabels` only label Sloth's info series; Kura has no info-only labels, so they label
    // the SLO's rules (the SLO's own `labels` win).
    let info = m.string_map("infoLabels").map_err(&y)?;
    for (k, v) in info.into_iter().chain(m.string_map("labels").map_err(&y)?) {
        if k.as_str() == "journey" {
            journey = v.as_str().to_string();
        } else {
            labels.insert(k.as_str().to_string(), v.as_str().to_string());
        }
    }

    let sli = sli(file, Map::of(m.required("sli").map_err(&y)?, "`sli`").map_err(&y)?, keys)?;
    let mut tiers = period.tiers();
    let mut route = AlertRoute::default();
    if let Some(alerting) = m.map("alerting", "`alerting`").map_err(&y)? {
        alerting.only(&["name", "labels", "annotations", keys.page_alert, keys.ticket_alert]).map_err(&y)?;
        route.name = alerting.str("name").map_err(&y)?.map(|n| n.as_str().to_string());
        route.labels = plain(alerting.string_map("labels").map_err(&y)?);
        route.annotations = plain(alerting.string_map("annotations").map_err(&y)?);
        for (key, severity) in [(keys.page_alert, Severity::Page), (keys.ticket_alert, Severity::Ticket)] {
            let Some(alert) = alerting.map(key, key).map_err(&y)? else { continue };
            alert.only(&["disable", "labels", "annotations"]).map_err(&y)?;
            if alert.bool("disable").map_err(&y)? == Some(true) {
                tiers.retain(|t| t.tier.severity != severity);
            }
            let extras = AlertExtras {
                labels: plain(alert.string_map("labels").map_err(&y)?),
                annotations: plain(alert.string_map("annotations").map_err(&y)?),
            };
            match severity {
                Severity::Page => route.page = extras,
                Severity::Ticket => route.ticket = extras,
            }
        }
        // Sloth merges `alerting.labels` into both alerts, the alert's own winning; Kura keeps
        // `severity` per severity, so a shared one moves to whichever alert does not set its own.
        if let Some(severity) = route.labels.remove("severity") {
            for extras in [&mut route.page, &mut route.ticket] {
                extras.labels.entry("severity".into()).or_insert_with(|| severity.clone());
            }
        }
    }

    draft.positions.insert(name.as_str().to_string(), At::of(name.span()));
    draft.journey(&journey).slos.push(Slo {
        id: name.as_str().to_string(),
        journey: journey.clone(),
        description,
        objective,
        window: period.window.clone(),
        budgeting: Budgeting::Occurrences,
        sli,
        min_events_per_hour: None,
        labels,
        alerting: Alerting { tiers, no_data: None, route },
    });
    Ok(())
}

fn plain(
    pairs: Vec<(&marked_yaml::types::MarkedScalarNode, &marked_yaml::types::MarkedScalarNode)>,
) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string())).collect()
}

fn sli(file: &Path, m: Map<'_>, keys: &Keys) -> Result<Sli, ImportError> {
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
            events.only(&[keys.error_query, keys.total_query]).map_err(&y)?;
            let bad = events.required_str(keys.error_query).map_err(&y)?.as_str();
            let total = events.required_str(keys.total_query).map_err(&y)?.as_str();
            Ok(match (counter_selector(bad), counter_selector(total)) {
                (Some(numerator), Some(all)) if mentions_window(bad) && mentions_window(total) => {
                    Sli::Ratio { counting: Counting::Bad, numerator, total: all }
                }
                _ => Sli::Promql { counting: Counting::Bad, numerator: bad.trim().into(), total: total.trim().into() },
            })
        }
        (None, Some(raw)) => {
            raw.only(&[keys.error_ratio_query]).map_err(&y)?;
            let q = raw.required_str(keys.error_ratio_query).map_err(&y)?.as_str().trim();
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
