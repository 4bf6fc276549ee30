//! RFC 9457 problem documents: the one shape every Kura API fails with.
//!
//! Every problem has a stable `type` from [`ProblemType`] (`/problems/<slug>`), the status code
//! that type always has, a `detail` for people, the input at fault in `field` (a JSON pointer
//! such as `/lines/0/quantity`, or a query parameter or header name), the request's `trace_id`,
//! and extension members a type defines (`current_status`, `existing_id`, ...). The rule for
//! input: a body that is not JSON at all is 400 `malformed-json`; well-formed input that breaks
//! a rule -- a body field, a query or path parameter -- is 422 `validation`.
//!
//! 5xx causes are logged once, when the response is built, and never sent.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every kind of problem a Kura API answers with; the slug is the stable `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    /// The body is not JSON at all (syntax error, truncated).
    MalformedJson,
    /// Well-formed input that breaks a rule: a body field, a query or a path parameter.
    Validation,
    UnsupportedMediaType,
    PayloadTooLarge,
    /// No credentials, or credentials that are not valid.
    Unauthorized,
    /// Valid credentials without the right to do this.
    Forbidden,
    /// A webhook whose signature does not match its body.
    InvalidSignature,
    /// A webhook delivered too late (or with a timestamp from the future) to be trusted.
    StaleDelivery,
    /// A correctly signed webhook for another shop than its channel's.
    WrongShop,
    NotFound,
    MethodNotAllowed,
    /// A state transition the resource's current state does not allow.
    IllegalTransition,
    /// The resource changed between read and write; retry with the new state.
    ConcurrentUpdate,
    /// The resource already exists.
    Duplicate,
    InsufficientStock,
    InspectionMismatch,
    /// An `Idempotency-Key` reused with a different request.
    IdempotencyKeyReused,
    /// An `Idempotency-Key` whose first request is still running.
    IdempotencyKeyInProgress,
    /// Writes are paused for maintenance.
    Maintenance,
    /// Too many requests in flight; retry shortly.
    Overloaded,
    /// The request took longer than the server allows; its work was rolled back.
    Timeout,
    /// A dependency the request needs is unreachable.
    Unavailable,
    Internal,
}

impl ProblemType {
    pub const ALL: [ProblemType; 23] = [
        ProblemType::MalformedJson,
        ProblemType::Validation,
        ProblemType::UnsupportedMediaType,
        ProblemType::PayloadTooLarge,
        ProblemType::Unauthorized,
        ProblemType::Forbidden,
        ProblemType::InvalidSignature,
        ProblemType::StaleDelivery,
        ProblemType::WrongShop,
        ProblemType::NotFound,
        ProblemType::MethodNotAllowed,
        ProblemType::IllegalTransition,
        ProblemType::ConcurrentUpdate,
        ProblemType::Duplicate,
        ProblemType::InsufficientStock,
        ProblemType::InspectionMismatch,
        ProblemType::IdempotencyKeyReused,
        ProblemType::IdempotencyKeyInProgress,
        ProblemType::Maintenance,
        ProblemType::Overloaded,
        ProblemType::Timeout,
        ProblemType::Unavailable,
        ProblemType::Internal,
    ];

    /// The slug, `type` without its `/problems/` prefix.
    pub fn slug(self) -> &'static str {
        self.describe().0
    }

    /// The status code this type always has.
    pub fn status(self) -> StatusCode {
        self.describe().1
    }

    pub fn title(self) -> &'static str {
        self.describe().2
    }

    fn describe(self) -> (&'static str, StatusCode, &'static str) {
        use ProblemType as P;
        use StatusCode as S;
        match self {
            P::MalformedJson => ("malformed-json", S::BAD_REQUEST, "Malformed JSON"),
            P::Validation => ("validation", S::UNPROCESSABLE_ENTITY, "Invalid request"),
            P::UnsupportedMediaType => ("unsupported-media-type", S::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
            P::PayloadTooLarge => ("payload-too-large", S::PAYLOAD_TOO_LARGE, "Payload too large"),
            P::Unauthorized => ("unauthorized", S::UNAUTHORIZED, "Unauthorized"),
            P::Forbidden => ("forbidden", S::FORBIDDEN, "Forbidden"),
            P::InvalidSignature => ("invalid-signature", S::UNAUTHORIZED, "Invalid signature"),
            P::StaleDelivery => ("stale-delivery", S::UNAUTHORIZED, "Stale delivery"),
            P::WrongShop => ("wrong-shop", S::FORBIDDEN, "Wrong shop"),
            P::NotFound => ("not-found", S::NOT_FOUND, "Not found"),
            P::MethodNotAllowed => ("method-not-allowed", S::METHOD_NOT_ALLOWED, "Method not allowed"),
            P::IllegalTransition => ("illegal-transition", S::CONFLICT, "Illegal state transition"),
            P::ConcurrentUpdate => ("concurrent-update", S::CONFLICT, "Concurrent update"),
            P::Duplicate => ("duplicate", S::CONFLICT, "Already exists"),
            P::InsufficientStock => ("insufficient-stock", S::UNPROCESSABLE_ENTITY, "Insufficient stock"),
            P::InspectionMismatch => ("inspection-mismatch", S::UNPROCESSABLE_ENTITY, "Inspection mismatch"),
            P::IdempotencyKeyReused => ("idempotency-key-reused", S::UNPROCESSABLE_ENTITY, "Idempotency key reused"),
            P::IdempotencyKeyInProgress => ("idempotency-key-in-progress", S::CONFLICT, "Request in progress"),
            P::Maintenance => ("maintenance", S::SERVICE_UNAVAILABLE, "Maintenance"),
            P::Overloaded => ("overloaded", S::SERVICE_UNAVAILABLE, "Overloaded"),
            P::Timeout => ("timeout", S::SERVICE_UNAVAILABLE, "Request timed out"),
            P::Unavailable => ("unavailable", S::SERVICE_UNAVAILABLE, "Dependency unavailable"),
            P::Internal => ("internal", S::INTERNAL_SERVER_ERROR, "Internal error"),
        }
    }
}

