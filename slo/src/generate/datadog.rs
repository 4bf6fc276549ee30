//! Datadog SLOs and SLO burn-rate monitors as Terraform (`slo generate datadog-terraform`), for
//! the [DataDog/datadog](https://registry.terraform.io/providers/DataDog/datadog/latest) provider
//! (>= 3.39.0, the first with `query_interval_seconds` on time-slice SLOs).
//!
//! Per SLO the output holds a `datadog_service_level_objective`, a `datadog_monitor` of type
//! `slo alert` per enabled burn tier, a `query alert` monitor for the no-data alert and a
//! `datadog_slo_correction` per maintenance window; per service, a `datadog_downtime_schedule`
//! per maintenance window. What Datadog cannot express exactly is a [`GenerateError`] naming
//! the SLO and the construct: a window, a tier or a matcher is never rounded to the nearest
//! thing Datadog has. The few spec features Datadog has no place for (a journey composite,
//! `min_events_per_hour`, a warning line that needs a fourth decimal) are left out with a
//! comment in the output saying so, never silently.
//!
//! # Where the metrics come from
//!
//! The Datadog Agent's OpenMetrics check (`openmetrics_endpoint`, "V2") scrapes each service's
//! `/metrics` with `namespace: <service>` (`-` in the service name becomes `_`) and its default
//! histogram settings (`collect_histogram_buckets: true`, cumulative buckets, not
//! distributions). It submits monotonic counts (DataDog/integrations-core,
//! `datadog_checks_base/.../openmetrics/v2/transformers/{counter,histogram}.py`):
//!
//! | Prometheus series                      | Datadog metric                             |
//! |----------------------------------------|--------------------------------------------|
//! | counter `job_runs_total`               | `<ns>.job_runs.count`                      |
//! | histogram `X_count`                    | `<ns>.X.count`                             |
//! | histogram `X_bucket{le="0.3"}`         | `<ns>.X.bucket` tagged `upper_bound:0.3`   |
//! | `X_bucket{le="+Inf"}`                  | not sent (it is `X_count`): error          |
//! | `X_sum`, gauges, recording rules (`:`) | not counts of events: error                |
//!
//! Underscores in metric names stay underscores: the check only prefixes the namespace and
//! appends the type suffix after a dot. `upper_bound` is the bound as Python prints a float
//! (`0.3`, `1.0`, `300.0`), which is [`Threshold::le_label`] for bounds from 0.0001 up to
//! 10^16; outside that range Python switches to exponent notation (error).
//!
//! # Label matchers → tag filters
//!
//! | PromQL matcher                                 | Datadog tag filter                       |
//! |------------------------------------------------|------------------------------------------|
//! | `l="v"`                                        | `l:v`                                    |
//! | `l!="v"`                                       | `!l:v`                                   |
//! | `l=~"a\|b"` (literal alternatives; `\.` a dot) | `l IN (a,b)` (`l:a` for one)             |
//! | `l!~"a\|b"`                                    | `l NOT IN (a,b)` (`!l:a` for one)        |
//! | `s=~"5.."` (also `5\d\d`, `5[0-9][0-9]`)       | `s:5*`                                   |
//! | `s!~"5.."`                                     | `!s:5*`                                  |
//! | `s=~"2..\|429"` (classes and literals)         | `(s:2* OR s:429)`                        |
//! | `s!~"2..\|429"`                                | `(!s:2* AND !s:429)`                     |
//! | any other regex, `l=""`, `le` off a bucket     | error                                    |
//!
//! Here `s` is a label whose name ends in `status_code`: HTTP status codes are exactly three
//! digits (RFC 9110 §15), so `5..` and the prefix wildcard `5*` select the same series there,
//! and nowhere else (a gRPC `code` of `5` would match `5*` but not `5..`). Filters are joined
//! with `,`, or with ` AND ` when one of them uses the boolean syntax (`IN`, `OR`), which does
//! not mix with commas. Label names and values must already be valid Datadog tags (lowercase
//! letters, digits, `_-./:`): the Agent lowercases and rewrites anything else, and a filter on
//! the original text would silently match nothing.
//!
//! # SLIs → SLO types
//!
//! | Kura SLI                            | Datadog                                                   |
//! |-------------------------------------|-----------------------------------------------------------|
//! | `ratio` good/total                  | `metric`: numerator `good`, denominator `total`           |
//! | `ratio` bad/total                   | `metric`: numerator `total - bad`, denominator `total`    |
//! | `latency`/`freshness` at bound `t`  | `metric`: `X.bucket{upper_bound:t}` over `X.count`        |
//! | any of these, `timeslices`          | `time_slice`: `good / total >= target` per 1m or 5m slice |
//! | `promql`                            | error (Datadog does not run PromQL)                       |
//!
//! Every query is `sum:<metric>{<filters>}.as_count()`. Time slices must be 1m or 5m (the only
//! `query_interval_seconds` Datadog has). Datadog counts a slice without events as good, where
//! Kura counts it as neither; the SLO says so in a comment.
//!
//! # Windows, targets and alerts
//!
//! * Window: rolling `7d`, `30d` or `90d`. Any other rolling window (the fulfillment SLOs'
//!   `28d` among them) and calendar windows are errors: `custom` is not accepted when creating
//!   an SLO (Datadog API, `SLOTimeframe`).
//! * Target: the objective in percent, with at most three decimals (Datadog's limit for metric
//!   SLOs).
//! * Warning: the SLI at which the error-budget policy's `warn.budget_remaining_below` is
//!   reached, `100 - budget × (1 - remaining / 100)` (99.925 for 99.9 and 25 %); left out with
//!   a comment when that needs a fourth decimal or the policy has none.
//! * Burn tier: a `slo alert` monitor with the query
//!   `burn_rate("<slo id>").over("<window>").long_window("<h>h").short_window("<m>m") > <rate>`
//!   and `monitor_thresholds { critical = <rate> }`. Datadog takes long windows of 1h to 48h
//!   and a short window shorter than the long one ("Burn Rate Alerts" docs), written in hours
//!   and minutes as its UI takes them; so the default `slow-ticket` tier (3d) is an error
//!   naming the tier: disable it for Datadog. A burn rate above `1 / (1 - target)` can never
//!   fire, and Datadog refuses it: error.
//! * No-data alert: `sum(last_<d>):<total>.as_count() < 1` as a `query alert`, routed like a
//!   ticket (the Prometheus `SloNoData` alert's severity).
//! * Routing: messages end in `${var.kura_slo_notify_page}` or `${var.kura_slo_notify_ticket}`
//!   by the tier's severity; set them to handles such as `@pagerduty-fulfillment`.
//! * Maintenance: `datadog_slo_correction` (category `Scheduled Maintenance`) per SLO keeps
//!   the window out of the SLO's status and budget. Weekly windows recur with `FREQ=WEEKLY` from
//!   their first occurrence on or after 2025-01-01 in the spec's zone; corrections take no
//!   `BYDAY` and no zone for recurrence, so a zone with daylight saving time (where a fixed
//!   7 × 24h step drifts by the shift) is an error. A `datadog_downtime_schedule` per window
//!   mutes the service's generated monitors (tags `service:<service>` and
//!   `managed_by:kura-slo`) while it is open, recurring in the spec's zone. The Prometheus
//!   rules also keep raw-range alerts quiet for one short window after it closes; Datadog
//!   downtimes end with the window.
//!
//! Terraform resource names are SLO ids with `-` as `_` (`create-shipment-availability` →
//! `create_shipment_availability`); monitors append the tier (`_fast_page`) or `_no_data`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jiff::SignedDuration;
use jiff::ZonedDateTime;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use rust_decimal::Decimal;

