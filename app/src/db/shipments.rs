//! Shipments (出荷依頼): creation with allocation, edits, cancels and the warehouse's answers
//! to requests. Every status change is a compare-and-set on (id, version, status) through
//! [`set_status`]; the legal moves themselves live in `domain::shipment`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use utoipa::ToSchema;

use super::stock::{self, Demand};
use super::{Db, Tx, billing, is_unique_violation, items, now, warehouses};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::calendar::parse_date;
use crate::domain::shipment::{ShipmentAction, ShipmentStatus};
use crate::domain::values::{
    Carrier, Identifier, ItemCode, Name, Phone, PostalCode, Priority, Quantity, ShipmentId, ShipperId, Text,
    WarehouseId,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    pub name: Name,
    pub postal_code: PostalCode,
    pub prefecture: Name,
    pub address1: Text,
    pub address2: Option<Text>,
    pub phone: Phone,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    pub item_code: ItemCode,
    pub quantity: Quantity,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShipment {
    pub identifier: Identifier,
    pub warehouse_id: WarehouseId,
    /// 1 (first) to 100; default 50.
    pub allocate_priority: Option<Priority>,
    /// Local date (YYYY-MM-DD); default today before the warehouse's cut-off, tomorrow after.
    pub ship_date: Option<String>,
    pub recipient: Recipient,
    pub delivery_carrier: Carrier,
    #[serde(default)]
    pub gift_wrap: bool,
    pub lines: Vec<NewLine>,
}

/// A shipper's change. Before work starts anything may change; afterwards only the recipient
/// and carrier, and the change becomes a `modify_request` the warehouse accepts or refuses.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentEdit {
    pub recipient: Option<Recipient>,
    pub delivery_carrier: Option<Carrier>,
    pub allocate_priority: Option<Priority>,
    pub ship_date: Option<String>,
    pub gift_wrap: Option<bool>,
    pub lines: Option<Vec<NewLine>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShipmentLine {
    pub item_id: i64,
    pub item_code: String,
    pub quantity: i64,
    pub allocated: i64,
    pub picked: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Shipment {
    pub shipment_id: i64,
    pub identifier: String,
    pub warehouse_id: i64,
    pub status: ShipmentStatus,
    /// The status a pending request or suspension will return to.
    pub status_before_request: Option<ShipmentStatus>,
    pub pending_change: Option<serde_json::Value>,
    pub allocate_priority: i64,
    pub ship_date: String,
    pub recipient: serde_json::Value,
    pub delivery_carrier: String,
    pub gift_wrap: bool,
    pub lines: Vec<ShipmentLine>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "shipment_id, shipper_id, identifier, warehouse_id, status, status_before_request, pending_change, \
    allocate_priority, ship_date, recipient_name, recipient_postal_code, recipient_prefecture, recipient_address1, \
    recipient_address2, recipient_phone, delivery_carrier, gift_wrap, version, created_at, updated_at, request_hash";

/// The row plus what the service needs to know about it.
#[derive(Debug, Clone)]
pub struct Head {
    pub id: ShipmentId,
    pub shipper: ShipperId,
    pub warehouse: WarehouseId,
    pub status: ShipmentStatus,
    pub before_request: Option<ShipmentStatus>,
    pub version: i64,
    pub request_hash: String,
    pub gift_wrap: bool,
}

fn status_of(s: &str) -> Result<ShipmentStatus, Error> {
    ShipmentStatus::parse(s).ok_or_else(|| Error::Database(sqlx::Error::Decode(format!("bad status {s}").into())))
}

fn head_of(r: &sqlx::any::AnyRow) -> Result<Head, Error> {
    let before: Option<String> = r.try_get("status_before_request")?;
    Ok(Head {
        id: ShipmentId(r.try_get("shipment_id")?),
        shipper: ShipperId(r.try_get("shipper_id")?),
        warehouse: WarehouseId(r.try_get("warehouse_id")?),
        status: status_of(&r.try_get::<String, _>("status")?)?,
        before_request: before.as_deref().map(status_of).transpose()?,
        version: r.try_get("version")?,
        request_hash: r.try_get("request_hash")?,
        gift_wrap: r.try_get::<i64, _>("gift_wrap")? != 0,
    })
}

/// The shipment's head, if `scope` may see it.
pub async fn head(tx: &mut Tx, scope: &Scope, id: ShipmentId) -> Result<Head, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS} from shipment where shipment_id = $1")))
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound("shipment"))?;
    let head = head_of(&row)?;
    // Another tenant's shipment is indistinguishable from a missing one.
    if scope.allows(head.shipper, head.warehouse) { Ok(head) } else { Err(Error::NotFound("shipment")) }
}

