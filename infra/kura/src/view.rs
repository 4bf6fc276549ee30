//! What a running stack looks like, from the outside: per journey the requests and errors per
//! second (from the service's own `/metrics`), the SLO status and budget left (from the
//! controller's API), firing alerts, pages received, injected incidents and the last deploy
//! decision. `kura status` prints it once; `kura up` redraws it every few seconds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use serde_json::Value;

use crate::api::Api;

/// Where to look.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The service's admin listener (`/metrics`, `/incidents`).
    pub service_admin: Option<Api>,
    /// The controller's API (`/api/v1/…`).
    pub controller: Api,
}

/// Per journey: the request and 5xx counters as last read, to turn into rates.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    at: Option<Instant>,
    by_journey: BTreeMap<String, (f64, f64)>,
}

/// One journey's line.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyLine {
    pub journey: String,
    pub requests_per_second: Option<f64>,
    pub errors_per_second: Option<f64>,
    pub status: String,
    pub budget_remaining: Option<f64>,
    pub incident: Option<String>,
}

/// Everything one frame shows.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub journeys: Vec<JourneyLine>,
    /// (SLO, budget remaining, status) of the SLO with the least budget left.
    pub worst: Option<(String, f64, String)>,
    /// `tier slo (severity)` of every firing alert.
    pub firing: Vec<String>,
    pub last_decision: Option<String>,
    /// Why a part could not be read, if one could not.
    pub problems: Vec<String>,
}

/// Reads everything once; `counters` keeps the previous read so rates can be computed.
pub async fn snapshot(endpoints: &Endpoints, counters: &mut Counters) -> Snapshot {
    let mut s = Snapshot::default();
    let mut rates: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut incidents: BTreeMap<String, String> = BTreeMap::new();
    if let Some(admin) = &endpoints.service_admin {
        match admin.text("/metrics").await {
            Ok(text) => rates = counters.rates(&text, Instant::now()),
            Err(e) => s.problems.push(format!("service metrics: {e}")),
        }
        if let Ok(list) = admin.get("/incidents", None).await {
            for i in list.as_array().into_iter().flatten() {
                let what = format!(
                    "{:.0}% errors{} for {}s more",
                    i["error_rate"].as_f64().unwrap_or(0.0) * 100.0,
                    i["latency_ms"].as_u64().filter(|l| *l > 0).map(|l| format!(" +{l}ms")).unwrap_or_default(),
                    i["remaining_seconds"].as_u64().unwrap_or(0)
                );
                incidents.insert(i["journey"].as_str().unwrap_or_default().to_owned(), what);
            }
        }
    }
    match endpoints.controller.get("/api/v1/journeys", None).await {
        Ok(journeys) => {
            for j in journeys.as_array().into_iter().flatten() {
                let name = j["journey"].as_str().unwrap_or_default().to_owned();
                let rate = rates.get(&name);
                s.journeys.push(JourneyLine {
                    requests_per_second: rate.map(|r| r.0),
                    errors_per_second: rate.map(|r| r.1),
                    status: j["status"].as_str().unwrap_or("?").to_owned(),
                    budget_remaining: j["worst_budget_remaining"].as_f64(),
                    incident: incidents.get(&name).cloned(),
                    journey: name,
                });
            }
            s.journeys.sort_by(|a, b| a.journey.cmp(&b.journey));
        }
        Err(e) => s.problems.push(format!("controller: {e}")),
    }
    if let Ok(slos) = endpoints.controller.get("/api/v1/slos", None).await {
        // Worst remaining budget first.
        s.worst = slos.as_array().and_then(|a| a.first()).and_then(|w| {
            Some((
                w["slo"].as_str()?.to_owned(),
                w["budget_remaining"].as_f64()?,
                w["status"].as_str().unwrap_or("?").to_owned(),
            ))
        });
    }
    if let Ok(alerts) = endpoints.controller.get("/api/v1/alerts", None).await {
        s.firing = firing(&alerts);
    }
    if let Ok(decisions) = endpoints.controller.get("/api/v1/decisions?limit=1", None).await {
        s.last_decision = decisions.as_array().and_then(|a| a.first()).map(decision_line);
    }
    s
}

/// The firing alerts of an `/api/v1/alerts` answer.
pub fn firing(alerts: &Value) -> Vec<String> {
    alerts
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["state"] == "firing")
        .map(|a| {
            format!(
                "{} {} ({}{})",
                a["tier"].as_str().unwrap_or("?"),
                a["slo"].as_str().unwrap_or("?"),
                a["labels"]["severity"].as_str().or(a["severity"].as_str()).unwrap_or("?"),
                if a["silenced"] == true { ", silenced" } else { "" }
            )
        })
        .collect()
}

/// One line for the newest stored decision: verdict (or what shadow mode would have done),
/// where, which commit, and its first reason.
fn decision_line(d: &Value) -> String {
    let verdict = d["verdict"].as_str().unwrap_or("?");
    let verdict = if d["shadow"] == true {
        format!("{verdict} (shadow: would have {})", d["would_have"].as_str().unwrap_or("?"))
    } else {
        verdict.to_owned()
    };
    let mut line = format!(
        "{verdict} {} {} at {}",
        d["service"].as_str().unwrap_or("?"),
        d["environment"].as_str().unwrap_or("?"),
        d["sha"].as_str().map(|s| &s[..s.len().min(7)]).unwrap_or("?"),
    );
    if let Some(reason) = d["reasons"][0]["message"].as_str() {
        let _ = write!(line, ": {reason}");
    }
    line
}

