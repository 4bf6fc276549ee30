//! Tail-based sampling, in process: every request is traced, and the decision to keep its
//! trace is made when it ends, when the interesting ones are known.
//!
//! A request's trace is **kept** when
//! * it failed (5xx), or
//! * it was slower than its journey's latency threshold ([`crate::Journey::slow_after`]), or
//!   ran a statement slower than the slow-query threshold, or
//! * its trace id falls in the configured share of the rest (`KURA_TRACES_KEEP_RATIO`, default
//!   [`DEFAULT_KEEP_RATIO`]), decided from the trace id itself like OpenTelemetry's
//!   `TraceIdRatioBased`, so services that share a trace agree.
//!
//! The HTTP middleware makes the decision when the request ends and marks the server span
//! ([`KEEP_ATTRIBUTE`]); [`TailProcessor`] holds each trace's finished child spans until its
//! root span ends, then passes the whole trace on to the exporter or drops it: spans of a
//! dropped trace are never exported (exporting is most of tracing's cost). Only kept traces
//! become exemplars, so every exemplar links to a trace that exists.
//!
//! Spans whose root carries no decision (background jobs) are kept. `KURA_TRACES_TAIL_SAMPLING=off`
//! keeps every trace (the standard `OTEL_TRACES_SAMPLER` head sampling still applies first).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// The share of ordinary (fast, successful) requests kept unless configured otherwise.
pub const DEFAULT_KEEP_RATIO: f64 = 0.05;

/// The server span attribute that carries the decision.
pub const KEEP_ATTRIBUTE: &str = "kura.sampling.keep";

/// Traces waiting for their root span before new ones are dropped unsampled (a bound on
/// memory: a few spans each).
pub const MAX_PENDING_TRACES: usize = 20_000;

/// A trace whose root has not ended after this long is dropped (its root was lost).
pub const PENDING_TIMEOUT: Duration = Duration::from_secs(120);

/// The sampling settings, from the environment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Whether traces are sampled at their tail at all (`false`: every trace is exported).
    pub tail: bool,
    pub keep_ratio: f64,
}

impl Sampling {
    /// `KURA_TRACES_TAIL_SAMPLING` (`on`/`off`) and `KURA_TRACES_KEEP_RATIO` (0 to 1).
    pub fn from_env() -> Sampling {
        let tail = !std::env::var("KURA_TRACES_TAIL_SAMPLING").is_ok_and(|v| v.trim().eq_ignore_ascii_case("off"));
        let keep_ratio = std::env::var("KURA_TRACES_KEEP_RATIO")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|r| (0.0..=1.0).contains(r))
            .unwrap_or(DEFAULT_KEEP_RATIO);
        Sampling { tail, keep_ratio }
    }

    /// Whether a trace that neither failed nor was slow is kept: by its trace id, the way
    /// `TraceIdRatioBased` decides (the low 64 bits against the ratio).
    pub fn keeps_ordinary(&self, trace_id: TraceId) -> bool {
        if !self.tail || self.keep_ratio >= 1.0 {
            return true;
        }
        let low = u64::from_be_bytes(trace_id.to_bytes()[8..].try_into().unwrap_or([0; 8]));
        // Compare in u64 space: `ratio × 2^64` as the bound, as the SDK's sampler does.
        (low as f64) < self.keep_ratio * (u64::MAX as f64)
    }
}

static SETTINGS: std::sync::OnceLock<Sampling> = std::sync::OnceLock::new();

/// The process's settings: what [`crate::init`] was given, or the environment's.
pub fn settings() -> Sampling {
    *SETTINGS.get_or_init(Sampling::from_env)
}

/// Fixes the process's settings (once, in [`crate::init`]).
pub(crate) fn configure(sampling: Sampling) {
    let _ = SETTINGS.set(sampling);
}

/// Traces that ran a slow statement, until their request decides (bounded).
fn slow_queries() -> &'static Mutex<HashMap<TraceId, Instant>> {
    static SLOW: std::sync::OnceLock<Mutex<HashMap<TraceId, Instant>>> = std::sync::OnceLock::new();
    SLOW.get_or_init(Mutex::default)
}

/// Notes that `trace_id` ran a statement slower than the slow-query threshold.
pub fn mark_slow_query(trace_id: TraceId) {
    if let Ok(mut slow) = slow_queries().lock() {
        if slow.len() >= MAX_PENDING_TRACES {
            let cutoff = Instant::now() - PENDING_TIMEOUT;
            slow.retain(|_, at| *at > cutoff);
        }
        if slow.len() < MAX_PENDING_TRACES {
            slow.insert(trace_id, Instant::now());
        }
    }
}

