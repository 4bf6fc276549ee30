//! Serving: a public and an admin listener, each with its own connection cap and timeouts,
//! until a shutdown signal; then stop accepting, let in-flight requests finish for up to the
//! drain time, and return.
//!
//! Every listener speaks HTTP/1.1 (TLS and HTTP/2 end at the load balancer in front) and
//! protects the process from slow and idle clients:
//! * **Header-read timeout** ([`Limits::header_read_timeout`], 10 s): a connection must deliver
//!   a complete request head within this time of being ready for one -- when it opens, and
//!   again after each response while it is kept alive -- or it is closed. It is also the
//!   keep-alive idle timeout: an idle connection lives at most this long.
//! * **Connection cap** ([`Limits::max_connections`]): past it, a new connection is answered at
//!   once with a `503` problem (`Connection: close`) and closed, before any request is read,
//!   so the process never runs out of file descriptors; the cap is lowered to fit the
//!   process's open-file limit. The admin listener has a cap of its own, so `/livez` and
//!   `/readyz` answer while the public port is flooded.
//! * Accept errors (`EMFILE` and the like) are logged once per second and retried, never fatal.
//!
//! Gauges and counters: `http_server_open_connections{listener}` and
//! `http_server_refused_connections_total{listener}`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// What a listener tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See the module docs: bounds the wait for each request head, including keep-alive idle.
    pub header_read_timeout: Duration,
    /// Open connections before new ones are refused.
    pub max_connections: usize,
}

/// The public listener's defaults: 10 s, 10,000 connections (less if the open-file limit is lower).
pub const PUBLIC_LIMITS: Limits = Limits { header_read_timeout: Duration::from_secs(10), max_connections: 10_000 };

/// The admin listener's defaults: operators and scrapers only.
pub const ADMIN_LIMITS: Limits = Limits { header_read_timeout: Duration::from_secs(10), max_connections: 256 };

/// File descriptors kept for everything but client connections (database pools, files, outgoing
/// HTTP clients).
pub const RESERVED_FDS: usize = 256;

/// A bound socket, the router it serves, and its limits.
#[derive(Debug)]
pub struct Listener {
    /// `public` or `admin`: the `listener` label of the connection metrics.
    pub name: &'static str,
    pub socket: TcpListener,
    pub router: Router,
    pub limits: Limits,
}

impl Listener {
    pub fn new(name: &'static str, socket: TcpListener, router: Router, limits: Limits) -> Listener {
        Listener { name, socket, router, limits }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabels {
    listener: &'static str,
}

/// The connection metrics, registered once per [`telemetry::Metrics`].
#[derive(Debug, Clone, Default)]
pub struct ConnectionMetrics {
    open: Family<ListenerLabels, Gauge<i64, AtomicI64>>,
    refused: Family<ListenerLabels, Counter>,
}

impl ConnectionMetrics {
    pub fn register(metrics: &telemetry::Metrics) -> ConnectionMetrics {
        let m = ConnectionMetrics::default();
        metrics.register(|r| {
            r.register("http_server_open_connections", "Open client connections per listener", m.open.clone());
            r.register(
                "http_server_refused_connections",
                "Connections refused at once because the listener's connection cap was reached",
                m.refused.clone(),
            );
        });
        m
    }
}

/// Serves both listeners until `shutdown` resolves, then stops accepting and drains in-flight
/// requests for up to `drain`. Background work belongs to the caller: stop it in `shutdown`
/// (before the drain) or after this returns.
pub async fn serve(
    public: Listener,
    admin: Listener,
    metrics: &telemetry::Metrics,
    drain: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connection_metrics = ConnectionMetrics::register(metrics);
    tracing::info!(public = %public.socket.local_addr()?, admin = %admin.socket.local_addr()?, "listening");
    let (stop_tx, stop_rx) = watch::channel(false);
    let public_task = tokio::spawn(accept_loop(public, connection_metrics.clone(), stop_rx.clone()));
    let admin_task = tokio::spawn(accept_loop(admin, connection_metrics, stop_rx));
    shutdown.await;
    tracing::info!(drain_seconds = drain.as_secs(), "shutting down: no new connections, draining in-flight requests");
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + drain;
    let drained = tokio::time::timeout_at(deadline, public_task).await;
    if drained.is_err() {
        tracing::warn!("drain deadline passed; abandoning requests still in flight");
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), admin_task).await;
    Ok(())
}

/// Accepts until `stop`, then waits for the connections it started to finish.
async fn accept_loop(listener: Listener, metrics: ConnectionMetrics, stop: watch::Receiver<bool>) {
    let Listener { name, socket, router, limits } = listener;
    let cap = effective_cap(limits.max_connections);
    if cap < limits.max_connections {
        tracing::warn!(
            listener = name,
            configured = limits.max_connections,
            cap,
            "connection cap lowered to fit the open-file limit"
        );
    }
    let permits = Arc::new(Semaphore::new(cap));
    let labels = ListenerLabels { listener: name };
    let open = metrics.open.get_or_create(&labels).clone();
    let refused = metrics.refused.get_or_create(&labels).clone();
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    let mut last_accept_error: Option<Instant> = None;
    let stopped = stopped(stop);
    tokio::pin!(stopped);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = socket.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE, ENFILE, ECONNABORTED...: the listener itself is fine; wait a little.
                    if last_accept_error.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(listener = name, error = %e, "cannot accept a connection; retrying");
                        last_accept_error = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stopped => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            refused.inc();
            refuse(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                match router.oneshot(req.map(axum::body::Body::new)).await {
                    Ok(response) => Ok::<_, Infallible>(response),
                    Err(never) => match never {},
                }
            }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        let open = open.clone();
        open.inc();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            open.dec();
            drop(permit);
        });
    }
    drop(socket);
    graceful.shutdown().await;
}

/// Resolves when `stop` turns true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Best effort: tell the client why before closing (the socket is fresh, so the write does not
/// block; if it cannot be written at once it is dropped).
fn refuse(stream: TcpStream) {
    const BODY: &str = r#"{"type":"/problems/overloaded","title":"Overloaded","status":503,"detail":"too many open connections; retry shortly"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.try_write(response.as_bytes());
}

/// The configured cap, lowered so that connections cannot take the process's last file
/// descriptors (Linux reads `/proc/self/limits`; elsewhere the configured cap stands).
fn effective_cap(configured: usize) -> usize {
    match open_file_limit() {
        Some(limit) => configured.min(limit.saturating_sub(RESERVED_FDS).max(16)),
        None => configured,
    }
}

fn open_file_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_process_own_descriptors() {
        let limit = open_file_limit().expect("Linux has /proc/self/limits");
        assert!(effective_cap(usize::MAX) <= limit.saturating_sub(RESERVED_FDS).max(16));
        assert_eq!(effective_cap(10), 10);
    }
}