use super::{GenerateError, Kind};
use crate::math::{Severity, Window};
use crate::spec::{
    Budgeting, Counting, JourneySlos, Maintenance, MatchOp, Matcher, NamedTier, Selector, Sli, Slo, Spec, Threshold,
};

/// The variables holding notification handles, by severity.
const NOTIFY_PAGE: &str = "kura_slo_notify_page";
const NOTIFY_TICKET: &str = "kura_slo_notify_ticket";

/// The tag on every generated monitor, which maintenance downtimes select.
const MANAGED_BY: &str = "managed_by:kura-slo";

/// Datadog SLO time frames (provider docs: `thresholds.timeframe`).
const TIMEFRAMES: [(i64, &str); 3] = [(7, "7d"), (30, "30d"), (90, "90d")];

/// Terraform for every SLO of every spec, in spec order.
pub fn generate(specs: &[Spec]) -> Result<String, GenerateError> {
    let mut out = String::new();
    header(&mut out, specs);
    // Resource names are global in a Terraform module: two SLOs must not share one.
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for spec in specs {
        for journey in &spec.journeys {
            for slo in &journey.slos {
                let name = ident(&slo.id);
                let owner = format!("{}/{}", spec.service, slo.id);
                if let Some(other) = taken.insert(name.clone(), owner) {
                    return Err(error(
                        spec,
                        &slo.id,
                        format!(
                            "the Terraform name `{name}`, already used by {other} (SLO ids must differ across services)"
                        ),
                    ));
                }
                let blocks = slo_blocks(spec, journey, slo).map_err(|what| error(spec, &slo.id, what))?;
                for block in blocks {
                    out.push('\n');
                    out.push_str(&block.render(0));
                }
            }
            if let Some(composite) = &journey.composite {
                out.push('\n');
                let _ = writeln!(
                    out,
                    "# Journey composite `{}` ({} of {}) is not generated: Datadog has no weighted composite SLO.",
                    composite.id,
                    composite.objective,
                    composite.components.iter().map(|c| c.slo.as_str()).collect::<Vec<_>>().join(", ")
                );
            }
        }
        for maintenance in &spec.maintenance {
            let block = downtime(spec, maintenance)
                .map_err(|what| error(spec, &format!("maintenance:{}", maintenance.name()), what))?;
            out.push('\n');
            out.push_str(&block.render(0));
        }
    }
    Ok(out)
}

fn error(spec: &Spec, slo: &str, what: impl Into<String>) -> GenerateError {
    GenerateError {
        kind: Kind::DatadogTerraform,
        service: spec.service.clone(),
        slo: slo.to_string(),
        what: what.into(),
    }
}

