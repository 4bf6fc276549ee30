//! HHT pick scans in storage: each scan carries a device-assigned `client_event_id`; the
//! first result is stored with it and a retry returns that result, so a scan never counts
//! twice.
//!
//! A device claims one task of its wave at a time; `domain::scan::judge` says what each scan
//! means (the step order location → item → quantity, what matches). Wrong steps and mismatches
//! are recorded and change nothing; an accepted quantity moves the units from the shelf to the
//! packing area (ledger `pick`) in the same transaction.
//!
//! Scans come in bursts at a cut-off, so round trips count: one statement reads everything a
//! scan is judged on (a stored first result, the wave's warehouse, the device's task), and a
//! pick moves both stock rows in one `update`. A location or item scan is three statements, a
//! pick seven, a pick that finishes a task and claims the next ten.

use sqlx::Row;

use super::stock::{self, Reference, Transfer};
use super::waves::{self, PickTask, TASK_COLUMNS, TASK_JOINS, Tasks};
use super::{Db, Tx, is_unique_violation, now};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::scan::{self, Judgement, Outcome, PickTaskRef, Scan, ScanResult, Step};
use crate::domain::values::{LedgerKind, WarehouseId};

fn task_ref(t: &PickTask) -> PickTaskRef {
    PickTaskRef {
        allocation_id: t.allocation_id,
        shipment_id: t.shipment_id,
        location_code: t.location_code.clone(),
        item_code: t.item_code.to_string(),
        barcode: t.barcode.as_ref().map(ToString::to_string),
        quantity: t.quantity,
        picked: t.picked,
    }
}

/// What a scan is judged on, read in one statement.
enum Situation {
    /// The scan was recorded before: its first result.
    Retry(ScanResult),
    /// The wave does not exist in the scan's warehouse.
    NoSuchWave,
    Working {
        /// The device's open task in this wave, and the step it expects next.
        current: Option<(PickTask, Step)>,
        /// The device holds an open task of another wave, to be given back.
        holds_other: bool,
    },
}

