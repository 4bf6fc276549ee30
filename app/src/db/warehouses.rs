//! Shippers, warehouses and their locations (admin-managed master data) in storage.

use super::{Db, Flag, Tx, now};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::calendar::WarehouseClock;
use crate::domain::values::{Identifier, LocationId, LocationKind, Name, ShipperId, WarehouseId};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Shipper {
    #[sqlx(try_from = "i64")]
    pub shipper_id: ShipperId,
    #[sqlx(try_from = "String")]
    pub code: Identifier,
    #[sqlx(try_from = "String")]
    pub name: Name,
    #[sqlx(try_from = "i64")]
    pub allow_backorder: Flag,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Warehouse {
    #[sqlx(try_from = "i64")]
    pub warehouse_id: WarehouseId,
    #[sqlx(try_from = "String")]
    pub code: Identifier,
    #[sqlx(try_from = "String")]
    pub name: Name,
    /// IANA time zone; cut-offs and billing days are local to it (see [`Warehouse::clock`]).
    pub time_zone: String,
    /// Same-day cut-off, local `HH:MM`.
    pub cutoff_time: String,
    /// When the warehouse was registered (stored UTC timestamp).
    pub created_at: String,
}

impl Warehouse {
    pub fn clock(&self) -> Result<WarehouseClock, Error> {
        WarehouseClock::new(&self.time_zone, &self.cutoff_time)
    }

    /// When the warehouse was registered.
    pub fn opened(&self) -> Result<jiff::Timestamp, Error> {
        super::stored("warehouse.created_at", self.created_at.parse())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Location {
    #[sqlx(try_from = "i64")]
    pub location_id: LocationId,
    #[sqlx(try_from = "i64")]
    pub warehouse_id: WarehouseId,
    pub code: String,
    #[sqlx(try_from = "String")]
    pub kind: LocationKind,
    pub pick_sequence: i64,
}

pub async fn create_shipper(tx: &mut Tx, code: &str, name: &str, allow_backorder: bool) -> Result<Shipper, Error> {
    let ts = now();
    let shipper = sqlx::query_as(
        "insert into shipper (code, name, allow_backorder, created_at, updated_at) values ($1, $2, $3, $4, $4) \
         returning shipper_id, code, name, allow_backorder, created_at",
    )
    .bind(code)
    .bind(name)
    .bind(i64::from(allow_backorder))
    .bind(ts)
    .fetch_one(&mut **tx)
    .await
    .map_err(Error::from)
    .map_err(|e| {
        if super::is_unique_violation(&e, "shipper_code_key", "shipper.code") {
            Error::Duplicate { field: "/code", existing_id: None }
        } else {
            e
        }
    })?;
    Ok(shipper)
}

pub async fn create_warehouse(
    tx: &mut Tx,
    code: &str,
    name: &str,
    time_zone: &str,
    cutoff_time: &str,
    locations: &[(String, LocationKind, i64)],
) -> Result<Warehouse, Error> {
    WarehouseClock::new(time_zone, cutoff_time)?;
    for kind in [LocationKind::Receiving, LocationKind::Hold, LocationKind::Packing] {
        if !locations.iter().any(|(_, k, _)| *k == kind) {
            return Err(Error::invalid("/locations", format!("a warehouse needs at least one {kind} location")));
        }
    }
    let ts = now();
    let warehouse: Warehouse = sqlx::query_as(
        "insert into warehouse (code, name, time_zone, cutoff_time, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $5) returning warehouse_id, code, name, time_zone, cutoff_time, created_at",
    )
    .bind(code)
    .bind(name)
    .bind(time_zone)
    .bind(cutoff_time)
    .bind(&ts)
    .fetch_one(&mut **tx)
    .await
    .map_err(Error::from)
    .map_err(|e| {
        if super::is_unique_violation(&e, "warehouse_code_key", "warehouse.code") {
            Error::Duplicate { field: "/code", existing_id: None }
        } else {
            e
        }
    })?;
    for (code, kind, seq) in locations {
        sqlx::query(
            "insert into location (warehouse_id, code, kind, pick_sequence, created_at) values ($1, $2, $3, $4, $5)",
        )
        .bind(warehouse.warehouse_id.0)
        .bind(code)
        .bind(kind.as_str())
        .bind(seq)
        .bind(&ts)
        .execute(&mut **tx)
        .await?;
    }
    Ok(warehouse)
}

const WAREHOUSE_COLUMNS: &str = "warehouse_id, code, name, time_zone, cutoff_time, created_at";

pub async fn list(db: &Db) -> Result<Vec<Warehouse>, Error> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("select {WAREHOUSE_COLUMNS} from warehouse order by warehouse_id")))
        .fetch_all(db.reader())
        .await?)
}

pub async fn get(db: &Db, id: WarehouseId) -> Result<Warehouse, Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {WAREHOUSE_COLUMNS} from warehouse where warehouse_id = $1")))
        .bind(id.0)
        .fetch_optional(db.reader())
        .await?
        .ok_or(Error::NotFound("warehouse"))
}

pub async fn get_in(tx: &mut Tx, id: WarehouseId) -> Result<Warehouse, Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {WAREHOUSE_COLUMNS} from warehouse where warehouse_id = $1")))
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound("warehouse"))
}

/// Refuses work in a warehouse outside `scope` as "not found". An admin's scope is every
/// warehouse, so for an admin the warehouse must exist; a token's warehouses always do, so for
/// warehouse staff this asks the database nothing.
pub async fn check_operated(conn: &mut sqlx::AnyConnection, scope: &Scope, id: WarehouseId) -> Result<(), Error> {
    if !scope.operates(id) {
        return Err(Error::NotFound("warehouse"));
    }
    if *scope == Scope::All {
        sqlx::query_scalar::<_, i64>("select warehouse_id from warehouse where warehouse_id = $1")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(Error::NotFound("warehouse"))?;
    }
    Ok(())
}

/// The first location of `kind` in pick order: where goods of that kind go by default.
pub async fn default_location(tx: &mut Tx, warehouse: WarehouseId, kind: LocationKind) -> Result<Location, Error> {
    sqlx::query_as(
        "select location_id, warehouse_id, code, kind, pick_sequence from location \
         where warehouse_id = $1 and kind = $2 order by pick_sequence, code limit 1",
    )
    .bind(warehouse.0)
    .bind(kind.as_str())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::invalid("/warehouse_id", format!("warehouse has no {kind} location")))
}

pub async fn location_by_code(tx: &mut Tx, warehouse: WarehouseId, code: &str) -> Result<Location, Error> {
    sqlx::query_as(
        "select location_id, warehouse_id, code, kind, pick_sequence from location where warehouse_id = $1 and code = $2",
    )
    .bind(warehouse.0)
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("location"))
}
