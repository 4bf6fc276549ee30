//! `slo generate prometheus PATH...`: one Prometheus rule file with recording rules and
//! multi-window, multi-burn-rate alerts for every SLO, in the spirit of Sloth and Pyrra.
//!
//! # Layout
//!
//! One rule group per SLO, `kura-slo/<service>/<id>`, evaluated every 30s (group names are
//! stable, so a regenerated file reloads in place, and unique across services, so two services'
//! rule files load side by side); a journey's composite gets a group of its own. Rules within a
//! group run in order, so each may read the ones above it. Every series carries `slo`,
//! `journey`, `service`, the spec's `labels` and the SLO's own `labels`:
//!
//! * `slo:maintenance:active` -- 1 while a maintenance window is open (specs with maintenance).
//! * `slo:sli_bad_events:rate5m`, `slo:sli_events:rate5m` -- bad and all events per second.
//! * `slo:timeslice_bad:bool` -- timeslices SLOs: 1 when the trailing slice missed its target.
//! * `slo:sli_error:ratio_rate<range>` -- the error ratio over every range an alert tier uses
//!   and over the SLO window.
//! * `slo:objective:ratio`, `slo:error_budget:ratio`, `slo:error_budget_remaining:ratio`.
//! * `ErrorBudgetBurn` per enabled tier (with the spec's `alerting` labels and annotations,
//!   Kura's own labels winning, and `for:` when the tier has a `pending` duration) and
//!   `SloNoData` alerts.
//!
//! # `--compat sloth`
//!
//! For teams coming from Sloth, whose dashboards and Alertmanager routes read Sloth's names
//! (`pkg/common/conventions` in Sloth): every series and alert also carries `sloth_id`
//! (`<service>-<slo>`), `sloth_service` and `sloth_slo`; each `slo:sli_error:ratio_rate<range>`
//! carries `sloth_window`, and 5m is always recorded; Sloth's metadata series are added
//! (`slo:time_period:days`, `slo:current_burn_rate:ratio` over 5m, `slo:period_burn_rate:ratio`,
//! `slo:period_error_budget_remaining:ratio`, `sloth_slo_info`); burn alerts take the spec's
//! `alerting.name`, carry `sloth_severity` (`page`|`ticket`) and, when `alerting.page`/`ticket`
//! set one, that `severity` (Sloth's `page_alert.labels.severity`) instead of Kura's. What
//! differs is listed in `slo/README.md` ("Migrating from Sloth").
//!
//! # Ranges, and what they cost
//!
//! Ranges under a day read the raw counters, as Sloth and Pyrra do: exact from the first
//! evaluation, and the fast page fires as soon as the Workbook says it should (about 50s into
//! a total outage at 99.9%). Ranges of a day or more (the slow tickets' 1d and 3d, and the
//! 28d/30d SLO window) instead add up the recorded 5m event rates:
//! `sum_over_time(bad rate5m[28d]) / sum_over_time(all rate5m[28d])`. Each moment is counted
//! in the same number of samples on both sides, so this is the event-weighted ratio (not
//! Sloth's average of 5m ratios, which weighs a quiet night like a busy noon), smeared by at
//! most 5m at the range's edges. Its cost no longer grows with the raw selector's cardinality:
//! a 28d range is 2 × 80,640 samples per evaluation and SLO (one 30s-step series per side),
//! against every matching raw series × 161,280 samples at a 15s scrape. The price is a warm-up:
//! after the rules are first loaded, long ranges cover only the time since.
//!
//! # Calendar windows
//!
//! A PromQL range has a fixed length, so a calendar window (week, month or quarter in the
//! spec's zone) is stood in for by a rolling range of its nominal length: 7d, 30d, 90d. The
//! alerts do not depend on it (a burn rate is a speed, whatever the window), only the SLO-window
//! ratio and the remaining budget do, and those rules say so in a comment. The controller,
//! which knows the zone's calendar, keeps the exact figure; a rule file that refused calendar
//! windows would leave their SLOs with no alerts at all, which is worse than an approximate
//! budget gauge.
//!
//! # Timeslices
//!
//! A timeslices SLO counts slices, not events, so its `slo:sli_error:ratio_rate<range>` is the
//! fraction of bad slices in the range, computed from `slo:timeslice_bad:bool`; the burn-rate
//! alerts and the remaining budget then follow the SLO's own budget. Alerting on event ratios
//! instead would miss real burns: with a 95% slice target, 6% slow requests spread evenly make
//! every slice bad (a 200× burn of a 99.5% budget) while the event error ratio stays under the
//! page threshold. The bool is recorded every 30s over the trailing slice, so slices slide
//! rather than tile; a slice without events is neither good nor bad. The remaining budget is
//! counted in time, as the controller counts it (`math::Budget::from_timeslices`): bad-slice
//! time (30s per bad evaluation) against the window × the budget.
//!
//! # SLIs as PromQL
//!
//! Ratios are `bad / total` or `1 − good / total` over summed rates; latency and freshness read
//! the histogram's `_bucket` at the threshold against its `_count`; raw `promql` SLIs get their
//! `{{.window}}` filled in and are wrapped in `sum()`. A range without events gives no sample
//! (the denominator is filtered with `> 0`), never `NaN`; a numerator series that does not
//! exist yet counts as zero. Whole-second bucket bounds match both `le="300"` (Prometheus 2
//! keeps what Go exporters write; Debian's promtool is 2.42) and `le="300.0"` (Prometheus 3,
//! and Kura's own exposition); fractional ones are the same text in both (`le="0.3"`).
//!
//! # Alerts
//!
//! The tiers are the Google SRE Workbook's recommended multiwindow, multi-burn-rate ones
//! ("Alerting on SLOs": 1h/5m and 6h/30m page, 1d/2h and 3d/6h ticket), as scaled to the
//! window and overridden by the spec. An alert fires while the
//! error ratio is above `burn rate × budget` over both its long and its short window; the
//! short window makes it stop within minutes of recovery. Thresholds are printed as exact
//! decimals (`0.0144`, not `14.4 * 0.001`, which is `0.014400000000000001` in floating point).
//! Annotations are plain text without templates, so they read the same in the rule file,
//! in notifications and in tests.
//!
//! * `min_events_per_hour`: each burn alert also needs that many events in the last hour, so a
//!   quiet SLO shows "insufficient data" on the dashboard instead of paging on one failure.
//! * `alerting.no_data`: `SloNoData` (ticket) when the SLI's total has had no events, or no
//!   series, for that long.
//!
//! # Maintenance
//!
//! Declared windows are excluded from the budget, as the spec says, and page nobody. The
//! recorded 5m rates (and timeslice bools) skip every evaluation whose range overlaps a window,
//! so ranges of a day or more and the remaining budget leave maintenance out. Raw ranges
//! cannot, so an alert whose long window is raw stays suppressed after a window closes until
//! its short window has moved past it (5m for the fast page, 30m for the slow one); an alert
//! whose long window leaves maintenance out is suppressed only while the window is open. The
//! no-data alert waits its own length after a window closes. One-off windows are `time()`
//! comparisons; weekly ones are placed in UTC (PromQL's clock) from the spec's zone, see
//! `promql::maintenance_open`.

