//! EC channels (Shopify-style shops) and the events they push: what a channel event can
//! become, why an order is rejected, Shopify's wire format for `orders/create` with its
//! webhook signature, and how a Shopify order becomes a shipment request.
//!
//! Shopify signs every webhook with `X-Shopify-Hmac-Sha256`: the base64 HMAC-SHA256 of the raw
//! request body under the shared secret (shopify.dev, "Deliver webhooks through HTTPS",
//! "Verify the webhook"). [`shopify::verify`] recomputes it over the bytes exactly as
//! received (never a re-serialisation) and compares in constant time.

use serde::Deserialize;
use utoipa::ToSchema;

use super::values::{Carrier, Quantity, ShipperId, ShopDomain, WarehouseId, WebhookSecret, text_enum};

text_enum!(
    /// The platform a channel connects to.
    ChannelKind { Shopify = "shopify" }
);

text_enum!(
    /// What became of a channel event. `received` exists only inside the transaction that
    /// handles the event; committed events are `created`, `duplicate` or `rejected`.
    EventStatus {
        Received = "received",
        Created = "created",
        Duplicate = "duplicate",
        Rejected = "rejected",
    }
);

text_enum!(
    /// Why an order was rejected: problems that a retry of the same webhook cannot fix, so
    /// the event is recorded and acknowledged instead of failing (the reasons a Shopify
    /// fulfillment service gives when it rejects a fulfillment order).
    RejectReason {
        UnknownSku = "unknown_sku",
        BadAddress = "bad_address",
        OutOfStock = "out_of_stock",
        InvalidOrder = "invalid_order",
    }
);

/// A channel as an admin registers it: a shop whose orders become a shipper's shipments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChannel {
    pub shipper_id: ShipperId,
    /// The warehouse its orders ship from.
    pub warehouse_id: WarehouseId,
    pub kind: ChannelKind,
    /// The shop's platform domain, as Shopify sends it in `X-Shopify-Shop-Domain`.
    pub shop_domain: ShopDomain,
    /// The secret the shop signs webhooks with; none: Kura generates one.
    pub webhook_secret: Option<WebhookSecret>,
    /// Default `yamato`.
    pub delivery_carrier: Option<Carrier>,
}

/// A rejected order: the reason, and a detail that names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, field: &str, message: impl std::fmt::Display) -> Self {
        Self { reason, detail: format!("{field}: {message}") }
    }
}

/// Shopify's webhook format and signature.
pub mod shopify {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::domain::shipment::{Line, NewShipment, Recipient};
    use crate::domain::values::{Carrier, Identifier, ItemCode, Name, Phone, PostalCode, Text, WarehouseId};

    /// The only topic this endpoint handles.
    pub const ORDERS_CREATE: &str = "orders/create";

    /// The `X-Shopify-Hmac-Sha256` value for `body` under `secret`.
    pub fn sign(secret: &str, body: &[u8]) -> String {
        STANDARD.encode(platform::signature::hmac_sha256(secret.as_bytes(), &[body]))
    }

