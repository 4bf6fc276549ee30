//! Inbound requests (入荷依頼): announced by the shipper, received, inspected and put away by the
//! warehouse. Receiving books goods into the receiving area (defective ones into hold);
//! putaway moves them onto the shelves and re-allocates backorders in the same transaction.

use jiff::civil::Date;
use sqlx::Row;

use super::stock::{self, Reference, StockKey};
use super::{Db, Tx, billing, items, now, shipments, stored, warehouses};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::billing::Kind as BillingKind;
use crate::domain::inbound::{InboundAction, InboundStatus, NewInbound, ReceivedLine};
use crate::domain::values::{
    Bucket, Identifier, InboundId, ItemCode, ItemId, LedgerKind, LocationKind, Lot, ShipperId, WarehouseId,
};

/// An inbound as stored, with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub inbound_id: InboundId,
    pub identifier: Identifier,
    pub warehouse_id: WarehouseId,
    pub status: InboundStatus,
    /// Fewer units arrived than were requested.
    pub halfway: bool,
    pub arrival_date: Option<Date>,
    pub lines: Vec<InboundLine>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundLine {
    pub item_id: ItemId,
    pub item_code: ItemCode,
    pub lot: Lot,
    pub expires_on: Option<Date>,
    pub requested: i64,
    pub received: i64,
    pub defective: i64,
}

#[derive(Debug, Clone)]
struct Head {
    id: InboundId,
    shipper: ShipperId,
    warehouse: WarehouseId,
    status: InboundStatus,
    version: i64,
}

async fn head(tx: &mut Tx, scope: &Scope, id: InboundId) -> Result<Head, Error> {
    let r =
        sqlx::query("select inbound_id, shipper_id, warehouse_id, status, version from inbound where inbound_id = $1")
            .bind(id.0)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(Error::NotFound("inbound"))?;
    let status: String = r.try_get("status")?;
    let head = Head {
        id,
        shipper: ShipperId(r.try_get("shipper_id")?),
        warehouse: WarehouseId(r.try_get("warehouse_id")?),
        status: InboundStatus::parse(&status).ok_or(Error::NotFound("inbound"))?,
        version: r.try_get("version")?,
    };
    if scope.allows(head.shipper, head.warehouse) { Ok(head) } else { Err(Error::NotFound("inbound")) }
}

async fn set_status(tx: &mut Tx, head: &Head, to: InboundStatus) -> Result<(), Error> {
    let done = sqlx::query(
        "update inbound set status = $1, version = version + 1, updated_at = $2 \
         where inbound_id = $3 and version = $4 and status = $5",
    )
    .bind(to.as_str())
    .bind(now())
    .bind(head.id.0)
    .bind(head.version)
    .bind(head.status.as_str())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::Concurrent { entity: "inbound", current: head.status.as_str().to_owned() })
    }
}

const COLUMNS: &str =
    "inbound_id, identifier, warehouse_id, status, halfway, arrival_date, version, created_at, updated_at";

/// A stored date, if there is one.
fn date_of(column: &str, value: Option<String>) -> Result<Option<Date>, Error> {
    stored(column, value.map(|d| d.parse::<Date>()).transpose())
}

