//! Pyrra `ServiceLevelObjective` CRDs (<https://github.com/pyrra-dev/pyrra>,
//! `pyrra.dev/v1alpha1`) imported as Kura specs. A file may hold several objects separated by
//! `---`; objects of one namespace become one spec.
//!
//! | Pyrra                                        | Kura                                              |
//! |----------------------------------------------|---------------------------------------------------|
//! | `apiVersion: pyrra.dev/v1alpha1`,            | required; other versions and kinds are refused    |
//! | `kind: ServiceLevelObjective`                |                                                   |
//! | `metadata.namespace`                         | `service` (Pyrra has no service; a namespace is   |
//! |                                              | what groups objects), `default` when absent, as   |
//! |                                              | in Kubernetes                                     |
//! | `metadata.name`                              | SLO `id`                                          |
//! | `metadata.labels` `pyrra.dev/KEY: V`         | SLO `labels` `KEY: V` (Pyrra copies these onto    |
//! |                                              | its rules); `journey` names the SLO's journey,    |
//! |                                              | else the journey is the service                   |
//! | `metadata.labels` (others), `annotations`    | read and not carried: they select the             |
//! |                                              | PrometheusRule object, not the SLO                |
//! | `spec.target` (percent), `description`       | `objective` (exact decimal), `description`        |
//! | `spec.window` (`4w`, `28d`, `2w`)            | `window`, rolling; Kura's default tiers for that  |
//! |                                              | length (Pyrra derives its own from the window the |
//! |                                              | same way, from the SRE Workbook)                  |
//! | `indicator.ratio` `errors`/`total` `metric`  | `ratio: { bad, total }` on `_total`/`_count`      |
//! |                                              | series, else `promql` over                        |
//! |                                              | `sum(rate(metric[{{.window}}]))`                  |
//! | `indicator.latency` `success`/`total`        | `latency: { histogram, threshold }` when success  |
//! |                                              | is `X_bucket{…, le="T"}` and total `X_count{…}`,  |
//! |                                              | else `promql` with good = success                 |
//! | `indicator.bool_gauge.metric` (M)            | `promql: { bad: count_over_time(M) −              |
//! |                                              | sum_over_time(M), total: count_over_time(M) }`:   |
//! |                                              | every sample is an event, bad when it is 0        |
//! | `grouping` (any indicator)                   | refused: Pyrra makes one objective per value of   |
//! |                                              | the grouping labels, found at run time; a spec    |
//! |                                              | file cannot know them (write one SLO per value    |
//! |                                              | with a matcher, or a `promql` SLI without it)     |
//! | `indicator.latencyNative`                    | refused: native histograms have no `le` buckets   |
//! | `alerting.disabled: true`,                   | no burn-rate tiers                                |
//! | `alerting.burnrates: false`                  |                                                   |
//! | `alerting.name`                              | `alerting.name` (Pyrra's default alert name is    |
//! |                                              | `ErrorBudgetBurn`, Kura's too)                    |
//! | `alerting.absent` (default true)             | `alerting.no_data: 10m`; `false` turns it off     |

use std::collections::BTreeMap;
use std::path::Path;

use jiff::SignedDuration;

use super::ImportError;
use super::common::{self, SpecDraft, counter_selector, error, from_yaml, histogram_ratio, rate_query, unsupported};
use crate::math::{self, Objective, Window};
use crate::spec::{AlertRoute, Alerting, Budgeting, Counting, Selector, Sli, Slo, Spec, Threshold};
use crate::yaml::{self, At, Map};

/// What the no-data alert waits for when Pyrra's `absent` alert is on.
const ABSENT_AFTER: SignedDuration = SignedDuration::from_mins(10);

/// Every namespace of a Pyrra file, as Kura specs, in the order they first appear.
pub fn import(path: &Path, text: &str) -> Result<Vec<Spec>, ImportError> {
    let docs = yaml::documents(text).map_err(from_yaml(path))?;
    if docs.is_empty() {
        return Err(error(path, At::START, "no Pyrra document in the file"));
    }
    let mut drafts: Vec<SpecDraft> = Vec::new();
    for doc in &docs {
        objective(path, &doc.root, &mut drafts)?;
    }
    drafts.into_iter().map(|d| d.finish(path)).collect()
}

