//! Fixtures shared by the SLO benchmarks, the cycle benchmark and the tests that measure the
//! same things: one spec generator and one 30-day history, so every harness measures the same
//! input. Included with `#[path]` (benchmarks, examples and tests are separate crates).
#![allow(dead_code)] // each includer uses part of it

use std::fmt::Write;

/// A valid spec for `service` with `journeys × 10` SLOs of every SLI kind over Kura's metric
/// contract.
pub fn spec_text(service: &str, journeys: usize) -> String {
    let mut s = format!("service: {service}\ntime_zone: Asia/Tokyo\njourneys:\n");
    for j in 0..journeys {
        let journey = format!("journey-{j}");
        writeln!(s, "  {journey}:\n    slos:").unwrap();
        for i in 0..10 {
            let (window, objective) = if i % 2 == 0 { ("28d", "99.9") } else { ("month", "99.5") };
            writeln!(s, "      - id: {journey}-slo-{i}\n        objective: {objective}\n        window: {window}")
                .unwrap();
            let sli = match i % 3 {
                0 => format!(
                    "          ratio:\n            bad: http_server_request_duration_seconds_count{{journey=\"{journey}\", http_response_status_code=~\"5..\"}}\n            total: http_server_request_duration_seconds_count{{journey=\"{journey}\"}}"
                ),
                1 => format!(
                    "          latency:\n            histogram: http_server_request_duration_seconds{{journey=\"{journey}\"}}\n            threshold: 0.3"
                ),
                _ => format!(
                    "          ratio:\n            good: job_runs_total{{journey=\"{journey}\", outcome=\"success\"}}\n            total: job_runs_total{{journey=\"{journey}\"}}"
                ),
            };
            writeln!(s, "        sli:\n{sli}").unwrap();
        }
    }
    s
}

/// 30 days of scraped buckets for SLOs `slo-0` … `slo-{n-1}` of service `fixture`, as the
/// embedded scraper leaves them: every hour (99% good), and the minutes of the last 48 h.
pub async fn fill_history(tx: &mut sqlx::Transaction<'static, sqlx::Any>, n: usize, end_s: i64) {
    let (hour, minute) = (3600, 60);
    for i in 0..n {
        let slo = format!("slo-{i}");
        for (table, step, from, to) in [
            ("sli_hour (service, slo, hour, good, total)", hour, end_s - 30 * 86_400, end_s),
            ("sli_minute (service, slo, minute, good, total)", minute, end_s - 48 * hour, end_s),
        ] {
            let mut values = Vec::new();
            let mut t = from;
            while t < to {
                values.push(if step == hour {
                    format!("('fixture', '{slo}', {t}, 5940, 6000)")
                } else {
                    format!("('fixture', '{slo}', {t}, 99, 100)")
                });
                t += step;
            }
            for chunk in values.chunks(500) {
                sqlx::query(sqlx::AssertSqlSafe(format!("insert into {table} values {}", chunk.join(", "))))
                    .execute(&mut **tx)
                    .await
                    .expect("insert");
            }
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "insert into sli_since (service, slo, since) values ('fixture', '{slo}', {})",
            end_s - 30 * 86_400
        )))
        .execute(&mut **tx)
        .await
        .expect("insert");
    }
}
