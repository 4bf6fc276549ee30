//! Typed domain values. Each is parsed once at the edge (serde `try_from`) so the core never
//! re-validates: if you hold an `ItemCode`, it is a valid item code.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = i64)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }
    )*};
}

id_type!(
    ShipperId,
    WarehouseId,
    LocationId,
    ItemId,
    StockId,
    InboundId,
    ShipmentId,
    WaveId,
    PackageId,
    HandoverId,
    AllocationId,
    ChannelId,
    ChannelEventId,
);

/// Declares a string value with a validating constructor, serde `try_from`, and an OpenAPI schema.
macro_rules! string_value {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: impl Into<String>) -> Result<Self, String> {
                let s: String = s.into();
                let check: fn(&str) -> Result<(), String> = $check;
                check(&s)?;
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn bounded(s: &str, max: usize) -> Result<(), String> {
    let n = s.chars().count();
    if s.trim().is_empty() {
        return Err("must not be blank".into());
    }
    if n > max {
        return Err(format!("must be at most {max} characters (got {n})"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

fn code_like(s: &str, max: usize) -> Result<(), String> {
    bounded(s, max)?;
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err("may contain only ASCII letters, digits, '-', '_' and '.'".into());
    }
    Ok(())
}

string_value!(
    /// A shipper's item code (SKU), unique per shipper.
    ItemCode,
    |s| code_like(s, 64)
);
string_value!(
    /// A shipper's own reference for an inbound or a shipment, unique per shipper.
    Identifier,
    |s| code_like(s, 64)
);
string_value!(
    /// A human-readable name (item, recipient), 1-255 characters.
    Name,
    |s| bounded(s, 255)
);
string_value!(
    /// A free-text line (address line, reason), 1-255 characters.
    Text,
    |s| bounded(s, 255)
);
string_value!(
    /// A lot number; empty means "no lot".
    Lot,
    |s| if s.is_empty() { Ok(()) } else { code_like(s, 64) }
);
string_value!(
    /// An HHT device's id or a device-assigned event id.
    DeviceRef,
    |s| code_like(s, 128)
);
string_value!(
    /// A JAN/EAN-13 or UPC-A barcode with a valid GS1 check digit.
    Barcode,
    check_barcode
);
string_value!(
    /// A Japanese postal code, `NNN-NNNN` or `NNNNNNN`.
    PostalCode,
    |s| {
        let digits: String = s.chars().filter(|c| *c != '-').collect();
        let shape_ok = (s.len() == 7 && !s.contains('-')) || (s.len() == 8 && s.as_bytes()[3] == b'-');
        if shape_ok && digits.len() == 7 && digits.chars().all(|c| c.is_ascii_digit()) {
            Ok(())
        } else {
            Err("must be a 7-digit Japanese postal code such as 150-0001".into())
        }
    }
);
string_value!(
    /// A telephone number: 10-13 digits, hyphens allowed.
    Phone,
    |s| {
        let digits = s.chars().filter(char::is_ascii_digit).count();
        if s.chars().all(|c| c.is_ascii_digit() || c == '-') && (10..=13).contains(&digits) {
            Ok(())
        } else {
            Err("must be 10-13 digits, optionally with hyphens".into())
        }
    }
);

string_value!(
    /// A channel's shop host name as the platform names it (`acme.myshopify.com`): lowercase
    /// letters, digits, `-` and `.`, at least two labels.
    ShopDomain,
    |s| {
        bounded(s, 255)?;
        let labels_ok = s.split('.').count() >= 2 && s.split('.').all(|l| !l.is_empty());
        if labels_ok && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.')) {
            Ok(())
        } else {
            Err("must be a lowercase host name such as acme.myshopify.com".into())
        }
    }
);
string_value!(
    /// The secret a channel signs its webhooks with: 16-255 visible ASCII characters.
    WebhookSecret,
    |s| {
        let n = s.chars().count();
        if (16..=255).contains(&n) && s.chars().all(|c| c.is_ascii_graphic()) {
            Ok(())
        } else {
            Err(format!("must be 16-255 visible ASCII characters (got {n} characters)"))
        }
    }
);

/// GS1 check digit for EAN-13 (JAN) and UPC-A (12 digits).
fn check_barcode(s: &str) -> Result<(), String> {
    if !(s.len() == 13 || s.len() == 12) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be a 13-digit JAN/EAN-13 or 12-digit UPC-A code".into());
    }
    let digits: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
    let (body, check) = digits.split_at(digits.len() - 1);
    // Weights alternate 3,1,3,... starting from the digit next to the check digit.
    let sum: u32 = body.iter().rev().enumerate().map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d }).sum();
    let expected = (10 - sum % 10) % 10;
    if expected == check[0] { Ok(()) } else { Err(format!("check digit is {} but should be {expected}", check[0])) }
}