fn header(out: &mut String, specs: &[Spec]) {
    let sources: Vec<String> = specs.iter().map(|s| s.source.display().to_string()).collect();
    let _ = writeln!(
        out,
        "# Generated by `slo generate datadog-terraform` from {}. Do not edit: change the spec and regenerate.",
        if sources.is_empty() { "no specs".to_string() } else { sources.join(", ") }
    );
    out.push_str(concat!(
        "#\n",
        "# Datadog SLOs, burn-rate and no-data monitors, and maintenance corrections and downtimes for Kura\n",
        "# journey SLOs. Metrics come from the Datadog Agent's OpenMetrics check scraping each service's /metrics\n",
        "# with `namespace: <service>` and its default histogram settings; slo/src/generate/datadog.rs documents\n",
        "# the translation.\n",
    ));
    let mut terraform = Block::new("terraform");
    let mut providers = Block::new("required_providers");
    providers.raw("datadog = {\n  source  = \"DataDog/datadog\"\n  version = \">= 3.39.0\"\n}");
    terraform.block(providers);
    out.push('\n');
    out.push_str(&terraform.render(0));
    for (severity, example) in
        [(Severity::Page, "@pagerduty-fulfillment"), (Severity::Ticket, "@slack-fulfillment-alerts")]
    {
        let (name, what) = (notify_var(severity), severity.as_str());
        let mut var = Block::new(format!("variable \"{name}\""));
        var.attr(
            "description",
            hcl_string(&format!("Datadog notification handles for {what}-severity SLO alerts, e.g. \"{example}\".")),
        );
        var.attr("type", "string");
        out.push('\n');
        out.push_str(&var.render(0));
    }
}

/// Every block generated for one SLO: the SLO, its monitors and its corrections.
fn slo_blocks(spec: &Spec, journey: &JourneySlos, slo: &Slo) -> Result<Vec<Block>, String> {
    let name = ident(&slo.id);
    let namespace = spec.service.replace('-', "_");
    if !valid_metric_name(&namespace) {
        return Err(format!("the service name `{}` as a Datadog metric namespace", spec.service));
    }
    let timeframe = timeframe(&slo.window)?;
    let target = target(slo)?;
    let counts = counts(&namespace, &slo.sli)?;
    let mut tags = BTreeSet::new();
    for (key, value) in [("service", &spec.service), ("journey", &slo.journey), ("slo", &slo.id)] {
        tags.insert(tag(key, value)?);
    }
    for (key, value) in &spec.labels {
        tags.insert(tag(key, value)?);
    }

    let mut resource = Block::new(format!("resource \"datadog_service_level_objective\" \"{name}\""));
    resource.attr("name", hcl_string(&format!("{} {}", spec.service, slo.id)));
    resource.attr("description", hcl_string(&describe(journey, slo)));
    match &slo.budgeting {
        Budgeting::Occurrences => {
            resource.attr("type", hcl_string("metric"));
            resource.blank();
            let mut query = Block::new("query");
            query.attr("numerator", hcl_string(&counts.good_expression()));
            query.attr("denominator", hcl_string(&counts.total));
            resource.block(query);
        }
        Budgeting::Timeslices { slice, target: slice_target } => {
            let interval = match slice.as_secs() {
                60 | 300 if slice.subsec_nanos() == 0 => slice.as_secs(),
                _ => {
                    return Err(format!(
                        "time slices of {} (Datadog time-slice SLOs slice by 1m or 5m)",
                        crate::math::format_duration(*slice)
                    ));
                }
            };
            resource.attr("type", hcl_string("time_slice"));
            resource.blank();
            let (queries, formula) = counts.slice_formula();
            let mut formula_block = Block::new("formula");
            formula_block.attr("formula_expression", hcl_string(&formula));
            let mut query = Block::new("query");
            query.block(formula_block);
            for (query_name, text) in queries {
                let mut metric_query = Block::new("metric_query");
                metric_query.attr("name", hcl_string(query_name));
                metric_query.attr("query", hcl_string(&text));
                let mut wrapper = Block::new("query");
                wrapper.block(metric_query);
                query.block(wrapper);
            }
            let mut time_slice = Block::new("time_slice");
            time_slice.block(query);
            time_slice.attr("comparator", hcl_string(">="));
            time_slice.attr("threshold", number(slice_target.target()));
            time_slice.attr("query_interval_seconds", interval.to_string());
            let mut spec_block = Block::new("sli_specification");
            spec_block.block(time_slice);
            resource.comment("Datadog counts a slice without events as good; Kura counts it as neither.");
            resource.block(spec_block);
        }
    }
    resource.blank();
    let mut thresholds = Block::new("thresholds");
    thresholds.attr("timeframe", hcl_string(timeframe));
    thresholds.attr("target", number(target));
    match warning(spec, slo) {
        Ok(warning) => thresholds.attr("warning", number(warning)),
        Err(why) => thresholds.comment(&format!("No warning: {why}.")),
    }
    resource.block(thresholds);
    resource.blank();
    resource.attr("tags", hcl_list(&tags));
    if let Some(min) = slo.min_events_per_hour {
        resource.blank();
        resource.comment(&format!(
            "min_events_per_hour ({}) is not represented: Datadog burn-rate alerts have no minimum-traffic guard.",
            min.normalize()
        ));
    }

    let mut blocks = vec![resource];
    for tier in &slo.alerting.tiers {
        blocks.push(burn_monitor(spec, slo, &name, timeframe, &tags, tier)?);
    }
    if let Some(after) = slo.alerting.no_data {
        blocks.push(no_data_monitor(spec, slo, &name, &counts.total, after, &tags)?);
    }
    for maintenance in &spec.maintenance {
        blocks.push(correction(spec, &name, maintenance)?);
    }
    Ok(blocks)
}

