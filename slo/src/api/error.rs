//! The API's one error type. Every failure leaves as a [`platform::Problem`] (RFC 9457,
//! `application/problem+json`, with the field at fault and the trace id), with the platform's
//! slugs and status codes:
//!
//! * a body that is not JSON at all -- 400 `/problems/malformed-json`;
//! * well-formed input that breaks a rule, in the body, the query or the path -- 422
//!   `/problems/validation`, `field` naming it (a JSON pointer such as `/ends_at` for a body
//!   member, the parameter's name for a query or path parameter);
//! * a path naming nothing that exists -- 404 `/problems/not-found`;
//! * a person acting where they may not (approving their own override) -- 403
//!   `/problems/forbidden`; a state that forbids the change (an override already approved or
//!   expired) -- 409 `/problems/illegal-transition`;
//! * a database failure -- 500 `/problems/internal`, the cause logged once and never sent.

use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use platform::{Problem, ProblemType};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path parameter names nothing that exists.
    #[error("{what} not found")]
    NotFound { field: &'static str, what: String },
    /// Well-formed input that breaks a rule.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A body that is not JSON, or not of the expected shape ([`platform::json`]).
    #[error("{}", .0.detail())]
    Body(Box<Problem>),
    /// Valid credentials, but this person may not do this (approving their own override).
    #[error("{message}")]
    Forbidden { field: &'static str, message: String },
    /// The resource's state does not allow it (an override already approved or expired).
    #[error("{message}")]
    Conflict { field: &'static str, message: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Well-formed input that breaks a rule, naming the input at fault.
pub(crate) fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::Invalid { field: field.into(), message: message.into() }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::Body(Box::new(platform::json::rejection(rejection)))
    }
}

impl ApiError {
    /// The problem document this error answers with.
    pub fn problem(&self) -> Problem {
        match self {
            ApiError::NotFound { field, .. } => Problem::new(ProblemType::NotFound, self.to_string()).field(*field),
            ApiError::Invalid { field, .. } => Problem::validation(field.clone(), self.to_string()),
            ApiError::Body(problem) => (**problem).clone(),
            ApiError::Forbidden { field, .. } => Problem::new(ProblemType::Forbidden, self.to_string()).field(*field),
            ApiError::Conflict { field, .. } => {
                Problem::new(ProblemType::IllegalTransition, self.to_string()).field(*field)
            }
            ApiError::Database(e) => Problem::internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}
