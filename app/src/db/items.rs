//! Items (SKUs) in storage: registering one (a taken code or barcode is a 409 naming the
//! field), reading them, and resolving the item codes a document names.

use sqlx::Row;

use super::{Db, Flag, Tx, is_unique_violation, now, stored};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::item::NewItem;
use crate::domain::values::{Barcode, Grams, ItemCode, ItemId, Name, Price, ShipperId, SizeClass, TemperatureZone};

/// An item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub item_id: ItemId,
    pub code: ItemCode,
    pub name: Name,
    pub barcode: Option<Barcode>,
    pub price: Price,
    pub size_class: SizeClass,
    pub weight_grams: Grams,
    pub temperature_zone: TemperatureZone,
    pub lot_managed: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "item_id, code, name, barcode, price, size_class, weight_grams, temperature_zone, \
                       lot_managed, version, created_at, updated_at";

fn item_of(r: &sqlx::any::AnyRow) -> Result<Item, Error> {
    let barcode: Option<String> = r.try_get("barcode")?;
    let size: String = r.try_get("size_class")?;
    let zone: String = r.try_get("temperature_zone")?;
    Ok(Item {
        item_id: ItemId(r.try_get("item_id")?),
        code: stored("code", ItemCode::parse(r.try_get::<String, _>("code")?))?,
        name: stored("name", Name::parse(r.try_get::<String, _>("name")?))?,
        barcode: stored("barcode", barcode.map(Barcode::parse).transpose())?,
        price: stored("price", Price::try_from(r.try_get::<i64, _>("price")?))?,
        size_class: stored("size_class", SizeClass::parse(&size).ok_or(size))?,
        weight_grams: stored("weight_grams", Grams::try_from(r.try_get::<i64, _>("weight_grams")?))?,
        temperature_zone: stored("temperature_zone", TemperatureZone::parse(&zone).ok_or(zone))?,
        lot_managed: stored("lot_managed", Flag::try_from(r.try_get::<i64, _>("lot_managed")?))?.0,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn create(db: &Db, shipper: ShipperId, item: &NewItem) -> Result<Item, Error> {
    crate::transaction!(db, |tx| {
        let ts = now();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "insert into item (shipper_id, code, name, barcode, price, size_class, weight_grams, \
                 temperature_zone, lot_managed, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) returning {COLUMNS}"
        )))
        .bind(shipper.0)
        .bind(item.code.as_str())
        .bind(item.name.as_str())
        .bind(item.barcode.as_ref().map(Barcode::as_str))
        .bind(item.price.get())
        .bind(item.size_class.as_str())
        .bind(item.weight_grams.get())
        .bind(item.temperature_zone.as_str())
        .bind(i64::from(item.lot_managed))
        .bind(ts)
        .fetch_one(&mut **tx)
        .await?;
        item_of(&row)
    })
    .map_err(|e| {
        if is_unique_violation(&e, "item_shipper_id_code_key", "item.code") {
            Error::Duplicate { field: "/code", existing_id: None }
        } else if is_unique_violation(&e, "item_shipper_id_barcode_key", "item.barcode") {
            Error::Duplicate { field: "/barcode", existing_id: None }
        } else {
            e
        }
    })
}

pub async fn get(db: &Db, scope: &Scope, id: ItemId) -> Result<Item, Error> {
    let (visible, values) = super::visible(scope, "shipper_id", None, 2);
    let sql = format!("select {COLUMNS} from item where item_id = $1 and {visible}");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id.0);
    for v in values {
        q = q.bind(v);
    }
    item_of(&q.fetch_optional(db.reader()).await?.ok_or(Error::NotFound("item"))?)
}

pub async fn list(db: &Db, scope: &Scope, after: i64, limit: i64) -> Result<Vec<Item>, Error> {
    let (visible, values) = super::visible(scope, "shipper_id", None, 3);
    let sql = format!("select {COLUMNS} from item where item_id > $1 and {visible} order by item_id limit $2");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(after).bind(limit);
    for v in values {
        q = q.bind(v);
    }
    q.fetch_all(db.reader()).await?.iter().map(item_of).collect()
}

/// An item a document line names, as its shipper's code resolved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub id: ItemId,
    /// Managed by lot and expiry (allocated first-expiry-first-out).
    pub lot_managed: bool,
}

/// Resolves a shipper's item codes, in order, in one query; the first code the shipper has no
/// item of is a 422 at `{field}/{i}/item_code`.
pub async fn resolve_codes(
    tx: &mut Tx,
    shipper: ShipperId,
    codes: &[&ItemCode],
    field: &str,
) -> Result<Vec<Resolved>, Error> {
    find_codes(tx, shipper, codes)
        .await?
        .into_iter()
        .zip(codes)
        .enumerate()
        .map(|(i, (found, code))| {
            found.ok_or_else(|| Error::invalid(format!("{field}/{i}/item_code"), format!("unknown item {code}")))
        })
        .collect()
}

/// A shipper's items by code, in order, in one query; `None` where the shipper has none.
pub async fn find_codes(tx: &mut Tx, shipper: ShipperId, codes: &[&ItemCode]) -> Result<Vec<Option<Resolved>>, Error> {
    let placeholders: Vec<String> = (0..codes.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "select item_id, code, lot_managed from item where shipper_id = $1 and code in ({})",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(shipper.0);
    for code in codes {
        q = q.bind(code.as_str());
    }
    let mut found = std::collections::HashMap::with_capacity(codes.len());
    for r in q.fetch_all(&mut **tx).await? {
        let resolved =
            Resolved { id: ItemId(r.try_get("item_id")?), lot_managed: r.try_get::<i64, _>("lot_managed")? != 0 };
        found.insert(r.try_get::<String, _>("code")?, resolved);
    }
    Ok(codes.iter().map(|code| found.get(code.as_str()).copied()).collect())
}
