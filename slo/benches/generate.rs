//! `slo generate prometheus` on 1,000 SLOs: the spec is built in memory (100 journeys × 10
//! SLOs of every SLI kind), loaded once, and the generator timed alone; loading is timed
//! separately, since `slo lint` pays it too. Run with `cargo bench -p slo --bench generate`.

use std::fmt::Write;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

/// A valid spec with `journeys × 10` SLOs over Kura's metric contract.
fn spec_text(journeys: usize) -> String {
    let mut s = String::from("service: bench\ntime_zone: Asia/Tokyo\njourneys:\n");
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

fn bench(c: &mut Criterion) {
    let text = spec_text(100);
    let path = Path::new("bench.yaml");
    let spec = slo::spec::load_str(path, &text).expect("the bench spec is valid");
    assert_eq!(spec.slos().count(), 1000);
    let specs = vec![spec];
    let mut group = c.benchmark_group("generate");
    group.sample_size(20);
    group.bench_function("load 1000 SLOs", |b| b.iter(|| slo::spec::load_str(path, &text).unwrap()));
    group.bench_function("prometheus 1000 SLOs", |b| {
        b.iter(|| slo::generate::prometheus::generate(&specs).unwrap());
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