pub(crate) mod promql;
mod yaml;

use std::collections::BTreeMap;

use jiff::SignedDuration;
use rust_decimal::Decimal;

use crate::math::{Objective, Window, format_duration};
use crate::spec::{Budgeting, Composite, JourneySlos, MatchOp, Matcher, NamedTier, Selector, Slo, Spec};

pub use super::Compat;
use super::{GenerateError, Kind};
use promql::Events;
use yaml::{Group, Rule, RuleKind};

/// How often every group is evaluated.
const INTERVAL: SignedDuration = SignedDuration::from_secs(30);
/// The range of the recorded event rates that long ranges are built from.
const BASE: SignedDuration = SignedDuration::from_mins(5);
/// Ranges at least this long are built from the recorded 5m rates rather than raw counters.
const LONG: SignedDuration = SignedDuration::from_hours(24);

const MAINTENANCE: &str = "slo:maintenance:active";
const BAD_EVENTS: &str = "slo:sli_bad_events:rate5m";
const EVENTS: &str = "slo:sli_events:rate5m";
const SLICE_BAD: &str = "slo:timeslice_bad:bool";

/// Sloth's label names (`sloth.dev`, `pkg/common/conventions`).
const SLOTH_ID: &str = "sloth_id";
const SLOTH_SERVICE: &str = "sloth_service";
const SLOTH_SLO: &str = "sloth_slo";
const SLOTH_WINDOW: &str = "sloth_window";
const SLOTH_SEVERITY: &str = "sloth_severity";

