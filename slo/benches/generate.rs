//! `slo generate prometheus` on 1,000 SLOs: the spec is built in memory (100 journeys × 10
//! SLOs of every SLI kind), loaded once, and the generator timed alone; loading is timed
//! separately, since `slo lint` pays it too. Run with `cargo bench -p slo --bench generate`.

#[path = "fixtures.rs"]
mod fixtures;

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let text = fixtures::spec_text("bench", 100);
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
