//! Background jobs, each a loop with its own period, safe to run on every replica:
//! - cut-off waves: at each warehouse's cut-off, release today's allocated shipments (the
//!   unique `wave_cutoff_once` index makes it happen once per warehouse and day);
//! - backorder sweep: re-allocate backorders every 30 minutes (OPENLOGI sweeps twice an
//!   hour; `--backorder-sweep-interval`), as a backstop to the re-allocation that putaway
//!   already does;
//! - storage billing: bill yesterday's storage once per warehouse and day;
//! - idempotency purge: delete `Idempotency-Key` records past their 24 h retention;
//! - maintenance refresh: follow maintenance switches made on other replicas.
//!
//! Every run is measured (`job_runs_total`, `job_duration_seconds`) under its journey. Jobs
//! that work warehouse by warehouse go on to the next warehouse when one fails: each failure
//! is logged with the database's message and counted in
//! `job_failures_total{job, journey, scope="warehouse:ID"}`, and the run counts as failed.

use std::time::Duration;

use tokio::sync::watch;

use crate::db::warehouses::Warehouse;
use crate::db::{billing, idempotency, shipments, warehouses, waves};
use crate::domain::Error;
use crate::http::AppState;
use crate::journeys;

/// Why a job run failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Domain(#[from] Error),
    /// Some warehouses failed (each is logged and counted); the others were done.
    #[error("{failed} of {total} warehouses failed")]
    Partial { failed: usize, total: usize },
}

/// How often the backorder sweep runs unless configured otherwise: OPENLOGI sweeps twice an hour.
pub const BACKORDER_SWEEP_INTERVAL: Duration = Duration::from_secs(30 * 60);

/// Runs every job until `shutdown` flips to true; the backorder sweep every `sweep`.
pub async fn run(state: AppState, sweep: Duration, shutdown: watch::Receiver<bool>) {
    let s = &state;
    tokio::join!(
        every(s, "cutoff-waves", Duration::from_secs(20), shutdown.clone(), || cutoff_waves(s)),
        every(s, "backorder-sweep", sweep, shutdown.clone(), || backorder_sweep(s)),
        every(s, "storage-billing", Duration::from_secs(60 * 60), shutdown.clone(), || storage_billing(s)),
        every(s, "idempotency-purge", Duration::from_secs(10 * 60), shutdown.clone(), || async {
            let purged = idempotency::purge(&s.db, jiff::Timestamp::now()).await?;
            if purged > 0 {
                tracing::info!(purged, "expired idempotency keys deleted");
            }
            Ok(())
        }),
        every(s, "maintenance-refresh", Duration::from_secs(2), shutdown.clone(), || async {
            Ok(s.refresh_maintenance().await?)
        }),
    );
}

/// Runs `job` every `period`, measuring each run under the job's declared journey.
async fn every<F, Fut>(
    state: &AppState,
    name: &'static str,
    period: Duration,
    mut shutdown: watch::Receiver<bool>,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), JobError>>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = state.metrics.run_job(name, journeys::of_job(name), job()).await {
                    tracing::warn!(job = name, error = %e, "background job failed; will retry next period");
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Runs `work` for every warehouse; a warehouse that fails is logged and counted, and the
/// others still run.
async fn per_warehouse<F, Fut>(state: &AppState, job: &'static str, mut work: F) -> Result<(), JobError>
where
    F: FnMut(Warehouse) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let all = warehouses::list(&state.db).await?;
    let total = all.len();
    let mut failed = 0;
    for warehouse in all {
        let id = warehouse.warehouse_id;
        if let Err(error) = work(warehouse).await {
            failed += 1;
            tracing::error!(job, warehouse_id = id.0, %error, "job failed for one warehouse; going on with the others");
            state.metrics.count_job_failure(job, journeys::of_job(job), &format!("warehouse:{id}"));
        }
    }
    if failed == 0 { Ok(()) } else { Err(JobError::Partial { failed, total }) }
}

/// Releases the cut-off wave of every warehouse past its cut-off (once per day).
pub async fn cutoff_waves(state: &AppState) -> Result<(), JobError> {
    per_warehouse(state, "cutoff-waves", |w| async move {
        let now = jiff::Timestamp::now();
        let Some(clock) = waves::cutoff_due(&state.db, &w, now).await? else { return Ok(()) };
        let warehouse = w.warehouse_id;
        if let Some(wave) = waves::generate(&state.db, warehouse, waves::Origin::Cutoff).await? {
            tracing::info!(warehouse = %warehouse, wave = wave.wave_id.0, shipments = wave.shipment_ids.len(), "cut-off wave released");
            // The wave-generation SLI: how long after the cut-off (or the warehouse's opening,
            // if later) the picking list came out.
            if let Some(lag) = clock.cutoff_wait(jiff::Timestamp::now(), w.opened()?) {
                state.metrics.observe_queue_lag("cutoff-waves", journeys::of_job("cutoff-waves"), lag);
            }
        }
        Ok(())
    })
    .await
}

/// Re-allocates the backorders of every warehouse.
pub async fn backorder_sweep(state: &AppState) -> Result<(), JobError> {
    per_warehouse(state, "backorder-sweep", |w| async move {
        let id = w.warehouse_id;
        let n = crate::transaction!(&state.db, |tx| { shipments::reallocate_backorders(tx, id, 1000).await })?;
        if n > 0 {
            tracing::info!(warehouse = %id, allocated = n, "backorders re-allocated by the sweep");
        }
        Ok(())
    })
    .await
}

/// Bills yesterday's storage of every warehouse (once per day).
pub async fn storage_billing(state: &AppState) -> Result<(), JobError> {
    per_warehouse(state, "storage-billing", |w| async move {
        let yesterday = w
            .clock()?
            .local_date(jiff::Timestamp::now())
            .yesterday()
            .map_err(|e| Error::Invalid { field: "date".into(), message: e.to_string() })?;
        billing::bill_storage_day(&state.db, w.warehouse_id, yesterday).await?;
        Ok(())
    })
    .await
}
