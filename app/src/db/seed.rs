//! Demo data for a local run: a Tokyo warehouse, two shippers with items and stock, a Shopify
//! channel for `acme`, and fresh tokens for every role. Master data is created once; tokens
//! are new on every run (the old ones keep working), since tokens are only ever shown when
//! created. The channel's webhook secret is stored as it is (it must verify signatures), so
//! every run prints the same one.

use serde::Serialize;

use super::stock::{self, Reference, StockKey};
use super::{Db, channels, tokens, warehouses};
use crate::domain::Error;
use crate::domain::access::Role;
use crate::domain::channel::{ChannelKind, NewChannel};
use crate::domain::values::{Bucket, ItemId, LedgerKind, LocationId, LocationKind, ShipperId, ShopDomain, WarehouseId};

#[derive(Debug, Clone, Serialize)]
pub struct Seeded {
    pub warehouse_id: i64,
    pub admin_token: String,
    pub warehouse_token: String,
    /// (shipper code, shipper id, token)
    pub shipper_tokens: Vec<(String, i64, String)>,
    /// The demo Shopify shop of `acme`.
    pub shopify_channel: SeededChannel,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeededChannel {
    pub channel_id: i64,
    pub shipper_code: String,
    pub shop_domain: String,
    /// Below the API's base URL.
    pub webhook_path: String,
    pub webhook_secret: String,
}

/// The demo shop: `acme`'s Shopify store.
pub const DEMO_SHOP: (&str, &str) = ("acme", "acme-demo.myshopify.com");

const SHIPPERS: &[(&str, &str, bool)] = &[("acme", "ACME Online Store", true), ("sakura", "Sakura Cosmetics", false)];

/// (code, name, barcode, price, size, grams, zone, units in stock)
type DemoItem = (&'static str, &'static str, Option<&'static str>, i64, &'static str, i64, &'static str, i64);

const ITEMS: &[DemoItem] = &[
    ("TSHIRT-M", "T-shirt, M", Some("4901234567894"), 2980, "60", 200, "normal", 500),
    ("MUG-01", "Ceramic mug", Some("4549292070293"), 1500, "80", 450, "normal", 300),
    ("SOAP-3P", "Soap, 3-pack", Some("036000291452"), 900, "60", 300, "normal", 1000),
    ("ICE-TEA", "Iced tea, 24 cans", None, 3200, "100", 9000, "chilled", 50),
];

pub async fn run(db: &Db) -> Result<Seeded, Error> {
    crate::transaction!(db, |tx| {
        let existing: Option<i64> = sqlx::query_scalar("select warehouse_id from warehouse where code = 'TKY1'")
            .fetch_optional(&mut **tx)
            .await?;
        let warehouse = match existing {
            Some(id) => WarehouseId(id),
            None => {
                let mut locations = vec![
                    ("RCV-01".to_owned(), LocationKind::Receiving, 0),
                    ("HOLD-01".to_owned(), LocationKind::Hold, 900),
                    ("PACK-01".to_owned(), LocationKind::Packing, 950),
                    ("SHIP-01".to_owned(), LocationKind::Shipping, 990),
                ];
                for aisle in 1..=4 {
                    locations.push((format!("A-{aisle:02}-01"), LocationKind::Stock, aisle * 10));
                }
                let w =
                    warehouses::create_warehouse(tx, "TKY1", "Tokyo Bay DC", "Asia/Tokyo", "12:30", &locations).await?;
                w.warehouse_id
            }
        };
        let mut shipper_tokens = Vec::new();
        for (code, name, allow_backorder) in SHIPPERS {
            let found: Option<i64> = sqlx::query_scalar("select shipper_id from shipper where code = $1")
                .bind(code)
                .fetch_optional(&mut **tx)
                .await?;
            let shipper = match found {
                Some(id) => ShipperId(id),
                None => {
                    let s = warehouses::create_shipper(tx, code, name, *allow_backorder).await?;
                    seed_items(tx, s.shipper_id, warehouse).await?;
                    s.shipper_id
                }
            };
            let (_, token) = tokens::create(tx, &format!("{code} (seed)"), Role::Shipper, Some(shipper), &[]).await?;
            shipper_tokens.push(((*code).to_owned(), shipper.0, token));
        }
        let (_, warehouse_token) = tokens::create(tx, "TKY1 staff (seed)", Role::Warehouse, None, &[warehouse]).await?;
        let (_, admin_token) = tokens::create(tx, "admin (seed)", Role::Admin, None, &[]).await?;
        let shopify_channel = seed_channel(tx, &shipper_tokens, warehouse).await?;
        Ok(Seeded { warehouse_id: warehouse.0, admin_token, warehouse_token, shipper_tokens, shopify_channel })
    })
}

async fn seed_channel(
    tx: &mut super::Tx,
    shippers: &[(String, i64, String)],
    warehouse: WarehouseId,
) -> Result<SeededChannel, Error> {
    let (shipper_code, shop) = DEMO_SHOP;
    let (channel, webhook_secret) = match channels::by_shop_in(tx, ChannelKind::Shopify, shop).await? {
        Some(found) => found,
        None => {
            let shipper = shippers.iter().find(|(code, _, _)| code == shipper_code).map_or(0, |(_, id, _)| *id);
            let new = NewChannel {
                shipper_id: ShipperId(shipper),
                warehouse_id: warehouse,
                kind: ChannelKind::Shopify,
                shop_domain: ShopDomain::parse(shop).map_err(|m| Error::invalid("/shop_domain", m))?,
                webhook_secret: None,
                delivery_carrier: None,
            };
            channels::create_in(tx, &new).await?
        }
    };
    Ok(SeededChannel {
        channel_id: channel.channel_id.0,
        shipper_code: shipper_code.to_owned(),
        shop_domain: channel.shop_domain.to_string(),
        webhook_path: format!("/channels/v1/{}/{}/orders", channel.kind, channel.channel_id),
        webhook_secret,
    })
}

async fn seed_items(tx: &mut super::Tx, shipper: ShipperId, warehouse: WarehouseId) -> Result<(), Error> {
    let shelves: Vec<i64> = sqlx::query_scalar(
        "select location_id from location where warehouse_id = $1 and kind = 'stock' order by pick_sequence",
    )
    .bind(warehouse.0)
    .fetch_all(&mut **tx)
    .await?;
    let ts = super::now();
    for (i, (code, name, barcode, price, size, grams, zone, units)) in ITEMS.iter().enumerate() {
        let item: i64 = sqlx::query_scalar(
            "insert into item (shipper_id, code, name, barcode, price, size_class, weight_grams, temperature_zone, \
             lot_managed, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9) returning item_id",
        )
        .bind(shipper.0)
        .bind(code)
        .bind(name)
        .bind(barcode)
        .bind(price)
        .bind(size)
        .bind(grams)
        .bind(zone)
        .bind(&ts)
        .fetch_one(&mut **tx)
        .await?;
        let key = StockKey {
            warehouse,
            location: LocationId(shelves[i % shelves.len()]),
            item: ItemId(item),
            lot: "",
            expires_on: None,
            bucket: Bucket::Sellable,
        };
        let row = stock::row(tx, &key).await?;
        stock::move_stock(tx, row, *units, 0, LedgerKind::Adjust, Reference::default()).await?;
    }
    Ok(())
}