/// Whether `trace_id` ran a slow statement (and forgets it: each trace asks once).
pub fn had_slow_query(trace_id: TraceId) -> bool {
    slow_queries().lock().is_ok_and(|mut slow| slow.remove(&trace_id).is_some())
}

/// The decision for a finished request.
pub fn keep(trace_id: TraceId, status: u16, elapsed: Duration, slow_after: Option<Duration>) -> bool {
    let sampling = settings();
    // `had_slow_query` first: it also forgets the mark, whatever else decides.
    let slow_query = had_slow_query(trace_id);
    !sampling.tail
        || status >= 500
        || slow_query
        || slow_after.is_some_and(|t| elapsed > t)
        || sampling.keeps_ordinary(trace_id)
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// `kept`, `dropped`, or `overflowed` (a span dropped because too many traces were waiting).
    pub decision: &'static str,
}

/// What the tail sampler did, per trace (`otel_traces_sampled_total{decision}`).
pub fn decisions() -> &'static Family<DecisionLabels, Counter> {
    static DECISIONS: std::sync::OnceLock<Family<DecisionLabels, Counter>> = std::sync::OnceLock::new();
    DECISIONS.get_or_init(Family::default)
}

fn count(decision: &'static str) {
    decisions().get_or_create(&DecisionLabels { decision }).inc();
}

#[derive(Debug)]
struct Pending {
    since: Instant,
    spans: Vec<SpanData>,
}

/// Holds each trace's spans until its local root ends, then passes the trace to `inner` or
/// drops it (see the module docs).
#[derive(Debug)]
pub struct TailProcessor<P> {
    inner: P,
    pending: Mutex<HashMap<TraceId, Pending>>,
}

impl<P> TailProcessor<P> {
    pub fn new(inner: P) -> TailProcessor<P> {
        TailProcessor { inner, pending: Mutex::default() }
    }
}

/// The decision a root span carries, if it carries one.
fn decision(span: &SpanData) -> Option<bool> {
    span.attributes.iter().find(|kv: &&KeyValue| kv.key.as_str() == KEEP_ATTRIBUTE).map(|kv| match kv.value {
        Value::Bool(b) => b,
        _ => true,
    })
}

fn is_local_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote
}

impl<P: SpanProcessor> SpanProcessor for TailProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let trace_id = span.span_context.trace_id();
        if !is_local_root(&span) {
            let Ok(mut pending) = self.pending.lock() else { return };
            if let Some(p) = pending.get_mut(&trace_id) {
                p.spans.push(span);
                return;
            }
            if pending.len() >= MAX_PENDING_TRACES {
                let cutoff = Instant::now() - PENDING_TIMEOUT;
                pending.retain(|_, p| p.since > cutoff);
            }
            if pending.len() >= MAX_PENDING_TRACES {
                count("overflowed");
                return;
            }
            pending.insert(trace_id, Pending { since: Instant::now(), spans: vec![span] });
            return;
        }
        let children = self.pending.lock().ok().and_then(|mut p| p.remove(&trace_id)).map(|p| p.spans);
        if decision(&span).unwrap_or(true) {
            count("kept");
            for child in children.into_iter().flatten() {
                self.inner.on_end(child);
            }
            self.inner.on_end(span);
        } else {
            count("dropped");
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(low: u64) -> TraceId {
        let mut bytes = [0u8; 16];
        bytes[8..].copy_from_slice(&low.to_be_bytes());
        bytes[0] = 1;
        TraceId::from_bytes(bytes)
    }

    #[test]
    fn the_ratio_keeps_that_share_of_ordinary_traces_decided_by_the_trace_id() {
        let s = Sampling { tail: true, keep_ratio: 0.25 };
        let kept = (0..10_000u64).filter(|i| s.keeps_ordinary(trace(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))).count();
        assert!((2_200..2_800).contains(&kept), "{kept} of 10000");
        assert!(s.keeps_ordinary(trace(0)), "the same trace id, the same answer");
        assert!(!Sampling { tail: true, keep_ratio: 0.0 }.keeps_ordinary(trace(1)));
        assert!(Sampling { tail: false, keep_ratio: 0.0 }.keeps_ordinary(trace(u64::MAX)), "off keeps all");
    }

    #[test]
    fn a_slow_query_mark_is_read_once() {
        let t = trace(42);
        mark_slow_query(t);
        assert!(had_slow_query(t));
        assert!(!had_slow_query(t));
    }
}
