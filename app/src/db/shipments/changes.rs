//! What happens to a shipment after it is created: the shipper's edits and cancels, the
//! warehouse's suspensions and answers to requests, re-allocation of backorders, and shipping
//! inspection. Each is one transaction that reads the shipment's head, asks the state machine
//! (`domain::shipment`) where it goes, and persists that with a compare-and-set.

use super::{COLUMNS, Shipment, allocate_or_backorder, demands_of, get_in, head, head_of, insert_lines, set_status};
use crate::db::{Db, Tx, billing, items, stock, stored};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::billing::Kind as BillingKind;
use crate::domain::inspection::{self, Difference, PickedLine};
use crate::domain::shipment::{self, Change, Edit, ShipmentAction, ShipmentStatus};
use crate::domain::values::{ItemCode, ItemId, ShipmentId, ShipperId, Text, WarehouseId};
use sqlx::Row;

/// A shipper's change: applied before work starts (new lines allocated again), a
/// `modify_request` after ([`ShipmentStatus::edit`] decides which).
pub async fn edit(db: &Db, shipper: ShipperId, id: ShipmentId, change: &Change) -> Result<Shipment, Error> {
    if let Some(lines) = &change.lines {
        shipment::check_lines(lines, "/lines")?;
    }
    let pending = serde_json::to_string(change).map_err(|e| Error::Database(sqlx::Error::Encode(Box::new(e))))?;
    crate::transaction!(db, |tx| {
        let head = head(tx, &Scope::Shipper(shipper), id).await?;
        match head.status.edit(change)? {
            Edit::Request(to) => {
                set_status(tx, &head, to, Some(head.status)).await?;
                sqlx::query("update shipment set pending_change = $1 where shipment_id = $2")
                    .bind(&pending)
                    .bind(id.0)
                    .execute(&mut **tx)
                    .await?;
            }
            Edit::Apply => {
                apply_fields(tx, id, change).await?;
                let (mut status, mut before) = (head.status, head.before_request);
                if let Some(lines) = &change.lines {
                    stock::release(tx, id).await?;
                    sqlx::query("delete from shipment_line where shipment_id = $1")
                        .bind(id.0)
                        .execute(&mut **tx)
                        .await?;
                    let codes: Vec<&ItemCode> = lines.iter().map(|l| &l.item_code).collect();
                    let items = items::resolve_codes(tx, shipper, &codes, "/lines").await?;
                    let item_ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
                    let demands = insert_lines(tx, id, lines, &item_ids).await?;
                    let action = allocate_or_backorder(tx, shipper, head.warehouse, id, demands).await?;
                    // A suspended shipment keeps its hold; the allocation decides where it resumes.
                    if status == ShipmentStatus::Suspended {
                        before = Some(before.unwrap_or(ShipmentStatus::Waiting).next(action, None)?);
                    } else {
                        status = status.next(action, None)?;
                    }
                }
                set_status(tx, &head, status, before).await?;
            }
        }
        get_in(tx, id).await
    })
}

