//! A fake GitHub REST API for the gate's tests: an HTTP server on port 0 that answers the
//! endpoints the controller calls with GitHub's documented shapes, status codes and error
//! bodies, and records every request it received.
//!
//! * `POST /app/installations/{id}/access_tokens` -- needs `Authorization: Bearer <App JWT>`
//!   (three base64url parts, RS256 header, `iss` claim); 201 `{token, expires_at, ...}`, else
//!   401 `{"message": "Bad credentials", ...}`.
//! * `POST /repos/{o}/{r}/actions/runs/{run}/deployment_protection_rule` -- `{environment_name,
//!   state?, comment?}`; 204; 422 `Validation Failed` when `comment` is over 1,024 characters
//!   or `state` is not approved/rejected.
//! * `POST /repos/{o}/{r}/statuses/{sha}` -- 201; `POST /repos/{o}/{r}/check-runs` -- 201;
//!   `POST /repos/{o}/{r}/deployments` -- 201; `POST /repos/{o}/{r}/deployments/{id}/statuses`
//!   -- 201; `POST /repos/{o}/{r}/actions/workflows/{id}/dispatches` -- 204.
//! * `GET /repos/{o}/{r}/commits/{sha}` -- 200 `{sha, commit: {message, ...}, ...}` with the
//!   message set by [`FakeGithub::set_commit_message`] (default: a one-line subject); 422 `No
//!   commit found for SHA` for a sha that is not 40 hex digits.
//! * Every other call with an installation token it did not issue: 401 `Bad credentials`.
//!
//! [`FakeGithub::fail_next`] makes the next calls to a path fail with a given status and
//! headers (a 502, a secondary rate limit with `Retry-After`, ...).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
    /// When it arrived (the gate benchmark's clock).
    #[allow(dead_code)]
    pub at: std::time::Instant,
}

/// A failure to answer instead: the path prefix it applies to, the status, the headers.
type Failure = (String, u16, Vec<(String, String)>);

#[derive(Debug, Default)]
struct Inner {
    received: Vec<Received>,
    /// (path prefix, status, headers) answered instead, first match first.
    failures: VecDeque<Failure>,
    tokens: Vec<String>,
    /// Commit messages by sha.
    commits: std::collections::HashMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct FakeGithub {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeGithub {
    pub async fn start() -> FakeGithub {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new().fallback(handle).with_state(Arc::clone(&inner));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        FakeGithub { base, inner }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("fake").received.clone()
    }

    /// Requests whose path contains `part`, except token exchanges.
    pub fn calls(&self, part: &str) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.path.contains(part) && !r.path.contains("/access_tokens")).collect()
    }

    /// Protection-rule reviews: calls with a `state` (not status reports).
    pub fn reviews(&self) -> Vec<Received> {
        self.calls("/deployment_protection_rule").into_iter().filter(|r| r.body.get("state").is_some()).collect()
    }

    /// The message of commit `sha` (what `GET /repos/{o}/{r}/commits/{sha}` answers).
    #[allow(dead_code)]
    pub fn set_commit_message(&self, sha: &str, message: &str) {
        self.inner.lock().expect("fake").commits.insert(sha.to_owned(), message.to_owned());
    }

    /// The next call whose path starts with `prefix` answers `status` with `headers`.
    pub fn fail_next(&self, prefix: &str, status: u16, headers: &[(&str, &str)]) {
        self.inner.lock().expect("fake").failures.push_back((
            prefix.to_owned(),
            status,
            headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        ));
    }
}

fn message(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"message": message, "documentation_url": "https://docs.github.com/rest", "status": status.as_u16().to_string()})))
        .into_response()
}

fn validation_failed(resource: &str, field: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({
            "message": "Validation Failed",
            "errors": [{"resource": resource, "field": field, "code": "invalid"}],
            "documentation_url": "https://docs.github.com/rest",
            "status": "422",
        })),
    )
        .into_response()
}

