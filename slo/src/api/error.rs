//! The API's one error type: every failure leaves as an RFC 9457 `application/problem+json`
//! document with a stable `type`, the parameter at fault where there is one, and the trace id.
//! 5xx causes are logged once, here, and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the problem kind, e.g. `/problems/not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// The path or query parameter at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path parameter names nothing that exists.
    #[error("{what} not found")]
    NotFound { field: &'static str, what: String },
    /// A path or query parameter is malformed or out of bounds.
    #[error("{field}: {message}")]
    BadParameter { field: String, message: String },
    #[error("no such route")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("internal error")]
    Internal(String),
}

/// A malformed or out-of-bounds parameter, naming it.
pub(crate) fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadParameter { field: field.into(), message: message.into() }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl ApiError {
    fn problem(&self) -> (StatusCode, Problem) {
        let (status, slug, title, field) = match self {
            ApiError::NotFound { field, .. } => {
                (StatusCode::NOT_FOUND, "not-found", "Not found", Some((*field).into()))
            }
            ApiError::BadParameter { field, .. } => {
                (StatusCode::BAD_REQUEST, "bad-parameter", "Bad parameter", Some(field.clone()))
            }
            ApiError::NoRoute => (StatusCode::NOT_FOUND, "not-found", "Not found", None),
            ApiError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed", None)
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", None),
        };
        let detail = if matches!(self, ApiError::Internal(_)) {
            "the server could not complete the request; it is safe to retry".to_owned()
        } else {
            self.to_string()
        };
        let problem = Problem {
            kind: format!("/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail,
            field,
            trace_id: telemetry::trace::current_trace_id(),
        };
        (status, problem)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, problem) = self.problem();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %cause, "request failed");
        }
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}
