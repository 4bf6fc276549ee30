//! Billing events in storage: recording one per billable operation (the `(shipper, kind,
//! reference)` key makes a repeat a no-op), and summing a shipper's month. Days are the
//! warehouse's local calendar dates; what is billed and at what price is `domain::billing`.

use jiff::civil::Date;
use sqlx::Row;

use super::{Db, Tx, now, stored, warehouses};
use crate::domain::Error;
use crate::domain::billing::Kind;
use crate::domain::calendar::Month;
use crate::domain::values::{ShipperId, WarehouseId};

/// Records a billable operation today, in the warehouse's calendar, once; a repeat with the
/// same reference is ignored.
pub async fn record(
    tx: &mut Tx,
    shipper: ShipperId,
    warehouse: WarehouseId,
    kind: Kind,
    quantity: i64,
    reference: &str,
) -> Result<(), Error> {
    let clock = warehouses::get_in(tx, warehouse).await?.clock()?;
    let day = clock.local_date(jiff::Timestamp::now());
    record_on(tx, shipper, kind, quantity, reference, day).await
}

/// Like [`record`], on a given warehouse-local day.
pub async fn record_on(
    tx: &mut Tx,
    shipper: ShipperId,
    kind: Kind,
    quantity: i64,
    reference: &str,
    day: Date,
) -> Result<(), Error> {
    if quantity <= 0 {
        return Ok(());
    }
    sqlx::query(
        "insert into billing_event (shipper_id, kind, quantity, unit_price, amount, reference, occurred_on, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (shipper_id, kind, reference) do nothing",
    )
    .bind(shipper.0)
    .bind(kind.as_str())
    .bind(quantity)
    .bind(kind.unit_price())
    .bind(kind.amount(quantity))
    .bind(reference)
    .bind(day.to_string())
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One kind of charge in a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryLine {
    pub kind: Kind,
    pub quantity: i64,
    pub amount: i64,
}

/// A shipper's charges for a month, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub month: Month,
    pub lines: Vec<SummaryLine>,
    pub total: i64,
}

/// A shipper's charges for `month`.
pub async fn summary(db: &Db, shipper: ShipperId, month: Month) -> Result<Summary, Error> {
    let rows = sqlx::query(
        "select kind, cast(sum(quantity) as bigint) as quantity, cast(sum(amount) as bigint) as amount \
         from billing_event where shipper_id = $1 and occurred_on >= $2 and occurred_on < $3 \
         group by kind order by kind",
    )
    .bind(shipper.0)
    .bind(month.first_day().to_string())
    .bind(month.next_first_day().to_string())
    .fetch_all(db.reader())
    .await?;
    let lines = rows
        .iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(SummaryLine {
                kind: stored("billing_event.kind", Kind::parse(&kind).ok_or(kind))?,
                quantity: r.try_get("quantity")?,
                amount: r.try_get("amount")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let total = lines.iter().map(|l| l.amount).sum();
    Ok(Summary { month, lines, total })
}

/// Bills one day of storage: every unit on hand (sellable or hold) in `warehouse` at the time
/// of the run, per shipper. Idempotent per (warehouse, day).
pub async fn bill_storage_day(db: &Db, warehouse: WarehouseId, day: Date) -> Result<u64, Error> {
    crate::transaction!(db, |tx| {
        let rows = sqlx::query(
                "select i.shipper_id, cast(sum(s.on_hand) as bigint) as units from stock s join item i on i.item_id = s.item_id \
                 where s.warehouse_id = $1 group by i.shipper_id having sum(s.on_hand) > 0",
            )
            .bind(warehouse.0)
            .fetch_all(&mut **tx)
            .await?;
        let mut n = 0;
        for r in rows {
            let shipper = ShipperId(r.try_get("shipper_id")?);
            let units: i64 = r.try_get("units")?;
            let reference = format!("storage:{day}:warehouse:{}", warehouse.0);
            record(tx, shipper, warehouse, Kind::StorageUnitDay, units, &reference).await?;
            n += 1;
        }
        Ok(n)
    })
}
