//! Inventory: on-hand quantities per (location, item, lot, bucket), the append-only stock
//! ledger, and allocation (引当).
//!
//! Every on-hand change is [`move_stock`] (one `update` and one ledger row in the caller's
//! transaction) or [`transfer`] (both rows of a move in one `update`, both ledger rows in one
//! `insert`), so the ledger and on-hand can never disagree. Allocation never oversells:
//! a reservation is a conditional `update ... where on_hand - reserved >= n` on one stock
//! row (row-locked by PostgreSQL, serialised by SQLite's single writer), rows are taken in a
//! fixed order (item, then FEFO/pick sequence, then id) so multi-line shipments cannot
//! deadlock, and the table's `check (reserved <= on_hand)` is a last line of defence.

use jiff::civil::Date;
use sqlx::{Acquire, Row};

use super::{Db, Tx, now, warehouses};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::error::ShortItem;
use crate::domain::stock::Adjustment;
use crate::domain::values::{
    Bucket, InboundId, ItemCode, ItemId, LedgerKind, LocationId, LocationKind, MAX_ON_HAND, ShipmentId, StockId,
    WarehouseId,
};

/// Where a quantity lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockKey<'a> {
    pub warehouse: WarehouseId,
    pub location: LocationId,
    pub item: ItemId,
    pub lot: &'a str,
    pub expires_on: Option<Date>,
    pub bucket: Bucket,
}

/// The document a ledger entry belongs to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reference {
    pub shipment: Option<ShipmentId>,
    pub inbound: Option<InboundId>,
}

/// The stock row for `key`, created empty if it does not exist yet. Most rows exist (a shelf
/// receives the same item again, the packing area sees the same item all day), so it looks
/// first and inserts only when missing; a concurrent insert of the same key is absorbed by
/// `on conflict do nothing` and the second look.
pub async fn row(tx: &mut Tx, key: &StockKey<'_>) -> Result<StockId, Error> {
    if let Some(id) = find(tx, key).await? {
        return Ok(id);
    }
    sqlx::query(
        "insert into stock (warehouse_id, location_id, item_id, lot, expires_on, bucket, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7) on conflict (location_id, item_id, lot, bucket) do nothing",
    )
    .bind(key.warehouse.0)
    .bind(key.location.0)
    .bind(key.item.0)
    .bind(key.lot)
    .bind(key.expires_on.map(|d| d.to_string()))
    .bind(key.bucket.as_str())
    .bind(now())
    .execute(&mut **tx)
    .await?;
    find(tx, key).await?.ok_or(Error::Concurrent { entity: "stock", current: "missing after insert".into() })
}

async fn find(tx: &mut Tx, key: &StockKey<'_>) -> Result<Option<StockId>, Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "select stock_id from stock where location_id = $1 and item_id = $2 and lot = $3 and bucket = $4",
    )
    .bind(key.location.0)
    .bind(key.item.0)
    .bind(key.lot)
    .bind(key.bucket.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(id.map(StockId))
}

