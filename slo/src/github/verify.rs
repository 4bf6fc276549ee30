//! `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body under the
//! webhook secret, compared in constant time (`platform::signature`).
//! <https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries>

/// Whether `header` is the signature of `body` under `secret`. A missing prefix, bad hex or a
/// wrong length is simply not a match.
pub fn signature_matches(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else { return false };
    let Some(expected) = platform::signature::from_hex(hex) else { return false };
    expected.len() == 32 && platform::signature::verify(secret, &[body], &expected)
}

/// The header GitHub would send for `body` (tests and the fake sign with it).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", platform::signature::hex(&platform::signature::hmac_sha256(secret, &[body])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_published_test_vector_verifies() {
        // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

        assert!(signature_matches(b"It's a Secret to Everybody", b"Hello, World!", Some(header)));
        assert_eq!(sign(b"It's a Secret to Everybody", b"Hello, World!"), header);
    }

    #[test]
    fn anything_else_does_not() {
        let header = sign(b"secret", b"body");

        assert!(!signature_matches(b"other", b"body", Some(&header)));
        assert!(!signature_matches(b"secret", b"body!", Some(&header)));
        assert!(!signature_matches(b"secret", b"body", None));
        assert!(!signature_matches(b"secret", b"body", Some(header.trim_start_matches("sha256="))));
        assert!(!signature_matches(b"secret", b"body", Some("sha256=zz")));
        assert!(!signature_matches(b"secret", b"body", Some(&header[..header.len() - 2])));
    }
}
