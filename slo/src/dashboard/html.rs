//! HTML text: escaping, and how numbers, instants and durations read on the dashboard.
//!
//! Every string that comes from a spec, the database or a request goes through [`Esc`] (text
//! and double-quoted attribute values alike); path segments in links go through
//! [`path_segment`] first. Nothing else is written into a page unescaped.

use std::fmt::{self, Write as _};

use jiff::Timestamp;

use super::REFRESH_SECONDS;
use super::since::Since;
use crate::eval::{Evaluation, Status};

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

/// The deploys page's address (the gate's decisions for `service`).
pub fn deploys_href(service: &str) -> String {
    format!("/deploys/{}", path_segment(service))
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

/// A `<time>` for since when, with how long ago; a dash when unknown.
pub fn since_cell(out: &mut String, since: Option<Since>, now: Timestamp) {
    match since {
        Some(s) if !s.changed => {
            // The history holds nothing else: say how far back it goes, the instant in the tooltip.
            let _ = write!(
                out,
                "<time class=\"since\" datetime=\"{}\" title=\"at least since {}\">over {}</time>",
                instant_exact(s.at),
                instant(s.at),
                human_duration(now.duration_since(s.at).as_secs_f64())
            );
        }
        Some(s) => {
            // The date only when it is not today (UTC): the time is what a person reads first.
            let same_day = s.at.strftime("%Y-%m-%d").to_string() == now.strftime("%Y-%m-%d").to_string();
            let short = if same_day { s.at.strftime("%H:%M UTC").to_string() } else { instant(s.at) };
            let _ = write!(
                out,
                "<time class=\"since\" datetime=\"{}\" title=\"{}\">{short}</time> <span class=\"muted\">({})</span>",
                instant_exact(s.at),
                instant(s.at),
                human_duration(now.duration_since(s.at).as_secs_f64())
            );
        }
        None => out.push_str("<span class=\"muted\">–</span>"),
    }
}

/// The highest long-window burn rate and its window, e.g. `14.2× over 1h`.
pub fn worst_burn(e: Option<&Evaluation>) -> String {
    e.and_then(|e| {
        e.burn_rates
            .iter()
            .filter_map(|b| b.long_burn_rate.map(|r| (r, &b.long_window)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    })
    .map_or_else(|| "–".to_owned(), |(r, w)| format!("{} over {}", burn(r), Esc(w)))
}

/// When the budget runs out at the current burn rate, in words.
pub fn time_to_exhaustion(e: Option<&Evaluation>) -> String {
    match e {
        Some(e) if e.budget_remaining.is_some_and(|b| b <= 0.0) => "exhausted".to_owned(),
        // Beyond a quarter the number says nothing more than "not soon".
        Some(e) => e.time_to_exhaustion_seconds.map_or_else(
            || "not burning".to_owned(),
            |s| if s > 90.0 * 86_400.0 { "> 90d".to_owned() } else { human_duration(s) },
        ),
        None => "–".to_owned(),
    }
}

/// The page frame: head (refresh, stylesheet), header, `body`, footer.
pub fn frame(title: &str, body: &str, now: Timestamp) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
         <title>{}</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/assets/dashboard.css\"></head>\
         <body><header class=\"top\"><h1><a href=\"/\">Kura SLOs</a></h1><span class=\"meta\">rendered \
         <time datetime=\"{}\">{}</time> · reloads every {REFRESH_SECONDS} s</span></header><main>{body}</main>\
         <footer><a href=\"/api/v1/slos\">JSON API</a> · <a href=\"/openapi.json\">OpenAPI</a></footer></body></html>",
        Esc(title),
        instant_exact(now),
        instant(now),
    )
}

/// The body of a 404 page saying `message`.
pub fn not_found(message: &str) -> String {
    format!("<h2>Not found</h2><p>{}</p><p><a href=\"/\">See every SLO</a>.</p>", Esc(message))
}

/// The body of the page for an SLO id that several services have: a link to each.
pub fn which_service(slo: &str, candidates: &[(&crate::spec::Spec, &crate::spec::Slo)]) -> String {
    let mut body = format!("<h2>Several services have an SLO {}</h2><ul>", Esc(slo));
    for (spec, s) in candidates {
        let _ = write!(
            body,
            "<li><a href=\"{}#{}\">{} / {}</a></li>",
            Esc(&journey_href(&spec.service, &s.journey)),
            Esc(&slo_anchor(&s.id)),
            Esc(&spec.service),
            Esc(&s.id)
        );
    }
    body.push_str("</ul>");
    body
}

/// The body of the page shown when `what` (the history, the decisions) cannot be read.
pub fn unavailable(what: &str) -> String {
    format!(
        "<h2>The {} cannot be read right now</h2><p>The controller's database did not answer; \
         the error is in the controller's log. This page reloads itself.</p>",
        Esc(what)
    )
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
