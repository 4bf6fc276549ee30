//! What a handler can fail with, and the one problem document each failure becomes
//! ([`platform::Problem`]: RFC 9457 with a stable `type`, the field at fault, the trace id;
//! 5xx causes logged once and never sent).
//!
//! Extension members this API adds: `current_status` (`illegal-transition`,
//! `concurrent-update`), `existing_id` (`duplicate`), `short_items` (`insufficient-stock`),
//! `differences` (`inspection-mismatch`).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
pub use platform::Problem;
use platform::ProblemType;

use crate::domain::Error;

pub use platform::problem::PROBLEM_JSON;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] Error),
    /// The body is not JSON at all.
    #[error("malformed JSON at {field}: {message}")]
    MalformedJson { field: String, message: String },
    /// Well-formed input that does not fit the schema (type, enum, range, unknown field), in the
    /// body or a query or path parameter.
    #[error("{field}: {message}")]
    Schema { field: String, message: String },
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("this endpoint is for {0} tokens")]
    Forbidden(&'static str),
    /// A webhook whose signature header does not match its body under the channel's secret.
    #[error("{0} does not match the body signed with this channel's secret")]
    BadSignature(&'static str),
    /// A signed webhook triggered too long ago (or in the future) to be trusted: a replay.
    #[error("{header} is outside the accepted window of {window_seconds} s")]
    StaleDelivery { header: &'static str, window_seconds: u64 },
    /// A correctly signed webhook from another shop than the channel's (one app secret can
    /// sign for many shops).
    #[error("{header} names another shop than this channel's")]
    WrongShop { header: &'static str },
    #[error("no such route")]
    NoRoute,
    #[error("Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInProgress,
    #[error("Kura is in maintenance; writes are paused")]
    Maintenance,
    #[error("inspection found differences")]
    InspectionMismatch(Vec<crate::domain::inspection::Difference>),
    #[error("internal error")]
    Internal(String),
}

/// Seconds a client should wait before retrying a write during maintenance.
pub const MAINTENANCE_RETRY_AFTER: u64 = 300;

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Problem {
        let detail = e.to_string();
        match e {
            ApiError::Domain(e) => match e {
                Error::NotFound(_) => Problem::new(ProblemType::NotFound, detail),
                Error::IllegalTransition { current, .. } => {
                    Problem::new(ProblemType::IllegalTransition, detail).with("current_status", current)
                }
                Error::Concurrent { current, .. } => {
                    Problem::new(ProblemType::ConcurrentUpdate, detail).with("current_status", current)
                }
                Error::Invalid { field, .. } => Problem::new(ProblemType::Validation, detail).field(field),
                Error::Duplicate { field, existing_id } => {
                    let p = Problem::new(ProblemType::Duplicate, detail).field(field);
                    match existing_id {
                        Some(id) => p.with("existing_id", id),
                        None => p,
                    }
                }
                Error::InsufficientStock(short) => {
                    Problem::new(ProblemType::InsufficientStock, detail).field("/lines").with("short_items", short)
                }
                Error::Database(e) => Problem::internal(format!("database: {e}")),
            },
            ApiError::MalformedJson { field, .. } => Problem::new(ProblemType::MalformedJson, detail).field(field),
            ApiError::Schema { field, .. } => Problem::new(ProblemType::Validation, detail).field(field),
            ApiError::UnsupportedMediaType => {
                Problem::new(ProblemType::UnsupportedMediaType, detail).field("Content-Type")
            }
            ApiError::PayloadTooLarge => Problem::new(ProblemType::PayloadTooLarge, detail),
            ApiError::Unauthorized => platform::auth::unauthorized("kura", detail),
            ApiError::Forbidden(_) => Problem::new(ProblemType::Forbidden, detail),
            // A 401 names its scheme (RFC 9110 §11.6.1): here, an HMAC of the body.
            ApiError::BadSignature(header) => Problem::new(ProblemType::InvalidSignature, detail)
                .field(header)
                .header(header::WWW_AUTHENTICATE, HeaderValue::from_static("HMAC-SHA256 realm=\"kura-channels\"")),
            ApiError::StaleDelivery { header, .. } => Problem::new(ProblemType::StaleDelivery, detail)
                .field(header)
                .header(header::WWW_AUTHENTICATE, HeaderValue::from_static("HMAC-SHA256 realm=\"kura-channels\"")),
            ApiError::WrongShop { header } => Problem::new(ProblemType::WrongShop, detail).field(header),
            ApiError::NoRoute => Problem::new(ProblemType::NotFound, detail),
            ApiError::IdempotencyMismatch => {
                Problem::new(ProblemType::IdempotencyKeyReused, detail).field("Idempotency-Key")
            }
            ApiError::IdempotencyInProgress => {
                Problem::new(ProblemType::IdempotencyKeyInProgress, detail).field("Idempotency-Key")
            }
            ApiError::Maintenance => {
                Problem::new(ProblemType::Maintenance, detail).retry_after(MAINTENANCE_RETRY_AFTER)
            }
            ApiError::InspectionMismatch(differences) => {
                Problem::new(ProblemType::InspectionMismatch, detail).with("differences", differences)
            }
            ApiError::Internal(cause) => Problem::internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
