//! The local alert receiver `kura up` starts: the on-call webhook the controller pages, so a
//! page can be watched as it arrives.
//!
//! * `POST /alerts` -- a signed webhook notification. The signature is checked as any receiver
//!   should: `X-Kura-Signature: v1=hex(HMAC-SHA256(secret, timestamp + "." + body))` with
//!   `X-Kura-Timestamp` within 5 minutes of now; a bad one is a 401 and is not kept. A good one
//!   is appended to `alerts.jsonl` in the data directory and kept for the live view.
//! * `GET /` -- the log, newest first, as text.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// How far a notification's timestamp may be from now.
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// One notification as received.
#[derive(Debug, Clone)]
pub struct Page {
    pub received_at: jiff::Timestamp,
    pub notification: Value,
}

impl Page {
    /// `FIRING page create-shipment-availability (fast-page, burn 48.1)`.
    pub fn line(&self) -> String {
        let n = &self.notification;
        let burn = n["long_burn_rate"].as_f64().map(|b| format!(", burn {b:.1}")).unwrap_or_default();
        format!(
            "{} {} {} {} ({}{burn})",
            self.received_at.strftime("%H:%M:%S"),
            n["event"].as_str().unwrap_or("?").to_uppercase(),
            n["severity"].as_str().unwrap_or("?"),
            n["slo"].as_str().unwrap_or("?"),
            n["tier"].as_str().unwrap_or("?"),
        )
    }
}

/// The receiver's state: the secret, the log file, and what arrived.
#[derive(Debug, Clone)]
pub struct Receiver {
    secret: Arc<str>,
    log: PathBuf,
    pages: Arc<Mutex<Vec<Page>>>,
}

impl Receiver {
    pub fn new(secret: &str, log: PathBuf) -> Receiver {
        Receiver { secret: Arc::from(secret), log, pages: Arc::default() }
    }

    /// What arrived, oldest first.
    pub fn pages(&self) -> Vec<Page> {
        self.pages.lock().map(|p| p.clone()).unwrap_or_default()
    }

    pub fn router(&self) -> Router {
        Router::new().route("/alerts", post(receive)).route("/", get(show)).with_state(self.clone())
    }
}

/// Whether the two headers sign `body` under `secret` within the tolerance.
pub fn verify(secret: &[u8], headers: &HeaderMap, body: &[u8], now: jiff::Timestamp) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(signature)) = (header("x-kura-timestamp"), header("x-kura-signature")) else {
        return false;
    };
    let Ok(seconds) = timestamp.parse::<i64>() else { return false };
    if now.as_second().abs_diff(seconds) > TOLERANCE.as_secs() {
        return false;
    }
    let Some(given) = signature.strip_prefix("v1=").and_then(platform::signature::from_hex) else { return false };
    platform::signature::verify(secret, &[timestamp.as_bytes(), b".", body], &given)
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = jiff::Timestamp::now();
    if !verify(r.secret.as_bytes(), &headers, &body, now) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(notification) = serde_json::from_slice::<Value>(&body) else { return StatusCode::BAD_REQUEST };
    let line = json!({"received_at": now.to_string(), "notification": notification});
    let written =
        std::fs::OpenOptions::new().create(true).append(true).open(&r.log).and_then(|mut f| writeln!(f, "{line}"));
    if written.is_err() {
        // Not acknowledged: the controller's outbox delivers it again.
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if let Ok(mut pages) = r.pages.lock() {
        pages.push(Page { received_at: now, notification });
    }
    StatusCode::OK
}

async fn show(State(r): State<Receiver>) -> String {
    let pages = r.pages();
    if pages.is_empty() {
        return "no pages yet\n".into();
    }
    pages.iter().rev().map(|p| format!("{}\n", p.line())).collect()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn signed(secret: &[u8], timestamp: i64, body: &[u8]) -> HeaderMap {
        let mac = platform::signature::hmac_sha256(secret, &[timestamp.to_string().as_bytes(), b".", body]);
        let mut h = HeaderMap::new();
        h.insert("x-kura-timestamp", HeaderValue::from_str(&timestamp.to_string()).expect("header"));
        h.insert(
            "x-kura-signature",
            HeaderValue::from_str(&format!("v1={}", platform::signature::hex(&mac))).expect("header"),
        );
        h
    }

    #[test]
    fn only_a_fresh_notification_signed_with_the_secret_is_accepted() {
        let now = jiff::Timestamp::now();
        let body = br#"{"event":"firing"}"#;
        assert!(verify(b"s3cret", &signed(b"s3cret", now.as_second(), body), body, now));
        assert!(!verify(b"s3cret", &signed(b"other", now.as_second(), body), body, now));
        assert!(!verify(b"s3cret", &signed(b"s3cret", now.as_second() - 600, body), body, now), "too old");
        assert!(!verify(b"s3cret", &signed(b"s3cret", now.as_second(), body), br#"{"event":"resolved"}"#, now));
        assert!(!verify(b"s3cret", &HeaderMap::new(), body, now));
    }
}
