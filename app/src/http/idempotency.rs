//! `Idempotency-Key` on every POST: same key + same request → the first response again (with
//! `Idempotent-Replayed: true`); same key + different request → 422; while the first is still
//! running → 409.
//!
//! The caller is authenticated first, and keys are scoped by the authenticated principal (its
//! role and token id), so an anonymous request stores nothing and a revoked token's replies
//! are never replayed. 5xx responses are not stored, and a request that panics or times out
//! releases its key at once, so a retry after a server error runs again (the failed attempt's
//! transaction rolled back). Keys are kept for [`RETENTION`](crate::db::idempotency::RETENTION)
//! (24 h) and then purged by a job. EC channel webhooks (`/channels/…`) are signed, not
//! token-authenticated, and deduplicated by their own delivery ids; the layer leaves them alone.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::{ApiError, PROBLEM_JSON};
use super::{AppState, BODY_LIMIT};
use crate::db::{Db, idempotency, tokens};
use crate::domain::access::Principal;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

pub async fn layer(State(state): State<AppState>, mut req: Request, next: axum::middleware::Next) -> Response {
    if req.method() != Method::POST || req.uri().path().starts_with("/channels/") {
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
    // Authenticate before touching the key: nothing is stored for an anonymous caller.
    let token = platform::auth::bearer(req.headers()).map(str::to_owned);
    let principal = match authenticate(&state.db, token.as_deref()).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let scope = principal.key();
    req.extensions_mut().insert(principal);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return ApiError::PayloadTooLarge.into_response();
    };
    let request_hash = request_hash(parts.method.as_str(), parts.uri.path(), &bytes);

    match idempotency::claim(&state.db, &scope, &key, &request_hash).await {
        Ok(idempotency::Claim::New) => {}
        Ok(idempotency::Claim::Replay { status, body }) => return replay(status, body),
        Ok(idempotency::Claim::Mismatch) => return ApiError::IdempotencyMismatch.into_response(),
        Ok(idempotency::Claim::InProgress) => return ApiError::IdempotencyInProgress.into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    }
    // Released on every way out but a stored response: a 5xx, a panic, the request timeout
    // (which drops this future), a body that cannot be buffered.
    let mut claimed = Claimed { db: state.db.clone(), scope, key, settled: false };
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return ApiError::Internal("response body could not be buffered".into()).into_response();
    };
    if !parts.status.is_server_error() {
        let stored = idempotency::finish(
            &state.db,
            &claimed.scope,
            &claimed.key,
            parts.status.as_u16(),
            &String::from_utf8_lossy(&bytes),
        )
        .await;
        match stored {
            Ok(()) => claimed.settled = true,
            // The effect is committed; only the replay record is missing. Say so, don't fail
            // the request (the guard releases the key, and the operation's own key catches a
            // retry).
            Err(e) => tracing::warn!(error = %e, "could not store the idempotent response"),
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The caller, as the route's extractors would find it (they reuse it from the extensions).
async fn authenticate(db: &Db, token: Option<&str>) -> Result<Principal, ApiError> {
    let token = token.ok_or(ApiError::Unauthorized)?;
    tokens::authenticate(db, token).await?.ok_or(ApiError::Unauthorized)
}

fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method);
    hasher.update(b" ");
    hasher.update(path);
    hasher.update(b"\n");
    hasher.update(body);
    platform::signature::hex(&hasher.finalize())
}

/// A claimed key: unless settled with a stored response, dropping it releases the key.
struct Claimed {
    db: Db,
    scope: String,
    key: String,
    settled: bool,
}

impl Drop for Claimed {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (db, scope, key) = (self.db.clone(), std::mem::take(&mut self.scope), std::mem::take(&mut self.key));
        // Drop cannot await: release on the runtime (a panicking or timed-out request is still
        // inside one).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = idempotency::release(&db, &scope, &key).await {
                    tracing::warn!(error = %e, "could not release an idempotency key; it expires with its retention");
                }
            });
        }
    }
}

fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() { "application/json" } else { PROBLEM_JSON };
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
