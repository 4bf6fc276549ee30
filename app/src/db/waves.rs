//! Waves (picking lists, ピッキングリスト): the allocated shipments due today, released at the
//! warehouse's cut-off (or on demand) and walked in location pick-sequence order.

use jiff::civil::Date;
use sqlx::Row;

use super::shipments;
use super::{Db, now, stored, warehouses};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::calendar::WarehouseClock;
use crate::domain::shipment::ShipmentAction;
use crate::domain::values::{AllocationId, Barcode, ItemCode, ItemId, Lot, ShipmentId, StockId, WarehouseId, WaveId};
pub use crate::domain::wave::Origin;

/// One line of a picking list: an allocation to pick, and where its units are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickTask {
    pub allocation_id: AllocationId,
    pub shipment_id: ShipmentId,
    pub location_code: String,
    pub pick_sequence: i64,
    pub item_id: ItemId,
    pub item_code: ItemCode,
    pub barcode: Option<Barcode>,
    /// The shelf's stock row the units come from.
    pub stock_id: StockId,
    pub lot: Lot,
    pub expires_on: Option<Date>,
    pub quantity: i64,
    pub picked: i64,
}

/// A wave as stored, with its shipments and picking list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    pub wave_id: WaveId,
    pub warehouse_id: WarehouseId,
    /// The warehouse-local date the wave ships on.
    pub wave_date: Date,
    pub origin: Origin,
    pub created_at: String,
    pub shipment_ids: Vec<ShipmentId>,
    /// Sorted by location pick sequence: the order a picker walks.
    pub picking_list: Vec<PickTask>,
}

/// Releases every allocated shipment due today. A cut-off wave is generated at most once per
/// warehouse and day, whichever replica's job gets there first; `Ok(None)` means it already exists.
pub async fn generate(db: &Db, warehouse: WarehouseId, origin: Origin) -> Result<Option<Wave>, Error> {
    crate::transaction!(db, |tx| {
        let clock = warehouses::get_in(tx, warehouse).await?.clock()?;
        let today = clock.local_date(jiff::Timestamp::now()).to_string();
        let inserted: Option<i64> = sqlx::query_scalar(
            "insert into wave (warehouse_id, wave_date, origin, created_at) values ($1, $2, $3, $4) \
                 on conflict do nothing returning wave_id",
        )
        .bind(warehouse.0)
        .bind(&today)
        .bind(origin.as_str())
        .bind(now())
        .fetch_optional(&mut **tx)
        .await?;
        let Some(wave_id) = inserted else {
            return Ok(None);
        };
        let due: Vec<i64> = sqlx::query_scalar(
            "select shipment_id from shipment where warehouse_id = $1 and status = 'waiting' and ship_date <= $2 \
                 order by allocate_priority, created_at, shipment_id",
        )
        .bind(warehouse.0)
        .bind(&today)
        .fetch_all(&mut **tx)
        .await?;
        if due.is_empty() && origin == Origin::Manual {
            return Err(Error::invalid("/warehouse_id", "no allocated shipments are due today"));
        }
        for id in due {
            let head = shipments::head(tx, &Scope::All, ShipmentId(id)).await?;
            let to = head.status.next(ShipmentAction::Release, None)?;
            shipments::set_status(tx, &head, to, None).await?;
            sqlx::query("insert into wave_shipment (wave_id, shipment_id) values ($1, $2)")
                .bind(wave_id)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        // The picking list as a document: every task of the wave, numbered in walking order.
        sqlx::query(
            "insert into pick_task (warehouse_id, wave_id, allocation_id, walk_seq) \
             select $1, $2, a.allocation_id, \
                    row_number() over (order by l.pick_sequence, l.code, i.code, a.allocation_id) \
             from wave_shipment ws join allocation a on a.shipment_id = ws.shipment_id \
             join stock s on s.stock_id = a.stock_id join location l on l.location_id = s.location_id \
             join item i on i.item_id = s.item_id where ws.wave_id = $2",
        )
        .bind(warehouse.0)
        .bind(wave_id)
        .execute(&mut **tx)
        .await?;
        Ok(Some(load(tx, WaveId(wave_id)).await?))
    })
}

pub async fn get(db: &Db, scope: &Scope, id: WaveId) -> Result<Wave, Error> {
    let mut conn = db.reader().acquire().await?;
    let wave = load(&mut conn, id).await?;
    if scope.operates(wave.warehouse_id) { Ok(wave) } else { Err(Error::NotFound("wave")) }
}

/// Which pick tasks of a wave to read.
#[derive(Debug, Clone, Copy)]
pub enum Tasks {
    /// The whole picking list, in walking order.
    All,
    /// Up to this many open tasks no device has claimed, first in walking order. On
    /// PostgreSQL the rows are locked (`for update skip locked`), so concurrent claimers each
    /// get different tasks instead of queueing behind one another; SQLite has one writer.
    Unclaimed(i64),
}

/// The columns of a [`PickTask`], as [`pick_task`] reads them, over [`TASK_JOINS`].
pub const TASK_COLUMNS: &str = "a.allocation_id, a.shipment_id, l.code as location_code, l.pick_sequence, \
       s.item_id, i.code as item_code, i.barcode, a.stock_id, s.lot, s.expires_on, a.quantity, a.picked";

/// From a pick task (`pt`) to its allocation, shelf row, location and item.
pub const TASK_JOINS: &str = "pick_task pt join allocation a on a.allocation_id = pt.allocation_id \
     join stock s on s.stock_id = a.stock_id join location l on l.location_id = s.location_id \
     join item i on i.item_id = s.item_id";

pub async fn tasks(conn: &mut sqlx::AnyConnection, id: WaveId, which: Tasks) -> Result<Vec<PickTask>, Error> {
    let filter = match which {
        Tasks::All => "order by pt.walk_seq",
        Tasks::Unclaimed(_) => "and pt.done = 0 and pt.device_id is null order by pt.walk_seq limit $2",
    };
    let lock = match which {
        Tasks::Unclaimed(_) if conn.backend_name() == "PostgreSQL" => "for update of pt skip locked",
        _ => "",
    };
    let sql = format!("select {TASK_COLUMNS} from {TASK_JOINS} where pt.wave_id = $1 {filter} {lock}");
    let query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id.0);
    let rows = match which {
        Tasks::Unclaimed(n) => query.bind(n).fetch_all(&mut *conn).await?,
        Tasks::All => query.fetch_all(&mut *conn).await?,
    };
    rows.iter().map(pick_task).collect()
}

