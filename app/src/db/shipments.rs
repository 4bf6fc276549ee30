//! Shipments (出荷依頼) in storage: creating one with its allocation and loading them (a page
//! of a list in two statements, whatever its size); what happens to them afterwards (edits,
//! cancels, the warehouse's answers, inspection) is in `changes`, re-exported here.
//!
//! The rules -- the state machine, backorder or refuse, what may change after picking starts,
//! inspection -- are `domain::shipment` and `domain::inspection`; this module loads what they
//! need and stores what they decide. Every status change is a compare-and-set on (id,
//! version, status) through [`set_status`].

mod changes;

use jiff::civil::Date;
use sqlx::Row;

use super::stock::{self, Demand};
use super::{Db, Tx, is_unique_violation, items, now, stored, warehouses};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::shipment::{self, Change, Line, NewShipment, Recipient, ShipmentAction, ShipmentStatus};
use crate::domain::values::{
    Carrier, Identifier, ItemCode, ItemId, Name, Phone, PostalCode, Priority, Quantity, ShipmentId, ShipperId, Text,
    WarehouseId,
};

/// A shipment as stored, with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub shipment_id: ShipmentId,
    pub shipper_id: ShipperId,
    pub identifier: Identifier,
    pub warehouse_id: WarehouseId,
    pub status: ShipmentStatus,
    /// The status a pending request or suspension returns to.
    pub status_before_request: Option<ShipmentStatus>,
    /// The change a `modify_request` waits to apply.
    pub pending_change: Option<Change>,
    pub allocate_priority: Priority,
    pub ship_date: Date,
    pub recipient: Recipient,
    pub delivery_carrier: Carrier,
    pub gift_wrap: bool,
    pub lines: Vec<ShipmentLine>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A line and how much of it is reserved and picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentLine {
    pub item_id: ItemId,
    pub item_code: ItemCode,
    pub quantity: Quantity,
    pub allocated: i64,
    pub picked: i64,
}

const COLUMNS: &str = "shipment_id, shipper_id, identifier, warehouse_id, status, status_before_request, pending_change, \
    allocate_priority, ship_date, recipient_name, recipient_postal_code, recipient_prefecture, recipient_address1, \
    recipient_address2, recipient_phone, delivery_carrier, gift_wrap, version, created_at, updated_at, request_hash";

/// What transitions need to know about a shipment.
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
    stored("status", ShipmentStatus::parse(s).ok_or(s))
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

fn recipient_of(r: &sqlx::any::AnyRow) -> Result<Recipient, Error> {
    let address2: Option<String> = r.try_get("recipient_address2")?;
    Ok(Recipient {
        name: stored("recipient_name", Name::parse(r.try_get::<String, _>("recipient_name")?))?,
        postal_code: stored(
            "recipient_postal_code",
            PostalCode::parse(r.try_get::<String, _>("recipient_postal_code")?),
        )?,
        prefecture: stored("recipient_prefecture", Name::parse(r.try_get::<String, _>("recipient_prefecture")?))?,
        address1: stored("recipient_address1", Text::parse(r.try_get::<String, _>("recipient_address1")?))?,
        address2: stored("recipient_address2", address2.map(Text::parse).transpose())?,
        phone: stored("recipient_phone", Phone::parse(r.try_get::<String, _>("recipient_phone")?))?,
    })
}