fn objective(file: &Path, node: &marked_yaml::Node, drafts: &mut Vec<SpecDraft>) -> Result<(), ImportError> {
    let y = from_yaml(file);
    let root = Map::of(node, "a Pyrra ServiceLevelObjective").map_err(&y)?;
    let api = root.required_str("apiVersion").map_err(&y)?;
    let kind = root.required_str("kind").map_err(&y)?;
    if api.as_str() != "pyrra.dev/v1alpha1" || kind.as_str() != "ServiceLevelObjective" {
        let what = format!("`apiVersion: {}`, `kind: {}`", api.as_str(), kind.as_str());
        let why = if api.as_str().starts_with("sloth.slok.dev/") || root.get("version").is_some() {
            "this is a Sloth spec: use `slo import sloth`"
        } else if api.as_str().starts_with("openslo/") {
            "this is OpenSLO: use `slo import openslo`"
        } else {
            "Pyrra objects are `pyrra.dev/v1alpha1` `ServiceLevelObjective`s"
        };
        return Err(unsupported(file, At::of(api.span()), what, why));
    }
    root.only(&["apiVersion", "kind", "metadata", "spec", "status"]).map_err(&y)?;
    let metadata = Map::of(root.required("metadata").map_err(&y)?, "`metadata`").map_err(&y)?;
    let name = metadata.required_str("name").map_err(&y)?;
    let namespace = metadata.str("namespace").map_err(&y)?;
    let service = namespace.map_or("default", |n| n.as_str());
    let service_at = namespace.map_or(At::of(name.span()), |n| At::of(n.span()));
    let mut journey = service.to_string();
    let mut labels = BTreeMap::new();
    for (k, v) in metadata.string_map("labels").map_err(&y)? {
        if let Some(key) = k.as_str().strip_prefix("pyrra.dev/") {
            if key == "journey" {
                journey = v.as_str().to_string();
            } else {
                labels.insert(key.to_string(), v.as_str().to_string());
            }
        } else if k.as_str() == "journey" {
            journey = v.as_str().to_string();
        }
    }

    let spec = Map::of(root.required("spec").map_err(&y)?, "`spec`").map_err(&y)?;
    spec.only(&["target", "window", "description", "indicator", "alerting", "serviceLevelObjectiveLabels"])
        .map_err(&y)?;
    let target = spec.required_str("target").map_err(&y)?;
    let objective: Objective = target
        .as_str()
        .parse()
        .map_err(|e| error(file, At::of(target.span()), format!("target `{}`: {e}", target.as_str())))?;
    let window_text = spec.required_str("window").map_err(&y)?;
    let window = math::parse_duration(window_text.as_str())
        .map(Window::Rolling)
        .map_err(|e| error(file, At::of(window_text.span()), format!("window `{}`: {e}", window_text.as_str())))?;
    let description = spec.str("description").map_err(&y)?.map(|d| d.as_str().trim().to_string()).unwrap_or_default();
    let indicator = Map::of(spec.required("indicator").map_err(&y)?, "`indicator`").map_err(&y)?;
    let sli = sli(file, indicator)?;

    let mut tiers = common::default_tiers(&window);
    let mut no_data = Some(ABSENT_AFTER);
    let mut route = AlertRoute::default();
    if let Some(alerting) = spec.map("alerting", "`alerting`").map_err(&y)? {
        alerting.only(&["disabled", "name", "burnrates", "absent"]).map_err(&y)?;
        route.name = alerting.str("name").map_err(&y)?.map(|n| n.as_str().to_string());
        if alerting.bool("disabled").map_err(&y)? == Some(true) {
            tiers.clear();
            no_data = None;
        }
        if alerting.bool("burnrates").map_err(&y)? == Some(false) {
            tiers.clear();
        }
        if alerting.bool("absent").map_err(&y)? == Some(false) {
            no_data = None;
        }
    }

    let i = match drafts.iter().position(|d| d.service == service) {
        Some(i) => i,
        None => {
            drafts.push(SpecDraft::new(service, service_at));
            drafts.len() - 1
        }
    };
    let draft = &mut drafts[i];
    if draft.positions.contains_key(name.as_str()) {
        let message = format!("ServiceLevelObjective `{}` is declared twice in namespace `{service}`", name.as_str());
        return Err(error(file, At::of(name.span()), message));
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
        labels,
        alerting: Alerting { tiers, no_data, route },
    });
    Ok(())
}