async fn apply_fields(tx: &mut Tx, id: ShipmentId, change: &Change) -> Result<(), Error> {
    if let Some(r) = &change.recipient {
        sqlx::query(
            "update shipment set recipient_name = $1, recipient_postal_code = $2, recipient_prefecture = $3, \
             recipient_address1 = $4, recipient_address2 = $5, recipient_phone = $6 where shipment_id = $7",
        )
        .bind(r.name.as_str())
        .bind(r.postal_code.as_str())
        .bind(r.prefecture.as_str())
        .bind(r.address1.as_str())
        .bind(r.address2.as_ref().map(Text::as_str))
        .bind(r.phone.as_str())
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    }
    if let Some(c) = change.delivery_carrier {
        sqlx::query("update shipment set delivery_carrier = $1 where shipment_id = $2")
            .bind(c.as_str())
            .bind(id.0)
            .execute(&mut **tx)
            .await?;
    }
    if let Some(p) = change.allocate_priority {
        sqlx::query("update shipment set allocate_priority = $1 where shipment_id = $2")
            .bind(p.get())
            .bind(id.0)
            .execute(&mut **tx)
            .await?;
    }
    if let Some(d) = change.ship_date {
        sqlx::query("update shipment set ship_date = $1 where shipment_id = $2")
            .bind(d.to_string())
            .bind(id.0)
            .execute(&mut **tx)
            .await?;
    }
    if let Some(g) = change.gift_wrap {
        sqlx::query("update shipment set gift_wrap = $1 where shipment_id = $2")
            .bind(i64::from(g))
            .bind(id.0)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Cancel: direct before work starts (reservations released), a `cancel_request` after.
/// With `only_direct` (HTTP DELETE) a shipment already in work is a 409 instead.
pub async fn cancel(db: &Db, shipper: ShipperId, id: ShipmentId, only_direct: bool) -> Result<Shipment, Error> {
    crate::transaction!(db, |tx| {
        let head = head(tx, &Scope::Shipper(shipper), id).await?;
        if only_direct && !head.status.editable() {
            return Err(Error::IllegalTransition {
                entity: "shipment",
                current: head.status.as_str().to_owned(),
                action: "delete (use POST .../cancel to request a cancellation)",
            });
        }
        let to = head.status.next(ShipmentAction::Cancel, None)?;
        if to == ShipmentStatus::Cancelled {
            stock::release(tx, id).await?;
            set_status(tx, &head, to, None).await?;
        } else {
            set_status(tx, &head, to, Some(head.status)).await?;
        }
        get_in(tx, id).await
    })
}

/// Warehouse moves that need no extra data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarehouseDecision {
    Suspend,
    Resume,
    AcceptRequest,
    RefuseRequest,
}

pub async fn decide(db: &Db, scope: &Scope, id: ShipmentId, decision: WarehouseDecision) -> Result<Shipment, Error> {
    crate::transaction!(db, |tx| {
        let head = head(tx, scope, id).await?;
        match decision {
            WarehouseDecision::Suspend => {
                let to = head.status.next(ShipmentAction::Suspend, None)?;
                set_status(tx, &head, to, Some(head.status)).await?;
            }
            WarehouseDecision::Resume => {
                let mut to = head.status.next(ShipmentAction::Resume, head.before_request)?;
                if to == ShipmentStatus::Backordered {
                    let demands = demands_of(tx, id).await?;
                    if stock::allocate(tx, head.warehouse, id, demands).await?.is_ok() {
                        to = to.next(ShipmentAction::Allocate, None)?;
                    }
                }
                set_status(tx, &head, to, None).await?;
            }
            WarehouseDecision::AcceptRequest => {
                let to = head.status.next(ShipmentAction::AcceptRequest, head.before_request)?;
                if to == ShipmentStatus::Cancelled {
                    let returned = stock::return_picked(tx, head.warehouse, id).await?;
                    stock::release(tx, id).await?;
                    if returned > 0 {
                        billing::record(
                            tx,
                            head.shipper,
                            head.warehouse,
                            BillingKind::CancelAfterPicking,
                            1,
                            &format!("shipment:{}", id.0),
                        )
                        .await?;
                    }
                    set_status(tx, &head, to, None).await?;
                } else {
                    let pending: Option<String> =
                        sqlx::query_scalar("select pending_change from shipment where shipment_id = $1")
                            .bind(id.0)
                            .fetch_one(&mut **tx)
                            .await?;
                    // A change that no longer parses fails the answer; it is never applied as nothing.
                    let change = pending.as_deref().map(serde_json::from_str::<Change>).transpose();
                    if let Some(change) = stored("pending_change", change)? {
                        apply_fields(tx, id, &change).await?;
                    }
                    sqlx::query("update shipment set pending_change = null where shipment_id = $1")
                        .bind(id.0)
                        .execute(&mut **tx)
                        .await?;
                    set_status(tx, &head, to, None).await?;
                }
            }
            WarehouseDecision::RefuseRequest => {
                let to = head.status.next(ShipmentAction::RefuseRequest, head.before_request)?;
                sqlx::query("update shipment set pending_change = null where shipment_id = $1")
                    .bind(id.0)
                    .execute(&mut **tx)
                    .await?;
                set_status(tx, &head, to, None).await?;
            }
        }
        get_in(tx, id).await
    })
}

/// Re-allocates backordered shipments of `warehouse` in priority, then age, order; each is
/// allocated whole or left waiting. Returns how many became `waiting`.
pub async fn reallocate_backorders(tx: &mut Tx, warehouse: WarehouseId, limit: i64) -> Result<u64, Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from shipment where warehouse_id = $1 and status = 'backordered' \
         order by allocate_priority, created_at, shipment_id limit $2"
    )))
    .bind(warehouse.0)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    let mut allocated = 0;
    for r in rows {
        let head = head_of(&r)?;
        let demands = demands_of(tx, head.id).await?;
        if stock::allocate(tx, warehouse, head.id, demands).await?.is_ok() {
            let to = head.status.next(ShipmentAction::Allocate, None)?;
            set_status(tx, &head, to, None).await?;
            allocated += 1;
        }
    }
    Ok(allocated)
}

/// Shipping inspection (出荷検品): compares the counted units (`scanned` value, quantity) with
/// what was ordered and picked ([`inspection::differences`]); all equal, the shipment becomes
/// `picked`, otherwise nothing changes and the differences are the answer.
pub async fn inspect(
    db: &Db,
    scope: &Scope,
    id: ShipmentId,
    counted: &[(String, i64)],
) -> Result<Result<Shipment, Vec<Difference>>, Error> {
    crate::transaction!(db, |tx| {
        let head = head(tx, scope, id).await?;
        let to = head.status.next(ShipmentAction::Inspect, None)?;
        let lines = picked_lines(tx, id).await?;
        let differences = inspection::differences(&lines, counted.iter().map(|(v, n)| (v.as_str(), *n)));
        if !differences.is_empty() {
            return Ok(Err(differences));
        }
        sqlx::query("update allocation set inspected = picked where shipment_id = $1")
            .bind(id.0)
            .execute(&mut **tx)
            .await?;
        set_status(tx, &head, to, None).await?;
        Ok(Ok(get_in(tx, id).await?))
    })
}

/// The shipment's lines as picked, with the barcodes a scanner reads.
async fn picked_lines(tx: &mut Tx, id: ShipmentId) -> Result<Vec<PickedLine>, Error> {
    let rows = sqlx::query(
        "select i.code, i.barcode, sl.quantity, \
           cast(coalesce((select sum(a.picked) from allocation a where a.shipment_line_id = sl.shipment_line_id), 0) as bigint) as picked \
         from shipment_line sl join item i on i.item_id = sl.item_id where sl.shipment_id = $1 order by sl.shipment_line_id",
    )
    .bind(id.0)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PickedLine {
                item_code: r.try_get("code")?,
                barcode: r.try_get("barcode")?,
                ordered: r.try_get("quantity")?,
                picked: r.try_get("picked")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}
