//! The domain error: what went wrong in terms a caller can act on. The HTTP layer maps each
//! variant to one RFC 9457 problem type; nothing here knows about HTTP.

use serde::Serialize;

/// An item that could not be allocated in full, named in a 422 so the shipper knows what to restock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ShortItem {
    pub item_code: String,
    pub requested: i64,
    pub available: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing does not exist *for this caller*: another tenant's ids look exactly like missing ones.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A state-machine transition that the current status does not allow.
    #[error("{entity} is {current}; cannot {action}")]
    IllegalTransition { entity: &'static str, current: String, action: &'static str },
    /// A compare-and-set lost a race: someone changed the record between read and write.
    #[error("{entity} changed concurrently; re-read it and retry")]
    Concurrent { entity: &'static str, current: String },
    /// Input that parsed but breaks a rule; `field` is a JSON pointer-ish path.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A unique key that already exists with different content.
    #[error("{field} already exists")]
    Duplicate { field: &'static str, existing_id: Option<i64> },
    /// Allocation could not reserve every line and the shipper does not allow backorders.
    #[error("insufficient stock for {} item(s)", .0.len())]
    InsufficientStock(Vec<ShortItem>),
    /// The database failed; the message is for logs (the API answers a 500 without it).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