fn describe(journey: &JourneySlos, slo: &Slo) -> String {
    let mut text = slo.description.trim().to_string();
    if !journey.description.trim().is_empty() {
        if !text.is_empty() {
            text.push(' ');
        }
        let _ = write!(text, "Journey {}: {}", journey.name, journey.description.trim());
    }
    text
}

/// The Datadog time frame of a rolling window, if it has one.
fn timeframe(window: &Window) -> Result<&'static str, String> {
    if let Window::Rolling(duration) = window
        && duration.subsec_nanos() == 0
        && let Some((_, name)) = TIMEFRAMES.iter().find(|(days, _)| duration.as_secs() == days * 86_400)
    {
        return Ok(name);
    }
    let kind = if matches!(window, Window::Rolling(_)) { "rolling" } else { "calendar" };
    Err(format!(
        "the {kind} window `{window}` (Datadog SLO time frames are rolling 7d, 30d and 90d; `custom` cannot be set on an SLO)"
    ))
}

/// The objective in percent, which Datadog takes with at most three decimals.
fn target(slo: &Slo) -> Result<Decimal, String> {
    let percent = slo.objective.percent().normalize();
    if percent.scale() > 3 || percent <= Decimal::ZERO || percent >= Decimal::ONE_HUNDRED {
        return Err(format!(
            "the objective {}% (Datadog SLO targets lie strictly between 0 and 100 with at most three decimals)",
            slo.objective
        ));
    }
    Ok(percent)
}

/// The SLI at which `warn.budget_remaining_below` percent of the budget is left, or why there is none.
fn warning(spec: &Spec, slo: &Slo) -> Result<Decimal, String> {
    let remaining = spec
        .policy
        .warn
        .budget_remaining_below
        .ok_or_else(|| "the error-budget policy sets no `warn.budget_remaining_below`".to_string())?;
    if remaining <= Decimal::ZERO || remaining >= Decimal::ONE_HUNDRED {
        return Err(format!("warn.budget_remaining_below = {} is not between 0 and 100", remaining.normalize()));
    }
    let budget_percent = Decimal::ONE_HUNDRED - slo.objective.percent();
    let warning =
        (Decimal::ONE_HUNDRED - budget_percent * (Decimal::ONE - remaining / Decimal::ONE_HUNDRED)).normalize();
    if warning.scale() > 3 {
        return Err(format!(
            "the SLI at {}% budget left is {warning}, more decimals than Datadog's three",
            remaining.normalize()
        ));
    }
    Ok(warning)
}

fn burn_monitor(
    spec: &Spec,
    slo: &Slo,
    name: &str,
    timeframe: &str,
    slo_tags: &BTreeSet<String>,
    named: &NamedTier,
) -> Result<Block, String> {
    let tier = &named.tier;
    let long = whole(tier.long_window, 3600)
        .filter(|h| (1..=48).contains(h))
        .map(|h| format!("{h}h"))
        .ok_or_else(|| {
            format!(
                "burn tier `{}` with long window {} (Datadog burn-rate alerts take long windows of 1h to 48h in whole hours)",
                named.name,
                crate::math::format_duration(tier.long_window)
            )
        })?;
    let short = whole(tier.short_window, 60)
        .filter(|m| *m >= 1 && tier.short_window < tier.long_window)
        .map(|m| format!("{m}m"))
        .ok_or_else(|| {
            format!(
                "burn tier `{}` with short window {} (Datadog takes a whole number of minutes shorter than the long window)",
                named.name,
                crate::math::format_duration(tier.short_window)
            )
        })?;
    let budget = slo.objective.budget();
    if tier.burn_rate <= Decimal::ZERO || tier.burn_rate * budget > Decimal::ONE {
        return Err(format!(
            "burn tier `{}` at burn rate {} (above 1 / (1 - target) = {}, which no error rate reaches; Datadog refuses it)",
            named.name,
            tier.burn_rate.normalize(),
            (Decimal::ONE / budget).normalize()
        ));
    }
    let rate = tier.burn_rate.normalize();
    let severity = tier.severity.as_str();
    let mut tags = slo_tags.clone();
    tags.insert(MANAGED_BY.to_string());
    tags.insert(tag("severity", severity)?);
    tags.insert(tag("tier", &named.name)?);
    tags.insert(tag("long_window", &long)?);
    tags.insert(tag("short_window", &short)?);

    let mut block = Block::new(format!("resource \"datadog_monitor\" \"{name}_{}\"", ident(&named.name)));
    block.attr(
        "name",
        hcl_string(&format!(
            "[{severity}] {} {} burns its error budget at {rate}x ({long} and {short})",
            spec.service, slo.id
        )),
    );
    block.attr("type", hcl_string("slo alert"));
    block.attr(
        "query",
        hcl_string_raw(&format!(
            "burn_rate(\\\"${{datadog_service_level_objective.{name}.id}}\\\").over(\\\"{timeframe}\\\").long_window(\\\"{long}\\\").short_window(\\\"{short}\\\") > {rate}"
        )),
    );
    let alert = format!(
        "{} {} is burning its error budget {rate}x as fast as the objective allows, over both the last {long} and the last {short}.",
        spec.service, slo.id
    );
    let recovery = format!("{} {} is back under {rate}x over the last {short}.", spec.service, slo.id);
    let mut body = vec![
        format!("{{{{#is_alert}}}}{alert}{{{{/is_alert}}}}"),
        format!("{{{{#is_recovery}}}}{recovery}{{{{/is_recovery}}}}"),
        String::new(),
    ];
    body.extend(context_lines(spec, slo, timeframe, &format!("{severity} (tier {})", named.name)));
    body.push(String::new());
    body.push(format!("${{var.{}}}", notify_var(tier.severity)));
    block.heredoc("message", &body);
    block.blank();
    let mut thresholds = Block::new("monitor_thresholds");
    thresholds.attr("critical", rate.to_string());
    block.block(thresholds);
    block.blank();
    block.attr("tags", hcl_list(&tags));
    Ok(block)
}