/// The rule file for `specs`, one group per SLO and composite, in spec and file order.
pub fn generate(specs: &[Spec]) -> Result<String, GenerateError> {
    generate_with(specs, None)
}

/// [`generate`], with the series and alerts another tool's users rely on when `compat` says so.
pub fn generate_with(specs: &[Spec], compat: Option<Compat>) -> Result<String, GenerateError> {
    let mut groups: Vec<Group> = Vec::new();
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    for spec in specs {
        for journey in &spec.journeys {
            let mut built: Vec<(&str, Group)> = Vec::new();
            for slo in &journey.slos {
                built.push((&slo.id, slo_group(spec, slo, compat)?));
            }
            if let Some(composite) = &journey.composite {
                built.push((&composite.id, composite_group(spec, journey, composite)?));
            }
            for (id, group) in built {
                // Service and SLO ids are `[a-z0-9-]`, so `/` keeps every pair apart; only the
                // same service given twice can collide.
                if seen.insert(group.name.clone(), ()).is_some() {
                    return Err(error(spec, id, format!("a second rule group `{}` (service given twice)", group.name)));
                }
                groups.push(group);
            }
        }
    }
    Ok(yaml::document(&header(specs, compat), &groups))
}

/// The name of the rule group of one SLO or composite: unique across services.
pub fn group_name(service: &str, id: &str) -> String {
    format!("kura-slo/{service}/{id}")
}

fn header(specs: &[Spec], compat: Option<Compat>) -> Vec<String> {
    let sources: Vec<String> = specs.iter().map(|s| s.source.display().to_string()).collect();
    let mut lines: Vec<String> = [
        format!("Generated by `slo generate prometheus` from {}.", sources.join(", ")),
        "Do not edit: change the spec and regenerate.".into(),
        String::new(),
        format!(
            "One group per SLO (`kura-slo/<service>/<id>`), evaluated every {}. Every series and alert carries the",
            format_duration(INTERVAL)
        ),
        "labels slo, journey and service, plus the spec's labels:".into(),
        "  slo:sli_error:ratio_rate<range>  error ratio over each alert window and the SLO window".into(),
        "  slo:sli_bad_events:rate5m, slo:sli_events:rate5m  events per second; ranges of 1d and".into(),
        "      more add these up instead of reading raw counters".into(),
        "  slo:objective:ratio, slo:error_budget:ratio, slo:error_budget_remaining:ratio".into(),
        "  ErrorBudgetBurn: multi-window, multi-burn-rate alerts (Google SRE Workbook, \"Alerting on".into(),
        "      SLOs\"), labels severity (page|ticket), long_window, short_window; SloNoData".into(),
    ]
    .into();
    if compat == Some(Compat::Sloth) {
        lines.extend([
            String::new(),
            "--compat sloth: Sloth's labels (sloth_id, sloth_service, sloth_slo, sloth_window), its".into(),
            "  metadata series (sloth_slo_info, slo:time_period:days, slo:current_burn_rate:ratio,".into(),
            "  slo:period_burn_rate:ratio, slo:period_error_budget_remaining:ratio), and burn alerts under".into(),
            "  the spec's alert name with sloth_severity and the spec's alert labels (see slo/README.md).".into(),
        ]);
    }
    lines
}

fn error(spec: &Spec, slo: &str, what: String) -> GenerateError {
    GenerateError { kind: Kind::Prometheus, service: spec.service.clone(), slo: slo.to_string(), what }
}

/// Who a group's series belong to, and how to select them.
struct Owner<'a> {
    spec: &'a Spec,
    id: &'a str,
    journey: &'a str,
    /// The SLO's own labels (none for a composite).
    slo_labels: Option<&'a BTreeMap<String, String>>,
    compat: Option<Compat>,
}