    /// Whether `signature` (the header value) is `body`'s HMAC under `secret`. The comparison
    /// is constant-time; a value that is not base64 is simply wrong.
    pub fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
        match STANDARD.decode(signature.trim()) {
            Ok(expected) => platform::signature::verify(secret.as_bytes(), &[body], &expected),
            Err(_) => false,
        }
    }

    /// The `orders/create` payload (Shopify's REST order resource), reduced to what a
    /// shipment needs. Unknown fields are ignored: Shopify sends many and adds more.
    #[derive(Debug, Clone, Deserialize, ToSchema)]
    #[schema(as = ShopifyOrder)]
    pub struct Order {
        /// Shopify's order id; the shipment identifier is `shopify-<id>`.
        pub id: u64,
        /// The shop's order name, e.g. `#1001`.
        pub name: Option<String>,
        /// When the order was placed: the start of the `order-sync` lag.
        #[schema(value_type = String, format = DateTime)]
        pub created_at: jiff::Timestamp,
        pub email: Option<String>,
        pub shipping_address: Option<ShippingAddress>,
        pub line_items: Vec<LineItem>,
    }

    #[derive(Debug, Clone, Default, Deserialize, ToSchema)]
    #[schema(as = ShopifyShippingAddress)]
    pub struct ShippingAddress {
        pub name: Option<String>,
        pub address1: Option<String>,
        pub address2: Option<String>,
        pub city: Option<String>,
        /// For Japan, the prefecture.
        pub province: Option<String>,
        pub zip: Option<String>,
        pub country_code: Option<String>,
        pub phone: Option<String>,
    }

    #[derive(Debug, Clone, Deserialize, ToSchema)]
    #[schema(as = ShopifyLineItem)]
    pub struct LineItem {
        /// The shipper's item code.
        pub sku: Option<String>,
        pub quantity: Quantity,
        /// `false` for digital goods and services, which are not shipped.
        pub requires_shipping: Option<bool>,
    }

    impl Order {
        /// The shipment identifier for this order: unique per shipper, so the (shipper,
        /// identifier) constraint also keeps one order from becoming two shipments.
        pub fn identifier(&self) -> String {
            format!("shopify-{}", self.id)
        }
    }

    /// The shipment an order asks for, shipped from the channel's `warehouse` with its
    /// `carrier`, or why it cannot be one. Only lines that require shipping count; lines of one SKU
    /// are merged; the second value maps each shipment line to its first `line_items` index (for
    /// error pointers).
    pub fn shipment_request(
        order: &Order,
        warehouse: WarehouseId,
        carrier: Carrier,
    ) -> Result<(NewShipment, Vec<usize>), Rejection> {
        let recipient = recipient(order.shipping_address.as_ref())?;
        let mut lines: Vec<Line> = Vec::new();
        let mut line_items = Vec::new();
        for (i, item) in order.line_items.iter().enumerate() {
            if item.requires_shipping == Some(false) {
                continue;
            }
            let field = format!("/line_items/{i}/sku");
            let sku = item
                .sku
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Rejection::new(RejectReason::UnknownSku, &field, "the line has no SKU"))?;
            let code = ItemCode::parse(sku).map_err(|m| {
                Rejection::new(RejectReason::UnknownSku, &field, format!("{sku:?} is not an item code: {m}"))
            })?;
            match lines.iter_mut().find(|l| l.item_code == code) {
                Some(line) => {
                    line.quantity = Quantity::try_from(line.quantity.get() + item.quantity.get()).map_err(|m| {
                        Rejection::new(RejectReason::InvalidOrder, &format!("/line_items/{i}/quantity"), m)
                    })?;
                }
                None => {
                    lines.push(Line { item_code: code, quantity: item.quantity });
                    line_items.push(i);
                }
            }
        }
        if lines.is_empty() {
            return Err(Rejection::new(RejectReason::InvalidOrder, "/line_items", "no line item requires shipping"));
        }
        let identifier =
            Identifier::parse(order.identifier()).map_err(|m| Rejection::new(RejectReason::InvalidOrder, "/id", m))?;
        let new = NewShipment {
            identifier,
            warehouse_id: warehouse,
            allocate_priority: None,
            ship_date: None,
            recipient,
            delivery_carrier: carrier,
            gift_wrap: false,
            lines,
        };
        Ok((new, line_items))
    }

    fn address_field(name: &str) -> String {
        format!("/shipping_address/{name}")
    }

    fn bad_address(name: &str) -> impl Fn(String) -> Rejection + '_ {
        move |message| Rejection::new(RejectReason::BadAddress, &address_field(name), message)
    }

    fn present(name: &str, value: Option<&str>) -> Result<String, Rejection> {
        value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| bad_address(name)("is missing".into()))
    }

    /// A Shopify shipping address as a Kura recipient: Japanese addresses only (Kura's postal
    /// codes, prefectures and phone numbers are Japanese); the city goes before `address1`.
    fn recipient(address: Option<&ShippingAddress>) -> Result<Recipient, Rejection> {
        let a = address.ok_or_else(|| {
            Rejection::new(RejectReason::BadAddress, "/shipping_address", "the order has no shipping address")
        })?;
        let country = present("country_code", a.country_code.as_deref())?;
        if !country.eq_ignore_ascii_case("JP") {
            return Err(bad_address("country_code")(format!("Kura ships within Japan only (got {country})")));
        }
        let street = present("address1", a.address1.as_deref())?;
        let line1 = match a.city.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(city) => format!("{city} {street}"),
            None => street,
        };
        let address2 = a.address2.as_deref().map(str::trim).filter(|s| !s.is_empty());
        Ok(Recipient {
            name: Name::parse(present("name", a.name.as_deref())?).map_err(bad_address("name"))?,
            postal_code: PostalCode::parse(present("zip", a.zip.as_deref())?).map_err(bad_address("zip"))?,
            prefecture: Name::parse(present("province", a.province.as_deref())?).map_err(bad_address("province"))?,
            address1: Text::parse(line1).map_err(bad_address("address1"))?,
            address2: address2.map(Text::parse).transpose().map_err(bad_address("address2"))?,
            phone: Phone::parse(domestic_phone(&present("phone", a.phone.as_deref())?))
                .map_err(bad_address("phone"))?,
        })
    }

    /// A Japanese phone number as Kura stores it: `+81 3-1234-5678` becomes `03-1234-5678`.
    pub fn domestic_phone(phone: &str) -> String {
        let compact: String = phone.chars().filter(|c| !matches!(c, ' ' | '(' | ')' | '.')).collect();
        match compact.strip_prefix("+81") {
            Some(rest) => format!("0{}", rest.trim_start_matches('-')),
            None => compact,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shopify;
    use super::{RejectReason, Rejection};
    use crate::domain::values::{Carrier, WarehouseId};

    fn order(json: serde_json::Value) -> shopify::Order {
        serde_json::from_value(json).expect("an order")
    }

    fn tokyo_order(line_items: serde_json::Value) -> shopify::Order {
        order(serde_json::json!({
            "id": 820982911946154508u64,
            "name": "#1001",
            "created_at": "2026-11-25T10:00:00+09:00",
            "shipping_address": {
                "name": "山田 太郎", "address1": "神宮前1-2-3", "address2": "", "city": "渋谷区",
                "province": "東京都", "zip": "150-0001", "country_code": "JP", "phone": "+81 3-1234-5678"
            },
            "line_items": line_items,
        }))
    }

    fn rejection(order: &shopify::Order) -> Rejection {
        shopify::shipment_request(order, WarehouseId(1), Carrier::Sagawa).expect_err("a rejection")
    }

    #[test]
    fn an_order_becomes_a_shipment_of_its_shipped_lines_with_same_skus_merged() {
        let order = tokyo_order(serde_json::json!([
            {"sku": "MUG-01", "quantity": 2},
            {"sku": "GIFT-CARD", "quantity": 1, "requires_shipping": false},
            {"sku": " MUG-01 ", "quantity": 3},
            {"sku": "SOAP-3P", "quantity": 1},
        ]));

        let (new, line_items) = shopify::shipment_request(&order, WarehouseId(1), Carrier::Sagawa).expect("a shipment");

        assert_eq!(new.identifier.as_str(), "shopify-820982911946154508");
        assert_eq!((new.warehouse_id, new.delivery_carrier), (WarehouseId(1), Carrier::Sagawa));
        let lines: Vec<(&str, i64)> = new.lines.iter().map(|l| (l.item_code.as_str(), l.quantity.get())).collect();
        assert_eq!(lines, vec![("MUG-01", 5), ("SOAP-3P", 1)]);
        assert_eq!(line_items, vec![0, 3], "each line points at its first line item");
        assert_eq!(new.recipient.address1.as_str(), "渋谷区 神宮前1-2-3", "the city goes first");
        assert_eq!(new.recipient.address2, None, "a blank line is no line");
        assert_eq!(new.recipient.phone.as_str(), "03-1234-5678");
        assert_eq!((new.ship_date, new.allocate_priority, new.gift_wrap), (None, None, false));
    }

    #[test]
    fn an_order_that_cannot_ship_is_rejected_naming_the_field_at_fault() {
        let no_sku = rejection(&tokyo_order(serde_json::json!([{"sku": null, "quantity": 1}])));
        assert_eq!(
            (no_sku.reason, no_sku.detail.as_str()),
            (RejectReason::UnknownSku, "/line_items/0/sku: the line has no SKU")
        );
        let bad_sku = rejection(&tokyo_order(serde_json::json!([{"sku": "a b", "quantity": 1}])));
        assert!(bad_sku.reason == RejectReason::UnknownSku && bad_sku.detail.starts_with("/line_items/0/sku"));
        let digital =
            rejection(&tokyo_order(serde_json::json!([{"sku": "E-BOOK", "quantity": 1, "requires_shipping": false}])));
        assert_eq!(digital.reason, RejectReason::InvalidOrder);
        let too_many = rejection(&tokyo_order(
            serde_json::json!([{"sku": "A", "quantity": 1000000}, {"sku": "A", "quantity": 1}]),
        ));
        assert!(too_many.reason == RejectReason::InvalidOrder && too_many.detail.starts_with("/line_items/1/quantity"));

        let mut abroad = tokyo_order(serde_json::json!([{"sku": "A", "quantity": 1}]));
        if let Some(a) = abroad.shipping_address.as_mut() {
            a.country_code = Some("US".into());
        }
        let abroad = rejection(&abroad);
        assert!(
            abroad.reason == RejectReason::BadAddress && abroad.detail.starts_with("/shipping_address/country_code")
        );
        let mut no_zip = tokyo_order(serde_json::json!([{"sku": "A", "quantity": 1}]));
        if let Some(a) = no_zip.shipping_address.as_mut() {
            a.zip = Some("  ".into());
        }
        assert_eq!(rejection(&no_zip).detail, "/shipping_address/zip: is missing");
        let mut nowhere = tokyo_order(serde_json::json!([{"sku": "A", "quantity": 1}]));
        nowhere.shipping_address = None;
        assert_eq!(rejection(&nowhere).reason, RejectReason::BadAddress);
    }

    const SECRET: &str = "hush-this-is-a-test-secret";

    #[test]
    fn a_signature_verifies_only_for_the_same_bytes_and_secret() {
        let body = br#"{"id":820982911946154508,"line_items":[]}"#;
        let signature = shopify::sign(SECRET, body);
        assert!(shopify::verify(SECRET, body, &signature));
        assert!(!shopify::verify(SECRET, br#"{"id":820982911946154509,"line_items":[]}"#, &signature));
        assert!(!shopify::verify("another-secret-of-length", body, &signature));
        assert!(!shopify::verify(SECRET, body, "not base64!"));
        assert!(!shopify::verify(SECRET, body, ""));
    }

    #[test]
    fn the_signature_is_base64_of_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            shopify::sign("Jefe", b"what do ya want for nothing?"),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
    }

    #[test]
    fn international_japanese_phone_numbers_become_domestic() {
        assert_eq!(shopify::domestic_phone("+81 3-1234-5678"), "03-1234-5678");
        assert_eq!(shopify::domestic_phone("+81-90-1234-5678"), "090-1234-5678");
        assert_eq!(shopify::domestic_phone("03 (1234) 5678"), "0312345678");
    }
}