fn no_data_monitor(
    spec: &Spec,
    slo: &Slo,
    name: &str,
    total: &str,
    after: SignedDuration,
    slo_tags: &BTreeSet<String>,
) -> Result<Block, String> {
    let window = monitor_window(after).ok_or_else(|| {
        format!(
            "the no-data alert after {} (Datadog monitor windows are whole minutes up to 730h)",
            crate::math::format_duration(after)
        )
    })?;
    let mut tags = slo_tags.clone();
    tags.insert(MANAGED_BY.to_string());
    tags.insert(tag("severity", Severity::Ticket.as_str())?);
    tags.insert(tag("alert", "no-data")?);
    let mut block = Block::new(format!("resource \"datadog_monitor\" \"{name}_no_data\""));
    block.attr("name", hcl_string(&format!("[ticket] {} {} has had no events for {window}", spec.service, slo.id)));
    block.attr("type", hcl_string("query alert"));
    block.attr("query", hcl_string(&format!("sum(last_{window}):{total} < 1")));
    let mut body = vec![
        format!("{{{{#is_alert}}}}{} {} has counted no events for {window}.{{{{/is_alert}}}}", spec.service, slo.id),
        format!("{{{{#is_recovery}}}}{} {} counts events again.{{{{/is_recovery}}}}", spec.service, slo.id),
        String::new(),
    ];
    let timeframe = timeframe(&slo.window)?;
    body.extend(context_lines(spec, slo, timeframe, "ticket (no data)"));
    body.push(String::new());
    body.push(format!("${{var.{NOTIFY_TICKET}}}"));
    block.heredoc("message", &body);
    block.blank();
    let mut thresholds = Block::new("monitor_thresholds");
    thresholds.attr("critical", "1");
    block.block(thresholds);
    block.blank();
    block.attr("tags", hcl_list(&tags));
    Ok(block)
}

fn context_lines(spec: &Spec, slo: &Slo, timeframe: &str, severity: &str) -> Vec<String> {
    let mut lines = Vec::new();
    if !slo.description.trim().is_empty() {
        lines.push(slo.description.trim().to_string());
    }
    lines.push(format!(
        "Journey: {}. Objective: {}% over {timeframe}. Severity: {severity}.",
        slo.journey, slo.objective
    ));
    if let Some(link) = spec.dashboard_link(&slo.id) {
        lines.push(format!("Dashboard: {link}"));
    }
    lines
}

fn correction(spec: &Spec, slo_name: &str, maintenance: &Maintenance) -> Result<Block, String> {
    let mut block =
        Block::new(format!("resource \"datadog_slo_correction\" \"{slo_name}_{}\"", ident(maintenance.name())));
    block.attr("slo_id", format!("datadog_service_level_objective.{slo_name}.id"));
    block.attr("category", hcl_string("Scheduled Maintenance"));
    block.attr("description", hcl_string(maintenance.name()));
    block.attr("timezone", hcl_string(&spec.time_zone));
    match maintenance {
        Maintenance::Once { start, end, .. } => {
            block.attr("start", start.as_second().to_string());
            block.attr("end", end.as_second().to_string());
        }
        Maintenance::Weekly { name, weekday, start, duration } => {
            let unrepresentable = |why: &str| format!("the weekly maintenance `{name}` ({why})");
            let first = first_occurrence(spec, *weekday, *start).map_err(|e| unrepresentable(&e))?;
            let half_year =
                first.checked_add(jiff::Span::new().weeks(26)).map_err(|e| unrepresentable(&e.to_string()))?;
            if first.offset() != half_year.offset() {
                return Err(unrepresentable(&format!(
                    "{} has daylight saving time and Datadog repeats corrections every 7 × 24h",
                    spec.time_zone
                )));
            }
            if duration.subsec_nanos() != 0 || duration.as_secs() <= 0 {
                return Err(unrepresentable("its duration is not a whole number of seconds"));
            }
            block.attr("start", first.timestamp().as_second().to_string());
            block.attr("duration", duration.as_secs().to_string());
            block.attr("rrule", hcl_string("FREQ=WEEKLY"));
        }
    }
    Ok(block)
}

/// The first `weekday` at `at` on or after 2025-01-01 in the spec's zone: a fixed anchor keeps
/// the output deterministic, and a recurrence from the past covers every later week.
fn first_occurrence(spec: &Spec, weekday: Weekday, at: Time) -> Result<ZonedDateTime, String> {
    let zone = TimeZone::get(&spec.time_zone).map_err(|e| e.to_string())?;
    let mut day = Date::constant(2025, 1, 1);
    while day.weekday() != weekday {
        day = day.tomorrow().map_err(|e| e.to_string())?;
    }
    day.to_datetime(at).to_zoned_datetime(zone).map_err(|e| e.to_string())
}

