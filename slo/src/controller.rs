//! The SLO controller: every interval it reads every SLO's counts from the configured
//! [`Source`] in one batched call, evaluates them ([`crate::eval`]), stores one history row per
//! SLO ([`history`]), advances the alerts ([`crate::alert`]) and keeps the result for the API
//! and the dashboard ([`Controller::current`]). A library with a thin binary (`slo controller`);
//! [`crate::server`] serves it.
//!
//! **Built once.** `main` loads the specs, opens the database, builds the source and the HTTP
//! client from the binary's TLS roots, and hands them over in [`Deps`]; [`Controller::new`]
//! takes nothing else and nothing is set afterwards. What changes while it runs -- the specs
//! (on reload), the current evaluations, the services' maintenance windows -- is swapped whole
//! behind an [`ArcSwap`]: a reader gets the last complete value without a lock, never an empty
//! one.
//!
//! **Active/standby** ([`leader`]). On PostgreSQL only the holder of the advisory lock
//! evaluates; a standby serves reads from the shared history ([`Controller::refresh_from_history`]).
//! A leader that loses its session in the middle of a cycle may still store that cycle: at most
//! one interval with two writers, which the history tolerates. On SQLite the controller is
//! always the leader. With the embedded scraper, only the leader scrapes: the controller adopts
//! the scraper's [`leading`](crate::source::scrape::ScrapeSource::leading) flag as its own, and
//! a new leader continues from the counter values the old one stored (see
//! [`crate::source::scrape`]), so replicas count every event once.
//!
//! **Maintenance.** Before evaluating, the leader asks every `--service-maintenance` endpoint
//! whether its service is in maintenance ([`Controller::poll_service_maintenance`]; an endpoint
//! that cannot be read is logged, counted and skipped) and reads the API's stored windows; an
//! SLO covered by any of them, or by its spec's own windows, is evaluated `in_maintenance`
//! ([`crate::maintenance`]).
//!
//! **Reload.** [`Controller::reload`] re-reads `--slos` (SIGHUP, see [`crate::server`]); a spec
//! with lint errors is rejected, every problem logged as `file:line:column: message`, and the
//! previous specs stay in force.

pub mod history;
pub mod leader;
pub mod metrics;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use jiff::{SignedDuration, Timestamp};
use platform::Db;
use tokio::sync::watch;

use crate::alert::Settings;
use crate::eval::{self, Evaluation};
use crate::maintenance::{ServiceEndpoint, Window};
use crate::source::{Query, Readings, Source, SourceError};
use crate::spec::{Diagnostics, SloKey, Specs};
use leader::Leader;
use metrics::{ControllerMetrics, OutcomeLabels, StatusLabels};

/// How often the leader compacts the history ([`history::compact`]).
pub const COMPACTION_EVERY: Duration = Duration::from_secs(600);

/// What the controller is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Spec files or directories (`--slos`), re-read on reload.
    pub slos: Vec<PathBuf>,
    pub interval: Duration,
    /// Names this replica in the history (`controller` column) and logs.
    pub instance: String,
    /// Where people reach this controller (`--external-url`): the base of the specs' path
    /// `dashboard` templates in notifications.
    pub external_url: String,
}

/// Everything the controller is built from, made once in `main` (or a test).
#[derive(Debug)]
pub struct Deps {
    pub db: Db,
    /// The specs `config.slos` held at start-up, already checked.
    pub specs: Specs,
    pub source: Source,
    pub config: Config,
    /// Receivers and alerting options.
    pub alerting: Settings,
    /// `--service-maintenance` endpoints.
    pub service_maintenance: Vec<ServiceEndpoint>,
    /// The client for receivers and maintenance endpoints, built from the binary's TLS roots
    /// (`platform::tls::Tls`).
    pub http: reqwest::Client,
    /// The binary's metrics registry; the controller registers its own families in it.
    pub telemetry: telemetry::Metrics,
}

/// The latest evaluation of every SLO.
pub type Current = BTreeMap<SloKey, Evaluation>;

