//! Request extractors that fail with problem documents: JSON bodies with the exact field at
//! fault (as a JSON pointer), list queries, path ids, and the caller's role.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::AppState;
use super::error::ApiError;
use crate::db::tokens;
use crate::domain::access::{Principal, Scope};
use crate::domain::values::ShipperId;

/// A JSON body, validated through the typed domain values it deserialises into.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse(&bytes).map(Json)
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/*+json`).
pub fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// The body exactly as received (a webhook's signature covers these bytes), within the body limit.
#[derive(Debug, Clone, Default)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state).await.map(RawBody).map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedJson { field: String::new(), message: e.body_text() }
            }
        })
    }
}

/// Deserialises `bytes`, naming the field at fault as a JSON pointer.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = platform::json::field_at_fault(&e);
        let inner = e.inner();
        let message = inner.to_string();
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson { field, message },
            Category::Data => ApiError::Schema { field, message: strip_position(&message) },
        }
    })?;
    de.end().map_err(|e| ApiError::MalformedJson { field: String::new(), message: e.to_string() })?;
    Ok(value)
}

/// serde_json appends " at line 1 column 40" to data errors; the pointer already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// `?limit=&cursor=` (ids are increasing; the cursor is the last id seen).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub after: i64,
    pub limit: i64,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The query string as name/value pairs, for handlers that parse their own filters.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn page(&self) -> Result<Page, ApiError> {
        let int = |name: &str, default: i64, range: std::ops::RangeInclusive<i64>| -> Result<i64, ApiError> {
            match self.get(name) {
                None => Ok(default),
                Some(v) => v.parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| ApiError::Schema {
                    field: name.to_owned(),
                    message: format!("must be an integer in {}..={} (got {v:?})", range.start(), range.end()),
                }),
            }
        };
        Ok(Page { after: int("cursor", 0, 0..=i64::MAX)?, limit: int("limit", DEFAULT_LIMIT, 1..=MAX_LIMIT)? })
    }

    /// Parses an optional enum-like filter with `parse`.
    pub fn filter<T>(&self, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|v| {
                parse(v)
                    .ok_or_else(|| ApiError::Schema { field: name.to_owned(), message: format!("unknown value {v:?}") })
            })
            .transpose()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| QueryParams(q.0))
            .map_err(|e| ApiError::Schema { field: "query".into(), message: e.body_text() })
    }
}

/// A path id; anything but a positive integer is a 404 (no such resource), never a 500.
#[derive(Debug, Clone, Copy)]
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw): axum::extract::Path<Vec<(String, String)>> =
            axum::extract::Path::from_request_parts(parts, state).await.map_err(|_| ApiError::NoRoute)?;
        let (_, value) = raw.first().ok_or(ApiError::NoRoute)?;
        value.parse::<i64>().ok().filter(|n| *n > 0).map(Id).ok_or(ApiError::NoRoute)
    }
}

/// Any authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(Caller(p.clone()));
        }
        let token = platform::auth::bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let principal = tokens::authenticate(&state.db, token).await?.ok_or(ApiError::Unauthorized)?;
        parts.extensions.insert(principal.clone());
        Ok(Caller(principal))
    }
}

/// A shipper token: the shipper that owns what it creates, and sees only its own.
#[derive(Debug, Clone, Copy)]
pub struct AsShipper(pub ShipperId);

impl AsShipper {
    /// What this shipper may see: its own documents.
    pub fn scope(self) -> Scope {
        Scope::Shipper(self.0)
    }
}

impl FromRequestParts<AppState> for AsShipper {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await?.0 {
            Principal::Shipper { shipper_id, .. } => Ok(AsShipper(shipper_id)),
            _ => Err(ApiError::Forbidden("shipper")),
        }
    }
}

/// Warehouse staff, or an admin (who operates every warehouse): the scope of their work.
#[derive(Debug, Clone)]
pub struct AsWarehouse(pub Scope);

impl FromRequestParts<AppState> for AsWarehouse {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await?.0 {
            Principal::Shipper { .. } => Err(ApiError::Forbidden("warehouse")),
            staff => Ok(AsWarehouse(staff.scope())),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AsAdmin(pub Principal);

impl FromRequestParts<AppState> for AsAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await?.0 {
            p @ Principal::Admin { .. } => Ok(AsAdmin(p)),
            _ => Err(ApiError::Forbidden("admin")),
        }
    }
}