/// Declares a bounded integer value.
macro_rules! int_value {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(try_from = "i64", into = "i64")]
        #[schema(value_type = i64)]
        pub struct $name(i64);

        impl $name {
            pub const MIN: i64 = $min;
            pub const MAX: i64 = $max;

            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = String;
            fn try_from(v: i64) -> Result<Self, String> {
                if (Self::MIN..=Self::MAX).contains(&v) {
                    Ok(Self(v))
                } else {
                    Err(format!("must be between {} and {} (got {v})", Self::MIN, Self::MAX))
                }
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                v.0
            }
        }
    };
}

int_value!(
    /// A positive unit count on a document line.
    Quantity,
    1,
    1_000_000
);
int_value!(
    /// A signed change of on-hand units by hand (a stock correction or a return), bounded like
    /// a document quantity so stock arithmetic can never overflow.
    StockDelta,
    -1_000_000,
    1_000_000
);
int_value!(
    /// A non-negative unit count (received, defective).
    Count,
    0,
    1_000_000
);
int_value!(
    /// A price in yen.
    Price,
    0,
    100_000_000
);
int_value!(
    /// A weight in grams.
    Grams,
    0,
    1_000_000
);
int_value!(
    /// Allocation priority: lower is allocated first (OPENLOGI's `allocate_priority`).
    Priority,
    1,
    100
);

impl Priority {
    /// The priority of a shipment that names none: mid-range, as OPENLOGI's default.
    pub const DEFAULT: Priority = Priority(50);
}

/// Declares a closed set of string values stored as text.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s).ok_or_else(|| format!("unknown {} {s:?}", stringify!($name)))
            }
        }
    };
}
pub(crate) use text_enum;

/// The most units one stock row may hold: far above any real warehouse, far below where
/// `i64` arithmetic (or SQLite's switch to floating point) could overflow.
pub const MAX_ON_HAND: i64 = 1_000_000_000_000;

text_enum!(
    /// Parcel size class as Japanese carriers sell it (sum of three sides in cm).
    SizeClass { S60 = "60", S80 = "80", S100 = "100", S120 = "120", S140 = "140", S160 = "160" }
);
text_enum!(
    /// Temperature zone the item must be stored and shipped in.
    TemperatureZone { Normal = "normal", Chilled = "chilled", Frozen = "frozen" }
);
text_enum!(
    /// What a warehouse location is for; only `stock` locations are allocated from.
    LocationKind { Receiving = "receiving", Stock = "stock", Hold = "hold", Packing = "packing", Shipping = "shipping" }
);
text_enum!(
    /// Stock bucket: sellable goods, or goods on hold (defective, unknown parcel or item).
    Bucket { Sellable = "sellable", Hold = "hold" }
);
text_enum!(
    /// Why on-hand stock changed; every change is one ledger entry.
    LedgerKind {
        Receive = "receive",
        Putaway = "putaway",
        Pick = "pick",
        Ship = "ship",
        Adjust = "adjust",
        Return = "return",
        Cancel = "cancel",
    }
);
text_enum!(
    /// Delivery carriers Kura prints labels for.
    Carrier { Yamato = "yamato", Sagawa = "sagawa", JapanPost = "japan_post" }
);

impl Carrier {
    /// Tracking-number prefix used by the label simulator (real carriers assign ranges per contract).
    pub fn tracking_prefix(self) -> &'static str {
        match self {
            Carrier::Yamato => "4",
            Carrier::Sagawa => "5",
            Carrier::JapanPost => "6",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barcodes_with_a_valid_check_digit_parse() {
        for ok in ["4901234567894", "4549292070293", "036000291452", "012345678905"] {
            assert!(Barcode::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn barcodes_with_a_wrong_check_digit_or_shape_are_rejected() {
        for bad in ["4901234567890", "036000291453", "12345", "49012345678a4", ""] {
            assert!(Barcode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities_outside_their_range_are_rejected() {
        assert!(Quantity::try_from(0).is_err());
        assert!(Quantity::try_from(-3).is_err());
        assert!(Quantity::try_from(1_000_001).is_err());
        assert_eq!(Quantity::try_from(7).map(Quantity::get), Ok(7));
    }

    #[test]
    fn codes_reject_blank_long_and_odd_characters() {
        assert!(ItemCode::parse("SKU-001").is_ok());
        assert!(ItemCode::parse(" ").is_err());
        assert!(ItemCode::parse("a b").is_err());
        assert!(ItemCode::parse("x".repeat(65)).is_err());
    }

    #[test]
    fn postal_codes_accept_both_shapes() {
        assert!(PostalCode::parse("150-0001").is_ok());
        assert!(PostalCode::parse("1500001").is_ok());
        assert!(PostalCode::parse("15-00001").is_err());
        assert!(PostalCode::parse("150-000").is_err());
    }
}