/// The running controller; share it as `Arc<Controller>`.
#[derive(Debug)]
pub struct Controller {
    db: Db,
    source: Source,
    config: Config,
    specs: ArcSwap<Specs>,
    current: ArcSwap<Current>,
    /// The services' open maintenance windows, as last read.
    service_windows: ArcSwap<Vec<Window>>,
    leader: Leader,
    last_compaction: std::sync::Mutex<Option<Instant>>,
    /// The source's request count at the last cycle (for `slo_source_requests_total`).
    source_requests_seen: AtomicU64,
    alerting: Arc<Settings>,
    service_endpoints: Vec<ServiceEndpoint>,
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
    pub fn new(deps: Deps) -> Controller {
        let Deps { db, mut specs, source, config, alerting, service_maintenance, http, telemetry } = deps;
        for spec in &mut specs {
            spec.external_url.clone_from(&config.external_url);
        }
        let metrics = ControllerMetrics::register(&telemetry);
        metrics.slos.set(count_slos(&specs));
        for e in &service_maintenance {
            if !specs.iter().any(|s| s.service == e.service) {
                tracing::warn!(service = %e.service, "--service-maintenance names a service no spec has");
            }
        }
        let flag = match &source {
            Source::Scrape(scraper) => scraper.leading(),
            _ => Arc::new(AtomicBool::new(false)),
        };
        Controller {
            db,
            source,
            config,
            specs: ArcSwap::from_pointee(specs),
            current: ArcSwap::from_pointee(Current::new()),
            service_windows: ArcSwap::from_pointee(Vec::new()),
            leader: Leader::new(flag),
            last_compaction: std::sync::Mutex::new(None),
            source_requests_seen: AtomicU64::new(0),
            alerting: Arc::new(alerting),
            service_endpoints: service_maintenance,
            http,
            metrics,
            telemetry,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The specs in force.
    pub fn specs(&self) -> Arc<Specs> {
        self.specs.load_full()
    }

    /// The latest evaluation of every SLO (this replica's, or the leader's from the history).
    pub fn current(&self) -> Arc<Current> {
        self.current.load_full()
    }

    /// Receivers and alerting options.
    pub fn alerting(&self) -> Arc<Settings> {
        Arc::clone(&self.alerting)
    }

    /// The client for receivers and maintenance endpoints.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The services' open maintenance windows, as last read.
    pub fn service_windows(&self) -> Arc<Vec<Window>> {
        self.service_windows.load_full()
    }

    /// Asks every `--service-maintenance` endpoint whether its service is in maintenance and
    /// keeps the open windows for the next evaluations. An endpoint that cannot be read is
    /// logged and counted (`slo_maintenance_errors_total`) and treated as not in maintenance;
    /// it never fails the cycle. Returns the windows now open.
    pub async fn poll_service_maintenance(&self, now: Timestamp) -> Arc<Vec<Window>> {
        let answers = futures::future::join_all(
            self.service_endpoints.iter().map(|e| crate::maintenance::read_service(&self.http, e, now)),
        )
        .await;
        let mut windows = Vec::new();
        for (endpoint, answer) in self.service_endpoints.iter().zip(answers) {
            match answer {
                Ok(Some(w)) => windows.push(w),
                Ok(None) => {}
                Err(error) => {
                    self.metrics.maintenance_errors.inc();
                    tracing::warn!(service = %endpoint.service, %error, "cannot read the service's maintenance mode; assuming off");
                }
            }
        }
        let windows = Arc::new(windows);
        self.service_windows.store(Arc::clone(&windows));
        windows
    }

    pub fn is_leader(&self) -> bool {
        self.leader.is_leader()
    }

    /// Re-reads the spec paths. With lint errors the old specs stay and every problem is
    /// logged with its `file:line:column`; otherwise returns the number of SLOs now loaded.
    pub fn reload(&self) -> Result<usize, Diagnostics> {
        match crate::spec::load_paths(&self.config.slos) {
            Ok(mut specs) => {
                for spec in &mut specs {
                    spec.external_url.clone_from(&self.config.external_url);
                }
                let n = count_slos(&specs);
                self.specs.store(Arc::new(specs));
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
        let (leading, changed) = self.leader.try_lead(&self.db).await;
        if changed {
            tracing::info!(instance = %self.config.instance, leader = leading, "leadership changed");
        }
        self.metrics.leader.set(i64::from(leading));
        leading
    }

    /// Gives the lock up (graceful shutdown): a standby takes over at its next interval.
    pub async fn release(&self) {
        self.leader.release().await;
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

    /// Evaluates the loaded specs' SLOs from `readings` (an SLO without one is `no-data`) and
    /// stores the results: the part of a cycle after the source read, for callers that have
    /// readings from elsewhere (tests, benchmarks, replays).
    pub async fn record(&self, now: Timestamp, readings: Readings) -> Result<usize, sqlx::Error> {
        let specs = self.specs();
        self.record_with(&specs, now, readings).await
    }

    async fn record_with(&self, specs: &Specs, now: Timestamp, mut readings: Readings) -> Result<usize, sqlx::Error> {
        // The history keeps milliseconds: the evaluations served from memory say the same.
        let now = Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now);
        let mut windows: Vec<Window> = self.service_windows().iter().cloned().collect();
        match crate::maintenance::list(&self.db, now).await {
            Ok(stored) => windows.extend(stored),
            Err(e) => tracing::warn!(error = %e, "cannot read the stored maintenance windows"),
        }
        let mut evaluations = Vec::new();
        for spec in specs {
            for slo in spec.slos() {
                let reading = readings
                    .remove(&spec.key(slo))
                    .unwrap_or_else(|| Err(SourceError::Query("the source gave no answer".into())));
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
        if let Err(e) = crate::alert::process(&self.db, specs, &evaluations, now, &self.alerting).await {
            tracing::error!(error = %e, "alert processing failed; retried next cycle");
        }
        let n = evaluations.len();
        self.set_current(evaluations);
        Ok(n)
    }

    fn set_current(&self, evaluations: Vec<Evaluation>) {
        let current: Current = evaluations.into_iter().map(|e| (e.key(), e)).collect();
        self.current.store(Arc::new(current));
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
        let due = {
            // A panic elsewhere while holding this lock changes nothing it guards: go on.
            let mut last = self.last_compaction.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = last.is_none_or(|t| t.elapsed() >= COMPACTION_EVERY);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
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