/// A shipment row and its lines.
fn shipment_of(r: &sqlx::any::AnyRow, lines: Vec<ShipmentLine>) -> Result<Shipment, Error> {
    let head = head_of(r)?;
    let pending: Option<String> = r.try_get("pending_change")?;
    let carrier: String = r.try_get("delivery_carrier")?;
    Ok(Shipment {
        shipment_id: head.id,
        shipper_id: head.shipper,
        identifier: stored("identifier", Identifier::parse(r.try_get::<String, _>("identifier")?))?,
        warehouse_id: head.warehouse,
        status: head.status,
        status_before_request: head.before_request,
        // A pending change that no longer parses is an error, never a change of nothing.
        pending_change: stored("pending_change", pending.as_deref().map(serde_json::from_str::<Change>).transpose())?,
        allocate_priority: stored("allocate_priority", Priority::try_from(r.try_get::<i64, _>("allocate_priority")?))?,
        ship_date: stored("ship_date", r.try_get::<String, _>("ship_date")?.parse::<Date>())?,
        recipient: recipient_of(r)?,
        delivery_carrier: stored("delivery_carrier", Carrier::parse(&carrier).ok_or(carrier))?,
        gift_wrap: head.gift_wrap,
        lines,
        version: head.version,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The lines of every shipment in `ids`, in one statement: (shipment, line) in line order.
async fn lines_of(
    conn: &mut sqlx::AnyConnection,
    ids: &[ShipmentId],
) -> Result<Vec<(ShipmentId, ShipmentLine)>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "select sl.shipment_id, sl.item_id, i.code, sl.quantity, \
           cast(coalesce((select sum(a.quantity) from allocation a where a.shipment_line_id = sl.shipment_line_id), 0) as bigint) as allocated, \
           cast(coalesce((select sum(a.picked) from allocation a where a.shipment_line_id = sl.shipment_line_id), 0) as bigint) as picked \
         from shipment_line sl join item i on i.item_id = sl.item_id where sl.shipment_id in ({}) \
         order by sl.shipment_id, sl.shipment_line_id",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
    for id in ids {
        q = q.bind(id.0);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|l| {
            let line = ShipmentLine {
                item_id: ItemId(l.try_get("item_id")?),
                item_code: stored("item.code", ItemCode::parse(l.try_get::<String, _>("code")?))?,
                quantity: stored("quantity", Quantity::try_from(l.try_get::<i64, _>("quantity")?))?,
                allocated: l.try_get("allocated")?,
                picked: l.try_get("picked")?,
            };
            Ok((ShipmentId(l.try_get("shipment_id")?), line))
        })
        .collect()
}

/// Shipment rows with their lines, loaded for all of them at once (two statements per page).
async fn with_lines(conn: &mut sqlx::AnyConnection, rows: &[sqlx::any::AnyRow]) -> Result<Vec<Shipment>, Error> {
    let ids = rows.iter().map(|r| r.try_get("shipment_id").map(ShipmentId)).collect::<Result<Vec<_>, _>>()?;
    let mut by_id: std::collections::HashMap<ShipmentId, Vec<ShipmentLine>> = std::collections::HashMap::new();
    for (id, line) in lines_of(conn, &ids).await? {
        by_id.entry(id).or_default().push(line);
    }
    let mut out = Vec::with_capacity(rows.len());
    for (row, id) in rows.iter().zip(ids) {
        out.push(shipment_of(row, by_id.remove(&id).unwrap_or_default())?);
    }
    Ok(out)
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

/// Where the shipment goes, inside a transaction that already checked access.
pub async fn recipient(tx: &mut Tx, id: ShipmentId) -> Result<Recipient, Error> {
    let row = sqlx::query(
        "select recipient_name, recipient_postal_code, recipient_prefecture, recipient_address1, \
         recipient_address2, recipient_phone from shipment where shipment_id = $1",
    )
    .bind(id.0)
    .fetch_one(&mut **tx)
    .await?;
    recipient_of(&row)
}

/// The shipment, if `scope` may see it.
async fn load_visible(conn: &mut sqlx::AnyConnection, scope: &Scope, id: ShipmentId) -> Result<Shipment, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS} from shipment where shipment_id = $1")))
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(Error::NotFound("shipment"))?;
    let head = head_of(&row)?;
    if !scope.allows(head.shipper, head.warehouse) {
        return Err(Error::NotFound("shipment"));
    }
    with_lines(conn, &[row]).await?.pop().ok_or(Error::NotFound("shipment"))
}

/// The shipment, inside a transaction that already checked access.
pub async fn get_in(tx: &mut Tx, id: ShipmentId) -> Result<Shipment, Error> {
    load_visible(tx, &Scope::All, id).await
}

pub async fn get(db: &Db, scope: &Scope, id: ShipmentId) -> Result<Shipment, Error> {
    let mut conn = db.reader().acquire().await?;
    load_visible(&mut conn, scope, id).await
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

/// A page of the shipments `scope` may see, optionally of one status, after the id `after`:
/// two statements (the rows, then all their lines) whatever `limit` is.
pub async fn list(
    db: &Db,
    scope: &Scope,
    status: Option<ShipmentStatus>,
    after: i64,
    limit: i64,
) -> Result<Vec<Shipment>, Error> {
    let (visible, values) = super::visible(scope, "shipper_id", Some("warehouse_id"), 4);
    let sql = format!(
        "select {COLUMNS} from shipment where shipment_id > $1 and ($2 is null or status = $2) and {visible} \
         order by shipment_id limit $3"
    );
    let mut q =
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(after).bind(status.map(ShipmentStatus::as_str)).bind(limit);
    for v in values {
        q = q.bind(v);
    }
    let mut conn = db.reader().acquire().await?;
    let rows = q.fetch_all(&mut *conn).await?;
    with_lines(&mut conn, &rows).await
}

/// What [`create`] did.
#[derive(Debug)]
pub enum Created {
    New(Shipment),
    /// The same identifier was submitted before with the same content: nothing new happened.
    Existing(Shipment),
}

pub async fn create(db: &Db, shipper: ShipperId, new: &NewShipment) -> Result<Created, Error> {
    let result = crate::transaction!(db, |tx| { create_in(tx, shipper, new).await });
    match result {
        // Two submissions of one identifier raced: the loser answers like a later resubmission.
        Err(e) if is_unique_violation(&e, IDENTIFIER_KEY, "shipment.identifier") => {
            crate::transaction!(db, |tx| {
                let existing = existing(tx, shipper, &new.identifier).await?.ok_or(e_dup())?;
                replay(tx, existing, &new.fingerprint()).await
            })
        }
        other => other,
    }
}

/// The (shipper, identifier) unique constraint, as PostgreSQL names it.
pub const IDENTIFIER_KEY: &str = "shipment_shipper_id_identifier_key";

/// [`create`] inside the caller's transaction (a channel order is created together with its
/// event). A race on the identifier surfaces as the unique violation [`IDENTIFIER_KEY`].
///
/// The shipment is stored `waiting`, its lines are allocated, and the state machine moves it
/// on: it stays `waiting` when allocated in full, becomes `backordered` when short and the
/// shipper takes backorders, and is refused otherwise. The answer is built from what was
/// written, not read back.
pub async fn create_in(tx: &mut Tx, shipper: ShipperId, new: &NewShipment) -> Result<Created, Error> {
    shipment::check_lines(&new.lines, "/lines")?;
    let hash = new.fingerprint();
    let warehouse = warehouses::get_in(tx, new.warehouse_id)
        .await
        .map_err(|_| Error::invalid("/warehouse_id", "unknown warehouse"))?;
    let ship_date = shipment::ship_date(new.ship_date, &warehouse.clock()?, jiff::Timestamp::now())?;
    if let Some(existing) = existing(tx, shipper, &new.identifier).await? {
        return replay(tx, existing, &hash).await;
    }
    let codes: Vec<&ItemCode> = new.lines.iter().map(|l| &l.item_code).collect();
    let items = items::resolve_codes(tx, shipper, &codes, "/lines").await?;
    let ts = now();
    let r = &new.recipient;
    let priority = new.allocate_priority.unwrap_or(Priority::DEFAULT);
    let status = ShipmentStatus::Waiting;
    let id: i64 = sqlx::query_scalar(
        "insert into shipment (shipper_id, warehouse_id, identifier, request_hash, status, allocate_priority, \
                 ship_date, recipient_name, recipient_postal_code, recipient_prefecture, recipient_address1, \
                 recipient_address2, recipient_phone, delivery_carrier, gift_wrap, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) \
                 returning shipment_id",
    )
    .bind(shipper.0)
    .bind(new.warehouse_id.0)
    .bind(new.identifier.as_str())
    .bind(&hash)
    .bind(status.as_str())
    .bind(priority.get())
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
    let item_ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
    let demands = insert_lines(tx, id, &new.lines, &item_ids).await?;
    let action = allocate_or_backorder(tx, shipper, new.warehouse_id, id, demands).await?;
    let mut head = Head {
        id,
        shipper,
        warehouse: new.warehouse_id,
        status,
        before_request: None,
        version: 1,
        request_hash: hash,
        gift_wrap: new.gift_wrap,
    };
    let to = status.next(action, None)?;
    let mut updated_at = ts.clone();
    if to != status {
        updated_at = now();
        set_status_at(tx, &head, to, None, &updated_at).await?;
        head.status = to;
        head.version += 1;
    }
    let allocated = action == ShipmentAction::Allocate;
    let lines = new
        .lines
        .iter()
        .zip(item_ids)
        .map(|(l, item_id)| ShipmentLine {
            item_id,
            item_code: l.item_code.clone(),
            quantity: l.quantity,
            allocated: if allocated { l.quantity.get() } else { 0 },
            picked: 0,
        })
        .collect();
    Ok(Created::New(Shipment {
        shipment_id: id,
        shipper_id: shipper,
        identifier: new.identifier.clone(),
        warehouse_id: new.warehouse_id,
        status: head.status,
        status_before_request: None,
        pending_change: None,
        allocate_priority: priority,
        ship_date,
        recipient: new.recipient.clone(),
        delivery_carrier: new.delivery_carrier,
        gift_wrap: new.gift_wrap,
        lines,
        version: head.version,
        created_at: ts,
        updated_at,
    }))
}

fn e_dup() -> Error {
    Error::Duplicate { field: "/identifier", existing_id: None }
}

async fn existing(tx: &mut Tx, shipper: ShipperId, identifier: &Identifier) -> Result<Option<Head>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from shipment where shipper_id = $1 and identifier = $2"
    )))
    .bind(shipper.0)
    .bind(identifier.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(head_of).transpose()
}