async fn situation(tx: &mut Tx, scan: &Scan, request_hash: &str) -> Result<Situation, Error> {
    // One row always (from `q`): the wave's warehouse, the stored scan and the device's open
    // task, each null when absent. A device holds at most one open task.
    let sql = format!(
        "select w.warehouse_id as wave_warehouse, sc.request_hash, sc.response, t.* \
         from (select cast($1 as bigint) as wave_id) q \
         left join wave w on w.wave_id = q.wave_id \
         left join scan sc on sc.warehouse_id = $2 and sc.device_id = $3 and sc.client_event_id = $4 \
         left join (select pt.wave_id as task_wave, pt.expected_step, {TASK_COLUMNS} from {TASK_JOINS} \
                    where pt.warehouse_id = $2 and pt.device_id = $3 and pt.done = 0) t on 1 = 1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(scan.wave_id.0)
        .bind(scan.warehouse_id.0)
        .bind(scan.device_id.as_str())
        .bind(scan.client_event_id.as_str())
        .fetch_one(&mut **tx)
        .await?;
    if let Some(first_hash) = row.try_get::<Option<String>, _>("request_hash")? {
        if first_hash != request_hash {
            return Err(Error::invalid("/client_event_id", "was already used for a different scan"));
        }
        let response: String = row.try_get("response")?;
        return serde_json::from_str(&response)
            .map(Situation::Retry)
            .map_err(|e| Error::Database(sqlx::Error::Decode(Box::new(e))));
    }
    if row.try_get::<Option<i64>, _>("wave_warehouse")? != Some(scan.warehouse_id.0) {
        return Ok(Situation::NoSuchWave);
    }
    let (current, holds_other) = match row.try_get::<Option<i64>, _>("task_wave")? {
        Some(wave) if wave == scan.wave_id.0 => {
            let step: String = row.try_get("expected_step")?;
            (Some((waves::pick_task(&row)?, Step::parse(&step).unwrap_or(Step::Location))), false)
        }
        Some(_) => (None, true),
        None => (None, false),
    };
    Ok(Situation::Working { current, holds_other })
}

/// The stored first result of a scan (after a retry lost the race to record it).
async fn first_result(tx: &mut Tx, scan: &Scan, request_hash: &str) -> Result<ScanResult, Error> {
    match situation(tx, scan, request_hash).await? {
        Situation::Retry(first) => Ok(first),
        _ => Err(e_lost()),
    }
}

/// Records a scan exactly once and returns its result (the first result, for a retry).
pub async fn record(db: &Db, scope: &Scope, scan: &Scan) -> Result<ScanResult, Error> {
    if !scope.operates(scan.warehouse_id) {
        return Err(Error::NotFound("warehouse"));
    }
    let request_hash = scan.fingerprint();
    let outcome = crate::transaction!(db, |tx| {
        let request_hash = request_hash.clone();
        super::warehouses::check_operated(tx, scope, scan.warehouse_id).await?;
        let result = match situation(tx, scan, &request_hash).await? {
            Situation::Retry(first) => return Ok(first),
            Situation::NoSuchWave => return Err(Error::invalid("/wave_id", "no such wave in this warehouse")),
            Situation::Working { current, holds_other } => evaluate(tx, scan, current, holds_other).await?,
        };
        sqlx::query(
            "insert into scan (warehouse_id, device_id, client_event_id, request_hash, response, created_at) \
                     values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(scan.warehouse_id.0)
        .bind(scan.device_id.as_str())
        .bind(scan.client_event_id.as_str())
        .bind(&request_hash)
        .bind(serde_json::to_string(&result).unwrap_or_default())
        .bind(now())
        .execute(&mut **tx)
        .await?;
        Ok(result)
    });
    match outcome {
        // A retry raced its own first attempt: the first one won, answer with its result.
        Err(e) if is_unique_violation(&e, "scan_warehouse_id_device_id_client_event_id_key", "scan.") => {
            crate::transaction!(db, |tx| {
                let request_hash = request_hash.clone();
                first_result(tx, scan, &request_hash).await
            })
        }
        other => other,
    }
}

fn e_lost() -> Error {
    Error::Concurrent { entity: "scan", current: "recorded".into() }
}

/// Builds a result; `next` is what the device should work on after this scan.
fn result(
    outcome: Outcome,
    expected_step: Option<Step>,
    expected: Option<String>,
    scan: &Scan,
    (task, next): (Option<&PickTask>, Option<&PickTask>),
    message: String,
) -> ScanResult {
    ScanResult {
        outcome,
        expected_step,
        expected,
        scanned: scan.value.to_string(),
        task: task.map(task_ref),
        next_task: next.map(task_ref),
        message,
    }
}

/// Claims an open, unclaimed task of the wave for the device, first giving back a task it
/// `holds` in another wave. Devices start at different offsets among the next few tasks, so
/// a crowd of devices finishing at once does not queue for the same row.
async fn claim_next(tx: &mut Tx, scan: &Scan, holds: bool) -> Result<Option<PickTask>, Error> {
    const WINDOW: i64 = 16;
    if holds {
        sqlx::query(
            "update pick_task set device_id = null, expected_step = null \
             where warehouse_id = $1 and device_id = $2 and done = 0",
        )
        .bind(scan.warehouse_id.0)
        .bind(scan.device_id.as_str())
        .execute(&mut **tx)
        .await?;
    }
    loop {
        let candidates = waves::tasks(tx, scan.wave_id, Tasks::Unclaimed(WINDOW)).await?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let start = scan.device_id.as_str().bytes().map(usize::from).sum::<usize>() % candidates.len();
        for task in candidates.iter().cycle().skip(start).take(candidates.len()) {
            let claimed = sqlx::query(
                "update pick_task set device_id = $1, expected_step = 'location' \
                 where allocation_id = $2 and device_id is null and done = 0",
            )
            .bind(scan.device_id.as_str())
            .bind(task.allocation_id.0)
            .execute(&mut **tx)
            .await?;
            if claimed.rows_affected() == 1 {
                return Ok(Some(task.clone()));
            }
        }
    }
}

async fn evaluate(
    tx: &mut Tx,
    scan: &Scan,
    current: Option<(PickTask, Step)>,
    holds_other: bool,
) -> Result<ScanResult, Error> {
    let (task, expected_step) = match current {
        Some(c) => c,
        // No task yet, or the old one is finished or from another wave: take the next one.
        None => match claim_next(tx, scan, holds_other).await? {
            Some(next) => (next, Step::Location),
            None => {
                let msg = "nothing left to pick in this wave".to_owned();
                return Ok(result(Outcome::WaveComplete, None, None, scan, (None, None), msg));
            }
        },
    };
    let task = &task;
    let here = (Some(task), Some(task));
    let n = match scan::judge(&task_ref(task), expected_step, scan.step, scan.value.as_str()) {
        Judgement::WrongStep { message } => {
            return Ok(result(Outcome::WrongStep, Some(expected_step), None, scan, here, message));
        }
        Judgement::Mismatch { expected, message } => {
            return Ok(result(Outcome::Mismatch, Some(expected_step), Some(expected), scan, here, message));
        }
        Judgement::Advance { next, message } => {
            advance(tx, scan, next).await?;
            return Ok(result(Outcome::Accepted, Some(next), None, scan, here, message));
        }
        Judgement::Pick(n) => n,
    };
    pick(tx, scan.warehouse_id, task, n).await?;
    let mut done = task.clone();
    done.picked += n;
    if done.picked < done.quantity {
        advance(tx, scan, Step::Item).await?;
        let msg = format!("{} more to pick", done.quantity - done.picked);
        return Ok(result(Outcome::Accepted, Some(Step::Item), None, scan, (Some(&done), Some(&done)), msg));
    }
    // Task done: hand the device its next task right away, so it knows where to walk.
    sqlx::query("update pick_task set done = 1, expected_step = null where allocation_id = $1")
        .bind(task.allocation_id.0)
        .execute(&mut **tx)
        .await?;
    // The finished task was the device's only open one: nothing to give back.
    let next = claim_next(tx, scan, false).await?;
    let (step, msg) = match &next {
        Some(t) => (Some(Step::Location), format!("task complete; go to {}", t.location_code)),
        None => (None, "task complete; nothing left to pick in this wave".to_owned()),
    };
    Ok(result(Outcome::Accepted, step, None, scan, (Some(&done), next.as_ref()), msg))
}

async fn advance(tx: &mut Tx, scan: &Scan, step: Step) -> Result<(), Error> {
    sqlx::query("update pick_task set expected_step = $1 where warehouse_id = $2 and device_id = $3 and done = 0")
        .bind(step.as_str())
        .bind(scan.warehouse_id.0)
        .bind(scan.device_id.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves `n` picked units from the shelf (releasing their reservation) to the packing area.
async fn pick(tx: &mut Tx, warehouse: WarehouseId, task: &PickTask, n: i64) -> Result<(), Error> {
    let shelf = task.stock_id;
    let reference = Reference { shipment: Some(task.shipment_id), inbound: None };
    let packing = stock::packing_row_for(tx, warehouse, task.item_id, task.lot.as_str(), task.expires_on).await?;
    stock::transfer(
        tx,
        Transfer { from: shelf, to: packing, units: n, unreserve: n, kind: LedgerKind::Pick, reference },
    )
    .await?;
    sqlx::query("update allocation set picked = picked + $1 where allocation_id = $2")
        .bind(n)
        .bind(task.allocation_id.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
