//! Packages (個口), labels (送り状) and carrier handover.
//!
//! One package has one tracking number and one label. Issuing a label is idempotent per
//! package: a retry returns the label already bought instead of buying a second one. Handover
//! to the carrier is what makes a shipment `shipped` (ledger `ship`, billing per parcel).

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use super::shipments::{self, Shipment};
use super::stock::{self, Reference};
use super::{Db, billing, now, stored};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::billing::Kind as BillingKind;
use crate::domain::label;
use crate::domain::shipment::{ShipmentAction, ShipmentStatus};
use crate::domain::values::{Carrier, Grams, LedgerKind, PackageId, ShipmentId, StockId, WarehouseId};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPackages {
    pub packages: Vec<NewPackage>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPackage {
    pub weight_grams: Grams,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Package {
    pub package_id: i64,
    pub shipment_id: i64,
    pub carrier: String,
    pub tracking_number: String,
    pub weight_grams: i64,
    pub label_issued_at: Option<String>,
    pub handover_id: Option<i64>,
    pub created_at: String,
}

const COLUMNS: &str =
    "package_id, shipment_id, carrier, tracking_number, weight_grams, label_issued_at, handover_id, created_at";

/// A tracking number: carrier prefix, 10 random digits and a mod-7 check digit (the scheme
/// Japanese carriers print; a real integration gets numbers from the carrier's API).
fn tracking_number(carrier: Carrier) -> String {
    let body = format!("{}{:010}", carrier.tracking_prefix(), rand::rng().random_range(0..10_000_000_000u64));
    let check = body.parse::<u64>().map(|n| n % 7).unwrap_or(0);
    format!("{body}{check}")
}

/// Packs a `picked` shipment into one or more packages; the shipment becomes `packed`.
pub async fn pack(
    db: &Db,
    scope: &Scope,
    id: ShipmentId,
    new: &NewPackages,
) -> Result<(Shipment, Vec<Package>), Error> {
    if new.packages.is_empty() || new.packages.len() > 50 {
        return Err(Error::invalid("/packages", "must have 1 to 50 packages"));
    }
    crate::transaction!(db, |tx| {
        let head = shipments::head(tx, scope, id).await?;
        let to = head.status.next(ShipmentAction::Pack, None)?;
        let carrier: String = sqlx::query_scalar("select delivery_carrier from shipment where shipment_id = $1")
            .bind(id.0)
            .fetch_one(&mut **tx)
            .await?;
        let carrier = Carrier::parse(&carrier).unwrap_or(Carrier::Yamato);
        let mut packages = Vec::with_capacity(new.packages.len());
        for p in &new.packages {
            let package: Package = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "insert into package (shipment_id, carrier, tracking_number, weight_grams, created_at) \
                     values ($1, $2, $3, $4, $5) returning {COLUMNS}"
            )))
            .bind(id.0)
            .bind(carrier.as_str())
            .bind(tracking_number(carrier))
            .bind(p.weight_grams.get())
            .bind(now())
            .fetch_one(&mut **tx)
            .await?;
            packages.push(package);
        }
        shipments::set_status(tx, &head, to, None).await?;
        let shipment = shipments::get_in(tx, id).await?;
        Ok((shipment, packages))
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Label {
    pub package_id: i64,
    pub carrier: String,
    pub tracking_number: String,
    /// ZPL II, ready for a thermal label printer.
    pub format: &'static str,
    pub content: String,
    pub issued_at: String,
}

/// Issues the package's label, or returns the one already issued.
pub async fn label(db: &Db, scope: &Scope, id: PackageId) -> Result<Label, Error> {
    crate::transaction!(db, |tx| {
        let package: Package =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("select {COLUMNS} from package where package_id = $1")))
                .bind(id.0)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::NotFound("package"))?;
        let head = shipments::head(tx, scope, ShipmentId(package.shipment_id))
            .await
            .map_err(|_| Error::NotFound("package"))?;
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
        let carrier = stored("carrier", Carrier::parse(&package.carrier).ok_or(package.carrier.as_str()))?;
        let content = label::zpl(carrier, &package.tracking_number, &recipient);
        Ok(Label {
            package_id: package.package_id,
            carrier: package.carrier,
            tracking_number: package.tracking_number,
            format: "zpl",
            content,
            issued_at,
        })
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHandover {
    pub warehouse_id: WarehouseId,
    pub carrier: Carrier,
    pub tracking_numbers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Handover {
    pub handover_id: i64,
    pub warehouse_id: i64,
    pub carrier: String,
    pub packages: i64,
    /// Shipments whose every package is now with the carrier.
    pub shipped: Vec<i64>,
    pub created_at: String,
}

/// Hands labelled packages to the carrier; shipments whose packages are all handed over ship.
pub async fn handover(db: &Db, scope: &Scope, new: &NewHandover) -> Result<Handover, Error> {
    if !scope.operates(new.warehouse_id) {
        return Err(Error::NotFound("warehouse"));
    }
    if new.tracking_numbers.is_empty() || new.tracking_numbers.len() > 1000 {
        return Err(Error::invalid("/tracking_numbers", "must have 1 to 1000 tracking numbers"));
    }
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
            shipped.push(id);
        }
        Ok(Handover {
            handover_id,
            warehouse_id: new.warehouse_id.0,
            carrier: new.carrier.as_str().to_owned(),
            packages: new.tracking_numbers.len() as i64,
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
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from package where shipment_id = $1 order by package_id"
    )))
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?)
}
