//! The one HTTP error type. Every failure leaves as an RFC 9457 `application/problem+json`
//! document with a stable `type`, the field at fault where there is one, the trace id, and
//! nothing internal: 5xx causes are logged once, here, and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::Error;
use crate::domain::error::ShortItem;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document, with Kura's extension members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the problem kind, e.g. `/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// JSON pointer (or query parameter / header name) of the input at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a refused state transition: the status the resource is in now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    /// For a duplicate: the id of the resource that already exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<i64>,
    /// For insufficient stock: what is short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_items: Option<Vec<ShortItem>>,
    /// For a failed inspection: the lines that differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub differences: Option<serde_json::Value>,
    /// The request's trace, to quote when reporting the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] Error),
    /// The body is not JSON at all.
    #[error("malformed JSON at {field}: {message}")]
    MalformedJson { field: String, message: String },
    /// Well-formed input that does not fit the schema (type, enum, range, unknown field).
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
    /// A correctly signed webhook from another shop than the channel's (one app secret can
    /// sign for many shops).
    #[error("{header} names another shop than this channel's")]
    WrongShop { header: &'static str },
    #[error("no such route")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInProgress,
    #[error("Kura is in maintenance; writes are paused")]
    Maintenance,
    #[error("the service is at capacity; retry shortly")]
    Overloaded,
    #[error("inspection found differences")]
    InspectionMismatch(serde_json::Value),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn problem(&self) -> (StatusCode, Problem) {
        let mut p = Problem {
            kind: String::new(),
            title: "",
            status: 0,
            detail: self.to_string(),
            field: None,
            current_status: None,
            existing_id: None,
            short_items: None,
            differences: None,
            trace_id: telemetry::trace::current_trace_id(),
        };
        let (status, slug, title) = match self {
            ApiError::Domain(e) => match e {
                Error::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
                Error::IllegalTransition { current, .. } => {
                    p.current_status = Some(current.clone());
                    (StatusCode::CONFLICT, "illegal-transition", "Illegal state transition")
                }
                Error::Concurrent { current, .. } => {
                    p.current_status = Some(current.clone());
                    (StatusCode::CONFLICT, "concurrent-update", "Concurrent update")
                }
                Error::Invalid { field, .. } => {
                    p.field = Some(field.clone());
                    (StatusCode::UNPROCESSABLE_ENTITY, "validation", "Invalid request")
                }
                Error::Duplicate { field, existing_id } => {
                    p.field = Some((*field).to_owned());
                    p.existing_id = *existing_id;
                    (StatusCode::CONFLICT, "duplicate", "Already exists")
                }
                Error::InsufficientStock(short) => {
                    p.short_items = Some(short.clone());
                    p.field = Some("/lines".into());
                    (StatusCode::UNPROCESSABLE_ENTITY, "insufficient-stock", "Insufficient stock")
                }
                Error::Database(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
            },
            ApiError::MalformedJson { field, .. } => {
                p.field = Some(field.clone());
                (StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON")
            }
            ApiError::Schema { field, .. } => {
                p.field = Some(field.clone());
                (StatusCode::UNPROCESSABLE_ENTITY, "validation", "Invalid request")
            }
            ApiError::UnsupportedMediaType => {
                p.field = Some("Content-Type".into());
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
            }
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Payload too large"),
            ApiError::Unauthorized => {
                p.field = Some("Authorization".into());
                (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
            }
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::BadSignature(header) => {
                p.field = Some((*header).to_owned());
                (StatusCode::UNAUTHORIZED, "invalid-signature", "Invalid signature")
            }
            ApiError::WrongShop { header } => {
                p.field = Some((*header).to_owned());
                (StatusCode::FORBIDDEN, "wrong-shop", "Wrong shop")
            }
            ApiError::NoRoute => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed"),
            ApiError::IdempotencyMismatch => {
                p.field = Some("Idempotency-Key".into());
                (StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused", "Idempotency key reused")
            }
            ApiError::IdempotencyInProgress => {
                p.field = Some("Idempotency-Key".into());
                (StatusCode::CONFLICT, "idempotency-key-in-progress", "Request in progress")
            }
            ApiError::Maintenance => (StatusCode::SERVICE_UNAVAILABLE, "maintenance", "Maintenance"),
            ApiError::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "overloaded", "Overloaded"),
            ApiError::InspectionMismatch(d) => {
                p.differences = Some(d.clone());
                (StatusCode::UNPROCESSABLE_ENTITY, "inspection-mismatch", "Inspection mismatch")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        };
        if matches!(self, ApiError::Domain(_) | ApiError::Internal(_)) && status.is_server_error() {
            p.detail = "the server could not complete the request; it is safe to retry".into();
        }
        p.kind = format!("/problems/{slug}");
        p.title = title;
        p.status = status.as_u16();
        (status, p)
    }
}

/// Seconds a client should wait before retrying a write during maintenance.
pub const MAINTENANCE_RETRY_AFTER: u64 = 300;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, problem) = self.problem();
        if matches!(self, ApiError::Domain(_) | ApiError::Internal(_)) && status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"kura\""));
            }
            // A 401 names its scheme (RFC 9110 §11.6.1): here, an HMAC of the body.
            ApiError::BadSignature(_) => {
                headers
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("HMAC-SHA256 realm=\"kura-channels\""));
            }
            ApiError::Maintenance => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(MAINTENANCE_RETRY_AFTER));
            }
            ApiError::Overloaded => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            _ => {}
        }
        response
    }
}
