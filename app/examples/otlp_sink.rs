//! A minimal OTLP/HTTP trace sink for benchmarks: accepts `POST /v1/traces`, counts the bytes
//! and requests, answers 200, keeps nothing. Stands in for a collector on the same machine.
//!
//! ```text
//! cargo run --release -p fulfillment --example otlp_sink -- 127.0.0.1:4318
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::State;

#[derive(Default)]
struct Seen {
    requests: AtomicU64,
    bytes: AtomicU64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:4318".into());
    let seen = Arc::new(Seen::default());
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            axum::routing::post(|State(s): State<Arc<Seen>>, body: Bytes| async move {
                s.requests.fetch_add(1, Ordering::Relaxed);
                s.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
            }),
        )
        .route(
            "/stats",
            axum::routing::get(|State(s): State<Arc<Seen>>| async move {
                format!("{} requests, {} bytes\n", s.requests.load(Ordering::Relaxed), s.bytes.load(Ordering::Relaxed))
            }),
        )
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("OTLP sink on http://{addr}/v1/traces");
    axum::serve(listener, app).await?;
    Ok(())
}