async fn load(conn: &mut sqlx::AnyConnection, id: ShipmentId) -> Result<Shipment, Error> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS} from shipment where shipment_id = $1")))
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await?;
    let lines = sqlx::query(
        "select sl.item_id, i.code, sl.quantity, \
           cast(coalesce((select sum(a.quantity) from allocation a where a.shipment_line_id = sl.shipment_line_id), 0) as bigint) as allocated, \
           cast(coalesce((select sum(a.picked) from allocation a where a.shipment_line_id = sl.shipment_line_id), 0) as bigint) as picked \
         from shipment_line sl join item i on i.item_id = sl.item_id where sl.shipment_id = $1 order by sl.shipment_line_id",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|l| {
        Ok(ShipmentLine {
            item_id: l.try_get("item_id")?,
            item_code: l.try_get("code")?,
            quantity: l.try_get("quantity")?,
            allocated: l.try_get("allocated")?,
            picked: l.try_get("picked")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let head = head_of(&r)?;
    let pending: Option<String> = r.try_get("pending_change")?;
    Ok(Shipment {
        shipment_id: head.id.0,
        identifier: r.try_get("identifier")?,
        warehouse_id: head.warehouse.0,
        status: head.status,
        status_before_request: head.before_request,
        pending_change: pending.and_then(|p| serde_json::from_str(&p).ok()),
        allocate_priority: r.try_get("allocate_priority")?,
        ship_date: r.try_get("ship_date")?,
        recipient: serde_json::json!({
            "name": r.try_get::<String, _>("recipient_name")?,
            "postal_code": r.try_get::<String, _>("recipient_postal_code")?,
            "prefecture": r.try_get::<String, _>("recipient_prefecture")?,
            "address1": r.try_get::<String, _>("recipient_address1")?,
            "address2": r.try_get::<Option<String>, _>("recipient_address2")?,
            "phone": r.try_get::<String, _>("recipient_phone")?,
        }),
        delivery_carrier: r.try_get("delivery_carrier")?,
        gift_wrap: head.gift_wrap,
        lines,
        version: head.version,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The shipment as the API shows it, inside a transaction that already checked access.
pub async fn get_in(tx: &mut Tx, id: ShipmentId) -> Result<Shipment, Error> {
    load(tx, id).await
}

pub async fn get(db: &Db, scope: &Scope, id: ShipmentId) -> Result<Shipment, Error> {
    let mut conn = db.reader().acquire().await?;
    check_visible(&mut conn, scope, id).await?;
    load(&mut conn, id).await
}

/// Whether the shipment exists for `scope`: another tenant's is "not found", like a missing one.
pub async fn check_visible(conn: &mut sqlx::AnyConnection, scope: &Scope, id: ShipmentId) -> Result<(), Error> {
    let r = sqlx::query("select shipper_id, warehouse_id from shipment where shipment_id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(Error::NotFound("shipment"))?;
    if scope.allows(ShipperId(r.try_get("shipper_id")?), WarehouseId(r.try_get("warehouse_id")?)) {
        Ok(())
    } else {
        Err(Error::NotFound("shipment"))
    }
}

pub async fn list(
    db: &Db,
    scope: &Scope,
    status: Option<ShipmentStatus>,
    after: i64,
    limit: i64,
) -> Result<Vec<Shipment>, Error> {
    let (visible, values) = super::visible(scope, "shipper_id", Some("warehouse_id"), 4);
    let sql = format!(
        "select shipment_id from shipment where shipment_id > $1 and ($2 is null or status = $2) and {visible} \
         order by shipment_id limit $3"
    );
    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(after)
        .bind(status.map(ShipmentStatus::as_str))
        .bind(limit);
    for v in values {
        q = q.bind(v);
    }
    let mut conn = db.reader().acquire().await?;
    let ids: Vec<i64> = q.fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(load(&mut conn, ShipmentId(id)).await?);
    }
    Ok(out)
}

fn request_hash(new: &NewShipment) -> String {
    let canonical = serde_json::to_vec(new).unwrap_or_default();
    Sha256::digest(&canonical).iter().map(|b| format!("{b:02x}")).collect()
}

fn check_lines(lines: &[NewLine], field: &str) -> Result<(), Error> {
    if lines.is_empty() {
        return Err(Error::invalid(field, "must have at least one line"));
    }
    if lines.len() > 200 {
        return Err(Error::invalid(field, "must have at most 200 lines"));
    }
    for (i, line) in lines.iter().enumerate() {
        if lines[..i].iter().any(|l| l.item_code == line.item_code) {
            return Err(Error::invalid(format!("{field}/{i}/item_code"), "appears on more than one line"));
        }
    }
    Ok(())
}

/// What [`create`] did.
#[derive(Debug)]
pub enum Created {
    New(Shipment),
    /// The same identifier was submitted before with the same content: nothing new happened.
    Existing(Shipment),
}

pub async fn create(db: &Db, shipper: ShipperId, new: &NewShipment) -> Result<Created, Error> {
    let hash = request_hash(new);
    let result = crate::transaction!(db, |tx| { create_in(tx, shipper, new).await });
    match result {
        // Two submissions of one identifier raced: the loser answers like a later resubmission.
        Err(e) if is_unique_violation(&e, IDENTIFIER_KEY, "shipment.identifier") => {
            crate::transaction!(db, |tx| {
                let hash = hash.clone();
                let existing = existing(tx, shipper, new.identifier.as_str()).await?.ok_or(e_dup())?;
                replay(tx, existing, &hash).await
            })
        }
        other => other,
    }
}

/// The (shipper, identifier) unique constraint, as PostgreSQL names it.
pub const IDENTIFIER_KEY: &str = "shipment_shipper_id_identifier_key";

/// [`create`] inside the caller's transaction (a channel order is created together with its
/// event). A race on the identifier surfaces as the unique violation [`IDENTIFIER_KEY`].
pub async fn create_in(tx: &mut Tx, shipper: ShipperId, new: &NewShipment) -> Result<Created, Error> {
    check_lines(&new.lines, "/lines")?;
    let hash = request_hash(new);
    let warehouse = warehouses::get_in(tx, new.warehouse_id)
        .await
        .map_err(|_| Error::invalid("/warehouse_id", "unknown warehouse"))?;
    let clock = warehouse.clock()?;
    let now_ts = jiff::Timestamp::now();
    let ship_date = match &new.ship_date {
        Some(d) => {
            let date = parse_date("/ship_date", d)?;
            if date < clock.local_date(now_ts) {
                return Err(Error::invalid("/ship_date", "must not be in the past"));
            }
            date
        }
        None => clock.default_ship_date(now_ts),
    };
    if let Some(existing) = existing(tx, shipper, new.identifier.as_str()).await? {
        return replay(tx, existing, &hash).await;
    }
    let codes: Vec<(usize, &ItemCode)> = new.lines.iter().map(|l| &l.item_code).enumerate().collect();
    let item_ids = items::resolve_codes(tx, shipper, &codes, "/lines").await?;
    let ts = now();
    let r = &new.recipient;
    let id: i64 = sqlx::query_scalar(
        "insert into shipment (shipper_id, warehouse_id, identifier, request_hash, status, allocate_priority, \
                 ship_date, recipient_name, recipient_postal_code, recipient_prefecture, recipient_address1, \
                 recipient_address2, recipient_phone, delivery_carrier, gift_wrap, created_at, updated_at) \
                 values ($1, $2, $3, $4, 'waiting', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
                 returning shipment_id",
    )
    .bind(shipper.0)
    .bind(new.warehouse_id.0)
    .bind(new.identifier.as_str())
    .bind(&hash)
    .bind(new.allocate_priority.map_or(50, Priority::get))
    .bind(ship_date.to_string())
    .bind(r.name.as_str())
    .bind(r.postal_code.as_str())
    .bind(r.prefecture.as_str())
    .bind(r.address1.as_str())
    .bind(r.address2.as_ref().map(Text::as_str))
    .bind(r.phone.as_str())
    .bind(new.delivery_carrier.as_str())
    .bind(i64::from(new.gift_wrap))
    .bind(&ts)
    .fetch_one(&mut **tx)
    .await?;
    let id = ShipmentId(id);
    let demands = insert_lines(tx, id, &new.lines, &item_ids).await?;
    let status = allocate_or_backorder(tx, shipper, new.warehouse_id, id, demands).await?;
    if status == ShipmentStatus::Backordered {
        sqlx::query("update shipment set status = 'backordered' where shipment_id = $1")
            .bind(id.0)
            .execute(&mut **tx)
            .await?;
    }
    Ok(Created::New(load(tx, id).await?))
}

fn e_dup() -> Error {
    Error::Duplicate { field: "/identifier", existing_id: None }
}

async fn existing(tx: &mut Tx, shipper: ShipperId, identifier: &str) -> Result<Option<Head>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from shipment where shipper_id = $1 and identifier = $2"
    )))
    .bind(shipper.0)
    .bind(identifier)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(head_of).transpose()
}

async fn replay(tx: &mut Tx, existing: Head, hash: &str) -> Result<Created, Error> {
    if existing.request_hash == hash {
        Ok(Created::Existing(load(tx, existing.id).await?))
    } else {
        Err(Error::Duplicate { field: "/identifier", existing_id: Some(existing.id.0) })
    }
}

async fn insert_lines(
    tx: &mut Tx,
    id: ShipmentId,
    lines: &[NewLine],
    item_ids: &[crate::domain::values::ItemId],
) -> Result<Vec<Demand>, Error> {
    let mut demands = Vec::with_capacity(lines.len());
    for (line, item) in lines.iter().zip(item_ids) {
        let line_id: i64 = sqlx::query_scalar(
            "insert into shipment_line (shipment_id, item_id, quantity) values ($1, $2, $3) returning shipment_line_id",
        )
        .bind(id.0)
        .bind(item.0)
        .bind(line.quantity.get())
        .fetch_one(&mut **tx)
        .await?;
        demands.push(Demand {
            shipment_line_id: line_id,
            item_id: item.0,
            item_code: line.item_code.to_string(),
            quantity: line.quantity.get(),
        });
    }
    Ok(demands)
}

async fn demands_of(tx: &mut Tx, id: ShipmentId) -> Result<Vec<Demand>, Error> {
    let rows = sqlx::query(
        "select sl.shipment_line_id, sl.item_id, i.code, sl.quantity from shipment_line sl \
         join item i on i.item_id = sl.item_id where sl.shipment_id = $1",
    )
    .bind(id.0)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Demand {
                shipment_line_id: r.try_get("shipment_line_id")?,
                item_id: r.try_get("item_id")?,
                item_code: r.try_get("code")?,
                quantity: r.try_get("quantity")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Error::from)
}

/// Allocates whole, or backorders when the shipper allows it, or refuses with the short items.
async fn allocate_or_backorder(
    tx: &mut Tx,
    shipper: ShipperId,
    warehouse: WarehouseId,
    id: ShipmentId,
    demands: Vec<Demand>,
) -> Result<ShipmentStatus, Error> {
    match stock::allocate(tx, warehouse, id, demands).await? {
        Ok(()) => Ok(ShipmentStatus::Waiting),
        Err(short) => {
            let allow: i64 = sqlx::query_scalar("select allow_backorder from shipper where shipper_id = $1")
                .bind(shipper.0)
                .fetch_one(&mut **tx)
                .await?;
            if allow != 0 { Ok(ShipmentStatus::Backordered) } else { Err(Error::InsufficientStock(short)) }
        }
    }
}

/// Compare-and-set of the status; a lost race is a 409 naming the status that won.
pub async fn set_status(
    tx: &mut Tx,
    head: &Head,
    to: ShipmentStatus,
    before_request: Option<ShipmentStatus>,
) -> Result<(), Error> {
    let done = sqlx::query(
        "update shipment set status = $1, status_before_request = $2, version = version + 1, updated_at = $3 \
         where shipment_id = $4 and version = $5 and status = $6",
    )
    .bind(to.as_str())
    .bind(before_request.map(ShipmentStatus::as_str))
    .bind(now())
    .bind(head.id.0)
    .bind(head.version)
    .bind(head.status.as_str())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let current: Option<String> = sqlx::query_scalar("select status from shipment where shipment_id = $1")
        .bind(head.id.0)
        .fetch_optional(&mut **tx)
        .await?;
    Err(Error::Concurrent { entity: "shipment", current: current.unwrap_or_default() })
}

pub async fn edit(db: &Db, shipper: ShipperId, id: ShipmentId, change: &ShipmentEdit) -> Result<Shipment, Error> {
    if let Some(lines) = &change.lines {
        check_lines(lines, "/lines")?;
    }
    crate::transaction!(db, |tx| {
        let head = head(tx, &Scope::Shipper(shipper), id).await?;
        if head.status.in_progress() {
            // After work started only the recipient and carrier may change, by request.
            if change.lines.is_some()
                || change.allocate_priority.is_some()
                || change.ship_date.is_some()
                || change.gift_wrap.is_some()
            {
                return Err(Error::IllegalTransition {
                    entity: "shipment",
                    current: head.status.as_str().to_owned(),
                    action: "change lines, priority, date or options",
                });
            }
            let to = head.status.next(ShipmentAction::Modify, None)?;
            set_status(tx, &head, to, Some(head.status)).await?;
            sqlx::query("update shipment set pending_change = $1 where shipment_id = $2")
                .bind(serde_json::to_string(change).unwrap_or_default())
                .bind(id.0)
                .execute(&mut **tx)
                .await?;
            return load(tx, id).await;
        }
        head.status.next(ShipmentAction::Edit, None)?;
        apply_fields(tx, id, change).await?;
        let mut before = head.before_request;
        let mut status = head.status;
        if let Some(lines) = &change.lines {
            stock::release(tx, id).await?;
            sqlx::query("delete from shipment_line where shipment_id = $1").bind(id.0).execute(&mut **tx).await?;
            let codes: Vec<(usize, &ItemCode)> = lines.iter().map(|l| &l.item_code).enumerate().collect();
            let item_ids = items::resolve_codes(tx, shipper, &codes, "/lines").await?;
            let demands = insert_lines(tx, id, lines, &item_ids).await?;
            let allocated = allocate_or_backorder(tx, shipper, head.warehouse, id, demands).await?;
            if status == ShipmentStatus::Suspended {
                before = Some(allocated);
            } else {
                status = allocated;
            }
        }
        set_status(tx, &head, status, before).await?;
        load(tx, id).await
    })
}

async fn apply_fields(tx: &mut Tx, id: ShipmentId, change: &ShipmentEdit) -> Result<(), Error> {
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
    if let Some(d) = &change.ship_date {
        parse_date("/ship_date", d)?;
        sqlx::query("update shipment set ship_date = $1 where shipment_id = $2")
            .bind(d)
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
        load(tx, id).await
    })
}

/// Warehouse moves that need no extra data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
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
                        to = ShipmentStatus::Waiting;
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
                            billing::Kind::CancelAfterPicking,
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
                    if let Some(change) = pending.and_then(|p| serde_json::from_str::<ShipmentEdit>(&p).ok()) {
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
        load(tx, id).await
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

/// Line quantities counted at shipping inspection (出荷検品), by barcode or item code.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    pub lines: Vec<InspectedLine>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectedLine {
    /// The item's barcode or, for items without one, its code.
    pub scanned: String,
    pub quantity: Quantity,
}

/// One line that did not match at inspection.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InspectionDifference {
    pub item_code: String,
    pub ordered: i64,
    pub picked: i64,
    pub inspected: i64,
}