impl Owner<'_> {
    /// The labels of every series and alert: the spec's, the SLO's, then `slo`, `journey`,
    /// `service` (and Sloth's identity labels under `--compat sloth`).
    fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.spec.labels.clone();
        labels.extend(self.slo_labels.into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
        labels.insert("slo".into(), self.id.into());
        labels.insert("journey".into(), self.journey.into());
        labels.insert("service".into(), self.spec.service.clone());
        if self.compat == Some(Compat::Sloth) {
            labels.insert(SLOTH_ID.into(), format!("{}-{}", self.spec.service, self.id));
            labels.insert(SLOTH_SERVICE.into(), self.spec.service.clone());
            labels.insert(SLOTH_SLO.into(), self.id.into());
        }
        labels
    }

    /// This owner's error ratio over `range`, without Sloth's `sloth_window` label (so ratios
    /// of two ranges match in `and`, and alerts carry no window label of their own).
    fn ratio(&self, range: SignedDuration) -> String {
        let series = self.series(&ratio_record(range));
        match self.compat {
            Some(Compat::Sloth) => format!("max without ({SLOTH_WINDOW}) ({series})"),
            None => series,
        }
    }

    /// `record{service="…", slo="…"}`: this owner's series of a recorded metric, whatever its other labels.
    fn series(&self, record: &str) -> String {
        let matcher =
            |label: &str, value: &str| Matcher { label: label.into(), op: MatchOp::Equal, value: value.into() };
        let matchers = vec![matcher("service", &self.spec.service), matcher("slo", self.id)];
        Selector { metric: record.into(), matchers }.to_string()
    }

    fn record(&self, name: String, expr: String) -> Rule {
        Rule {
            comment: Vec::new(),
            kind: RuleKind::Record(name),
            expr,
            pending: None,
            labels: self.labels(),
            annotations: BTreeMap::new(),
        }
    }

    /// `unless` a maintenance window was open within `range` (or is open, for zero), if the spec has any.
    fn unless_maintenance(&self, range: SignedDuration) -> Option<String> {
        let active = if range.is_zero() {
            self.series(MAINTENANCE)
        } else {
            format!("max_over_time({}[{}])", self.series(MAINTENANCE), format_duration(range))
        };
        (!self.spec.maintenance.is_empty()).then(|| format!("unless on() {active}"))
    }

    /// A recorded rate that skips evaluations whose `range` overlaps maintenance. `unless`
    /// binds looser than arithmetic and comparisons, and [`Events`] parenthesizes its `or`s,
    /// so `expr` needs no parentheses.
    fn outside_maintenance(&self, expr: String, range: SignedDuration) -> String {
        match self.unless_maintenance(range) {
            Some(unless) => format!("{expr} {unless}"),
            None => expr,
        }
    }
}

fn ratio_record(range: SignedDuration) -> String {
    format!("slo:sli_error:ratio_rate{}", format_duration(range))
}

/// The range standing for the SLO window (its nominal length), and a comment when that only
/// approximates it.
fn window_range(spec: &Spec, window: &Window) -> (SignedDuration, Option<String>) {
    let range = window.nominal_length();
    let note = (!window.is_rolling()).then(|| {
        format!(
            "The SLO window is a calendar {window} in {}; a PromQL range has a fixed length, so this is a rolling {}.",
            spec.time_zone,
            format_duration(range)
        )
    });
    (range, note)
}

fn window_text(spec: &Spec, window: &Window) -> String {
    match window {
        Window::Rolling(length) => format_duration(*length),
        Window::Calendar { .. } => format!("a calendar {window} ({})", spec.time_zone),
    }
}