/// A downtime muting the service's generated monitors during one maintenance window, as the
/// Prometheus rules page nobody then. Unlike corrections, downtimes recur in a time zone.
fn downtime(spec: &Spec, maintenance: &Maintenance) -> Result<Block, String> {
    let name = format!("{}_{}", ident(&spec.service), ident(maintenance.name()));
    let mut block = Block::new(format!("resource \"datadog_downtime_schedule\" \"{name}\""));
    block.attr("scope", hcl_string("*"));
    block.attr(
        "message",
        hcl_string(&format!(
            "Planned maintenance `{}` of {}: Kura SLO alerts are muted.",
            maintenance.name(),
            spec.service
        )),
    );
    block.attr("display_timezone", hcl_string(&spec.time_zone));
    block.attr("mute_first_recovery_notification", "true");
    block.blank();
    let mut monitors = Block::new("monitor_identifier");
    let tags: BTreeSet<String> = [tag("service", &spec.service)?, MANAGED_BY.to_string()].into();
    monitors.attr("monitor_tags", hcl_list(&tags));
    block.block(monitors);
    match maintenance {
        Maintenance::Once { start, end, .. } => {
            let mut once = Block::new("one_time_schedule");
            once.attr("start", hcl_string(&utc(*start)));
            once.attr("end", hcl_string(&utc(*end)));
            block.block(once);
        }
        Maintenance::Weekly { name, weekday, start, duration } => {
            let unrepresentable = |why: &str| format!("the weekly maintenance `{name}` ({why})");
            let first = first_occurrence(spec, *weekday, *start).map_err(|e| unrepresentable(&e))?;
            let length = whole(*duration, 60)
                .filter(|m| *m >= 1)
                .map(|m| if m % 60 == 0 { format!("{}h", m / 60) } else { format!("{m}m") })
                .ok_or_else(|| unrepresentable("Datadog downtimes last whole minutes"))?;
            let mut recurrence = Block::new("recurrence");
            recurrence.attr("rrule", hcl_string(&format!("FREQ=WEEKLY;BYDAY={}", byday(*weekday))));
            recurrence.attr("start", hcl_string(&first.datetime().strftime("%Y-%m-%dT%H:%M:%S").to_string()));
            recurrence.attr("duration", hcl_string(&length));
            let mut recurring = Block::new("recurring_schedule");
            recurring.attr("timezone", hcl_string(&spec.time_zone));
            recurring.block(recurrence);
            block.block(recurring);
        }
    }
    Ok(block)
}

/// RFC 3339 in UTC, as `one_time_schedule` wants it.
fn utc(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The iCalendar (RFC 5545) day of a weekday.
fn byday(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

fn notify_var(severity: Severity) -> &'static str {
    match severity {
        Severity::Page => NOTIFY_PAGE,
        Severity::Ticket => NOTIFY_TICKET,
    }
}

/// `duration / unit` when it divides exactly.
fn whole(duration: SignedDuration, unit: i64) -> Option<i64> {
    (duration.subsec_nanos() == 0 && duration.as_secs() % unit == 0).then(|| duration.as_secs() / unit)
}

/// A monitor evaluation window (`30m`, `2h`, `1d`).
fn monitor_window(duration: SignedDuration) -> Option<String> {
    let minutes = whole(duration, 60).filter(|m| *m >= 1 && *m <= 730 * 60)?;
    Some(if minutes % 1440 == 0 {
        format!("{}d", minutes / 1440)
    } else if minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    })
}

/// Good and total event counts as Datadog queries.
struct Counts {
    good: Good,
    total: String,
}

enum Good {
    Query(String),
    /// `total - bad`.
    TotalMinus(String),
}

impl Counts {
    /// The metric SLO's numerator.
    fn good_expression(&self) -> String {
        match &self.good {
            Good::Query(good) => good.clone(),
            Good::TotalMinus(bad) => format!("{} - {bad}", self.total),
        }
    }