/// Compares inspected counts with what was ordered and picked; all equal → `picked`.
pub async fn inspect(
    db: &Db,
    scope: &Scope,
    id: ShipmentId,
    inspection: &Inspection,
) -> Result<Result<Shipment, Vec<InspectionDifference>>, Error> {
    crate::transaction!(db, |tx| {
        let head = head(tx, scope, id).await?;
        let to = head.status.next(ShipmentAction::Inspect, None)?;
        let shipment = load(tx, id).await?;
        let barcodes = sqlx::query(
                "select i.code, i.barcode from shipment_line sl join item i on i.item_id = sl.item_id where sl.shipment_id = $1",
            )
            .bind(id.0)
            .fetch_all(&mut **tx)
            .await?;
        let mut inspected = std::collections::HashMap::<String, i64>::new();
        for line in &inspection.lines {
            let code = barcodes.iter().find_map(|r| {
                let code: String = r.try_get("code").ok()?;
                let barcode: Option<String> = r.try_get("barcode").ok()?;
                (barcode.as_deref() == Some(line.scanned.as_str()) || code == line.scanned).then_some(code)
            });
            *inspected.entry(code.unwrap_or_else(|| line.scanned.clone())).or_default() += line.quantity.get();
        }
        let mut differences: Vec<InspectionDifference> = shipment
            .lines
            .iter()
            .filter_map(|l| {
                let seen = inspected.remove(&l.item_code).unwrap_or(0);
                (seen != l.quantity || l.picked != l.quantity).then(|| InspectionDifference {
                    item_code: l.item_code.clone(),
                    ordered: l.quantity,
                    picked: l.picked,
                    inspected: seen,
                })
            })
            .collect();
        // Anything scanned that is not on the shipment at all.
        differences.extend(inspected.into_iter().map(|(code, n)| InspectionDifference {
            item_code: code,
            ordered: 0,
            picked: 0,
            inspected: n,
        }));
        if !differences.is_empty() {
            return Ok(Err(differences));
        }
        sqlx::query("update allocation set inspected = picked where shipment_id = $1")
            .bind(id.0)
            .execute(&mut **tx)
            .await?;
        set_status(tx, &head, to, None).await?;
        Ok(Ok(load(tx, id).await?))
    })
}