fn slo_group(spec: &Spec, slo: &Slo, compat: Option<Compat>) -> Result<Group, GenerateError> {
    let owner = Owner { spec, id: &slo.id, journey: &slo.journey, slo_labels: Some(&slo.labels), compat };
    let events = Events { sli: &slo.sli };
    let base = format_duration(BASE);
    let mut rules = Vec::new();

    if !spec.maintenance.is_empty() {
        rules.push(maintenance_rule(&owner)?);
    }
    rules.push(owner.record(BAD_EVENTS.into(), owner.outside_maintenance(events.bad(&base), BASE)));
    rules.push(owner.record(EVENTS.into(), owner.outside_maintenance(events.total(&base), BASE)));
    if let Budgeting::Timeslices { slice, target } = &slo.budgeting {
        let slice_bad =
            format!("{} > bool {}", events.error_ratio(&format_duration(*slice)), target.budget().normalize());
        let mut rule = owner.record(SLICE_BAD.into(), owner.outside_maintenance(slice_bad, *slice));
        rule.comment = vec![format!(
            "1 when more than {}% of the events in the last {} were bad (the slice missed its {}% target), 0 when not.",
            percent(target.budget()),
            format_duration(*slice),
            percent(target.target())
        )];
        rules.push(rule);
    }

    let (window, window_note) = window_range(spec, &slo.window);
    let mut ranges: Vec<SignedDuration> =
        slo.alerting.tiers.iter().flat_map(|t| [t.tier.long_window, t.tier.short_window]).chain([window]).collect();
    if compat == Some(Compat::Sloth) {
        // Sloth's current burn rate is over 5m, whatever the tiers.
        ranges.push(BASE);
    }
    ranges.sort();
    ranges.dedup();
    for range in ranges {
        let mut rule = owner.record(ratio_record(range), error_ratio(&owner, slo, range));
        if range == window {
            rule.comment.extend(window_note.clone());
        }
        if compat == Some(Compat::Sloth) {
            rule.labels.insert(SLOTH_WINDOW.into(), format_duration(range));
        }
        rules.push(rule);
    }
    let (spent, mut comment) = budget_spent(&owner, slo, window);
    comment.extend(window_note);
    rules.extend(budget_rules(&owner, &slo.objective, spent.clone(), comment));
    if compat == Some(Compat::Sloth) {
        rules.extend(sloth_rules(&owner, slo, window, &spent));
    }

    let guard = slo.min_events_per_hour.map(|n| format!("and on() {} * 3600 >= {}", events.total("1h"), n.normalize()));
    for tier in &slo.alerting.tiers {
        rules.push(burn_alert(&owner, slo, tier, window, guard.clone()));
    }
    if let Some(no_data) = slo.alerting.no_data {
        rules.push(no_data_alert(&owner, slo, &events, no_data));
    }

    Ok(Group {
        comment: slo_comment(spec, slo),
        name: group_name(&spec.service, &slo.id),
        interval: format_duration(INTERVAL),
        rules,
    })
}

/// The SLI's error ratio over `range`: bad slices over slices with events for timeslices,
/// else bad events over all events, from raw counters under a day and from the recorded 5m
/// rates beyond.
fn error_ratio(owner: &Owner, slo: &Slo, range: SignedDuration) -> String {
    let r = format_duration(range);
    match slo.budgeting {
        Budgeting::Timeslices { .. } => {
            format!("sum(sum_over_time({s}[{r}])) / sum(count_over_time({s}[{r}]))", s = owner.series(SLICE_BAD))
        }
        Budgeting::Occurrences if range < LONG => Events { sli: &slo.sli }.error_ratio(&r),
        Budgeting::Occurrences => format!(
            "sum(sum_over_time({}[{r}])) / (sum(sum_over_time({}[{r}])) > 0)",
            owner.series(BAD_EVENTS),
            owner.series(EVENTS)
        ),
    }
}

/// The share of the budget spent over the SLO window, and a comment when its unit needs one.
fn budget_spent(owner: &Owner, slo: &Slo, window: SignedDuration) -> (String, Vec<String>) {
    let budget = slo.objective.budget();
    match slo.budgeting {
        Budgeting::Occurrences => (format!("{} / {}", owner.ratio(window), budget.normalize()), vec![]),
        // The budget is time, as the controller counts it (`math::Budget::from_timeslices`).
        Budgeting::Timeslices { .. } => {
            let allowed = (Decimal::from(window.as_secs()) * budget).normalize();
            let interval = format_duration(INTERVAL);
            let spent = format!(
                "sum(sum_over_time({}[{}])) * {} / {allowed}",
                owner.series(SLICE_BAD),
                format_duration(window),
                INTERVAL.as_secs()
            );
            let comment = format!(
                "The budget is time: {} × {}% = {allowed}s of bad slices; each {interval} evaluation of {SLICE_BAD} stands for {interval}.",
                format_duration(window),
                percent(budget),
            );
            (spent, vec![comment])
        }
    }
}

