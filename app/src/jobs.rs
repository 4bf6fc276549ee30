//! Background jobs, each a loop with its own period, safe to run on every replica:
//! - cut-off waves: at each warehouse's cut-off, release today's allocated shipments (the
//!   unique `wave_cutoff_once` index makes it happen once per warehouse and day);
//! - backorder sweep: re-allocate backorders every 30 minutes (OPENLOGI sweeps twice an
//!   hour), as a backstop to the re-allocation that putaway already does;
//! - storage billing: bill yesterday's storage once per warehouse and day;
//! - maintenance refresh: follow maintenance switches made on other replicas.
//!
//! Every run is measured (`job_runs_total`, `job_duration_seconds`) under its journey.

use std::time::Duration;

use tokio::sync::watch;

use crate::db::{billing, shipments, warehouses, waves};
use crate::domain::values::WarehouseId;
use crate::http::AppState;
use crate::journeys;

/// Runs every job until `shutdown` flips to true.
pub async fn run(state: AppState, shutdown: watch::Receiver<bool>) {
    let s = &state;
    tokio::join!(
        every(s, "cutoff-waves", Duration::from_secs(20), shutdown.clone(), || cutoff_waves(s)),
        every(s, "backorder-sweep", Duration::from_secs(30 * 60), shutdown.clone(), || backorder_sweep(s)),
        every(s, "storage-billing", Duration::from_secs(60 * 60), shutdown.clone(), || storage_billing(s)),
        every(s, "maintenance-refresh", Duration::from_secs(2), shutdown.clone(), || async {
            s.refresh_maintenance().await.map_err(|e| e.to_string())
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
    Fut: Future<Output = Result<(), String>>,
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

async fn cutoff_waves(state: &AppState) -> Result<(), String> {
    for (warehouse, clock) in waves::due_for_cutoff(&state.db).await.map_err(|e| e.to_string())? {
        if let Some(wave) =
            waves::generate(&state.db, warehouse, waves::Origin::Cutoff).await.map_err(|e| e.to_string())?
        {
            tracing::info!(warehouse = %warehouse, wave = wave.wave_id, shipments = wave.shipment_ids.len(), "cut-off wave released");
            // The wave-generation SLI: how long after the cut-off the picking list came out.
            let now = jiff::Timestamp::now();
            if let Some(cutoff) = clock.cutoff_today(now) {
                let lag = Duration::try_from(now.duration_since(cutoff)).unwrap_or_default();
                state.metrics.observe_queue_lag("cutoff-waves", journeys::of_job("cutoff-waves"), lag);
            }
        }
    }
    Ok(())
}

async fn backorder_sweep(state: &AppState) -> Result<(), String> {
    for w in warehouses::list(&state.db).await.map_err(|e| e.to_string())? {
        let id = WarehouseId(w.warehouse_id);
        let n = crate::transaction!(&state.db, |tx| { shipments::reallocate_backorders(tx, id, 1000).await })
            .map_err(|e| e.to_string())?;
        if n > 0 {
            tracing::info!(warehouse = %id, allocated = n, "backorders re-allocated by the sweep");
        }
    }
    Ok(())
}

async fn storage_billing(state: &AppState) -> Result<(), String> {
    for w in warehouses::list(&state.db).await.map_err(|e| e.to_string())? {
        let clock = w.clock().map_err(|e| e.to_string())?;
        let yesterday = clock.local_date(jiff::Timestamp::now()).yesterday().map_err(|e| e.to_string())?;
        billing::bill_storage_day(&state.db, WarehouseId(w.warehouse_id), &yesterday.to_string())
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