async fn replay(tx: &mut Tx, existing: Head, hash: &str) -> Result<Created, Error> {
    if existing.request_hash == hash {
        Ok(Created::Existing(get_in(tx, existing.id).await?))
    } else {
        Err(Error::Duplicate { field: "/identifier", existing_id: Some(existing.id.0) })
    }
}

/// Inserts the lines in one statement; returns them as allocation demands.
async fn insert_lines(tx: &mut Tx, id: ShipmentId, lines: &[Line], item_ids: &[ItemId]) -> Result<Vec<Demand>, Error> {
    let values: Vec<String> = (0..lines.len()).map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3)).collect();
    let sql = format!(
        "insert into shipment_line (shipment_id, item_id, quantity) values {} returning shipment_line_id, item_id",
        values.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id.0);
    for (line, item) in lines.iter().zip(item_ids) {
        q = q.bind(item.0).bind(line.quantity.get());
    }
    // An item is on a shipment once, so the returned item ids say which line is which.
    let mut line_ids = std::collections::HashMap::with_capacity(lines.len());
    for r in q.fetch_all(&mut **tx).await? {
        line_ids.insert(r.try_get::<i64, _>("item_id")?, r.try_get::<i64, _>("shipment_line_id")?);
    }
    lines
        .iter()
        .zip(item_ids)
        .map(|(line, item)| {
            Ok(Demand {
                shipment_line_id: stored("shipment_line_id", line_ids.get(&item.0).copied().ok_or("not returned"))?,
                item_id: item.0,
                item_code: line.item_code.to_string(),
                quantity: line.quantity.get(),
            })
        })
        .collect()
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