fn slo_comment(spec: &Spec, slo: &Slo) -> Vec<String> {
    let mut lines =
        vec![format!("{}/{}: {}", spec.service, slo.id, slo.description).trim_end_matches(": ").to_string()];
    let what = match &slo.budgeting {
        Budgeting::Occurrences => "of events good".to_string(),
        Budgeting::Timeslices { slice, .. } => format!("of {} slices good", format_duration(*slice)),
    };
    lines.push(format!(
        "{}% {what} over {}; {} SLI.",
        percent(slo.objective.target()),
        window_text(spec, &slo.window),
        slo.sli.kind()
    ));
    lines
}

/// `slo:maintenance:active`: 1 while any of the spec's windows is open.
fn maintenance_rule(owner: &Owner) -> Result<Rule, GenerateError> {
    let zone = jiff::tz::TimeZone::get(&owner.spec.time_zone).map_err(|e| {
        error(owner.spec, owner.id, format!("maintenance in time zone `{}`: {e}", owner.spec.time_zone))
    })?;
    let (conditions, comment): (Vec<String>, Vec<String>) =
        owner.spec.maintenance.iter().map(|m| promql::maintenance_open(m, &zone)).unzip();
    let mut rule = owner.record(MAINTENANCE.into(), format!("vector(1) and ({})", conditions.join(" or ")));
    rule.comment = comment;
    Ok(rule)
}

/// Objective, budget and what is left of it: 1 − `spent`, the share of the budget spent over
/// the SLO window (`comment` says how when that needs saying).
fn budget_rules(owner: &Owner, objective: &Objective, spent: String, comment: Vec<String>) -> Vec<Rule> {
    let budget = objective.budget().normalize();
    let mut remaining = owner.record("slo:error_budget_remaining:ratio".into(), format!("1 - {spent}"));
    remaining.comment = comment;
    vec![
        owner.record("slo:objective:ratio".into(), format!("vector({})", objective.target().normalize())),
        owner.record("slo:error_budget:ratio".into(), format!("vector({budget})")),
        remaining,
    ]
}

