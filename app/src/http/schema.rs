//! The API's request and response bodies, one module per resource: their JSON shape, their
//! OpenAPI schema, and their conversions into the domain's types (requests) and from storage's
//! (responses). Typed values (`domain::values`, a shipment's recipient) are used as they are,
//! so a body that deserialises is already valid; what is left here is shape.

pub mod billing;
pub mod channels;
pub mod inbounds;
pub mod items;
pub mod maintenance;
pub mod master;
pub mod packages;
pub mod scans;
pub mod shipments;
pub mod stock;
pub mod waves;

/// Dates in bodies: `YYYY-MM-DD`, parsed once here into `jiff::civil::Date`.
pub(crate) mod date {
    use jiff::civil::Date;
    use serde::{Deserialize, Deserializer};

    /// An optional date, with a message that says what a date looks like.
    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| {
                s.parse::<Date>()
                    .map_err(|_| serde::de::Error::custom(format!("must be a date YYYY-MM-DD (got {s:?})")))
            })
            .transpose()
    }
}
