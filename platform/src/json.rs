//! JSON request bodies as problem documents: what axum's `Json` extractor rejects, answered
//! with the platform's rule ([`crate::problem`]) and the member at fault as a JSON pointer.
//!
//! * no `Content-Type: application/json` -- 415 `unsupported-media-type`;
//! * not JSON at all (syntax error, truncated) -- 400 `malformed-json`;
//! * JSON of the wrong shape (a missing member, a string for a number) -- 422 `validation`,
//!   `field` the member's JSON pointer (`/matchers/0/name`), a missing member's own.
//!
//! Use it as the rejection mapping of a handler's body:
//! `body: Result<Json<T>, JsonRejection>` then `body.map_err(platform::json::rejection)?`.

use axum::extract::rejection::JsonRejection;

use crate::problem::{Problem, ProblemType};

/// The problem `rejection` answers with.
pub fn rejection(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // axum wraps serde_path_to_error's error, which knows the path, in an error of its own.
            let mut source = std::error::Error::source(&e);
            let mut field = String::new();
            while let Some(s) = source {
                if let Some(inner) = s.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
                    field = field_at_fault(inner);
                    break;
                }
                source = s.source();
            }
            Problem::validation(field, e.body_text())
        }
        JsonRejection::MissingJsonContentType(e) => Problem::new(ProblemType::UnsupportedMediaType, e.body_text()),
        JsonRejection::BytesRejection(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(ProblemType::PayloadTooLarge, e.body_text())
        }
        other => Problem::new(ProblemType::MalformedJson, other.body_text()),
    }
}

/// The JSON pointer of the member a deserialisation error is about. serde reports a missing
/// member at its parent; this names the member itself.
pub fn field_at_fault(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let field = pointer(error.path());
    let message = error.inner().to_string();
    match message.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
        Some(name) => format!("{field}/{name}"),
        None => field,
    }
}

/// A deserialisation path as a JSON pointer (RFC 6901): `matchers[0].name` is `/matchers/0/name`.
pub fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } => Some(format!("/{}", key.replace('~', "~0").replace('/', "~1"))),
            Segment::Enum { variant } => Some(format!("/{variant}")),
            Segment::Unknown => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::Json;
    use axum::body::Body;
    use axum::extract::FromRequest;
    use axum::http::Request;

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body1 {
        matchers: Vec<Matcher>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Matcher {
        name: String,
    }

    async fn reject(content_type: &str, body: &str) -> Problem {
        let request =
            Request::builder().header("content-type", content_type).body(Body::from(body.to_owned())).expect("request");
        let rejected = Json::<Body1>::from_request(request, &()).await.expect_err("rejected");
        rejection(rejected)
    }

    #[tokio::test]
    async fn the_wrong_shape_is_a_validation_problem_naming_the_member_and_broken_json_is_malformed() {
        let shape = reject("application/json", r#"{"matchers": [{"name": 7}]}"#).await;
        let broken = reject("application/json", r#"{"matchers": ["#).await;
        let text = reject("text/plain", "{}").await;
        let missing = reject("application/json", r#"{"matchers": [{}]}"#).await;

        assert_eq!((shape.status_code().as_u16(), shape.field_name()), (422, Some("/matchers/0/name")));
        assert_eq!(shape.problem_type(), ProblemType::Validation);
        assert_eq!((broken.status_code().as_u16(), broken.problem_type()), (400, ProblemType::MalformedJson));
        assert_eq!(text.status_code().as_u16(), 415);
        assert_eq!(missing.field_name(), Some("/matchers/0/name"), "a missing member is named itself");
    }
}