fn burn_alert(owner: &Owner, slo: &Slo, named: &NamedTier, window: SignedDuration, guard: Option<String>) -> Rule {
    let tier = &named.tier;
    let threshold = tier.error_ratio_threshold(&slo.objective).normalize();
    let (long, short) = (format_duration(tier.long_window), format_duration(tier.short_window));
    let mut clauses = vec![
        format!("{} > {threshold}", owner.ratio(tier.long_window)),
        format!("and {} > {threshold}", owner.ratio(tier.short_window)),
    ];
    clauses.extend(guard);
    // A raw long window still holds maintenance events, so the short window must first move
    // past the maintenance window; a long window built from the recorded rates leaves them out.
    let after = if tier.long_window < LONG { tier.short_window } else { SignedDuration::ZERO };
    clauses.extend(owner.unless_maintenance(after));
    let expr = clauses.join("\n");

    // The spec's alert labels first, so that Kura's own win (but for a per-severity
    // `severity` under `--compat sloth`, which is what Sloth users route on).
    let route = &slo.alerting.route;
    let extras = route.extras(tier.severity);
    let mut labels = route.labels.clone();
    labels.extend(extras.labels.iter().filter(|(k, _)| *k != "severity").map(|(k, v)| (k.clone(), v.clone())));
    labels.extend(owner.labels());
    let severity = tier.severity.as_str();
    labels.insert("severity".into(), severity.into());
    labels.insert("long_window".into(), long.clone());
    labels.insert("short_window".into(), short.clone());
    let mut name = "ErrorBudgetBurn".to_string();
    if owner.compat == Some(Compat::Sloth) {
        labels.insert(SLOTH_SEVERITY.into(), severity.into());
        if let Some(s) = extras.labels.get("severity") {
            labels.insert("severity".into(), s.clone());
        }
        if let Some(n) = &route.name {
            name.clone_from(n);
        }
    }

    let burn = tier.burn_rate.normalize();
    let budget = slo.objective.budget();
    // The share of the budget one long window at this burn rate spends (the Workbook's "budget consumed").
    let spent = tier.budget_consumed(window).unwrap_or_default().round_dp(4);
    let what = match &slo.budgeting {
        Budgeting::Occurrences => "error ratio".to_string(),
        Budgeting::Timeslices { slice, .. } => format!("share of bad {} slices", format_duration(*slice)),
    };
    let mut description = Vec::new();
    if !slo.description.is_empty() {
        description.push(slo.description.clone());
    }
    description.push(objective_sentence(owner.spec, slo));
    description.push(format!(
        "The {what} has been above {}% ({burn} × the {}% budget) over both the last {long} and the last {short}; \
         every {long} at this burn rate spends {}% of the error budget.",
        percent(threshold),
        percent(budget),
        percent(spent),
    ));
    if let Some(n) = slo.min_events_per_hour {
        description.push(format!("Only fires with at least {} events in the last hour.", n.normalize()));
    }
    let mut annotations = BTreeMap::from([
        (
            "summary".to_string(),
            format!("{}: error budget burning at over {burn}× the sustainable rate ({})", slo.id, named.name),
        ),
        ("description".to_string(), description.join("\n")),
    ]);
    if let Some(link) = owner.spec.dashboard_link(&slo.id) {
        annotations.insert("dashboard".into(), link);
    }
    // The spec's own annotations say it better than the generated ones.
    annotations.extend(route.annotations.iter().chain(&extras.annotations).map(|(k, v)| (k.clone(), v.clone())));
    let mut comment = vec![format!(
        "{}: {severity} when the {long} and {short} error ratios exceed {burn} × the budget.",
        named.name
    )];
    if let Some(p) = named.pending {
        comment.push(format!("It fires once that has held for {}.", format_duration(p)));
    }
    Rule {
        comment,
        kind: RuleKind::Alert(name),
        expr,
        pending: named.pending.map(format_duration),
        labels,
        annotations,
    }
}

fn objective_sentence(spec: &Spec, slo: &Slo) -> String {
    match &slo.budgeting {
        Budgeting::Occurrences => format!(
            "Objective: {}% of events good over {}, an error budget of {}%.",
            percent(slo.objective.target()),
            window_text(spec, &slo.window),
            percent(slo.objective.budget())
        ),
        Budgeting::Timeslices { slice, target } => format!(
            "Objective: {}% of {} slices good over {}, an error budget of {}% of slices; a slice is good when at least {}% of its events are.",
            percent(slo.objective.target()),
            format_duration(*slice),
            window_text(spec, &slo.window),
            percent(slo.objective.budget()),
            percent(target.target())
        ),
    }
}

fn no_data_alert(owner: &Owner, slo: &Slo, events: &Events, no_data: SignedDuration) -> Rule {
    let range = format_duration(no_data);
    let total = events.total(&range);
    let expr = std::iter::once(format!("({total} or vector(0)) == 0"))
        .chain(owner.unless_maintenance(no_data))
        .collect::<Vec<_>>()
        .join("\n");
    let mut labels = owner.labels();
    labels.insert("severity".into(), crate::math::Severity::Ticket.as_str().into());
    let mut annotations = BTreeMap::from([
        ("summary".to_string(), format!("{}: no events for {range}", slo.id)),
        (
            "description".to_string(),
            format!(
                "{total} has been zero or absent for {range}, so the SLO cannot be evaluated. \
                 Check that {} is running, serving the {} journey and scraped.",
                owner.spec.service, slo.journey
            ),
        ),
    ]);
    if let Some(link) = owner.spec.dashboard_link(&slo.id) {
        annotations.insert("dashboard".into(), link);
    }
    Rule {
        comment: vec![format!("No data: the SLI's total has had no events for {range}.")],
        kind: RuleKind::Alert("SloNoData".into()),
        expr,
        pending: None,
        labels,
        annotations,
    }
}

