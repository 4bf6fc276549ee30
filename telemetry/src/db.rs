//! Database visibility, the "slow query view" an SRE opens first. sqlx reports every
//! statement it runs as a `sqlx::query` event (at WARN when it took longer than the slow
//! threshold the connection was configured with); [`DbLayer`] turns those events into
//! - `db_client_operation_duration_seconds{db_operation, db_query_name}` (histogram), and
//! - `db_client_slow_queries_total{db_operation, db_query_name}` (counter),
//!
//! while the WARN event itself is the log line with the statement and its duration; each
//! statement is also a client span (`db.system`, `db.operation.name`, `db.query.name`, and the
//! statement with `$n` placeholders, never values) under the request or job that ran it.
//!
//! A query's name is the `/* name */` comment it starts with, or else its operation and first
//! table (`select shipment`, `update stock`): bounded by the schema, never by the values.
//!
//! All of this runs on the connection's thread after each statement, inside the caller's
//! transaction (on SQLite, while holding the one writer connection), so it is kept cheap: the
//! name, labels, histogram and span attributes are worked out once per distinct statement text
//! and then only looked up (BENCHMARKS.md, "Telemetry overhead").

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, OnceLock, RwLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// The target sqlx logs statements under.
pub const SQLX_TARGET: &str = "sqlx::query";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DbLabels {
    pub db_operation: String,
    pub db_query_name: String,
}

/// Process-wide: sqlx's events carry no pool identity, so every registry shows the same families.
#[derive(Debug, Clone)]
pub struct DbMetrics {
    pub duration: Family<DbLabels, Histogram>,
    pub slow: Family<DbLabels, Counter>,
}

pub(crate) const BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

fn histogram() -> Histogram {
    Histogram::new(BUCKETS.iter().copied())
}

pub fn metrics() -> &'static DbMetrics {
    static METRICS: OnceLock<DbMetrics> = OnceLock::new();
    METRICS.get_or_init(|| DbMetrics {
        duration: Family::new_with_constructor(histogram as fn() -> Histogram),
        slow: Family::default(),
    })
}

pub(crate) fn register(registry: &mut Registry) {
    let m = metrics();
    registry.register_with_unit(
        "db_client_operation_duration",
        "Duration of database statements, by query name",
        Unit::Seconds,
        m.duration.clone(),
    );
    registry.register("db_client_slow_queries", "Statements slower than the slow-query threshold", m.slow.clone());
}

/// The tracing layer that feeds [`DbMetrics`]; [`crate::init`] installs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct DbLayer;

impl<S: Subscriber> Layer<S> for DbLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != SQLX_TARGET {
            return;
        }
        let mut fields = StatementFields::default();
        event.record(&mut fields);
        let statement = fields.statement.unwrap_or_else(|| Statement::of(&fields.summary));
        export_span(&statement, fields.elapsed_secs);
        statement.duration.observe(fields.elapsed_secs);
        if *event.metadata().level() == Level::WARN {
            metrics().slow.get_or_create(&statement.labels).inc();
            // A request that ran a slow statement keeps its trace (crate::sampling).
            if let Some((trace_id, _)) = crate::trace::ids(&tracing::Span::current()) {
                crate::sampling::mark_slow_query(trace_id);
            }
        }
    }
}

/// The database system statements run against, for spans (`sqlite`, `postgresql`).
pub fn set_system(system: &'static str) {
    let _ = SYSTEM.set(system);
}

static SYSTEM: OnceLock<&'static str> = OnceLock::new();

/// The tracer statement spans are made with; [`crate::trace::provider`] sets it, and without
/// it (tracing off) statements make no spans.
pub(crate) fn set_tracer(tracer: opentelemetry_sdk::trace::SdkTracer) {
    let _ = TRACER.set(tracer);
}

static TRACER: OnceLock<opentelemetry_sdk::trace::SdkTracer> = OnceLock::new();

/// Distinct statement texts remembered; past this, new ones are worked out on every run.
/// The service's statements are fixed strings (a few hundred at most); the bound only
/// matters for statements built at run time.
const MAX_STATEMENTS: usize = 4096;

/// What one statement text needs on every run, worked out the first time it is seen: its
/// labels and their histogram, and its span attributes. Statements run thousands of times a
/// second, often while holding SQLite's one writer connection, so each run only looks this
/// up by its text and clones reference-counted strings.
#[derive(Debug)]
struct Statement {
    labels: DbLabels,
    duration: Histogram,
    /// `db.operation.name`, `db.query.name`, `db.query.text` (the statement with `$n`
    /// placeholders, as sqlx reports it: never values).
    attributes: [opentelemetry::KeyValue; 3],
}

