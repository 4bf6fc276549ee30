//! An in-process OTLP/HTTP receiver: it decodes the real protobuf the service exports
//! (`ExportTraceServiceRequest`) and keeps every span, so tests can check trace and parent ids.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    pub kind: i32,
    pub attributes: Vec<(String, String)>,
}

impl ReceivedSpan {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn store() -> &'static Mutex<Vec<ReceivedSpan>> {
    static SPANS: OnceLock<Mutex<Vec<ReceivedSpan>>> = OnceLock::new();
    SPANS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Starts the receiver (once per process) and returns its traces URL.
pub fn receiver() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        listener.set_nonblocking(true).expect("nonblocking");
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let app = axum::Router::new().route("/v1/traces", axum::routing::post(accept));
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = axum::serve(listener, app).await;
            });
        });
        format!("http://{addr}/v1/traces")
    })
    .clone()
}

async fn accept(body: Bytes) -> (axum::http::StatusCode, [(&'static str, &'static str); 1], Vec<u8>) {
    let Ok(request) = ExportTraceServiceRequest::decode(body.as_ref()) else {
        return (axum::http::StatusCode::BAD_REQUEST, [("content-type", "text/plain")], b"not OTLP protobuf".to_vec());
    };
    let mut spans = store().lock().expect("store");
    for resource in request.resource_spans {
        for scope in resource.scope_spans {
            for s in scope.spans {
                let attributes = s
                    .attributes
                    .iter()
                    .map(|kv| {
                        let v = kv
                            .value
                            .as_ref()
                            .and_then(|v| v.value.as_ref())
                            .map(|v| format!("{v:?}"))
                            .unwrap_or_default();
                        (kv.key.clone(), v)
                    })
                    .collect();
                spans.push(ReceivedSpan {
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    parent_span_id: hex(&s.parent_span_id),
                    name: s.name,
                    kind: s.kind,
                    attributes,
                });
            }
        }
    }
    (axum::http::StatusCode::OK, [("content-type", "application/x-protobuf")], Vec::new())
}

/// Spans of `trace_id` received so far, after flushing the exporter; waits up to 10 s for
/// at least `min` of them.
pub async fn spans_of(trace_id: &str, min: usize) -> Vec<ReceivedSpan> {
    for _ in 0..100 {
        crate::helpers::flush_spans();
        let found: Vec<ReceivedSpan> =
            store().lock().expect("store").iter().filter(|s| s.trace_id == trace_id).cloned().collect();
        if found.len() >= min {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    store().lock().expect("store").iter().filter(|s| s.trace_id == trace_id).cloned().collect()
}

/// The trace ids received so far (after waiting `settle` for the exporter's batches).
pub async fn traces_received(settle: Duration) -> std::collections::HashSet<String> {
    tokio::time::sleep(settle).await;
    store().lock().expect("store").iter().map(|s| s.trace_id.clone()).collect()
}
