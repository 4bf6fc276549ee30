//! HTML text: escaping, and how numbers, instants and durations read on the dashboard.
//!
//! Every string that comes from a spec, the database or a request goes through [`Esc`] (text
//! and double-quoted attribute values alike); path segments in links go through
//! [`path_segment`] first. Nothing else is written into a page unescaped.

use std::fmt::{self, Write as _};

use jiff::Timestamp;

use crate::eval::Status;

/// Text escaped for HTML element content and quoted attribute values.
#[derive(Debug, Clone, Copy)]
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// One URL path segment, percent-encoded (RFC 3986 unreserved characters pass).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The journey page's address.
pub fn journey_href(service: &str, journey: &str) -> String {
    format!("/journeys/{}/{}", path_segment(service), path_segment(journey))
}

/// An element id for an SLO section (ids are spec names: lowercase words, digits, `-`).
pub fn slo_anchor(slo: &str) -> String {
    format!("slo-{}", path_segment(slo))
}

/// The label a person reads beside the colour (never colour alone).
pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::Ok => "OK",
        Status::Warning => "WARNING",
        Status::Burning => "BURNING",
        Status::Exhausted => "EXHAUSTED",
        Status::NoData => "NO DATA",
    }
}

/// A status badge: colour from the CSS class, text label, and the API's name in `data-status`.
pub fn badge(out: &mut String, status: Status) {
    let _ = write!(
        out,
        "<span class=\"badge status-{s}\" data-status=\"{s}\">{}</span>",
        status_label(status),
        s = status.as_str()
    );
}

/// A fraction as a percentage with `decimals` places, or an en dash.
pub fn percent(fraction: Option<f64>, decimals: usize) -> String {
    match fraction.filter(|f| f.is_finite()) {
        Some(f) => format!("{:.decimals$} %", f * 100.0),
        None => "–".to_owned(),
    }
}

/// A burn rate as a multiple of the sustainable rate: `14.4×`, `0.52×`.
pub fn burn(rate: f64) -> String {
    if rate >= 10.0 { format!("{rate:.1}×") } else { format!("{rate:.2}×") }
}

/// A duration for people: `2d 3h`, `3h 12m`, `12m`, `45s`.
pub fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "–".to_owned();
    }
    let s = seconds.max(0.0).round() as u64;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// An instant in UTC, to the minute: `2026-11-25 18:08 UTC`.
pub fn instant(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// An instant in UTC to the second, for `datetime` attributes and tooltips.
pub fn instant_exact(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            Esc("<script>alert(\"x\" & 'y')</script>").to_string(),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(Esc("plain — テキスト").to_string(), "plain — テキスト");
    }

    #[test]
    fn path_segments_cannot_leave_their_segment() {
        assert_eq!(path_segment("create-shipment"), "create-shipment");
        assert_eq!(path_segment("../a b/\"x\""), "..%2Fa%20b%2F%22x%22");
    }

    #[test]
    fn durations_read_in_the_two_largest_units() {
        assert_eq!(human_duration(45.0), "45s");
        assert_eq!(human_duration(12.0 * 60.0), "12m");
        assert_eq!(human_duration(3.0 * 3600.0 + 12.0 * 60.0), "3h 12m");
        assert_eq!(human_duration(2.0 * 86_400.0 + 3.0 * 3600.0 + 59.0), "2d 3h");
    }
}
