//! Bearer tokens: reading `Authorization: Bearer <token>` (the scheme is case-insensitive, as
//! RFC 9110 says), and [`RequireToken`], the extractor for routes that need a token configured
//! on the server (the SLO controller's `--api-token`).

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use crate::problem::{Problem, ProblemType};

/// The bearer token of a request, if it carries one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A 401 `unauthorized` problem with the `WWW-Authenticate` challenge for `realm`.
pub fn unauthorized(realm: &'static str, detail: impl Into<String>) -> Problem {
    let challenge =
        HeaderValue::from_str(&format!("Bearer realm=\"{realm}\"")).unwrap_or(HeaderValue::from_static("Bearer"));
    Problem::new(ProblemType::Unauthorized, detail).field("Authorization").header(WWW_AUTHENTICATE, challenge)
}

/// A token the server is configured with, kept as its SHA-256 digest so a comparison takes the
/// same time however much of a guess matches.
#[derive(Clone)]
pub struct ApiToken([u8; 32]);

impl ApiToken {
    pub fn new(token: &str) -> ApiToken {
        ApiToken(Sha256::digest(token.as_bytes()).into())
    }

    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Digests of equal length: compare every byte, whatever the first difference.
        digest.iter().zip(self.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

/// State that may hold an [`ApiToken`]: without one, token-protected routes are refused.
pub trait TokenState {
    fn api_token(&self) -> Option<ApiToken>;
    /// The realm of the `WWW-Authenticate` challenge.
    fn realm(&self) -> &'static str;
}

/// Proof that the request carried the server's configured token; refuses with 401 otherwise.
#[derive(Debug, Clone, Copy)]
pub struct RequireToken;

impl<S: TokenState + Send + Sync> FromRequestParts<S> for RequireToken {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let realm = state.realm();
        let Some(token) = state.api_token() else {
            return Err(unauthorized(realm, "writes are disabled: the server has no API token configured"));
        };
        let presented =
            bearer(&parts.headers).ok_or_else(|| unauthorized(realm, "Authorization: Bearer <token> is required"))?;
        if token.matches(presented) {
            Ok(RequireToken)
        } else {
            Err(unauthorized(realm, "the bearer token is not valid"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        h
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_the_token_is_trimmed() {
        assert_eq!(bearer(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&headers("bearer abc ")), Some("abc"));
        assert_eq!(bearer(&headers("BEARER abc")), Some("abc"));
        assert_eq!(bearer(&headers("Basic abc")), None);
        assert_eq!(bearer(&headers("Bearer ")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn a_token_matches_only_itself() {
        let t = ApiToken::new("s3cret");
        assert!(t.matches("s3cret"));
        assert!(!t.matches("s3cre"));
        assert!(!t.matches(""));
        assert_eq!(format!("{t:?}"), "ApiToken(***)");
    }
}
