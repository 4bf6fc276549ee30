//! The SLO controller: every interval it reads every SLO's counts from the configured
//! [`Source`] in one batched call, evaluates them ([`crate::eval`]), stores one history row
//! per SLO ([`history`]) and serves the result ([`crate::api`]). A library with a thin binary
//! (`slo controller`).
//!
//! **Active/standby.** On PostgreSQL only the holder of the session advisory lock
//! [`LEADER_LOCK_KEY`] evaluates; it holds the lock on a connection of its own, detached from
//! the pool, so the lock lives exactly as long as that session: a leader that exits, crashes or
//! loses its connection releases it, and a standby, which retries every interval, takes over
//! within one interval. A standby serves reads from the shared history. The leader checks its
//! lock session every cycle and steps down if it is gone (a leader that loses its session in
//! the middle of a cycle may still store that cycle: at most one interval with two writers,
//! which the history tolerates). On SQLite (one file, one process) the controller is always
//! the leader. With the embedded scraper, only the leader scrapes: the controller adopts the
//! scraper's [`leading`](crate::source::scrape::ScrapeSource::leading) flag as its own, and a
//! new leader continues from the counter values the old one stored (see
//! [`crate::source::scrape`]), so replicas count every event once.
//!
//! **Maintenance.** Before evaluating, the leader asks every `--service-maintenance`
//! endpoint whether its service is in maintenance ([`Controller::poll_service_maintenance`];
//! an endpoint that cannot be read is logged, counted and skipped) and reads the API's stored
//! windows; an SLO covered by any of them, or by its spec's own windows, is evaluated
//! `in_maintenance` ([`crate::maintenance`]).
//!
//! **Reload.** [`Controller::reload`] re-reads `--slos` (SIGHUP in [`serve`]); a spec with lint
//! errors is rejected, every problem logged as `file:line:column: message`, and the previous
//! specs stay in force.
//!
//! The admin listener (operators only, never on the public port):
//! * `GET /livez` -- the process is up.
//! * `GET /readyz` -- the database answers (503 otherwise).
//! * `GET /metrics` -- the telemetry crate's metrics and the controller's ([`metrics`]),
//!   OpenMetrics when asked for, the classic text format otherwise.
//! * `GET /debug/pprof/*` -- CPU and heap profiles (telemetry's profile router).

pub mod history;
pub mod metrics;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};
use sqlx::{AnyConnection, Connection};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};

use crate::eval::{self, Evaluation};
use crate::maintenance::{ServiceEndpoint, Window};
use crate::source::{Query, Reading, Source, SourceError};
use crate::spec::{Diagnostics, Specs};
use crate::store::{Backend, Db};
use metrics::{ControllerMetrics, OutcomeLabels, StatusLabels};

/// The PostgreSQL advisory lock key of the evaluating replica: "KuraSLO" in ASCII.
pub const LEADER_LOCK_KEY: i64 = 0x004b_7572_6153_4c4f;

/// How often the leader compacts the history ([`history::compact`]).
pub const COMPACTION_EVERY: Duration = Duration::from_secs(600);

/// What the controller is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Spec files or directories (`--slos`).
    pub slos: Vec<PathBuf>,
    pub interval: Duration,
    /// Names this replica in the history (`controller` column) and logs.
    pub instance: String,
}

/// The latest evaluation of every SLO, keyed by (service, SLO id).
pub type Current = BTreeMap<(String, String), Evaluation>;