/// A [`PickTask`] from a row that has the [`TASK_COLUMNS`].
pub fn pick_task(r: &sqlx::any::AnyRow) -> Result<PickTask, Error> {
    let barcode: Option<String> = r.try_get("barcode")?;
    let expires: Option<String> = r.try_get("expires_on")?;
    Ok(PickTask {
        allocation_id: AllocationId(r.try_get("allocation_id")?),
        shipment_id: ShipmentId(r.try_get("shipment_id")?),
        location_code: r.try_get("location_code")?,
        pick_sequence: r.try_get("pick_sequence")?,
        item_id: ItemId(r.try_get("item_id")?),
        item_code: stored("item.code", ItemCode::parse(r.try_get::<String, _>("item_code")?))?,
        barcode: stored("item.barcode", barcode.map(Barcode::parse).transpose())?,
        stock_id: StockId(r.try_get("stock_id")?),
        lot: stored("lot", Lot::parse(r.try_get::<String, _>("lot")?))?,
        expires_on: stored("expires_on", expires.map(|d| d.parse::<Date>()).transpose())?,
        quantity: r.try_get("quantity")?,
        picked: r.try_get("picked")?,
    })
}

async fn load(conn: &mut sqlx::AnyConnection, id: WaveId) -> Result<Wave, Error> {
    let r = sqlx::query("select wave_id, warehouse_id, wave_date, origin, created_at from wave where wave_id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(Error::NotFound("wave"))?;
    let shipment_ids: Vec<i64> =
        sqlx::query_scalar("select shipment_id from wave_shipment where wave_id = $1 order by shipment_id")
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await?;
    let origin: String = r.try_get("origin")?;
    Ok(Wave {
        wave_id: id,
        warehouse_id: WarehouseId(r.try_get("warehouse_id")?),
        wave_date: stored("wave_date", r.try_get::<String, _>("wave_date")?.parse::<Date>())?,
        origin: stored("origin", Origin::parse(&origin).ok_or(origin))?,
        created_at: r.try_get("created_at")?,
        shipment_ids: shipment_ids.into_iter().map(ShipmentId).collect(),
        picking_list: tasks(conn, id, Tasks::All).await?,
    })
}

/// The warehouse's clock if its cut-off has passed today and it has no cut-off wave yet.
pub async fn cutoff_due(
    db: &Db,
    warehouse: &warehouses::Warehouse,
    now: jiff::Timestamp,
) -> Result<Option<WarehouseClock>, Error> {
    let clock = warehouse.clock()?;
    if !clock.past_cutoff(now) {
        return Ok(None);
    }
    let today = clock.local_date(now).to_string();
    let exists: Option<i64> =
        sqlx::query_scalar("select wave_id from wave where warehouse_id = $1 and wave_date = $2 and origin = 'cutoff'")
            .bind(warehouse.warehouse_id.0)
            .bind(today)
            .fetch_optional(db.reader())
            .await?;
    Ok(exists.is_none().then_some(clock))
}
