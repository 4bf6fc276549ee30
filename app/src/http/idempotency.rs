//! `Idempotency-Key` on every POST: same key + same request → the first response again (with
//! `Idempotent-Replayed: true`); same key + different request → 422; while the first is still
//! running → 409. Keys are scoped to the caller's token. 5xx responses are not stored, so a
//! retry after a server error runs again (the failed attempt's transaction rolled back).

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::{ApiError, PROBLEM_JSON};
use super::{AppState, BODY_LIMIT};
use crate::db::{idempotency, tokens};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

pub async fn layer(State(state): State<AppState>, req: Request, next: axum::middleware::Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER).map(|v| v.to_str().map(str::to_owned)) else {
        return next.run(req).await;
    };
    let key = match key {
        Ok(k) if !k.is_empty() && k.len() <= 255 => k,
        _ => {
            return ApiError::Schema {
                field: "Idempotency-Key".into(),
                message: "must be 1-255 visible ASCII characters".into(),
            }
            .into_response();
        }
    };
    // Scope by the presented credential (hashed), so keys of different callers never meet.
    let credential = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let principal = tokens::hash(credential);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return ApiError::PayloadTooLarge.into_response();
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update(b" ");
    hasher.update(parts.uri.path());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let request_hash: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();

    match idempotency::claim(&state.db, &principal, &key, &request_hash).await {
        Ok(idempotency::Claim::New) => {}
        Ok(idempotency::Claim::Replay { status, body }) => return replay(status, body),
        Ok(idempotency::Claim::Mismatch) => return ApiError::IdempotencyMismatch.into_response(),
        Ok(idempotency::Claim::InProgress) => {
            return ApiError::IdempotencyInProgress.into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        let _ = idempotency::release(&state.db, &principal, &key).await;
        return ApiError::Internal("response body could not be buffered".into()).into_response();
    };
    let stored = if parts.status.is_server_error() {
        idempotency::release(&state.db, &principal, &key).await
    } else {
        idempotency::finish(&state.db, &principal, &key, parts.status.as_u16(), &String::from_utf8_lossy(&bytes)).await
    };
    if let Err(e) = stored {
        // The effect is committed; only the replay record is missing. Say so, don't fail the request.
        tracing::warn!(error = %e, "could not store the idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() { "application/json" } else { PROBLEM_JSON };
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
