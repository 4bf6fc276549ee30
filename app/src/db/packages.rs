//! Packages (個口), labels (送り状) and carrier handover.
//!
//! One package has one tracking number and one label. Issuing a label is idempotent per
//! package: a retry returns the label already bought instead of buying a second one. Handover
//! to the carrier is what makes a shipment `shipped` (ledger `ship`, billing per parcel).

use rand::RngExt;
use sqlx::Row;

use super::shipments::{self, Shipment};
use super::stock::{self, Reference};
use super::{Db, billing, now, stored};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::billing::Kind as BillingKind;
use crate::domain::label;
use crate::domain::package::{self, NewHandover};
use crate::domain::shipment::{ShipmentAction, ShipmentStatus};
use crate::domain::values::{Carrier, Grams, HandoverId, LedgerKind, PackageId, ShipmentId, StockId, WarehouseId};

/// A package as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub package_id: PackageId,
    pub shipment_id: ShipmentId,
    pub carrier: Carrier,
    pub tracking_number: String,
    pub weight_grams: Grams,
    pub label_issued_at: Option<String>,
    pub handover_id: Option<HandoverId>,
    pub created_at: String,
}

const COLUMNS: &str =
    "package_id, shipment_id, carrier, tracking_number, weight_grams, label_issued_at, handover_id, created_at";

fn package_of(r: &sqlx::any::AnyRow) -> Result<Package, Error> {
    let carrier: String = r.try_get("carrier")?;
    Ok(Package {
        package_id: PackageId(r.try_get("package_id")?),
        shipment_id: ShipmentId(r.try_get("shipment_id")?),
        carrier: stored("carrier", Carrier::parse(&carrier).ok_or(carrier))?,
        tracking_number: r.try_get("tracking_number")?,
        weight_grams: stored("weight_grams", Grams::try_from(r.try_get::<i64, _>("weight_grams")?))?,
        label_issued_at: r.try_get("label_issued_at")?,
        handover_id: r.try_get::<Option<i64>, _>("handover_id")?.map(HandoverId),
        created_at: r.try_get("created_at")?,
    })
}

/// Packs a `picked` shipment into one or more packages; the shipment becomes `packed`.
pub async fn pack(
    db: &Db,
    scope: &Scope,
    id: ShipmentId,
    weights: &[Grams],
) -> Result<(Shipment, Vec<Package>), Error> {
    package::check_packages(weights)?;
    crate::transaction!(db, |tx| {
        let head = shipments::head(tx, scope, id).await?;
        let to = head.status.next(ShipmentAction::Pack, None)?;
        let carrier: String = sqlx::query_scalar("select delivery_carrier from shipment where shipment_id = $1")
            .bind(id.0)
            .fetch_one(&mut **tx)
            .await?;
        let carrier = stored("delivery_carrier", Carrier::parse(&carrier).ok_or(carrier))?;
        let mut packages = Vec::with_capacity(weights.len());
        for weight in weights {
            let serial: u64 = rand::rng().random();
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "insert into package (shipment_id, carrier, tracking_number, weight_grams, created_at) \
                     values ($1, $2, $3, $4, $5) returning {COLUMNS}"
            )))
            .bind(id.0)
            .bind(carrier.as_str())
            .bind(package::tracking_number(carrier, serial))
            .bind(weight.get())
            .bind(now())
            .fetch_one(&mut **tx)
            .await?;
            packages.push(package_of(&row)?);
        }
        shipments::set_status(tx, &head, to, None).await?;
        let shipment = shipments::get_in(tx, id).await?;
        Ok((shipment, packages))
    })
}

/// A package's label (ZPL II, see `domain::label`) and when it was first issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub package_id: PackageId,
    pub carrier: Carrier,
    pub tracking_number: String,
    pub content: String,
    pub issued_at: String,
}

/// Issues the package's label, or returns the one already issued.
pub async fn label(db: &Db, scope: &Scope, id: PackageId) -> Result<Label, Error> {
    crate::transaction!(db, |tx| {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("select {COLUMNS} from package where package_id = $1")))
            .bind(id.0)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(Error::NotFound("package"))?;
        let package = package_of(&row)?;
        let head = shipments::head(tx, scope, package.shipment_id).await.map_err(|_| Error::NotFound("package"))?;
        if head.status == ShipmentStatus::Cancelled {
            return Err(Error::IllegalTransition {
                entity: "shipment",
                current: "cancelled".into(),
                action: "issue a label",
            });
        }
        let issued_at = match package.label_issued_at {
            Some(at) => at,
            None => {
                let at = now();
                sqlx::query(
                    "update package set label_issued_at = $1 where package_id = $2 and label_issued_at is null",
                )
                .bind(&at)
                .bind(id.0)
                .execute(&mut **tx)
                .await?;
                at
            }
        };
        sqlx::query("update package set label_count = label_count + 1 where package_id = $1")
            .bind(id.0)
            .execute(&mut **tx)
            .await?;
        let recipient = shipments::recipient(tx, head.id).await?;
        let content = label::zpl(package.carrier, &package.tracking_number, &recipient);
        Ok(Label {
            package_id: package.package_id,
            carrier: package.carrier,
            tracking_number: package.tracking_number,
            content,
            issued_at,
        })
    })
}