/// The running controller; share it as `Arc<Controller>`.
#[derive(Debug)]
pub struct Controller {
    db: Db,
    source: Source,
    config: Config,
    specs: RwLock<Arc<Specs>>,
    current: RwLock<Arc<Current>>,
    /// Shared with the embedded scraper, which scrapes only while it is set.
    leader: Arc<AtomicBool>,
    /// The session holding [`LEADER_LOCK_KEY`] (PostgreSQL only).
    lock: Mutex<Option<AnyConnection>>,
    last_compaction: std::sync::Mutex<Option<Instant>>,
    /// The source's request count at the last cycle (for `slo_source_requests_total`).
    source_requests_seen: std::sync::atomic::AtomicU64,
    /// Receivers and alerting options ([`crate::alert`]); set with [`Controller::set_alerting`].
    alerting: RwLock<Arc<crate::alert::Settings>>,
    /// `--service-maintenance` endpoints; set with [`Controller::set_service_maintenance`].
    service_endpoints: RwLock<Arc<Vec<ServiceEndpoint>>>,
    /// The services' open maintenance windows, as last read.
    service_windows: RwLock<Arc<Vec<Window>>>,
    http: reqwest::Client,
    pub metrics: ControllerMetrics,
    pub telemetry: telemetry::Metrics,
}

/// What one cycle did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleReport {
    pub leader: bool,
    pub evaluated: usize,
}