fn sli(file: &Path, indicator: Map<'_>) -> Result<Sli, ImportError> {
    let y = from_yaml(file);
    if indicator.get("latencyNative").is_some() {
        let why = "native histograms have no `le` buckets for a Kura latency SLI";
        return Err(unsupported(file, indicator.key_at("latencyNative"), "`indicator.latencyNative`", why));
    }
    indicator.only(&["ratio", "latency", "bool_gauge", "boolGauge"]).map_err(&y)?;
    let kinds: Vec<&str> =
        ["ratio", "latency", "bool_gauge", "boolGauge"].into_iter().filter(|k| indicator.get(k).is_some()).collect();
    let [kind] = kinds[..] else {
        return Err(error(file, indicator.at(), "an indicator is exactly one of `ratio`, `latency`, `bool_gauge`"));
    };
    let body = Map::of(indicator.required(kind).map_err(&y)?, "an indicator").map_err(&y)?;
    if let Some(grouping) = body.seq("grouping").map_err(&y)?.filter(|g| !g.is_empty()) {
        let labels: Vec<String> =
            grouping.iter().filter_map(|n| n.as_scalar().map(|s| format!("`{}`", s.as_str()))).collect();
        let what = format!("`grouping` by {}", labels.join(", "));
        let why = "Pyrra makes one objective per value of the grouping labels, found at run time, and a spec file \
                   cannot know the values; write one SLO per value with a matcher on the label instead";
        return Err(unsupported(file, body.key_at("grouping"), what, why));
    }
    let metric = |m: Map<'_>, key: &str| -> Result<(String, Option<Selector>, At), ImportError> {
        let inner = Map::of(m.required(key).map_err(&y)?, "a metric").map_err(&y)?;
        inner.only(&["metric"]).map_err(&y)?;
        let q = inner.required_str("metric").map_err(&y)?;
        let selector = Selector::parse(q.as_str().trim()).ok();
        Ok((q.as_str().trim().to_string(), selector, At::of(q.span())))
    };
    match kind {
        "ratio" => {
            body.only(&["errors", "total", "grouping"]).map_err(&y)?;
            let (bad, bad_sel, _) = metric(body, "errors")?;
            let (total, total_sel, _) = metric(body, "total")?;
            Ok(match (bad_sel.and_then(|_| counter_selector(&bad)), total_sel.and_then(|_| counter_selector(&total))) {
                (Some(numerator), Some(total)) => Sli::Ratio { counting: Counting::Bad, numerator, total },
                _ => Sli::Promql { counting: Counting::Bad, numerator: rate_query(&bad), total: rate_query(&total) },
            })
        }
        "latency" => {
            body.only(&["success", "total", "grouping"]).map_err(&y)?;
            let (good, good_sel, _) = metric(body, "success")?;
            let (total, total_sel, _) = metric(body, "total")?;
            if let (Some(g), Some(t)) = (&good_sel, &total_sel)
                && let Some((histogram, seconds)) = histogram_ratio(g, t)
            {
                return Ok(Sli::Latency { histogram, threshold: Threshold { seconds } });
            }
            Ok(Sli::Promql { counting: Counting::Good, numerator: rate_query(&good), total: rate_query(&total) })
        }
        _ => {
            body.only(&["metric", "grouping"]).map_err(&y)?;
            let m = body.required_str("metric").map_err(&y)?.as_str().trim();
            let w = common::WINDOW;
            Ok(Sli::Promql {
                counting: Counting::Bad,
                numerator: format!("sum(count_over_time({m}[{w}])) - sum(sum_over_time({m}[{w}]))"),
                total: format!("sum(count_over_time({m}[{w}]))"),
            })
        }
    }
}
