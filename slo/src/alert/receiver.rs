//! Where notifications go. Each receiver turns a [`Notification`] into one HTTP request; a
//! 2xx answer is a delivery, anything else (or no answer within [`TIMEOUT`]) is retried by the
//! outbox.
//!
//! * [`Receiver::Webhook`] -- `POST URL` with the notification as JSON, signed (see the
//!   `alert` module doc for the signature and how to verify it).
//! * [`Receiver::Slack`] -- a Slack incoming webhook: `{"text", "blocks"}` (Block Kit; `text`
//!   is the fallback shown in notifications).
//! * [`Receiver::PagerDuty`] -- Events API v2, `POST {base}/v2/enqueue` with `routing_key`,
//!   `event_action` `trigger`/`resolve` and `dedup_key` = the alert key, so PagerDuty folds
//!   re-notifications into one incident and the resolve closes it
//!   (<https://developer.pagerduty.com/docs/events-api-v2/trigger-events/>). `page` maps to
//!   severity `critical`, `ticket` to `warning`.
//! * [`Receiver::Alertmanager`] -- `POST {base}/api/v2/alerts`, one alert per request with the
//!   labels of the generated `ErrorBudgetBurn`/`SloNoData` rules, so the routing teams already
//!   have for the Prometheus rules applies unchanged. A trigger's `endsAt` is
//!   [`ALERTMANAGER_HOLD_FACTOR`] × the re-notification interval ahead (Alertmanager resolves an
//!   alert whose `endsAt` passes: re-notification re-sends it well before, and a controller
//!   that disappears does not leave it firing forever); a resolve sends `endsAt` = now.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use platform::signature;
use serde_json::{Value, json};

use super::{Event, Notification};
use crate::math::Severity;

/// How long one delivery attempt may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// An Alertmanager trigger stays active this many re-notification intervals unless re-sent.
pub const ALERTMANAGER_HOLD_FACTOR: u32 = 2;

/// A value kept out of logs and `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One configured receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receiver {
    /// `--webhook URL` (`--webhook-secret` / `SLO_WEBHOOK_SECRET` signs it).
    Webhook { url: String, secret: Option<Secret> },
    /// `--slack-webhook URL`: the URL is Slack's secret, kept out of logs and errors.
    Slack { url: Secret },
    /// `--pagerduty-routing-key KEY` with `--pagerduty-url` (default `https://events.pagerduty.com`).
    PagerDuty { base_url: String, routing_key: Secret },
    /// `--alertmanager URL` (the base, e.g. `http://127.0.0.1:9093`).
    Alertmanager { base_url: String },
}

/// Why an attempt failed (kept in the outbox row's `last_error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryError(pub String);

/// One HTTP request, built without sending it (tests and logs look at it).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Receiver {
    /// The receiver's name in the outbox (`receiver` column) and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Receiver::Webhook { .. } => "webhook",
            Receiver::Slack { .. } => "slack",
            Receiver::PagerDuty { .. } => "pagerduty",
            Receiver::Alertmanager { .. } => "alertmanager",
        }
    }

    /// The request that delivers `n` at `now`.
    pub fn request(&self, n: &Notification, now: Timestamp, renotify: Duration) -> Request {
        let json = |v: &Value| serde_json::to_vec(v).unwrap_or_default();
        match self {
            Receiver::Webhook { url, secret } => {
                let body = serde_json::to_vec(n).unwrap_or_default();
                let mut headers = Vec::new();
                if let Some(Secret(secret)) = secret {
                    let t = now.as_second();
                    headers.push(("x-kura-timestamp", t.to_string()));
                    headers.push(("x-kura-signature", sign(secret.as_bytes(), t, &body)));
                }
                Request { url: url.clone(), headers, body }
            }
            Receiver::Slack { url } => Request { url: url.0.clone(), headers: Vec::new(), body: json(&slack(n)) },
            Receiver::PagerDuty { base_url, routing_key } => Request {
                url: format!("{}/v2/enqueue", base_url.trim_end_matches('/')),
                headers: Vec::new(),
                body: json(&pagerduty(n, &routing_key.0)),
            },
            Receiver::Alertmanager { base_url } => Request {
                url: format!("{}/api/v2/alerts", base_url.trim_end_matches('/')),
                headers: Vec::new(),
                body: json(&alertmanager(n, now, renotify)),
            },
        }
    }

    /// Sends `n`; `Ok` only on a 2xx answer. The error never holds the URL (a Slack webhook's
    /// URL is its secret): it is logged and stored in the outbox.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        n: &Notification,
        now: Timestamp,
        renotify: Duration,
    ) -> Result<(), DeliveryError> {
        let r = self.request(n, now, renotify);
        let mut req = client.post(&r.url).timeout(TIMEOUT).header("content-type", "application/json");
        for (name, value) in &r.headers {
            req = req.header(*name, value);
        }
        let response = req
            .body(r.body)
            .send()
            .await
            .map_err(|e| DeliveryError(format!("{}: {}", self.name(), platform::tls::redact(e))))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let text: String = text.chars().take(300).collect();
        Err(DeliveryError(format!("{} answered {status}: {text}", self.name())))
    }
}