/// A handover as done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    pub handover_id: HandoverId,
    pub warehouse_id: WarehouseId,
    pub carrier: Carrier,
    pub packages: i64,
    /// Shipments whose every package is now with the carrier.
    pub shipped: Vec<ShipmentId>,
    pub created_at: String,
}

/// Hands labelled packages to the carrier; shipments whose packages are all handed over ship.
pub async fn handover(db: &Db, scope: &Scope, new: &NewHandover) -> Result<Handover, Error> {
    if !scope.operates(new.warehouse_id) {
        return Err(Error::NotFound("warehouse"));
    }
    new.check()?;
    crate::transaction!(db, |tx| {
        super::warehouses::check_operated(tx, scope, new.warehouse_id).await?;
        let ts = now();
        let handover_id: i64 = sqlx::query_scalar(
            "insert into handover (warehouse_id, carrier, created_at) values ($1, $2, $3) returning handover_id",
        )
        .bind(new.warehouse_id.0)
        .bind(new.carrier.as_str())
        .bind(&ts)
        .fetch_one(&mut **tx)
        .await?;
        let mut shipments_touched = Vec::new();
        for (i, tn) in new.tracking_numbers.iter().enumerate() {
            let field = format!("/tracking_numbers/{i}");
            let r = sqlx::query(
                "select p.package_id, p.shipment_id, p.carrier, p.label_issued_at, p.handover_id, s.warehouse_id \
                     from package p join shipment s on s.shipment_id = p.shipment_id where p.tracking_number = $1",
            )
            .bind(tn)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| Error::invalid(&field, "unknown tracking number"))?;
            if r.try_get::<i64, _>("warehouse_id")? != new.warehouse_id.0 {
                return Err(Error::invalid(&field, "unknown tracking number"));
            }
            if r.try_get::<String, _>("carrier")? != new.carrier.as_str() {
                return Err(Error::invalid(&field, "belongs to another carrier"));
            }
            if r.try_get::<Option<String>, _>("label_issued_at")?.is_none() {
                return Err(Error::invalid(&field, "has no label yet"));
            }
            if r.try_get::<Option<i64>, _>("handover_id")?.is_some() {
                return Err(Error::invalid(&field, "was already handed over"));
            }
            let package_id: i64 = r.try_get("package_id")?;
            sqlx::query("update package set handover_id = $1 where package_id = $2")
                .bind(handover_id)
                .bind(package_id)
                .execute(&mut **tx)
                .await?;
            let shipment: i64 = r.try_get("shipment_id")?;
            if !shipments_touched.contains(&shipment) {
                shipments_touched.push(shipment);
            }
        }
        let mut shipped = Vec::new();
        for id in shipments_touched {
            let waiting: i64 =
                sqlx::query_scalar("select count(*) from package where shipment_id = $1 and handover_id is null")
                    .bind(id)
                    .fetch_one(&mut **tx)
                    .await?;
            if waiting > 0 {
                continue;
            }
            let head = shipments::head(tx, scope, ShipmentId(id)).await?;
            let to = head.status.next(ShipmentAction::Handover, None)?;
            ship_stock(tx, new.warehouse_id, head.id).await?;
            let parcels: i64 = sqlx::query_scalar("select count(*) from package where shipment_id = $1")
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
            let reference = format!("shipment:{id}");
            billing::record(tx, head.shipper, head.warehouse, BillingKind::ParcelShipped, parcels, &reference).await?;
            if head.gift_wrap {
                billing::record(tx, head.shipper, head.warehouse, BillingKind::GiftWrap, 1, &reference).await?;
            }
            shipments::set_status(tx, &head, to, None).await?;
            shipped.push(ShipmentId(id));
        }
        Ok(Handover {
            handover_id: HandoverId(handover_id),
            warehouse_id: new.warehouse_id,
            carrier: new.carrier,
            packages: i64::try_from(new.tracking_numbers.len()).unwrap_or(i64::MAX),
            shipped,
            created_at: ts,
        })
    })
}

/// Takes a shipment's picked units out of the packing area: they left the building.
async fn ship_stock(tx: &mut super::Tx, warehouse: WarehouseId, id: ShipmentId) -> Result<(), Error> {
    let rows =
        sqlx::query("select stock_id, picked from allocation where shipment_id = $1 and picked > 0 order by stock_id")
            .bind(id.0)
            .fetch_all(&mut **tx)
            .await?;
    let reference = Reference { shipment: Some(id), inbound: None };
    for r in rows {
        let packing = stock::packing_row(tx, warehouse, StockId(r.try_get("stock_id")?)).await?;
        let picked: i64 = r.try_get("picked")?;
        stock::move_stock(tx, packing, -picked, 0, LedgerKind::Ship, reference).await?;
    }
    Ok(())
}

/// The packages of a shipment `scope` may see.
pub async fn list_for_shipment(db: &Db, scope: &Scope, id: ShipmentId) -> Result<Vec<Package>, Error> {
    let mut conn = db.reader().acquire().await?;
    shipments::check_visible(&mut conn, scope, id).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from package where shipment_id = $1 order by package_id"
    )))
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(package_of).collect()
}
