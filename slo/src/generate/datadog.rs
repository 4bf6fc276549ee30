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
//!   an SLO (Datadog API, `SLOTimeframe`) -- unless the command maps it explicitly
//!   (`--datadog-window 28d=30d`, `--datadog-window month=30d`, [`Options::windows`]): the SLO
//!   is then budgeted over that time frame, says so in a comment and carries the tag
//!   `kura_window:<spec window>`. Burn rates are speeds and keep the spec's values.
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
//!   naming the tier: disable it for Datadog, or pass `--datadog-skip-long-tiers`, which leaves
//!   such tiers out with a comment in the SLO resource naming each one. A burn rate above `1 / (1 - target)` can never
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

mod hcl;
mod maintenance;
mod query;

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
use hcl::*;
use maintenance::*;
use query::*;

/// The variables holding notification handles, by severity.
const NOTIFY_PAGE: &str = "kura_slo_notify_page";
const NOTIFY_TICKET: &str = "kura_slo_notify_ticket";

/// The tag on every generated monitor, which maintenance downtimes select.
const MANAGED_BY: &str = "managed_by:kura-slo";

/// Datadog SLO time frames (provider docs: `thresholds.timeframe`).
const TIMEFRAMES: [(i64, &str); 3] = [(7, "7d"), (30, "30d"), (90, "90d")];

/// What the caller allows the Datadog output to change, explicitly (`slo generate
/// datadog-terraform --datadog-window 28d=30d --datadog-skip-long-tiers`). Nothing is changed
/// without it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Windows Datadog lacks, each budgeted over a Datadog time frame instead: the spec's
    /// window as written (`28d`, `month`) and the time frame (`7d`, `30d` or `90d`).
    pub windows: Vec<(String, String)>,
    /// Leave burn tiers whose long window Datadog cannot take (over 48h) out, with a comment,
    /// instead of refusing the SLO.
    pub skip_long_tiers: bool,
}

impl Options {
    /// `FROM=TO`, as `--datadog-window` takes it: a window as a spec writes it and a Datadog
    /// time frame.
    pub fn parse_window(s: &str) -> Result<(String, String), String> {
        let (from, to) = s.split_once('=').ok_or("expected FROM=TO, e.g. 28d=30d")?;
        if !TIMEFRAMES.iter().any(|(_, name)| *name == to) {
            return Err(format!("`{to}` is not a Datadog SLO time frame (7d, 30d or 90d)"));
        }
        Ok((from.trim().to_string(), to.to_string()))
    }
}

/// Terraform for every SLO of every spec, in spec order.
pub fn generate(specs: &[Spec]) -> Result<String, GenerateError> {
    generate_with(specs, &Options::default())
}

/// [`generate`], with the mappings `options` allows.
pub fn generate_with(specs: &[Spec], options: &Options) -> Result<String, GenerateError> {
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
                let blocks = slo_blocks(spec, journey, slo, options).map_err(|what| error(spec, &slo.id, what))?;
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
fn slo_blocks(spec: &Spec, journey: &JourneySlos, slo: &Slo, options: &Options) -> Result<Vec<Block>, String> {
    let name = ident(&slo.id);
    let namespace = spec.service.replace('-', "_");
    if !valid_metric_name(&namespace) {
        return Err(format!("the service name `{}` as a Datadog metric namespace", spec.service));
    }
    let written = slo.window.to_string();
    let mapped = options.windows.iter().find(|(from, _)| *from == written).map(|(_, to)| to.as_str());
    let native = timeframe(&slo.window);
    let remapped = mapped.is_some() && native.is_err();
    let timeframe = match (native, mapped) {
        (Ok(t), _) => t,
        (Err(_), Some(to)) => TIMEFRAMES.iter().find(|(_, n)| *n == to).map(|(_, n)| *n).unwrap_or("30d"),
        (Err(why), None) => {
            return Err(format!("{why}; map it explicitly with `--datadog-window {written}=30d` (or 7d, 90d)"));
        }
    };
    let target = target(slo)?;
    let counts = counts(&namespace, &slo.sli)?;
    let mut tags = BTreeSet::new();
    for (key, value) in [("service", &spec.service), ("journey", &slo.journey), ("slo", &slo.id)] {
        tags.insert(tag(key, value)?);
    }
    for (key, value) in spec.labels.iter().chain(&slo.labels) {
        tags.insert(tag(key, value)?);
    }

    if remapped {
        tags.insert(tag("kura_window", &written)?);
    }
    let mut resource = Block::new(format!("resource \"datadog_service_level_objective\" \"{name}\""));
    if remapped {
        resource.comment(&format!(
            "The spec's window is {written}; Datadog has no such time frame, so this SLO is budgeted over {timeframe} \
             (--datadog-window {written}={timeframe}). Burn rates are speeds and keep the spec's values."
        ));
    }
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
        match burn_monitor(spec, slo, &name, timeframe, &tags, tier) {
            Ok(block) => blocks.push(block),
            Err(_) if options.skip_long_tiers && tier.tier.long_window > SignedDuration::from_hours(48) => {
                blocks[0].blank();
                blocks[0].comment(&format!(
                    "Burn tier `{}` ({} long window) is not generated: Datadog takes long windows up to 48h \
                     (--datadog-skip-long-tiers).",
                    tier.name,
                    crate::math::format_duration(tier.tier.long_window)
                ));
            }
            Err(why) => return Err(why),
        }
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
    let long =
        whole(tier.long_window, 3600).filter(|h| (1..=48).contains(h)).map(|h| format!("{h}h")).ok_or_else(|| {
            format!(
                "burn tier `{}` with long window {} (Datadog burn-rate alerts take long windows of 1h to 48h in whole \
                 hours; disable the tier, or leave such tiers out with --datadog-skip-long-tiers)",
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
