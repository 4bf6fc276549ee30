//! Billing events: one row per billable operation, unique per (shipper, kind, reference) so
//! a retried request or a re-run job bills once; summed per shipper and month for invoices.
//! Dates are the warehouse's local calendar date.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{Db, Tx, now, warehouses};
use crate::domain::Error;
use crate::domain::values::{ShipperId, WarehouseId, text_enum};

text_enum!(
    /// What was billed.
    Kind {
        InboundUnit = "inbound_unit",
        StorageUnitDay = "storage_unit_day",
        ParcelShipped = "parcel_shipped",
        GiftWrap = "option_gift_wrap",
        HoldStockCase = "hold_stock_case",
        CancelAfterPicking = "cancel_after_picking",
    }
);

impl Kind {
    /// List price in yen per unit. A real tariff is per contract; these are the defaults.
    pub fn unit_price(self) -> i64 {
        match self {
            Kind::InboundUnit => 10,
            Kind::StorageUnitDay => 1,
            Kind::ParcelShipped => 350,
            Kind::GiftWrap => 150,
            Kind::HoldStockCase => 500,
            Kind::CancelAfterPicking => 200,
        }
    }
}

/// Records a billable operation once; a repeat with the same reference is ignored.
pub async fn record(
    tx: &mut Tx,
    shipper: ShipperId,
    warehouse: WarehouseId,
    kind: Kind,
    quantity: i64,
    reference: &str,
) -> Result<(), Error> {
    let clock = warehouses::get_in(tx, warehouse).await?.clock()?;
    let day = clock.local_date(jiff::Timestamp::now()).to_string();
    record_on(tx, shipper, kind, quantity, reference, &day).await
}

/// Like [`record`], for a given warehouse-local day (`YYYY-MM-DD`).
pub async fn record_on(
    tx: &mut Tx,
    shipper: ShipperId,
    kind: Kind,
    quantity: i64,
    reference: &str,
    day: &str,
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
    .bind(quantity * kind.unit_price())
    .bind(reference)
    .bind(day)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryLine {
    pub kind: Kind,
    pub quantity: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub month: String,
    pub currency: &'static str,
    pub lines: Vec<SummaryLine>,
    pub total: i64,
}

/// A shipper's charges for `month` (`YYYY-MM`).
pub async fn summary(db: &Db, shipper: ShipperId, month: &str) -> Result<Summary, Error> {
    let valid =
        month.len() == 7 && month.as_bytes()[4] == b'-' && format!("{month}-01").parse::<jiff::civil::Date>().is_ok();
    if !valid {
        return Err(Error::invalid("month", format!("must be YYYY-MM (got {month:?})")));
    }
    let rows = sqlx::query(
        "select kind, cast(sum(quantity) as bigint) as quantity, cast(sum(amount) as bigint) as amount \
         from billing_event where shipper_id = $1 and occurred_on >= $2 and occurred_on < $3 \
         group by kind order by kind",
    )
    .bind(shipper.0)
    .bind(format!("{month}-01"))
    .bind(format!("{month}-99"))
    .fetch_all(db.reader())
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        let kind: String = r.try_get("kind")?;
        let Some(kind) = Kind::parse(&kind) else {
            continue;
        };
        lines.push(SummaryLine { kind, quantity: r.try_get("quantity")?, amount: r.try_get("amount")? });
    }
    let total = lines.iter().map(|l| l.amount).sum();
    Ok(Summary { month: month.to_owned(), currency: "JPY", lines, total })
}

/// Bills one day of storage: every unit on hand (sellable or hold) in `warehouse` at the time
/// of the run, per shipper. Idempotent per (warehouse, day).
pub async fn bill_storage_day(db: &Db, warehouse: WarehouseId, day: &str) -> Result<u64, Error> {
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