    /// Named queries and the formula a time slice compares with its target. The names are
    /// the provider's own examples' (`query1`, `query2`).
    fn slice_formula(&self) -> (Vec<(&'static str, String)>, String) {
        match &self.good {
            Good::Query(good) => {
                (vec![("query1", good.clone()), ("query2", self.total.clone())], "query1 / query2".to_string())
            }
            Good::TotalMinus(bad) => (
                vec![("query1", bad.clone()), ("query2", self.total.clone())],
                "(query2 - query1) / query2".to_string(),
            ),
        }
    }
}

fn counts(namespace: &str, sli: &Sli) -> Result<Counts, String> {
    match sli {
        Sli::Ratio { counting, numerator, total } => {
            let numerator = query(namespace, numerator, None)?;
            let total = query(namespace, total, None)?;
            let good = match counting {
                Counting::Good => Good::Query(numerator),
                Counting::Bad => Good::TotalMinus(numerator),
            };
            Ok(Counts { good, total })
        }
        Sli::Latency { histogram, threshold } | Sli::Freshness { histogram, threshold } => {
            if histogram.matchers.iter().any(|m| m.label == "le") {
                return Err(format!("the `le` matcher in the histogram selector `{histogram}`"));
            }
            let bound = upper_bound(threshold)?;
            let bucket = histogram.with_metric(format!("{}_bucket", histogram.metric));
            let count = histogram.with_metric(format!("{}_count", histogram.metric));
            Ok(Counts {
                good: Good::Query(query(namespace, &bucket, Some(&bound))?),
                total: query(namespace, &count, None)?,
            })
        }
        Sli::Promql { .. } => Err("a `promql` SLI (Datadog metric queries are not PromQL)".to_string()),
    }
}

/// The `upper_bound` tag value the OpenMetrics check gives a bucket: Python's `str(float(le))`.
fn upper_bound(threshold: &Threshold) -> Result<String, String> {
    let seconds = threshold.seconds;
    if seconds < Decimal::new(1, 4) || seconds >= Decimal::from(10_000_000_000_000_000_i64) {
        return Err(format!(
            "the threshold {}s (the OpenMetrics check writes such bucket bounds in exponent notation)",
            seconds.normalize()
        ));
    }
    Ok(threshold.le_label())
}

/// `sum:<metric>{<filters>}.as_count()`, with `upper_bound:<bound>` added for a latency bucket.
fn query(namespace: &str, selector: &Selector, bound: Option<&str>) -> Result<String, String> {
    let metric = &selector.metric;
    if metric.contains(':') {
        return Err(format!("the metric `{metric}` (a recording rule: the Datadog Agent scrapes only services)"));
    }
    let (stem, suffix) = if let Some(stem) = metric.strip_suffix("_total") {
        (stem, "count")
    } else if let Some(stem) = metric.strip_suffix("_count") {
        (stem, "count")
    } else if let Some(stem) = metric.strip_suffix("_bucket") {
        (stem, "bucket")
    } else {
        return Err(format!(
            "the metric `{metric}` as a count of events (the OpenMetrics check sends counts for a counter's `_total` \
             and a histogram's `_count` and `_bucket`)"
        ));
    };
    let name = format!("{namespace}.{stem}.{suffix}");
    if !valid_metric_name(&name) {
        return Err(format!("the metric `{metric}` as the Datadog metric `{name}`"));
    }
    let mut filters = Vec::new();
    for matcher in &selector.matchers {
        filters.push(
            filter(matcher, suffix == "bucket").map_err(|why| format!("the matcher `{}` ({why})", show(matcher)))?,
        );
    }
    if let Some(bound) = bound {
        filters.push(Filter::Simple(format!("upper_bound:{bound}")));
    }
    let joined = if filters.is_empty() {
        "*".to_string()
    } else {
        let boolean = filters.iter().any(|f| matches!(f, Filter::Set(_)));
        let texts: Vec<&str> = filters.iter().map(Filter::text).collect();
        texts.join(if boolean { " AND " } else { "," })
    };
    Ok(format!("sum:{name}{{{joined}}}.as_count()"))
}

fn show(matcher: &Matcher) -> String {
    format!("{}{}\"{}\"", matcher.label, matcher.op.as_str(), matcher.value)
}

enum Filter {
    /// `key:value`, `!key:value`, `key:5*`.
    Simple(String),
    /// `key IN (...)`, `key NOT IN (...)`: needs the boolean syntax.
    Set(String),
}

impl Filter {
    fn text(&self) -> &str {
        match self {
            Filter::Simple(text) | Filter::Set(text) => text,
        }
    }
}

fn filter(matcher: &Matcher, on_bucket: bool) -> Result<Filter, String> {
    let label = matcher.label.as_str();
    if label == "le" {
        if !on_bucket || matcher.op != MatchOp::Equal {
            return Err("`le` is only a bucket's `upper_bound` tag, and only `=` selects one bucket".to_string());
        }
        let bound: Decimal =
            matcher.value.parse().map_err(|_| "the +Inf bucket is not sent; use `_count`".to_string())?;
        let bound = upper_bound(&Threshold { seconds: bound })?;
        return Ok(Filter::Simple(format!("upper_bound:{bound}")));
    }
    if !valid_tag_key(label) {
        return Err(format!("`{label}` is not a Datadog tag key as written"));
    }
    let negate = matches!(matcher.op, MatchOp::NotEqual | MatchOp::NotRegex);
    let bang = if negate { "!" } else { "" };
    match matcher.op {
        MatchOp::Equal | MatchOp::NotEqual => {
            if matcher.value.is_empty() {
                return Err("an empty value matches a missing label, which a tag filter cannot say".to_string());
            }
            if !valid_tag_value(&matcher.value) {
                return Err(format!("`{}` is not a Datadog tag value as written", matcher.value));
            }
            Ok(Filter::Simple(format!("{bang}{label}:{}", matcher.value)))
        }
        MatchOp::Regex | MatchOp::NotRegex => {
            let status = label.ends_with("status_code");
            let terms =
                matcher.value.split('|').map(|alternative| term(alternative, status)).collect::<Option<Vec<_>>>();
            let terms = terms.ok_or_else(|| {
                "Datadog tag filters have no regular expressions; only literal alternatives `a|b` and, on \
                 `*status_code` labels, status classes like `5..` translate"
                    .to_string()
            })?;
            let filters: Vec<String> = terms
                .iter()
                .map(|t| match t {
                    Term::Literal(value) => format!("{bang}{label}:{value}"),
                    Term::Class(class) => format!("{bang}{label}:{class}*"),
                })
                .collect();
            if let [only] = filters.as_slice() {
                return Ok(Filter::Simple(only.clone()));
            }
            let literals: Option<Vec<&str>> = terms
                .iter()
                .map(|t| match t {
                    Term::Literal(value) => Some(value.as_str()),
                    Term::Class(_) => None,
                })
                .collect();
            let not = if negate { "NOT " } else { "" };
            Ok(Filter::Set(match literals {
                Some(values) => format!("{label} {not}IN ({})", values.join(",")),
                None => format!("({})", filters.join(if negate { " AND " } else { " OR " })),
            }))
        }
    }
}

/// One alternative of a matcher's regex that a tag filter can say.
enum Term {
    Literal(String),
    /// A status class: the leading digit, matched as a prefix.
    Class(char),
}

/// A literal (with `\.` for a dot) or, on a status-code label, a status class.
fn term(alternative: &str, status_code: bool) -> Option<Term> {
    if status_code && let Some(class) = status_class(alternative) {
        return Some(Term::Class(class));
    }
    let value = alternative.replace(r"\.", ".");
    let literal = !alternative.replace(r"\.", "").contains(['.', '\\']) && valid_tag_value(&value);
    literal.then_some(Term::Literal(value))
}

/// The leading digit of a status-class regex: `5..`, `5\d\d`, `5[0-9][0-9]`.
fn status_class(regex: &str) -> Option<char> {
    let mut chars = regex.chars();
    let class = chars.next().filter(|c| ('1'..='5').contains(c))?;
    matches!(chars.as_str(), ".." | r"\d\d" | "[0-9][0-9]").then_some(class)
}

/// Datadog metric names: a letter, then ASCII letters, digits, `_` and `.`, at most 200 characters.
fn valid_metric_name(name: &str) -> bool {
    name.len() <= 200
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Tag keys as Datadog stores them: a lowercase letter, then lowercase letters, digits, `_-./`.
fn valid_tag_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_lowercase()) && key.chars().all(|c| tag_char(c) && c != ':')
}