/// Whether `token` looks like the App's JWT: three base64url parts, RS256, an `iss`.
fn is_app_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let decode = |p: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok();
    let (Some(header), Some(claims)) = (parts.first().and_then(|p| decode(p)), parts.get(1).and_then(|p| decode(p)))
    else {
        return false;
    };
    let header: Value = serde_json::from_slice(&header).unwrap_or_default();
    let claims: Value = serde_json::from_slice(&claims).unwrap_or_default();
    parts.len() == 3 && header["alg"] == "RS256" && claims.get("iss").is_some() && claims.get("exp").is_some()
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: Value = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
    let token = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer ").or_else(|| a.strip_prefix("token ")))
        .unwrap_or("")
        .to_owned();
    let failure = {
        let mut inner = inner.lock().expect("fake");
        inner.received.push(Received {
            method: method.to_string(),
            path: path.clone(),
            authorization,
            body: body.clone(),
            at: std::time::Instant::now(),
        });
        let at = inner.failures.iter().position(|(prefix, _, _)| path.starts_with(prefix.as_str()));
        at.and_then(|i| inner.failures.remove(i))
    };
    if let Some((_, status, headers)) = failure {
        let status = StatusCode::from_u16(status).expect("a status");
        let mut response = message(
            status,
            if status.as_u16() == 403 { "You have exceeded a secondary rate limit." } else { "Server Error" },
        );
        for (k, v) in headers {
            response
                .headers_mut()
                .insert(axum::http::HeaderName::from_bytes(k.as_bytes()).expect("header"), v.parse().expect("value"));
        }
        return response;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let (&Method::POST, ["app", "installations", id, "access_tokens"]) = (&method, segments.as_slice()) {
        if !is_app_jwt(&token) {
            return message(StatusCode::UNAUTHORIZED, "Bad credentials");
        }
        let issued = format!("ghs_fake{id}{}", inner.lock().expect("fake").tokens.len());
        inner.lock().expect("fake").tokens.push(issued.clone());
        let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
        return (
            StatusCode::CREATED,
            axum::Json(json!({
                "token": issued,
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "permissions": {"deployments": "write", "statuses": "write", "checks": "write", "actions": "write", "contents": "read"},
                "repository_selection": "all",
            })),
        )
            .into_response();
    }
    if !inner.lock().expect("fake").tokens.contains(&token) {
        return message(StatusCode::UNAUTHORIZED, "Bad credentials");
    }
    if method == Method::GET {
        return match segments.as_slice() {
            ["repos", _, _, "commits", sha] if sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) => {
                let text = inner.lock().expect("fake").commits.get(*sha).cloned();
                let text = text.unwrap_or_else(|| "Change the packing station's layout".to_owned());
                let commit = json!({
                    "sha": sha,
                    "commit": {"message": text, "author": {"name": "Aiko", "email": "aiko@example.com"}},
                    "parents": [],
                });
                (StatusCode::OK, axum::Json(commit)).into_response()
            }
            ["repos", _, _, "commits", sha] => {
                message(StatusCode::UNPROCESSABLE_ENTITY, &format!("No commit found for SHA: {sha}"))
            }
            _ => message(StatusCode::NOT_FOUND, "Not Found"),
        };
    }
    if method != Method::POST {
        return message(StatusCode::NOT_FOUND, "Not Found");
    }
    match segments.as_slice() {
        ["repos", _, _, "actions", "runs", _, "deployment_protection_rule"] => {
            if body.get("environment_name").and_then(Value::as_str).is_none() {
                return validation_failed("DeploymentProtectionRule", "environment_name");
            }
            if let Some(state) = body.get("state")
                && !(state == "approved" || state == "rejected")
            {
                return validation_failed("DeploymentProtectionRule", "state");
            }
            if body.get("comment").and_then(Value::as_str).is_some_and(|c| c.chars().count() > 1024) {
                return validation_failed("DeploymentProtectionRule", "comment");
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ["repos", _, _, "statuses", sha] => {
            let state = body.get("state").and_then(Value::as_str).unwrap_or("");
            if !["error", "failure", "pending", "success"].contains(&state) {
                return validation_failed("Status", "state");
            }
            if body.get("description").and_then(Value::as_str).is_some_and(|d| d.chars().count() > 140) {
                return validation_failed("Status", "description");
            }
            let status = json!({"id": 1, "state": state, "context": body["context"], "description": body["description"], "target_url": body["target_url"], "sha": sha});
            (StatusCode::CREATED, axum::Json(status)).into_response()
        }
        ["repos", _, _, "check-runs"] => {
            if body.get("name").is_none() || body.get("head_sha").is_none() {
                return validation_failed("CheckRun", "name");
            }
            (StatusCode::CREATED, axum::Json(json!({"id": 4, "name": body["name"], "head_sha": body["head_sha"], "status": body["status"], "conclusion": body["conclusion"]}))).into_response()
        }
        ["repos", _, _, "deployments"] => {
            (StatusCode::CREATED, axum::Json(json!({"id": 42, "sha": body["ref"], "environment": body["environment"]})))
                .into_response()
        }
        ["repos", _, _, "deployments", id, "statuses"] => {
            let state = body.get("state").and_then(Value::as_str).unwrap_or("");
            if !["error", "failure", "inactive", "in_progress", "queued", "pending", "success"].contains(&state) {
                return validation_failed("DeploymentStatus", "state");
            }
            (
                StatusCode::CREATED,
                axum::Json(json!({"id": 7, "state": state, "deployment_url": format!("/deployments/{id}")})),
            )
                .into_response()
        }
        ["repos", _, _, "actions", "workflows", _, "dispatches"] => {
            if body.get("ref").and_then(Value::as_str).is_none() {
                return validation_failed("Workflow", "ref");
            }
            StatusCode::NO_CONTENT.into_response()
        }
        _ => message(StatusCode::NOT_FOUND, "Not Found"),
    }
}