impl Statement {
    fn of(sql: &str) -> Arc<Statement> {
        static SEEN: OnceLock<RwLock<HashMap<Box<str>, Arc<Statement>>>> = OnceLock::new();
        let sql = sql.trim();
        let seen = SEEN.get_or_init(RwLock::default);
        if let Some(found) = seen.read().ok().and_then(|s| s.get(sql).cloned()) {
            return found;
        }
        let statement = Arc::new(Statement::new(sql));
        match seen.write() {
            Ok(mut s) if s.len() < MAX_STATEMENTS => Arc::clone(s.entry(sql.into()).or_insert(statement)),
            _ => statement,
        }
    }

    fn new(sql: &str) -> Statement {
        use opentelemetry::KeyValue;
        let (operation, name) = query_name(sql);
        let attributes = [
            KeyValue::new("db.operation.name", Arc::<str>::from(operation.as_str())),
            KeyValue::new("db.query.name", Arc::<str>::from(name.as_str())),
            KeyValue::new("db.query.text", Arc::<str>::from(sql)),
        ];
        let labels = DbLabels { db_operation: operation, db_query_name: name };
        let duration = metrics().duration.get_or_create(&labels).clone();
        Statement { labels, duration, attributes }
    }
}

/// A client span for one statement, a child of the current (request or job) span. sqlx
/// reports a statement when it has finished, so the span is recorded with its real start.
fn export_span(statement: &Statement, elapsed_secs: f64) {
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt, Tracer};
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let Some(tracer) = TRACER.get() else { return };
    let parent = tracing::Span::current().context();
    if !parent.span().span_context().is_sampled() {
        return;
    }
    let end = std::time::SystemTime::now();
    let start = end.checked_sub(std::time::Duration::from_secs_f64(elapsed_secs.max(0.0))).unwrap_or(end);
    let mut attributes = Vec::with_capacity(4);
    attributes.push(KeyValue::new("db.system", *SYSTEM.get().unwrap_or(&"unknown")));
    attributes.extend(statement.attributes.iter().cloned());
    let mut span = tracer
        .span_builder(statement.labels.db_query_name.clone())
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes(attributes)
        .start_with_context(tracer, &parent);
    span.end_with_timestamp(end);
}

/// The fields of sqlx's statement event that matter here. The statement is looked up while
/// its text is borrowed from the event, so the text is never copied.
#[derive(Default)]
struct StatementFields {
    /// The first words; the whole statement when it is that short (then `db.statement` is empty).
    summary: String,
    statement: Option<Arc<Statement>>,
    elapsed_secs: f64,
}

impl Visit for StatementFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" if !value.trim().is_empty() => self.statement = Some(Statement::of(value)),
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = value;
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn Debug) {}
}

/// (operation, name) of a statement: `/* name */` wins; else operation and first table.
pub fn query_name(sql: &str) -> (String, String) {
    let sql = sql.trim();
    let (named, body) = match sql.strip_prefix("/*").and_then(|r| r.split_once("*/")) {
        Some((name, rest)) => (Some(name.trim().to_owned()), rest.trim()),
        None => (None, sql),
    };
    let words: Vec<String> = body
        .split(|c: char| c.is_whitespace() || c == '(' || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let operation = words.first().cloned().unwrap_or_else(|| "unknown".into());
    let table = words
        .windows(2)
        .find(|w| matches!(w[0].as_str(), "from" | "into" | "update"))
        .map(|w| w[1].trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_').to_owned());
    let name = named.unwrap_or_else(|| match (&table, operation.as_str()) {
        (_, "update") => format!("update {}", words.get(1).map_or("", String::as_str)),
        (Some(t), op) => format!("{op} {t}"),
        (None, op) => op.to_owned(),
    });
    (operation, name)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Statement, query_name};

    #[test]
    fn a_statement_is_worked_out_once_then_found_by_its_text() {
        let first = Statement::of("\n\nselect item_id from item where sku = $1\n");

        let again = Statement::of("select item_id from item where sku = $1");

        assert!(Arc::ptr_eq(&first, &again), "the second run must reuse the first one's work");
        assert_eq!(first.labels.db_query_name, "select item");
        let text = first.attributes.iter().find(|kv| kv.key.as_str() == "db.query.text").expect("db.query.text");
        assert_eq!(text.value.as_str(), "select item_id from item where sku = $1");
    }

    #[test]
    fn queries_are_named_by_comment_or_by_operation_and_table() {
        assert_eq!(query_name("/* slow-probe */ select pg_sleep(1)"), ("select".into(), "slow-probe".into()));
        assert_eq!(query_name("select stock_id from stock where x = $1").1, "select stock");
        assert_eq!(query_name("insert into allocation (a) values ($1)").1, "insert allocation");
        assert_eq!(query_name("update stock set reserved = reserved + $1").1, "update stock");
        assert_eq!(query_name("delete from pick_task where id = $1").1, "delete pick_task");
        assert_eq!(query_name("BEGIN").1, "begin");
    }
}