/// An RFC 9457 problem document, with Kura's extension members. Small on purpose (a boxed
/// tail holds what most problems lack), so `Result<T, Problem>` stays cheap to return.
#[derive(Debug, Clone)]
pub struct Problem {
    problem_type: ProblemType,
    detail: String,
    field: Option<String>,
    trace_id: Option<String>,
    extra: Box<Extra>,
}

/// The members and response parts most problems do not have.
#[derive(Debug, Clone, Default)]
struct Extra {
    extensions: serde_json::Map<String, serde_json::Value>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// What went wrong inside, for the log only (5xx).
    cause: Option<String>,
}

/// The document's shape, for OpenAPI (the document itself is serialized by hand, with the
/// extension members beside the standard ones).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemSchema {
    /// Stable identifier of the problem kind, e.g. `/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// JSON pointer (or query parameter, path parameter or header name) of the input at fault.
    pub field: Option<String>,
    /// The request's trace, to quote when reporting the problem.
    pub trace_id: Option<String>,
    /// For `illegal-transition` and `concurrent-update`: the status the resource is in now.
    pub current_status: Option<String>,
    /// For `duplicate`: the id of the resource that already exists.
    pub existing_id: Option<i64>,
}

impl utoipa::PartialSchema for Problem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <ProblemSchema as utoipa::PartialSchema>::schema()
    }
}

impl ToSchema for Problem {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Problem")
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <ProblemSchema as ToSchema>::schemas(schemas);
    }
}

/// The detail every 5xx answers with: nothing internal leaves the server.
pub const INTERNAL_DETAIL: &str = "the server could not complete the request; it is safe to retry";

impl Problem {
    pub fn new(problem_type: ProblemType, detail: impl Into<String>) -> Problem {
        Problem {
            problem_type,
            detail: detail.into(),
            field: None,
            trace_id: telemetry::trace::current_trace_id(),
            extra: Box::default(),
        }
    }

    /// A 500 whose `cause` is logged, never sent.
    pub fn internal(cause: impl Into<String>) -> Problem {
        Problem::new(ProblemType::Internal, INTERNAL_DETAIL).cause(cause)
    }

    /// A 422 `validation` problem naming the input at fault.
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem::new(ProblemType::Validation, detail).field(field)
    }

    pub fn problem_type(&self) -> ProblemType {
        self.problem_type
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The input at fault, if the problem names one.
    pub fn field_name(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub fn field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(field.into());
        self
    }

    /// Adds an extension member.
    pub fn with(mut self, name: &str, value: impl Serialize) -> Problem {
        if let Ok(value) = serde_json::to_value(value) {
            self.extra.extensions.insert(name.to_owned(), value);
        }
        self
    }

    /// Adds a response header (`WWW-Authenticate`, `Retry-After`).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Problem {
        self.extra.headers.push((name, value));
        self
    }

    /// `Retry-After` in seconds.
    pub fn retry_after(self, seconds: u64) -> Problem {
        self.header(header::RETRY_AFTER, HeaderValue::from(seconds))
    }

    /// What went wrong inside: logged with a 5xx, never sent.
    pub fn cause(mut self, cause: impl Into<String>) -> Problem {
        self.extra.cause = Some(cause.into());
        self
    }

    pub fn status_code(&self) -> StatusCode {
        self.problem_type.status()
    }
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", &format!("/problems/{}", self.problem_type.slug()))?;
        map.serialize_entry("title", self.problem_type.title())?;
        map.serialize_entry("status", &self.problem_type.status().as_u16())?;
        map.serialize_entry("detail", &self.detail)?;
        if let Some(field) = &self.field {
            map.serialize_entry("field", field)?;
        }
        if let Some(trace_id) = &self.trace_id {
            map.serialize_entry("trace_id", trace_id)?;
        }
        for (name, value) in &self.extra.extensions {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if status.is_server_error()
            && let Some(cause) = &self.extra.cause
        {
            tracing::error!(error = %cause, problem = self.problem_type.slug(), "request failed");
        }
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in self.extra.headers {
            headers.insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_type_has_its_own_slug_and_a_4xx_or_5xx_status() {
        let mut slugs: Vec<_> = ProblemType::ALL.iter().map(|t| t.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemType::ALL.len());
        assert!(ProblemType::ALL.iter().all(|t| t.status().is_client_error() || t.status().is_server_error()));
    }

    #[test]
    fn a_problem_serializes_its_extensions_beside_the_standard_members_and_hides_the_cause() {
        let p = Problem::new(ProblemType::Duplicate, "exists").field("/identifier").with("existing_id", 7).cause("x");
        let json = serde_json::to_value(&p).expect("json");
        assert_eq!(json["type"], "/problems/duplicate");
        assert_eq!(json["status"], 409);
        assert_eq!(json["field"], "/identifier");
        assert_eq!(json["existing_id"], 7);
        assert!(json.get("cause").is_none());
    }

    #[test]
    fn a_problem_is_small_enough_to_return_in_a_result() {
        assert!(size_of::<Problem>() <= 96, "{}", size_of::<Problem>());
    }

    #[test]
    fn an_internal_problem_never_sends_its_cause() {
        let p = Problem::internal("password=hunter2 in the connection string");
        let json = serde_json::to_string(&p).expect("json");
        assert!(!json.contains("hunter2"));
        assert!(json.contains(INTERNAL_DETAIL));
    }
}