fn valid_tag_value(value: &str) -> bool {
    !value.is_empty() && value.chars().all(tag_char)
}

fn tag_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.' | '/' | ':')
}

fn tag(key: &str, value: &str) -> Result<String, String> {
    let tag = format!("{key}:{value}");
    if !valid_tag_key(key) || !valid_tag_value(value) || tag.len() > 200 {
        return Err(format!("the tag `{tag}` (Datadog tags are lowercase letters, digits and `_-./:`, up to 200)"));
    }
    Ok(tag)
}

/// A Terraform identifier from an SLO id, tier or maintenance name.
fn ident(name: &str) -> String {
    let mut ident: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if !ident.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        ident.insert(0, '_');
    }
    ident
}

fn number(value: Decimal) -> String {
    value.normalize().to_string()
}

/// A quoted HCL string with every character taken literally.
fn hcl_string(text: &str) -> String {
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
fn hcl_string_raw(escaped: &str) -> String {
    format!("\"{escaped}\"")
}

fn hcl_list(items: &BTreeSet<String>) -> String {
    let quoted: Vec<String> = items.iter().map(|i| hcl_string(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// Escapes template sequences in heredoc text (which may interpolate on purpose elsewhere).
fn heredoc_text(text: &str) -> String {
    text.replace("${", "$${").replace("%{", "%%{")
}

/// An HCL block, rendered the way `terraform fmt` lays it out (aligned `=` in runs of attributes).
struct Block {
    header: String,
    items: Vec<Item>,
}

enum Item {
    Attr(String, String),
    /// `key = <<EOT` and its lines (already safe: interpolations intended).
    Heredoc(String, Vec<String>),
    Block(Block),
    Comment(String),
    Raw(String),
    Blank,
}

impl Block {
    fn new(header: impl Into<String>) -> Block {
        Block { header: header.into(), items: Vec::new() }
    }

    fn attr(&mut self, key: &str, value: impl Into<String>) {
        self.items.push(Item::Attr(key.to_string(), value.into()));
    }

    /// A heredoc whose last line may interpolate (`${var.x}`); other text is escaped.
    fn heredoc(&mut self, key: &str, lines: &[String]) {
        let last = lines.len().saturating_sub(1);
        let lines =
            lines.iter().enumerate().map(|(i, l)| if i == last { l.clone() } else { heredoc_text(l) }).collect();
        self.items.push(Item::Heredoc(key.to_string(), lines));
    }

    fn block(&mut self, block: Block) {
        self.items.push(Item::Block(block));
    }

    fn comment(&mut self, text: &str) {
        self.items.push(Item::Comment(text.to_string()));
    }

    fn raw(&mut self, text: &str) {
        self.items.push(Item::Raw(text.to_string()));
    }

    fn blank(&mut self) {
        self.items.push(Item::Blank);
    }

    fn render(&self, depth: usize) -> String {
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
fn heredoc_marker(lines: &[String]) -> String {
    let mut marker = "EOT".to_string();
    let mut n = 0;
    while lines.iter().any(|l| l.trim() == marker) {
        n += 1;
        marker = format!("EOT{n}");
    }
    marker
}