/// A journey's composite: the weighted mean of its SLOs' error ratios over their (shared)
/// window, with its own objective and budget. It has no alerts of its own; its SLOs do.
fn composite_group(spec: &Spec, journey: &JourneySlos, composite: &Composite) -> Result<Group, GenerateError> {
    let owner = Owner { spec, id: &composite.id, journey: &journey.name, slo_labels: None, compat: None };
    let mut windows = Vec::new();
    let mut terms = Vec::new();
    for component in &composite.components {
        let Some(slo) = journey.slos.iter().find(|s| s.id == component.slo) else {
            return Err(error(
                spec,
                &composite.id,
                format!("a component `{}` that is not an SLO of the journey", component.slo),
            ));
        };
        let (range, note) = window_range(spec, &slo.window);
        let series = Owner { spec, id: &slo.id, journey: &journey.name, slo_labels: None, compat: None }
            .series(&ratio_record(range));
        terms.push(format!("{} * sum({series})", component.weight.normalize()));
        windows.push((range, note));
    }
    windows.dedup();
    let [(range, note)] = &windows[..] else {
        return Err(error(spec, &composite.id, "a composite whose SLOs have different windows".into()));
    };
    let (range, note) = (*range, note.clone());
    let weights: Decimal = composite.components.iter().map(|c| c.weight).sum();
    let mut ratio = owner.record(ratio_record(range), format!("({}) / {}", terms.join(" + "), weights.normalize()));
    ratio.comment.push("The weighted mean of the SLOs' error ratios; no sample until every SLO has one.".into());
    ratio.comment.extend(note.clone());
    let mut rules = vec![ratio];
    let spent = format!("{} / {}", owner.series(&ratio_record(range)), composite.objective.budget().normalize());
    rules.extend(budget_rules(&owner, &composite.objective, spent, note.into_iter().collect()));
    let names: Vec<&str> = composite.components.iter().map(|c| c.slo.as_str()).collect();
    Ok(Group {
        comment: vec![
            format!(
                "{}/{}: the {} journey as a whole ({}).",
                spec.service,
                composite.id,
                journey.name,
                names.join(", ")
            ),
            format!("{}% over the SLOs' window; burn alerts are on the SLOs.", percent(composite.objective.target())),
        ],
        name: group_name(&spec.service, &composite.id),
        interval: format_duration(INTERVAL),
        rules,
    })
}

/// Sloth's metadata series (`sloth.dev`, `pkg/common/conventions`), for its dashboards: the
/// period in days, the burn rate now (5m) and over the period, what is left of the period's
/// budget, and an info series. `spent` is the share of the budget spent over the window.
fn sloth_rules(owner: &Owner, slo: &Slo, window: SignedDuration, spent: &str) -> Vec<Rule> {
    let budget = slo.objective.budget().normalize();
    let days = Decimal::from(window.as_secs()) / Decimal::from(86_400);
    let mut info = owner.record("sloth_slo_info".into(), "vector(1)".into());
    info.labels.insert("sloth_mode".into(), "cli-gen-prom".into());
    info.labels.insert("sloth_spec".into(), "prometheus/v1".into());
    info.labels.insert("sloth_version".into(), concat!("kura-", env!("CARGO_PKG_VERSION")).into());
    info.labels.insert("sloth_objective".into(), slo.objective.to_string());
    let mut period = owner.record("slo:period_burn_rate:ratio".into(), spent.to_string());
    period.comment.push("Event-weighted over the window (Sloth averages the 5m ratios instead).".into());
    vec![
        owner.record("slo:time_period:days".into(), format!("vector({})", days.round_dp(4).normalize())),
        owner.record("slo:current_burn_rate:ratio".into(), format!("{} / {budget}", owner.ratio(BASE))),
        period,
        owner.record("slo:period_error_budget_remaining:ratio".into(), format!("1 - {spent}")),
        info,
    ]
}

/// A ratio as an exact percentage: 0.0144 → `1.44`.
fn percent(ratio: Decimal) -> String {
    (ratio * Decimal::ONE_HUNDRED).normalize().to_string()
}
