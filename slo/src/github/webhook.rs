//! `POST /webhooks/github`: GitHub's deliveries, checked and stored, answered at once.
//!
//! * a missing or wrong `X-Hub-Signature-256` -- 401 `/problems/invalid-signature`, nothing
//!   stored;
//! * no `X-GitHub-Delivery` or `X-GitHub-Event` -- 422 `/problems/validation`;
//! * a body that is not JSON -- 400 `/problems/malformed-json`;
//! * an event the gate does not act on (`ping`, `issues`, a protection rule that is not
//!   `requested`, ...) -- 202 `{"status": "ignored"}`, nothing stored;
//! * otherwise the delivery is stored under its id (`slo_github_delivery`) and the worker woken:
//!   202 `{"status": "accepted"}`, or `{"status": "duplicate"}` for a redelivery, which
//!   changes nothing. The work happens after the answer ([`super::worker`]), so GitHub's
//!   10-second acknowledgement limit is never at risk.
//!
//! Deliveries are stored by one task, in **group commits**: whatever arrived while the last
//! commit was running is stored by the next one, in one transaction. A burst of deploys costs a
//! handful of fsyncs instead of one per delivery, and no delivery is answered before its commit.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jiff::Timestamp;
use platform::{Problem, ProblemType};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::GithubConfig;
use super::verify::signature_matches;
use crate::controller::Controller;

/// The events the worker acts on.
pub const EVENTS: [&str; 3] = ["deployment_protection_rule", "deployment_status", "push"];

/// At most this many deliveries share a commit.
const MAX_BATCH: usize = 256;

#[derive(Debug, Clone)]
struct Hook {
    config: Arc<GithubConfig>,
    inbox: mpsc::Sender<Arrival>,
}

/// A delivery waiting for its commit, and where to say whether it was new.
#[derive(Debug)]
struct Arrival {
    delivery: Delivery,
    stored: oneshot::Sender<Result<bool, String>>,
}

/// A delivery as stored in `slo_github_delivery`.
#[derive(Debug)]
pub struct Delivery {
    pub id: String,
    pub event: String,
    pub payload: String,
    pub received_at: Timestamp,
}

/// The webhook route, to be merged into the public router. Its storing task runs until the
/// router is dropped.
pub fn router(controller: Arc<Controller>, config: Arc<GithubConfig>) -> Router {
    let (inbox, arrivals) = mpsc::channel(4 * MAX_BATCH);
    tokio::spawn(keep(controller, arrivals));
    Router::new().route("/webhooks/github", post(receive)).with_state(Hook { config, inbox })
}

/// Stores arrivals in group commits until every sender is gone.
async fn keep(c: Arc<Controller>, mut arrivals: mpsc::Receiver<Arrival>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while arrivals.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let deliveries: Vec<&Delivery> = batch.iter().map(|a| &a.delivery).collect();
        match store(&c, &deliveries).await {
            Ok(fresh) => {
                for (arrival, fresh) in batch.drain(..).zip(fresh) {
                    let _ = arrival.stored.send(Ok(fresh));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for arrival in batch.drain(..) {
                    let _ = arrival.stored.send(Err(message.clone()));
                }
            }
        }
    }
}

/// Whether a delivery of `event` with this body is one the worker acts on.
fn wanted(event: &str, body: &Value) -> bool {
    let action = body.get("action").and_then(Value::as_str);
    match event {
        "deployment_protection_rule" => action == Some("requested"),
        "deployment_status" => body.pointer("/deployment_status/state").and_then(Value::as_str) == Some("success"),
        "push" => !body.get("deleted").and_then(Value::as_bool).unwrap_or(false),
        _ => false,
    }
}

#[tracing::instrument(skip_all, fields(delivery, event))]
async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if !signature_matches(&hook.config.webhook_secret, &body, header("x-hub-signature-256")) {
        tracing::warn!("webhook with a missing or wrong signature refused");
        return Problem::new(ProblemType::InvalidSignature, "X-Hub-Signature-256 does not match the body")
            .field("X-Hub-Signature-256")
            .into_response();
    }
    let Some(delivery) = header("x-github-delivery").filter(|d| !d.is_empty() && d.len() <= 128) else {
        return Problem::validation("X-GitHub-Delivery", "the delivery id header is required").into_response();
    };
    let Some(event) = header("x-github-event").filter(|e| !e.is_empty() && e.len() <= 64) else {
        return Problem::validation("X-GitHub-Event", "the event header is required").into_response();
    };
    tracing::Span::current().record("delivery", delivery).record("event", event);
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Problem::new(ProblemType::MalformedJson, format!("the body is not JSON: {e}")).into_response();
        }
    };
    if !wanted(event, &value) {
        tracing::debug!("webhook ignored");
        return (StatusCode::ACCEPTED, axum::Json(json!({"status": "ignored"}))).into_response();
    }
    let (stored, answer) = oneshot::channel();
    let delivery = Delivery {
        id: delivery.to_owned(),
        event: event.to_owned(),
        payload: String::from_utf8_lossy(&body).into_owned(),
        received_at: Timestamp::now(),
    };
    let outcome = match hook.inbox.send(Arrival { delivery, stored }).await {
        Ok(()) => answer.await.unwrap_or_else(|_| Err("the delivery store stopped".into())),
        Err(_) => Err("the delivery store stopped".into()),
    };
    match outcome {
        Ok(true) => {
            hook.config.wake.notify_one();
            tracing::info!("webhook accepted");
            (StatusCode::ACCEPTED, axum::Json(json!({"status": "accepted"}))).into_response()
        }
        Ok(false) => {
            tracing::info!("redelivery ignored");
            (StatusCode::ACCEPTED, axum::Json(json!({"status": "duplicate"}))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store a webhook delivery");
            // GitHub redelivers on request; a 5xx tells whoever looks that it was not kept.
            Problem::internal(e).into_response()
        }
    }
}

/// Stores `deliveries` in one transaction, each once; for each, `false` when its id was
/// already there (a redelivery, or the same id twice in the batch).
pub async fn store(c: &Controller, deliveries: &[&Delivery]) -> Result<Vec<bool>, sqlx::Error> {
    let mut tx = c.db().writer().begin().await?;
    let mut fresh = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        let done = sqlx::query(
            "insert into slo_github_delivery (delivery_id, event, payload, state, attempts, next_attempt_at, \
             status_reports, received_at, updated_at) values ($1, $2, $3, 'pending', 0, $4, 0, $4, $4) \
             on conflict (delivery_id) do nothing",
        )
        .bind(d.id.as_str())
        .bind(d.event.as_str())
        .bind(d.payload.as_str())
        .bind(d.received_at.as_millisecond())
        .execute(&mut *tx)
        .await?;
        fresh.push(done.rows_affected() == 1);
    }
    tx.commit().await?;
    Ok(fresh)
}
