//! The data synthetic traffic works on, prepared through the admin API: a shipper of its own
//! (backorders allowed) with a token, items with barcodes and ample stock in the first
//! warehouse, a warehouse-staff token, and a Shopify channel whose secret it knows, so it can
//! sign orders as the shop would.

use rand::RngExt;
use serde_json::{Value, json};

use crate::api::Api;

/// What the traffic needs to know about its data.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Unique per run: identifiers and codes carry it, so runs never collide.
    pub run: String,
    pub shipper_token: String,
    pub warehouse_token: String,
    pub warehouse_id: i64,
    /// The warehouse's time zone: shipments ask to ship on its today, so the waves the traffic
    /// releases have work at any hour (past the cut-off, a shipment without a date ships
    /// tomorrow and no wave could be released until then).
    pub zone: jiff::tz::TimeZone,
    /// (item code, barcode)
    pub items: Vec<(String, String)>,
    pub channel_id: i64,
    pub shop_domain: String,
    pub webhook_secret: String,
}

/// Where the stock goes: the first aisle of Kura's demo warehouse layout (`A-NN-01`).
pub const SHELF: &str = "A-01-01";

/// Units put on the shelf per item: enough that a day of traffic never runs out.
pub const STOCK_PER_ITEM: i64 = 1_000_000;

/// Which warehouse the traffic works in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// The first warehouse (the demo's, a benchmark's): its waves release every shipment due.
    First,
    /// A warehouse of the traffic's own ([`SMOKE_WAREHOUSE`]), so its waves, picks and
    /// handovers never touch a real shipment: what a smoke test against production needs.
    Own,
}

/// The warehouse smoke tests work in, created on first use.
pub const SMOKE_WAREHOUSE: &str = "KURA-SMOKE";

/// Prepares a fixture with `items` items, using the admin token.
pub async fn prepare(api: &Api, admin: &str, items: usize, site: Site) -> anyhow::Result<Fixture> {
    let run = format!("{:08x}", rand::rng().random::<u32>());
    let shipper = api
        .post(
            "/admin/v1/shippers",
            Some(admin),
            &json!({"code": format!("load-{run}"), "name": "Synthetic traffic", "allow_backorder": true}),
        )
        .await?;
    let shipper_id = shipper["shipper_id"].clone();
    let shipper_token =
        token(api, admin, &json!({"name": "kura load", "role": "shipper", "shipper_id": shipper_id})).await?;
    // One listing gives the warehouse's id (the first, or the smoke warehouse just made) and
    // its time zone.
    let own = match site {
        Site::First => None,
        Site::Own => Some(own_warehouse(api, admin, &shipper_token).await?),
    };
    let listed = api.get("/v1/warehouses", Some(&shipper_token)).await?;
    let warehouse = listed
        .as_array()
        .into_iter()
        .flatten()
        .find(|w| own.is_none_or(|id| w["warehouse_id"] == id))
        .ok_or_else(|| anyhow::anyhow!("no warehouse to work in"))?;
    let warehouse_id = warehouse["warehouse_id"].as_i64().ok_or_else(|| anyhow::anyhow!("no id in {warehouse}"))?;
    let zone = warehouse["time_zone"].as_str().unwrap_or_default();
    let zone = jiff::tz::TimeZone::get(zone).map_err(|e| anyhow::anyhow!("warehouse time zone {zone:?}: {e}"))?;
    let warehouse_token =
        token(api, admin, &json!({"name": "kura load", "role": "warehouse", "warehouse_ids": [warehouse_id]})).await?;
    // The channel first: it makes the shipper one the warehouse serves, so the warehouse may
    // put its stock on the shelf.
    let shop_domain = format!("load-{run}.myshopify.com");
    let webhook_secret = format!("load-secret-{run}-{:016x}", rand::rng().random::<u64>());
    let channel = api
        .post(
            "/admin/v1/channels",
            Some(admin),
            &json!({"shipper_id": shipper_id, "warehouse_id": warehouse_id, "kind": "shopify",
                    "shop_domain": shop_domain, "webhook_secret": webhook_secret}),
        )
        .await?;
    let channel_id = channel["channel_id"].as_i64().ok_or_else(|| anyhow::anyhow!("no channel id: {channel}"))?;
    // 12-digit bodies in the in-store range (2xxxxxxxxxxx), unique per run.
    let base = 200_000_000_000 + u64::from(rand::rng().random::<u32>() % 900_000_000) * 100;
    let mut out = Vec::with_capacity(items);
    for i in 0..items {
        let code = format!("L{run}-{i:03}");
        let barcode = ean13(base + i as u64);
        let item = api
            .post(
                "/v1/items",
                Some(&shipper_token),
                &json!({"code": code, "name": format!("Synthetic item {i}"), "barcode": barcode, "price": 1000,
                        "size_class": "60", "weight_grams": 200, "temperature_zone": "normal"}),
            )
            .await?;
        api.post(
            "/wms/v1/stock/adjustments",
            Some(&warehouse_token),
            &json!({"warehouse_id": warehouse_id, "location_code": SHELF, "item_id": item["item_id"],
                    "bucket": "sellable", "quantity": STOCK_PER_ITEM, "reason": "adjust"}),
        )
        .await?;
        out.push((code, barcode));
    }
    Ok(Fixture {
        run,
        shipper_token,
        warehouse_token,
        warehouse_id,
        zone,
        items: out,
        channel_id,
        shop_domain,
        webhook_secret,
    })
}

/// The smoke warehouse's id, creating it (with the demo layout) the first time.
async fn own_warehouse(api: &Api, admin: &str, shipper_token: &str) -> anyhow::Result<i64> {
    let layout = json!({"code": SMOKE_WAREHOUSE, "name": "Kura smoke tests", "locations": [
        {"code": "RCV-01", "kind": "receiving"}, {"code": "HOLD-01", "kind": "hold", "pick_sequence": 900},
        {"code": "PACK-01", "kind": "packing", "pick_sequence": 950}, {"code": "SHIP-01", "kind": "shipping", "pick_sequence": 990},
        {"code": SHELF, "kind": "stock", "pick_sequence": 10}]});
    match api.post("/admin/v1/warehouses", Some(admin), &layout).await {
        Ok(w) => w["warehouse_id"].as_i64().ok_or_else(|| anyhow::anyhow!("no warehouse id: {w}")),
        Err(e) if e.status() == Some(reqwest::StatusCode::CONFLICT) => {
            let all = api.get("/v1/warehouses", Some(shipper_token)).await?;
            all.as_array()
                .into_iter()
                .flatten()
                .find(|w| w["code"] == SMOKE_WAREHOUSE)
                .and_then(|w| w["warehouse_id"].as_i64())
                .ok_or_else(|| anyhow::anyhow!("{SMOKE_WAREHOUSE} exists but is not listed"))
        }
        Err(e) => Err(e.into()),
    }
}

async fn token(api: &Api, admin: &str, body: &Value) -> anyhow::Result<String> {
    let issued = api.post("/admin/v1/tokens", Some(admin), body).await?;
    issued["token"].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("no token in {issued}"))
}

/// An EAN-13 with a valid GS1 check digit.
pub fn ean13(body12: u64) -> String {
    let b = format!("{body12:012}");
    let sum: u32 = b.bytes().rev().enumerate().map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 }).sum();
    format!("{b}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ean13_check_digits_follow_gs1() {
        // 4901234567894 is a published JAN example.
        assert_eq!(super::ean13(490_123_456_789), "4901234567894");
    }
}
