//! EC channels (Shopify-style shops) and the events they push: what a channel event can
//! become, why an order is rejected, and Shopify's wire format for `orders/create` with its
//! webhook signature.
//!
//! Shopify signs every webhook with `X-Shopify-Hmac-Sha256`: the base64 HMAC-SHA256 of the raw
//! request body under the shared secret (shopify.dev, "Deliver webhooks through HTTPS",
//! "Verify the webhook"). [`shopify::verify`] recomputes it over the bytes exactly as
//! received (never a re-serialisation) and compares in constant time.

use serde::Deserialize;
use utoipa::ToSchema;

use super::values::{Quantity, text_enum};

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
    /// the event is recorded and acknowledged instead of failing (DOMAIN.md, Channel).
    RejectReason {
        UnknownSku = "unknown_sku",
        BadAddress = "bad_address",
        OutOfStock = "out_of_stock",
        InvalidOrder = "invalid_order",
    }
);

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