/// Inbound rows with their lines, loaded for all of them at once (two statements per page).
async fn with_lines(conn: &mut sqlx::AnyConnection, rows: &[sqlx::any::AnyRow]) -> Result<Vec<Inbound>, Error> {
    let ids = rows.iter().map(|r| r.try_get("inbound_id")).collect::<Result<Vec<i64>, _>>()?;
    let mut by_id: std::collections::HashMap<i64, Vec<InboundLine>> = std::collections::HashMap::new();
    if !ids.is_empty() {
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "select l.inbound_id, l.item_id, i.code, l.lot, l.expires_on, l.requested, l.received, l.defective \
             from inbound_line l join item i on i.item_id = l.item_id where l.inbound_id in ({}) \
             order by l.inbound_id, l.inbound_line_id",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
        for id in &ids {
            q = q.bind(id);
        }
        for l in q.fetch_all(&mut *conn).await? {
            let line = InboundLine {
                item_id: ItemId(l.try_get("item_id")?),
                item_code: stored("item.code", ItemCode::parse(l.try_get::<String, _>("code")?))?,
                lot: stored("lot", Lot::parse(l.try_get::<String, _>("lot")?))?,
                expires_on: date_of("expires_on", l.try_get("expires_on")?)?,
                requested: l.try_get("requested")?,
                received: l.try_get("received")?,
                defective: l.try_get("defective")?,
            };
            by_id.entry(l.try_get("inbound_id")?).or_default().push(line);
        }
    }
    rows.iter()
        .zip(ids)
        .map(|(r, id)| {
            let status: String = r.try_get("status")?;
            Ok(Inbound {
                inbound_id: InboundId(id),
                identifier: stored("identifier", Identifier::parse(r.try_get::<String, _>("identifier")?))?,
                warehouse_id: WarehouseId(r.try_get("warehouse_id")?),
                status: stored("status", InboundStatus::parse(&status).ok_or(status))?,
                halfway: r.try_get::<i64, _>("halfway")? != 0,
                arrival_date: date_of("arrival_date", r.try_get("arrival_date")?)?,
                lines: by_id.remove(&id).unwrap_or_default(),
                version: r.try_get("version")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

async fn load(conn: &mut sqlx::AnyConnection, id: InboundId) -> Result<Inbound, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS} from inbound where inbound_id = $1")))
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await?;
    with_lines(conn, &[row]).await?.pop().ok_or(Error::NotFound("inbound"))
}

pub async fn create(db: &Db, shipper: ShipperId, new: &NewInbound) -> Result<Inbound, Error> {
    new.check()?;
    crate::transaction!(db, |tx| {
        warehouses::get_in(tx, new.warehouse_id)
            .await
            .map_err(|_| Error::invalid("/warehouse_id", "unknown warehouse"))?;
        let codes: Vec<&ItemCode> = new.lines.iter().map(|l| &l.item_code).collect();
        let items = items::resolve_codes(tx, shipper, &codes, "/lines").await?;
        for (i, (line, item)) in new.lines.iter().zip(&items).enumerate() {
            line.check_lot(i, item.lot_managed)?;
        }
        let ts = now();
        let id: i64 = sqlx::query_scalar(
            "insert into inbound (shipper_id, warehouse_id, identifier, status, arrival_date, created_at, updated_at) \
                 values ($1, $2, $3, 'waiting', $4, $5, $5) returning inbound_id",
        )
        .bind(shipper.0)
        .bind(new.warehouse_id.0)
        .bind(new.identifier.as_str())
        .bind(new.arrival_date.map(|d| d.to_string()))
        .bind(&ts)
        .fetch_one(&mut **tx)
        .await
        .map_err(Error::from)
        .map_err(|e| {
            if super::is_unique_violation(&e, "inbound_shipper_id_identifier_key", "inbound.identifier") {
                Error::Duplicate { field: "/identifier", existing_id: None }
            } else {
                e
            }
        })?;
        for (i, (line, item)) in new.lines.iter().zip(&items).enumerate() {
            sqlx::query(
                    "insert into inbound_line (inbound_id, item_id, lot, expires_on, requested) values ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(item.id.0)
                .bind(line.lot.as_ref().map_or("", Lot::as_str))
                .bind(line.expires_on.map(|d| d.to_string()))
                .bind(line.quantity.get())
                .execute(&mut **tx)
                .await
                .map_err(Error::from)
                .map_err(|e| {
                    if super::is_unique_violation(&e, "inbound_line_inbound_id_item_id_lot_key", "inbound_line.") {
                        Error::invalid(format!("/lines/{i}/item_code"), "the same item and lot appear twice")
                    } else {
                        e
                    }
                })?;
        }
        load(tx, InboundId(id)).await
    })
}

pub async fn get(db: &Db, scope: &Scope, id: InboundId) -> Result<Inbound, Error> {
    let mut conn = db.reader().acquire().await?;
    let row =
        sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS}, shipper_id from inbound where inbound_id = $1")))
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(Error::NotFound("inbound"))?;
    if !scope.allows(ShipperId(row.try_get("shipper_id")?), WarehouseId(row.try_get("warehouse_id")?)) {
        return Err(Error::NotFound("inbound"));
    }
    with_lines(&mut conn, &[row]).await?.pop().ok_or(Error::NotFound("inbound"))
}

pub async fn list(
    db: &Db,
    scope: &Scope,
    status: Option<InboundStatus>,
    after: i64,
    limit: i64,
) -> Result<Vec<Inbound>, Error> {
    let (visible, values) = super::visible(scope, "shipper_id", Some("warehouse_id"), 4);
    let sql = format!(
        "select {COLUMNS} from inbound where inbound_id > $1 and ($2 is null or status = $2) and {visible} \
         order by inbound_id limit $3"
    );
    let mut q =
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(after).bind(status.map(InboundStatus::as_str)).bind(limit);
    for v in values {
        q = q.bind(v);
    }
    let mut conn = db.reader().acquire().await?;
    let rows = q.fetch_all(&mut *conn).await?;
    with_lines(&mut conn, &rows).await
}

pub async fn cancel(db: &Db, shipper: ShipperId, id: InboundId) -> Result<Inbound, Error> {
    crate::transaction!(db, |tx| {
        let head = head(tx, &Scope::Shipper(shipper), id).await?;
        let to = head.status.next(InboundAction::Cancel)?;
        set_status(tx, &head, to).await?;
        load(tx, id).await
    })
}

/// Books what arrived (`lines`): good units of announced lines into the receiving area,
/// defective and unannounced goods on hold ([`ReceivedLine::booked`]); bills the units.
pub async fn receive(db: &Db, scope: &Scope, id: InboundId, lines: &[ReceivedLine]) -> Result<Inbound, Error> {
    if lines.is_empty() {
        return Err(Error::invalid("/lines", "must have at least one line"));
    }
    crate::transaction!(db, |tx| {
        let head = head(tx, scope, id).await?;
        let to = head.status.next(InboundAction::Receive)?;
        let receiving = warehouses::default_location(tx, head.warehouse, LocationKind::Receiving).await?;
        let hold = warehouses::default_location(tx, head.warehouse, LocationKind::Hold).await?;
        let reference = Reference { shipment: None, inbound: Some(id) };
        let codes: Vec<&ItemCode> = lines.iter().map(|l| &l.item_code).collect();
        let items = items::resolve_codes(tx, head.shipper, &codes, "/lines").await?;
        let (mut units, mut held) = (0, 0);
        for (line, item) in lines.iter().zip(items.iter().map(|i| i.id)) {
            let lot = line.lot.as_ref().map_or("", Lot::as_str);
            let (received, defective) = (line.received.get(), line.defective.get());
            let expected: Option<(i64, Option<String>)> = sqlx::query(
                    "select inbound_line_id, expires_on from inbound_line where inbound_id = $1 and item_id = $2 and lot = $3",
                )
                .bind(id.0)
                .bind(item.0)
                .bind(lot)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| Ok::<_, sqlx::Error>((r.try_get("inbound_line_id")?, r.try_get("expires_on")?)))
                .transpose()?;
            let (good, bad) = line.booked(expected.is_some());
            let mut expires = None;
            if let Some((line_id, expires_on)) = expected {
                sqlx::query(
                    "update inbound_line set received = received + $1, defective = defective + $2 \
                     where inbound_line_id = $3",
                )
                .bind(received)
                .bind(defective)
                .bind(line_id)
                .execute(&mut **tx)
                .await?;
                expires = date_of("expires_on", expires_on)?;
            }
            for (n, location, bucket) in
                [(good, receiving.location_id, Bucket::Sellable), (bad, hold.location_id, Bucket::Hold)]
            {
                if n > 0 {
                    let key = StockKey { warehouse: head.warehouse, location, item, lot, expires_on: expires, bucket };
                    let row = stock::row(tx, &key).await?;
                    stock::move_stock(tx, row, n, 0, LedgerKind::Receive, reference).await?;
                }
            }
            units += received + defective;
            held += bad;
        }
        let short: i64 = sqlx::query_scalar(
            "select count(*) from inbound_line where inbound_id = $1 and received + defective < requested",
        )
        .bind(id.0)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query("update inbound set halfway = $1 where inbound_id = $2")
            .bind(i64::from(short > 0))
            .bind(id.0)
            .execute(&mut **tx)
            .await?;
        let reference_key = format!("inbound:{}", id.0);
        billing::record(tx, head.shipper, head.warehouse, BillingKind::InboundUnit, units, &reference_key).await?;
        if held > 0 {
            billing::record(tx, head.shipper, head.warehouse, BillingKind::HoldStockCase, 1, &reference_key).await?;
        }
        set_status(tx, &head, to).await?;
        load(tx, id).await
    })
}

pub async fn inspect(db: &Db, scope: &Scope, id: InboundId) -> Result<Inbound, Error> {
    crate::transaction!(db, |tx| {
        let head = head(tx, scope, id).await?;
        let to = head.status.next(InboundAction::Inspect)?;
        set_status(tx, &head, to).await?;
        load(tx, id).await
    })
}

/// Moves received goods to the shelves, then re-allocates this warehouse's backorders.
/// Puts received goods on the shelf `location_code` (default the warehouse's first stock
/// location); the inbound is `stocked` and the warehouse's backorders are allocated again.
pub async fn putaway(db: &Db, scope: &Scope, id: InboundId, location_code: Option<&str>) -> Result<Inbound, Error> {
    crate::transaction!(db, |tx| {
        let head = head(tx, scope, id).await?;
        let to = head.status.next(InboundAction::Putaway)?;
        let shelf = match location_code {
            Some(code) => {
                let l = warehouses::location_by_code(tx, head.warehouse, code)
                    .await
                    .map_err(|_| Error::invalid("/location_code", "unknown location"))?;
                if l.kind != LocationKind::Stock {
                    return Err(Error::invalid("/location_code", "must be a stock location"));
                }
                l
            }
            None => warehouses::default_location(tx, head.warehouse, LocationKind::Stock).await?,
        };
        let receiving = warehouses::default_location(tx, head.warehouse, LocationKind::Receiving).await?;
        let reference = Reference { shipment: None, inbound: Some(id) };
        let lines = sqlx::query(
            "select item_id, lot, expires_on, received from inbound_line where inbound_id = $1 and received > 0",
        )
        .bind(id.0)
        .fetch_all(&mut **tx)
        .await?;
        for l in lines {
            let item = ItemId(l.try_get("item_id")?);
            let lot: String = l.try_get("lot")?;
            let expires = date_of("expires_on", l.try_get("expires_on")?)?;
            let n: i64 = l.try_get("received")?;
            let mut key = StockKey {
                warehouse: head.warehouse,
                location: receiving.location_id,
                item,
                lot: &lot,
                expires_on: expires,
                bucket: Bucket::Sellable,
            };
            let from = stock::row(tx, &key).await?;
            key.location = shelf.location_id;
            let onto = stock::row(tx, &key).await?;
            stock::move_stock(tx, from, -n, 0, LedgerKind::Putaway, reference).await?;
            stock::move_stock(tx, onto, n, 0, LedgerKind::Putaway, reference).await?;
        }
        set_status(tx, &head, to).await?;
        shipments::reallocate_backorders(tx, head.warehouse, 1000).await?;
        load(tx, id).await
    })
}