impl Counters {
    /// Per journey (requests/s, 5xx/s) since the previous call; the first call has no rates.
    pub fn rates(&mut self, metrics: &str, now: Instant) -> BTreeMap<String, (f64, f64)> {
        let mut totals: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for sample in slo::source::scrape::parse::parse(metrics).samples {
            if sample.name != "http_server_request_duration_seconds_count" {
                continue;
            }
            let journey = sample.label("journey");
            if journey.is_empty() || journey == "none" {
                continue;
            }
            let entry = totals.entry(journey.to_owned()).or_default();
            entry.0 += sample.value;
            if sample.label("http_response_status_code").starts_with('5') {
                entry.1 += sample.value;
            }
        }
        let mut rates = BTreeMap::new();
        if let Some(then) = self.at {
            let seconds = now.duration_since(then).as_secs_f64().max(0.001);
            for (journey, (total, errors)) in &totals {
                let (t0, e0) = self.by_journey.get(journey).copied().unwrap_or_default();
                rates.insert(journey.clone(), (((total - t0).max(0.0)) / seconds, ((errors - e0).max(0.0)) / seconds));
            }
        }
        self.at = Some(now);
        self.by_journey = totals;
        rates
    }
}

fn percent(budget: Option<f64>) -> String {
    budget.map_or_else(|| "-".to_owned(), |b| format!("{:.1}%", b * 100.0))
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}"))
}

impl Snapshot {
    /// The frame as text.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{:<18} {:>8} {:>9}  {:<10} {:>12}  {}\n",
            "journey", "req/s", "errors/s", "status", "budget left", "incident"
        );
        for j in &self.journeys {
            let _ = writeln!(
                out,
                "{:<18} {:>8} {:>9}  {:<10} {:>12}  {}",
                j.journey,
                rate(j.requests_per_second),
                rate(j.errors_per_second),
                j.status,
                percent(j.budget_remaining),
                j.incident.as_deref().unwrap_or("")
            );
        }
        let worst = self
            .worst
            .as_ref()
            .map_or_else(|| "-".to_owned(), |(slo, b, status)| format!("{slo} {} ({status})", percent(Some(*b))));
        let _ = writeln!(out, "\nworst budget:   {worst}");
        let firing = if self.firing.is_empty() { "none".to_owned() } else { self.firing.join("; ") };
        let _ = writeln!(out, "firing alerts:  {firing}");
        let _ = writeln!(out, "last decision:  {}", self.last_decision.as_deref().unwrap_or("none yet"));
        for p in &self.problems {
            let _ = writeln!(out, "(cannot read {p})");
        }
        out
    }
}

/// `kura status`: one frame, with rates over a short interval.
pub async fn status(endpoints: &Endpoints) -> Snapshot {
    let mut counters = Counters::default();
    if endpoints.service_admin.is_some() {
        let _ = snapshot(endpoints, &mut counters).await;
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    snapshot(endpoints, &mut counters).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_decision_reads_the_controllers_stored_decision() {
        let d = serde_json::json!({"service": "fulfillment", "environment": "production",
            "sha": "0123456789abcdef", "verdict": "reject", "would_have": "reject", "shadow": false,
            "reasons": [{"code": "budget", "slo": "a", "message": "a: 12% of the budget left, under 25%"}]});
        assert_eq!(decision_line(&d), "reject fulfillment production at 0123456: a: 12% of the budget left, under 25%");
        let shadow = serde_json::json!({"service": "s", "environment": "staging", "sha": "abc",
            "verdict": "approve", "would_have": "reject", "shadow": true, "reasons": []});
        assert_eq!(decision_line(&shadow), "approve (shadow: would have reject) s staging at abc");
    }

    #[test]
    fn rates_are_per_second_per_journey_with_5xx_as_errors() {
        let mut c = Counters::default();
        let t0 = Instant::now();
        let scrape = |ok: u32, bad: u32| {
            format!(
                "http_server_request_duration_seconds_count{{http_route=\"/v1/stock\",http_request_method=\"GET\",http_response_status_code=\"200\",journey=\"stock-read\"}} {ok}\n\
                 http_server_request_duration_seconds_count{{http_route=\"/v1/stock\",http_request_method=\"GET\",http_response_status_code=\"500\",journey=\"stock-read\"}} {bad}\n\
                 http_server_request_duration_seconds_count{{http_route=\"/livez\",http_request_method=\"GET\",http_response_status_code=\"200\",journey=\"none\"}} 5\n"
            )
        };
        assert!(c.rates(&scrape(10, 0), t0).is_empty(), "no rate from one reading");
        let rates = c.rates(&scrape(30, 10), t0 + std::time::Duration::from_secs(10));
        assert_eq!(rates.get("stock-read"), Some(&(3.0, 1.0)));
        assert!(!rates.contains_key("none"));
    }
}