impl Controller {
    /// Loads the specs (rejecting any with lint errors) and prepares a controller.
    pub fn new(db: Db, source: Source, config: Config) -> Result<Controller, Diagnostics> {
        let specs = crate::spec::load_paths(&config.slos)?;
        let metrics = ControllerMetrics::new();
        metrics.slos.set(count_slos(&specs));
        let leader = match &source {
            Source::Scrape(scraper) => scraper.leading(),
            _ => Arc::new(AtomicBool::new(false)),
        };
        leader.store(false, Ordering::Relaxed);
        Ok(Controller {
            db,
            source,
            config,
            specs: RwLock::new(Arc::new(specs)),
            current: RwLock::new(Arc::new(Current::new())),
            leader,
            lock: Mutex::new(None),
            last_compaction: std::sync::Mutex::new(None),
            source_requests_seen: std::sync::atomic::AtomicU64::new(0),
            alerting: RwLock::default(),
            service_endpoints: RwLock::default(),
            service_windows: RwLock::default(),
            http: reqwest::Client::new(),
            metrics,
            telemetry: telemetry::Metrics::new(),
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The specs in force.
    pub fn specs(&self) -> Arc<Specs> {
        self.specs.read().map(|s| Arc::clone(&s)).unwrap_or_default()
    }

    /// The latest evaluation of every SLO (this replica's, or the leader's from the history).
    pub fn current(&self) -> Arc<Current> {
        self.current.read().map(|c| Arc::clone(&c)).unwrap_or_default()
    }

    /// Configures alerting (before [`serve`]: the delivery task reads it when it starts).
    pub fn set_alerting(&self, settings: crate::alert::Settings) {
        if let Ok(mut a) = self.alerting.write() {
            *a = Arc::new(settings);
        }
    }

    pub fn alerting(&self) -> Arc<crate::alert::Settings> {
        self.alerting.read().map(|a| Arc::clone(&a)).unwrap_or_default()
    }

    /// Where to read the services' maintenance mode (`--service-maintenance`).
    pub fn set_service_maintenance(&self, endpoints: Vec<ServiceEndpoint>) {
        if let Ok(mut e) = self.service_endpoints.write() {
            *e = Arc::new(endpoints);
        }
    }

    /// The services' open maintenance windows, as last read.
    pub fn service_windows(&self) -> Arc<Vec<Window>> {
        self.service_windows.read().map(|w| Arc::clone(&w)).unwrap_or_default()
    }

    /// Asks every `--service-maintenance` endpoint whether its service is in maintenance and
    /// keeps the open windows for the next evaluations. An endpoint that cannot be read is
    /// logged and counted (`slo_maintenance_errors_total`) and treated as not in maintenance;
    /// it never fails the cycle. Returns the windows now open.
    pub async fn poll_service_maintenance(&self, now: Timestamp) -> Arc<Vec<Window>> {
        let endpoints = self.service_endpoints.read().map(|e| Arc::clone(&e)).unwrap_or_default();
        let answers =
            futures::future::join_all(endpoints.iter().map(|e| crate::maintenance::read_service(&self.http, e, now)))
                .await;
        let mut windows = Vec::new();
        for (endpoint, answer) in endpoints.iter().zip(answers) {
            match answer {
                Ok(Some(w)) => windows.push(w),
                Ok(None) => {}
                Err(error) => {
                    self.metrics.maintenance_errors.inc();
                    tracing::warn!(service = %endpoint.service, url = %endpoint.url, %error, "cannot read the service's maintenance mode; assuming off");
                }
            }
        }
        let windows = Arc::new(windows);
        if let Ok(mut w) = self.service_windows.write() {
            *w = Arc::clone(&windows);
        }
        windows
    }

    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    /// Re-reads the spec paths. With lint errors the old specs stay and every problem is
    /// logged with its `file:line:column`; otherwise returns the number of SLOs now loaded.
    pub fn reload(&self) -> Result<usize, Diagnostics> {
        match crate::spec::load_paths(&self.config.slos) {
            Ok(specs) => {
                let n = count_slos(&specs);
                if let Ok(mut s) = self.specs.write() {
                    *s = Arc::new(specs);
                }
                self.metrics.slos.set(n);
                self.metrics.reloads.get_or_create(&OutcomeLabels { outcome: "applied" }).inc();
                tracing::info!(slos = n, "specs reloaded");
                Ok(usize::try_from(n).unwrap_or(0))
            }
            Err(diagnostics) => {
                self.metrics.reloads.get_or_create(&OutcomeLabels { outcome: "rejected" }).inc();
                for d in diagnostics.iter() {
                    tracing::error!(location = %format_args!("{}:{}:{}", d.file.display(), d.line, d.column), message = %d.message, "spec rejected");
                }
                tracing::error!(problems = diagnostics.len(), "reload rejected; the previous specs stay in force");
                Err(diagnostics)
            }
        }
    }

    /// Takes (or confirms) the evaluation lock. Always true on SQLite.
    pub async fn try_lead(&self) -> bool {
        let leading = match self.db.backend() {
            Backend::Sqlite => true,
            Backend::Postgres => self.try_lock().await,
        };
        let was = self.leader.swap(leading, Ordering::Relaxed);
        if was != leading {
            tracing::info!(instance = %self.config.instance, leader = leading, "leadership changed");
        }
        self.metrics.leader.set(i64::from(leading));
        leading
    }

    async fn try_lock(&self) -> bool {
        let mut lock = self.lock.lock().await;
        if let Some(conn) = lock.as_mut() {
            // Still our session? If not, the lock went with it.
            if conn.ping().await.is_ok() {
                return true;
            }
            tracing::warn!("the leader lock session is gone; stepping down");
            *lock = None;
        }
        let mut conn = match self.db.writer().acquire().await {
            Ok(c) => c.detach(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot open a session for the leader lock");
                return false;
            }
        };
        match sqlx::query_scalar::<_, bool>("select pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK_KEY)
            .fetch_one(&mut conn)
            .await
        {
            Ok(true) => {
                *lock = Some(conn);
                true
            }
            Ok(false) => {
                let _ = conn.close().await;
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "pg_try_advisory_lock failed");
                false
            }
        }
    }

    /// Gives the lock up (graceful shutdown): a standby takes over at its next interval.
    pub async fn release(&self) {
        if let Some(conn) = self.lock.lock().await.take() {
            let _ = conn.close().await;
        }
        self.leader.store(false, Ordering::Relaxed);
        self.metrics.leader.set(0);
    }

    /// One cycle at `now`: the leader reads the source and records; a standby refreshes its
    /// view from the history.
    #[tracing::instrument(skip_all, fields(instance = %self.config.instance))]
    pub async fn cycle(&self, now: Timestamp) -> Result<CycleReport, sqlx::Error> {
        if !self.try_lead().await {
            self.refresh_from_history(now).await?;
            return Ok(CycleReport { leader: false, evaluated: 0 });
        }
        let start = Instant::now();
        let specs = self.specs();
        let queries: Vec<Query> =
            specs.iter().flat_map(|spec| spec.slos().map(move |slo| Query::for_slo(spec, slo, now))).collect();
        let (readings, _) = tokio::join!(self.source.read(&queries, now), self.poll_service_maintenance(now));
        let issued = self.source.queries_issued();
        let before = self.source_requests_seen.swap(issued, Ordering::Relaxed);
        self.metrics.source_requests.inc_by(issued.saturating_sub(before));
        let evaluated = self.record_with(&specs, now, readings).await?;
        self.metrics.evaluation_duration.observe(start.elapsed().as_secs_f64());
        self.maybe_compact(now).await;
        Ok(CycleReport { leader: true, evaluated })
    }

    /// Evaluates the loaded specs' SLOs (in spec order) from `readings` (one per SLO, same
    /// order) and stores the results: the part of a cycle after the source read, for callers
    /// that have readings from elsewhere (tests, benchmarks, replays).
    pub async fn record(
        &self,
        now: Timestamp,
        readings: Vec<Result<Reading, SourceError>>,
    ) -> Result<usize, sqlx::Error> {
        let specs = self.specs();
        self.record_with(&specs, now, readings).await
    }

    async fn record_with(
        &self,
        specs: &Specs,
        now: Timestamp,
        readings: Vec<Result<Reading, SourceError>>,
    ) -> Result<usize, sqlx::Error> {
        // The history keeps milliseconds: the evaluations served from memory say the same.
        let now = Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now);
        let mut windows: Vec<Window> = self.service_windows().iter().cloned().collect();
        match crate::maintenance::list(&self.db, now).await {
            Ok(stored) => windows.extend(stored),
            Err(e) => tracing::warn!(error = %e, "cannot read the stored maintenance windows"),
        }
        let mut readings = readings.into_iter();
        let mut evaluations = Vec::new();
        for spec in specs {
            for slo in spec.slos() {
                let reading = readings.next().unwrap_or(Err(SourceError::Query("the source gave no answer".into())));
                if reading.is_err() {
                    self.metrics.source_errors.inc();
                }
                let covered = windows.iter().any(|w| w.covers(&spec.service, &slo.journey, &slo.id, now));
                let e = eval::evaluate_in(spec, slo, &reading, now, covered);
                self.metrics.evaluations.get_or_create(&StatusLabels { status: e.status.as_str() }).inc();
                evaluations.push(e);
            }
        }
        history::insert(&self.db, &self.config.instance, &evaluations).await?;
        if let Err(e) = crate::alert::process(&self.db, specs, &evaluations, now, &self.alerting()).await {
            tracing::error!(error = %e, "alert processing failed; retried next cycle");
        }
        let n = evaluations.len();
        self.set_current(evaluations);
        Ok(n)
    }

    fn set_current(&self, evaluations: Vec<Evaluation>) {
        let current: Current = evaluations.into_iter().map(|e| ((e.service.clone(), e.slo.clone()), e)).collect();
        if let Ok(mut c) = self.current.write() {
            *c = Arc::new(current);
        }
    }

    /// A standby's view: the newest row of each SLO from the last few intervals.
    pub async fn refresh_from_history(&self, now: Timestamp) -> Result<(), sqlx::Error> {
        let lookback = SignedDuration::try_from(self.config.interval * 10)
            .unwrap_or(SignedDuration::from_hours(1))
            .max(SignedDuration::from_mins(10));
        let rows = history::latest(&self.db, now.saturating_sub(lookback).unwrap_or(now)).await?;
        self.set_current(rows);
        Ok(())
    }

    async fn maybe_compact(&self, now: Timestamp) {
        let due = self
            .last_compaction
            .lock()
            .map(|mut last| {
                let due = last.is_none_or(|t| t.elapsed() >= COMPACTION_EVERY);
                if due {
                    *last = Some(Instant::now());
                }
                due
            })
            .unwrap_or(false);
        if !due {
            return;
        }
        let result = self
            .telemetry
            .run_job("slo-history-compaction", telemetry::Journey::NONE, history::compact(&self.db, now))
            .await;
        match result {
            Ok(deleted) => tracing::info!(deleted, "history compacted"),
            Err(e) => tracing::warn!(error = %e, "history compaction failed"),
        }
    }

    /// Runs a cycle every interval until `stop` turns true, then releases the lock.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(self.config.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            if let Err(e) = self.cycle(Timestamp::now()).await {
                tracing::error!(error = %e, "evaluation cycle failed");
            }
        }
        self.release().await;
    }
}