/// Changes on-hand by `delta` (and reserved by `reserved_delta`) and writes the ledger entry.
/// On-hand never exceeds [`MAX_ON_HAND`]: a change past it is refused (422 on `/quantity`).
pub async fn move_stock(
    tx: &mut Tx,
    stock: StockId,
    delta: i64,
    reserved_delta: i64,
    kind: LedgerKind,
    reference: Reference,
) -> Result<(), Error> {
    let ts = now();
    let moved = sqlx::query(
        "update stock set on_hand = on_hand + $1, reserved = reserved + $2, updated_at = $3 \
         where stock_id = $4 and on_hand + $1 <= $5",
    )
    .bind(delta)
    .bind(reserved_delta)
    .bind(&ts)
    .bind(stock.0)
    .bind(MAX_ON_HAND)
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() == 0 {
        return Err(Error::invalid("/quantity", format!("would take on-hand above {MAX_ON_HAND} units")));
    }
    sqlx::query(
        "insert into stock_ledger (stock_id, kind, quantity, shipment_id, inbound_id, created_at) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(stock.0)
    .bind(kind.as_str())
    .bind(delta)
    .bind(reference.shipment.map(|s| s.0))
    .bind(reference.inbound.map(|i| i.0))
    .bind(ts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Units moving between two stock rows of one item (shelf → packing area on a pick, back on
/// a cancellation): `units` leave `from` (and `from`'s reservation drops by `unreserve`) and
/// arrive at `to`.
#[derive(Debug, Clone, Copy)]
pub struct Transfer {
    pub from: StockId,
    pub to: StockId,
    pub units: i64,
    pub unreserve: i64,
    pub kind: LedgerKind,
    pub reference: Reference,
}

/// [`move_stock`] on both rows of a transfer in two statements instead of four: one `update`
/// of both rows and one two-row ledger insert. Both rows must change, or nothing does.
pub async fn transfer(tx: &mut Tx, t: Transfer) -> Result<(), Error> {
    let ts = now();
    let moved = sqlx::query(
        "update stock set \
           on_hand = on_hand + case when stock_id = $1 then -$3 else $3 end, \
           reserved = reserved - case when stock_id = $1 then $4 else 0 end, \
           updated_at = $5 \
         where stock_id in ($1, $2) and (stock_id = $1 or on_hand + $3 <= $6)",
    )
    .bind(t.from.0)
    .bind(t.to.0)
    .bind(t.units)
    .bind(t.unreserve)
    .bind(&ts)
    .bind(MAX_ON_HAND)
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() != 2 {
        return Err(Error::invalid("/quantity", format!("would take on-hand above {MAX_ON_HAND} units")));
    }
    sqlx::query(
        "insert into stock_ledger (stock_id, kind, quantity, shipment_id, inbound_id, created_at) \
         values ($1, $3, $4, $5, $6, $7), ($2, $3, $8, $5, $6, $7)",
    )
    .bind(t.from.0)
    .bind(t.to.0)
    .bind(t.kind.as_str())
    .bind(-t.units)
    .bind(t.reference.shipment.map(|s| s.0))
    .bind(t.reference.inbound.map(|i| i.0))
    .bind(ts)
    .bind(t.units)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A shipment line to allocate.
#[derive(Debug, Clone)]
pub struct Demand {
    pub shipment_line_id: i64,
    pub item_id: i64,
    pub item_code: String,
    pub quantity: i64,
}

/// Reserves every line of `shipment` or none: on a shortage the savepoint is rolled back and
/// the short items are returned.
pub async fn allocate(
    tx: &mut Tx,
    warehouse: WarehouseId,
    shipment: ShipmentId,
    mut demands: Vec<Demand>,
) -> Result<Result<(), Vec<ShortItem>>, Error> {
    demands.sort_by_key(|d| d.item_id);
    let mut sp = tx.begin().await?;
    let mut short = Vec::new();
    for d in &demands {
        let mut need = d.quantity;
        let candidates = sqlx::query(
            "select s.stock_id from stock s join location l on l.location_id = s.location_id \
             where s.warehouse_id = $1 and s.item_id = $2 and s.bucket = 'sellable' and l.kind = 'stock' \
               and s.on_hand > s.reserved \
             order by case when s.expires_on is null then 1 else 0 end, s.expires_on, l.pick_sequence, s.stock_id",
        )
        .bind(warehouse.0)
        .bind(d.item_id)
        .fetch_all(&mut *sp)
        .await?;
        for candidate in candidates {
            if need == 0 {
                break;
            }
            let stock_id: i64 = candidate.try_get("stock_id")?;
            let Some(n) = reserve_up_to(&mut sp, stock_id, need).await? else {
                continue;
            };
            sqlx::query(
                "insert into allocation (shipment_id, shipment_line_id, stock_id, quantity) values ($1, $2, $3, $4)",
            )
            .bind(shipment.0)
            .bind(d.shipment_line_id)
            .bind(stock_id)
            .bind(n)
            .execute(&mut *sp)
            .await?;
            need -= n;
        }
        if need > 0 {
            short.push(ShortItem {
                item_code: d.item_code.clone(),
                requested: d.quantity,
                available: d.quantity - need,
            });
        }
    }
    if short.is_empty() {
        sp.commit().await?;
        Ok(Ok(()))
    } else {
        sp.rollback().await?;
        Ok(Err(short))
    }
}

/// Reserves up to `need` units on one stock row; `None` when it has nothing free.
///
/// The `where on_hand - reserved >= $1` is re-checked on the row's newest version after the
/// row lock is granted (PostgreSQL's read-committed update rule), so a concurrent reservation
/// makes this update miss rather than oversell; then we re-read and try a smaller amount.
async fn reserve_up_to(conn: &mut sqlx::AnyConnection, stock_id: i64, need: i64) -> Result<Option<i64>, Error> {
    loop {
        let free: i64 = sqlx::query_scalar("select on_hand - reserved from stock where stock_id = $1")
            .bind(stock_id)
            .fetch_one(&mut *conn)
            .await?;
        if free <= 0 {
            return Ok(None);
        }
        let n = free.min(need);
        let done = sqlx::query(
            "update stock set reserved = reserved + $1, updated_at = $2 where stock_id = $3 and on_hand - reserved >= $1",
        )
        .bind(n)
        .bind(now())
        .bind(stock_id)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(Some(n));
        }
    }
}

/// Releases every not-yet-picked reservation of `shipment` and forgets its allocations.
pub async fn release(tx: &mut Tx, shipment: ShipmentId) -> Result<(), Error> {
    let rows = sqlx::query(
        "select stock_id, quantity - picked as open from allocation where shipment_id = $1 order by stock_id",
    )
    .bind(shipment.0)
    .fetch_all(&mut **tx)
    .await?;
    for r in rows {
        let open: i64 = r.try_get("open")?;
        if open > 0 {
            sqlx::query("update stock set reserved = reserved - $1, updated_at = $2 where stock_id = $3")
                .bind(open)
                .bind(now())
                .bind(r.try_get::<i64, _>("stock_id")?)
                .execute(&mut **tx)
                .await?;
        }
    }
    sqlx::query(
        "delete from pick_task where allocation_id in (select allocation_id from allocation where shipment_id = $1)",
    )
    .bind(shipment.0)
    .execute(&mut **tx)
    .await?;
    sqlx::query("delete from allocation where shipment_id = $1").bind(shipment.0).execute(&mut **tx).await?;
    Ok(())
}

/// The packing-area row that picked units of `stock` move to.
pub async fn packing_row(tx: &mut Tx, warehouse: WarehouseId, stock: StockId) -> Result<StockId, Error> {
    let src = sqlx::query("select item_id, lot, expires_on from stock where stock_id = $1")
        .bind(stock.0)
        .fetch_one(&mut **tx)
        .await?;
    let lot: String = src.try_get("lot")?;
    let expires: Option<String> = src.try_get("expires_on")?;
    let expires = super::stored("expires_on", expires.map(|d| d.parse::<Date>()).transpose())?;
    packing_row_for(tx, warehouse, ItemId(src.try_get("item_id")?), &lot, expires).await
}

/// [`packing_row`] for an item and lot already known (a pick task carries them). The row
/// usually exists (the packing area sees the same item all day): one statement finds it
/// through the warehouse's packing location; the first time, it is created.
pub async fn packing_row_for(
    tx: &mut Tx,
    warehouse: WarehouseId,
    item: ItemId,
    lot: &str,
    expires_on: Option<Date>,
) -> Result<StockId, Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "select stock_id from stock where item_id = $2 and lot = $3 and bucket = 'sellable' and location_id = \
           (select location_id from location where warehouse_id = $1 and kind = 'packing' \
            order by pick_sequence, code limit 1)",
    )
    .bind(warehouse.0)
    .bind(item.0)
    .bind(lot)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = found {
        return Ok(StockId(id));
    }
    let packing = warehouses::default_location(tx, warehouse, LocationKind::Packing).await?;
    let key = StockKey { warehouse, location: packing.location_id, item, lot, expires_on, bucket: Bucket::Sellable };
    row(tx, &key).await
}

/// Returns picked units of a cancelled shipment from the packing area to their shelves.
pub async fn return_picked(tx: &mut Tx, warehouse: WarehouseId, shipment: ShipmentId) -> Result<i64, Error> {
    let rows =
        sqlx::query("select stock_id, picked from allocation where shipment_id = $1 and picked > 0 order by stock_id")
            .bind(shipment.0)
            .fetch_all(&mut **tx)
            .await?;
    let reference = Reference { shipment: Some(shipment), inbound: None };
    let mut units = 0;
    for r in rows {
        let shelf = StockId(r.try_get("stock_id")?);
        let picked: i64 = r.try_get("picked")?;
        let packing = packing_row(tx, warehouse, shelf).await?;
        transfer(
            tx,
            Transfer { from: packing, to: shelf, units: picked, unreserve: 0, kind: LedgerKind::Cancel, reference },
        )
        .await?;
        units += picked;
    }
    Ok(units)
}

/// One item's stock in one warehouse, in OPENLOGI's terms:
/// `available = quantity - shipping - reserved`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StockSummary {
    #[sqlx(try_from = "i64")]
    pub item_id: ItemId,
    #[sqlx(try_from = "String")]
    pub item_code: ItemCode,
    #[sqlx(try_from = "i64")]
    pub warehouse_id: WarehouseId,
    /// Sellable units on the shelves plus units picked and not yet shipped.
    pub quantity: i64,
    /// Picked units in the packing and shipping areas.
    pub shipping: i64,
    /// Units reserved for allocated shipments, still on the shelves.
    pub reserved: i64,
    pub available: i64,
    /// Units on hold (defective, unknown goods).
    pub hold: i64,
    /// Units received and not yet put away.
    pub receiving: i64,
    /// Units requested by backordered shipments.
    pub backordered: i64,
}

/// Stock per item and warehouse of the items `scope` may see (a shipper's own), optionally
/// for one item code.
pub async fn summary(db: &Db, scope: &Scope, item_code: Option<&ItemCode>) -> Result<Vec<StockSummary>, Error> {
    let (visible, values) = super::visible(scope, "i.shipper_id", None, 2);
    let sql = format!(
        "select i.item_id, i.code as item_code, w.warehouse_id, \
           cast(coalesce(sum(case when s.bucket = 'sellable' and l.kind in ('stock', 'packing', 'shipping') then s.on_hand else 0 end), 0) as bigint) as quantity, \
           cast(coalesce(sum(case when s.bucket = 'sellable' and l.kind in ('packing', 'shipping') then s.on_hand else 0 end), 0) as bigint) as shipping, \
           cast(coalesce(sum(case when l.kind = 'stock' then s.reserved else 0 end), 0) as bigint) as reserved, \
           cast(coalesce(sum(case when s.bucket = 'sellable' and l.kind = 'stock' then s.on_hand - s.reserved else 0 end), 0) as bigint) as available, \
           cast(coalesce(sum(case when s.bucket = 'hold' then s.on_hand else 0 end), 0) as bigint) as hold, \
           cast(coalesce(sum(case when s.bucket = 'sellable' and l.kind = 'receiving' then s.on_hand else 0 end), 0) as bigint) as receiving, \
           cast(coalesce((select sum(sl.quantity) from shipment_line sl join shipment sh on sh.shipment_id = sl.shipment_id \
                 where sl.item_id = i.item_id and sh.warehouse_id = w.warehouse_id and sh.status = 'backordered'), 0) as bigint) as backordered \
         from item i cross join warehouse w \
         left join stock s on s.item_id = i.item_id and s.warehouse_id = w.warehouse_id \
         left join location l on l.location_id = s.location_id \
         where ($1 is null or i.code = $1) and {visible} \
         group by i.item_id, i.code, w.warehouse_id \
         order by i.item_id, w.warehouse_id",
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(item_code.map(ItemCode::as_str));
    for v in values {
        q = q.bind(v);
    }
    Ok(q.fetch_all(db.reader()).await?)
}

/// Applies a correction or return. Warehouse staff adjust only the items of shippers their
/// warehouse serves -- shippers with stock, an inbound or a channel there; any other item is
/// "not found", as another tenant's ids always are.
pub async fn adjust(db: &Db, scope: &Scope, a: &Adjustment) -> Result<(), Error> {
    if !scope.operates(a.warehouse_id) {
        return Err(Error::NotFound("warehouse"));
    }
    a.check()?;
    crate::transaction!(db, |tx| {
        warehouses::check_operated(tx, scope, a.warehouse_id).await?;
        let location = warehouses::location_by_code(tx, a.warehouse_id, &a.location_code).await?;
        let served: Option<i64> = sqlx::query_scalar(
            "select i.item_id from item i where i.item_id = $1 and ( \
               exists (select 1 from stock s join item o on o.item_id = s.item_id \
                       where s.warehouse_id = $2 and o.shipper_id = i.shipper_id) \
               or exists (select 1 from inbound n where n.warehouse_id = $2 and n.shipper_id = i.shipper_id) \
               or exists (select 1 from channel c where c.warehouse_id = $2 and c.shipper_id = i.shipper_id))",
        )
        .bind(a.item_id.0)
        .bind(a.warehouse_id.0)
        .fetch_optional(&mut **tx)
        .await?;
        if served.is_none() {
            return Err(Error::NotFound("item"));
        }
        let key = StockKey {
            warehouse: a.warehouse_id,
            location: location.location_id,
            item: a.item_id,
            lot: a.lot.as_str(),
            expires_on: None,
            bucket: a.bucket,
        };
        let stock = row(tx, &key).await?;
        move_stock(tx, stock, a.quantity.get(), 0, a.ledger_kind(), Reference::default()).await.map_err(|e| match e {
            Error::Database(sqlx::Error::Database(ref d))
                if d.message().contains("check") || d.message().contains("CHECK") =>
            {
                Error::invalid("/quantity", "would take on-hand below zero or below what is reserved")
            }
            other => other,
        })
    })
}

/// Stock rows whose on-hand differs from the sum of their ledger (should always be empty).
pub async fn ledger_mismatches(db: &Db) -> Result<Vec<(i64, i64, i64)>, Error> {
    let rows = sqlx::query(
        "select s.stock_id, s.on_hand, cast(coalesce(sum(g.quantity), 0) as bigint) as ledger \
         from stock s left join stock_ledger g on g.stock_id = s.stock_id \
         group by s.stock_id, s.on_hand having s.on_hand <> cast(coalesce(sum(g.quantity), 0) as bigint)",
    )
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("stock_id")?, r.try_get("on_hand")?, r.try_get("ledger")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}
