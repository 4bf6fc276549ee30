//! Fault injection for demos and tests (`kura incident`): an incident makes a share of one
//! journey's requests fail with a 500, or slows them down, for a while, so a journey's error
//! budget can be burned on purpose and the page watched as it fires and resolves.
//!
//! It exists only when the service is started with `--fault-injection`
//! (`FULFILLMENT_FAULT_INJECTION=true`); without it the admin routes are absent (404) and no
//! request is ever touched. Production configurations never set it. Admin listener routes:
//! * `GET /incidents` -- the active incidents.
//! * `POST /incidents` -- start one: `{"journey": "create-shipment", "error_rate": 0.5,
//!   "latency_ms": 0, "for_seconds": 600}` (a journey the service declares; rate in 0..=1;
//!   latency at most 30 s; at most a day).
//! * `DELETE /incidents` -- stop them all.
//!
//! Metrics: `fault_injection_active{journey}` (1 while an incident runs) and
//! `fault_injection_faults_total{journey, fault}` (`error` or `latency`).

use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use platform::{Problem, ProblemType};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::journeys;

/// The longest injected latency.
pub const MAX_LATENCY: Duration = Duration::from_secs(30);
/// The longest incident.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// What an operator asks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentRequest {
    pub journey: String,
    /// Share of the journey's requests answered with a 500, 0 to 1.
    #[serde(default)]
    pub error_rate: f64,
    /// Extra latency added to each of the journey's requests.
    #[serde(default)]
    pub latency_ms: u64,
    /// How long it lasts (default 10 minutes).
    #[serde(default = "default_for_seconds")]
    pub for_seconds: u64,
}

fn default_for_seconds() -> u64 {
    600
}

/// An incident in force.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    pub journey: &'static str,
    pub error_rate: f64,
    pub latency_ms: u64,
    /// Seconds until it ends by itself.
    pub remaining_seconds: u64,
    #[serde(skip)]
    ends: Instant,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JourneyLabels {
    journey: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabels {
    journey: &'static str,
    fault: &'static str,
}

/// The incidents in force; cheap to clone.
#[derive(Debug, Clone)]
pub struct Faults {
    incidents: Arc<Mutex<Vec<Incident>>>,
    active: Family<JourneyLabels, Gauge<i64, AtomicI64>>,
    injected: Family<FaultLabels, Counter>,
}

impl Faults {
    /// Fault injection for a service whose metrics are `metrics`.
    pub fn new(metrics: &telemetry::Metrics) -> Faults {
        let faults = Faults { incidents: Arc::default(), active: Family::default(), injected: Family::default() };
        metrics.register(|r| {
            r.register("fault_injection_active", "Incidents injected on purpose, per journey", faults.active.clone());
            r.register("fault_injection_faults", "Requests failed or slowed on purpose", faults.injected.clone());
        });
        faults
    }

    /// Starts an incident (replacing one on the same journey).
    pub fn start(&self, request: &IncidentRequest) -> Result<Incident, Problem> {
        let journey = journeys::ALL
            .iter()
            .find(|j| j.name() == request.journey)
            .ok_or_else(|| Problem::validation("/journey", format!("unknown journey {:?}", request.journey)))?
            .name();
        if !(0.0..=1.0).contains(&request.error_rate) {
            return Err(Problem::validation("/error_rate", "must be between 0 and 1"));
        }
        let latency = Duration::from_millis(request.latency_ms);
        if latency > MAX_LATENCY {
            return Err(Problem::validation("/latency_ms", format!("must be at most {}", MAX_LATENCY.as_millis())));
        }
        let lasts = Duration::from_secs(request.for_seconds);
        if lasts.is_zero() || lasts > MAX_DURATION {
            return Err(Problem::validation("/for_seconds", format!("must be 1 to {}", MAX_DURATION.as_secs())));
        }
        let incident = Incident {
            journey,
            error_rate: request.error_rate,
            latency_ms: request.latency_ms,
            remaining_seconds: lasts.as_secs(),
            ends: Instant::now() + lasts,
        };
        let mut incidents = self.lock();
        incidents.retain(|i| i.journey != journey);
        incidents.push(incident.clone());
        self.active.get_or_create(&JourneyLabels { journey }).set(1);
        tracing::warn!(
            journey,
            error_rate = request.error_rate,
            latency_ms = request.latency_ms,
            for_seconds = request.for_seconds,
            "incident injected"
        );
        Ok(incident)
    }

    /// Stops every incident.
    pub fn stop(&self) -> usize {
        let mut incidents = self.lock();
        for i in incidents.iter() {
            self.active.get_or_create(&JourneyLabels { journey: i.journey }).set(0);
        }
        let n = incidents.len();
        incidents.clear();
        tracing::warn!(stopped = n, "incidents stopped");
        n
    }

    /// The incidents in force (ended ones are dropped here).
    pub fn list(&self) -> Vec<Incident> {
        let now = Instant::now();
        let mut incidents = self.lock();
        incidents.retain(|i| {
            let live = i.ends > now;
            if !live {
                self.active.get_or_create(&JourneyLabels { journey: i.journey }).set(0);
            }
            live
        });
        incidents
            .iter()
            .map(|i| Incident { remaining_seconds: i.ends.saturating_duration_since(now).as_secs(), ..i.clone() })
            .collect()
    }

    fn for_journey(&self, journey: &str) -> Option<Incident> {
        self.list().into_iter().find(|i| i.journey == journey)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Incident>> {
        // The list holds no invariant a panic could break: recover it rather than stop injecting.
        self.incidents.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The middleware that applies the incidents to the public API's requests (inside the request
/// metrics, so injected failures count against the journey like real ones).
pub async fn inject(State(faults): State<Faults>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let journey = route.map(|r| journeys::ROUTES.journey(req.method().as_str(), &r));
    let Some(incident) = journey.and_then(|j| faults.for_journey(j.name())) else {
        return next.run(req).await;
    };
    if incident.latency_ms > 0 {
        faults.injected.get_or_create(&FaultLabels { journey: incident.journey, fault: "latency" }).inc();
        tokio::time::sleep(Duration::from_millis(incident.latency_ms)).await;
    }
    if incident.error_rate > 0.0 && rand::rng().random_bool(incident.error_rate) {
        faults.injected.get_or_create(&FaultLabels { journey: incident.journey, fault: "error" }).inc();
        return Problem::new(ProblemType::Internal, "a fault injected on purpose (kura incident)").into_response();
    }
    next.run(req).await
}

/// The admin routes (see the module docs).
pub fn router(faults: Faults) -> Router {
    Router::new().route("/incidents", get(list).post(start).delete(stop)).with_state(faults)
}

async fn list(State(faults): State<Faults>) -> axum::Json<Vec<Incident>> {
    axum::Json(faults.list())
}

async fn start(
    State(faults): State<Faults>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, axum::Json<Incident>), Problem> {
    let request: IncidentRequest = crate::http::extract::parse(&body).map_err(Problem::from)?;
    Ok((StatusCode::CREATED, axum::Json(faults.start(&request)?)))
}

async fn stop(State(faults): State<Faults>) -> StatusCode {
    faults.stop();
    StatusCode::NO_CONTENT
}