fn count_slos(specs: &Specs) -> i64 {
    i64::try_from(specs.iter().map(|s| s.slos().count()).sum::<usize>()).unwrap_or(i64::MAX)
}

/// Where to listen and how long to drain.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub drain: Duration,
}

/// The admin listener's routes (see the module docs).
pub fn admin_router(controller: Arc<Controller>) -> Router {
    telemetry::profile::router()
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|State(c): State<Arc<Controller>>, headers: axum::http::HeaderMap| async move {
                metrics::exposition(&c.telemetry, &c.metrics, &headers)
            }),
        )
        .with_state(controller)
}

async fn readyz(State(c): State<Arc<Controller>>) -> impl IntoResponse {
    match sqlx::query("select 1").execute(c.db.reader()).await {
        Ok(_) => (StatusCode::OK, "ready".to_owned()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("database: {e}")),
    }
}

/// Binds both listeners and serves until `shutdown` resolves.
pub async fn serve(
    controller: Arc<Controller>,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let public = TcpListener::bind(config.listen).await?;
    let admin = TcpListener::bind(config.admin_listen).await?;
    run(controller, public, admin, config.drain, shutdown).await
}

/// Serves on bound listeners (tests bind port 0): the API, the admin listener, the evaluation
/// loop and, on Unix, reload on SIGHUP. On `shutdown`: stop the loop (releasing the lock),
/// drain requests for up to `drain`, exit.
pub async fn run(
    controller: Arc<Controller>,
    public: TcpListener,
    admin: TcpListener,
    drain: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tracing::info!(public = %public.local_addr()?, admin = %admin.local_addr()?, instance = %controller.config.instance, "slo controller listening");
    let mut api_stop = stop_rx.clone();
    let api = axum::serve(public, crate::api::router(Arc::clone(&controller))).with_graceful_shutdown(async move {
        let _ = api_stop.wait_for(|s| *s).await;
    });
    let mut admin_stop = stop_rx.clone();
    let admin = axum::serve(admin, admin_router(Arc::clone(&controller))).with_graceful_shutdown(async move {
        let _ = admin_stop.wait_for(|s| *s).await;
    });
    let api_task = tokio::spawn(async move { api.await });
    let admin_task = tokio::spawn(async move { admin.await });
    let loop_task = tokio::spawn(Arc::clone(&controller).run(stop_rx.clone()));
    let leader = Arc::clone(&controller);
    let delivery_task = tokio::spawn(crate::alert::outbox::run(
        controller.db.clone(),
        controller.alerting(),
        controller.metrics.alerts.clone(),
        move || leader.is_leader(),
        stop_rx.clone(),
    ));
    let reload_task = tokio::spawn(reload_on_hangup(Arc::clone(&controller), stop_rx));

    shutdown.await;
    tracing::info!(drain_seconds = drain.as_secs(), "shutting down: stopping evaluation, draining requests");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), loop_task).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), delivery_task).await;
    match tokio::time::timeout(drain, api_task).await {
        Ok(result) => result.map_err(std::io::Error::other)??,
        Err(_) => tracing::warn!("drain deadline passed; abandoning requests still in flight"),
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), admin_task).await;
    reload_task.abort();
    controller.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(unix)]
async fn reload_on_hangup(controller: Arc<Controller>, mut stop: watch::Receiver<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; reload by restarting");
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading specs");
                let _ = controller.reload();
            }
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(not(unix))]
async fn reload_on_hangup(_: Arc<Controller>, _: watch::Receiver<bool>) {}

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