/// Allocates every line or none, and says what that means for the shipment
/// ([`shipment::after_allocation`]); whether the shipper takes backorders is read only when
/// stock is short.
async fn allocate_or_backorder(
    tx: &mut Tx,
    shipper: ShipperId,
    warehouse: WarehouseId,
    id: ShipmentId,
    demands: Vec<Demand>,
) -> Result<ShipmentAction, Error> {
    let reserved = stock::allocate(tx, warehouse, id, demands).await?;
    let allow_backorder = match reserved {
        Ok(()) => false,
        Err(_) => {
            let allow: i64 = sqlx::query_scalar("select allow_backorder from shipper where shipper_id = $1")
                .bind(shipper.0)
                .fetch_one(&mut **tx)
                .await?;
            allow != 0
        }
    };
    shipment::after_allocation(reserved, allow_backorder)
}

/// Compare-and-set of the status; a lost race is a 409 naming the status that won.
pub async fn set_status(
    tx: &mut Tx,
    head: &Head,
    to: ShipmentStatus,
    before_request: Option<ShipmentStatus>,
) -> Result<(), Error> {
    set_status_at(tx, head, to, before_request, &now()).await
}

async fn set_status_at(
    tx: &mut Tx,
    head: &Head,
    to: ShipmentStatus,
    before_request: Option<ShipmentStatus>,
    at: &str,
) -> Result<(), Error> {
    let done = sqlx::query(
        "update shipment set status = $1, status_before_request = $2, version = version + 1, updated_at = $3 \
         where shipment_id = $4 and version = $5 and status = $6",
    )
    .bind(to.as_str())
    .bind(before_request.map(ShipmentStatus::as_str))
    .bind(at)
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

pub use changes::{WarehouseDecision, cancel, decide, edit, inspect, reallocate_backorders};
