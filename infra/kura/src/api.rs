//! The HTTP client the `kura` commands share: JSON in, JSON out, bearer tokens, and errors that
//! say which call failed with what status.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A failed call: the request, and the status and body the server answered (if it answered).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{method} {path}: {status} {body}")]
    Status { method: Method, path: String, status: StatusCode, body: Value },
    #[error("{method} {path}: {reason}")]
    Transport { method: Method, path: String, reason: String },
}

impl CallError {
    /// The status the server answered, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            CallError::Status { status, .. } => Some(*status),
            CallError::Transport { .. } => None,
        }
    }
}

/// A client for one base URL.
#[derive(Debug, Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    /// A client with the platform's TLS roots (and `KURA_CA_BUNDLE`), pooling generously.
    pub fn new(base: &str) -> anyhow::Result<Api> {
        let http = platform::tls::Tls::from_env()?
            .client()
            .pool_max_idle_per_host(1024)
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Api { http, base: base.trim_end_matches('/').to_owned() })
    }

    /// The same connection pool, another base URL.
    pub fn at(&self, base: &str) -> Api {
        Api { http: self.http.clone(), base: base.trim_end_matches('/').to_owned() }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, CallError> {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| CallError::Transport {
            method: method.clone(),
            path: path.to_owned(),
            reason: platform::tls::redact(e),
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        if status.is_success() {
            Ok(body)
        } else {
            Err(CallError::Status { method, path: path.to_owned(), status, body })
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Result<Value, CallError> {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Result<Value, CallError> {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// The body of a plain-text GET (metrics), or the failure.
    pub async fn text(&self, path: &str) -> Result<String, CallError> {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(url).send().await.map_err(|e| CallError::Transport {
            method: Method::GET,
            path: path.to_owned(),
            reason: platform::tls::redact(e),
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            Ok(text)
        } else {
            Err(CallError::Status { method: Method::GET, path: path.to_owned(), status, body: Value::String(text) })
        }
    }
}