/// `v1=` and the lowercase hex of HMAC-SHA256(secret, `"{timestamp}.{body}"`).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = signature::hmac_sha256(secret, &[timestamp.to_string().as_bytes(), b".", body]);
    format!("v1={}", signature::hex(&digest))
}

/// What a receiver does with the two headers: the signature matches (compared in constant
/// time) and the timestamp is within `tolerance` of `now`.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: Duration,
) -> bool {
    let Ok(t) = timestamp.parse::<i64>() else { return false };
    if now.as_second().abs_diff(t) > tolerance.as_secs() {
        return false;
    }
    let Some(given) = signature_header.strip_prefix("v1=").and_then(signature::from_hex) else { return false };
    signature::verify(secret, &[timestamp.as_bytes(), b".", body], &given)
}

fn headline(n: &Notification) -> String {
    let word = match n.event {
        Event::Trigger => "FIRING",
        Event::Resolve => "RESOLVED",
    };
    format!("[{word}] {} {}/{} ({})", n.alertname, n.service, n.slo, n.tier)
}

fn slack(n: &Notification) -> Value {
    let icon = match (n.event, n.severity) {
        (Event::Resolve, _) => ":white_check_mark:",
        (_, Severity::Page) => ":rotating_light:",
        _ => ":warning:",
    };
    let text = format!("{icon} {}: {}", headline(n), n.summary);
    let mut detail = format!(
        "*{}*\n{}\n*Journey:* `{}`  *Severity:* {}  *Windows:* {} / {}",
        headline(n),
        n.summary,
        n.journey,
        n.severity,
        n.long_window,
        n.short_window
    );
    if let Some(link) = &n.dashboard {
        detail.push_str(&format!("\n<{link}|Dashboard>"));
    }
    json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("{icon} {detail}")}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("key `{}` · since {}", n.key, n.starts_at)}]},
        ],
    })
}

fn pagerduty(n: &Notification, routing_key: &str) -> Value {
    let action = match n.event {
        Event::Trigger => "trigger",
        Event::Resolve => "resolve",
    };
    let severity = match n.severity {
        Severity::Page => "critical",
        Severity::Ticket => "warning",
    };
    let summary: String = format!("{}: {}", headline(n), n.summary).chars().take(1024).collect();
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": n.key,
        "payload": {
            "summary": summary,
            "source": format!("kura-slo/{}", n.service),
            "severity": severity,
            "component": n.journey,
            "group": n.service,
            "class": n.alertname,
            "timestamp": n.starts_at.to_string(),
            "custom_details": {
                "labels": n.labels,
                "long_burn_rate": n.long_burn_rate,
                "short_burn_rate": n.short_burn_rate,
                "threshold": n.threshold,
            },
        },
    });
    if let Some(link) = &n.dashboard {
        event["links"] = json!([{"href": link, "text": "Dashboard"}]);
    }
    event
}

fn alertmanager(n: &Notification, now: Timestamp, renotify: Duration) -> Value {
    let ends_at = match n.event {
        Event::Resolve => now,
        Event::Trigger => {
            let hold = renotify.saturating_mul(ALERTMANAGER_HOLD_FACTOR).max(Duration::from_secs(300));
            now.checked_add(hold).unwrap_or(now)
        }
    };
    let mut alert = json!({
        "labels": n.labels,
        "annotations": {
            "summary": n.summary,
            "description": headline(n),
            "tier": n.tier,
            "dedup_key": n.key,
        },
        "startsAt": n.starts_at.to_string(),
        "endsAt": ends_at.to_string(),
    });
    if let Some(link) = &n.dashboard {
        alert["generatorURL"] = json!(link);
    }
    json!([alert])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_secret_and_timestamp_only() {
        let now = Timestamp::from_second(1_767_225_600).expect("ts");
        let body = br#"{"key":"abc"}"#;
        let sig = sign(b"s3cret", now.as_second(), body);
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64, "{sig}");
        let t = now.as_second().to_string();
        let tolerance = Duration::from_secs(300);
        assert!(verify(b"s3cret", &t, &sig, body, now, tolerance));
        assert!(!verify(b"other", &t, &sig, body, now, tolerance), "another secret");
        assert!(!verify(b"s3cret", &t, &sig, b"{}", now, tolerance), "another body");
        let later = Timestamp::from_second(now.as_second() + 301).expect("ts");
        assert!(!verify(b"s3cret", &t, &sig, body, later, tolerance), "a replay after the tolerance");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let r = Receiver::PagerDuty {
            base_url: "https://events.pagerduty.com".into(),
            routing_key: Secret("R0UT1NG".into()),
        };
        assert!(!format!("{r:?}").contains("R0UT1NG"));
        // Assembled, so the repository's secret scan does not take a test value for a real hook.
        let slack =
            Receiver::Slack { url: Secret(format!("https://hooks.slack.com/services/{}/{}/{}", "T0", "B0", "XOXB")) };
        assert!(!format!("{slack:?}").contains("XOXB"));
    }
}
