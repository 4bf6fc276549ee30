//! Profiling on the admin listener: a real CPU profile (gzipped pprof) taken while the service works, a flame
//! graph, one CPU profile at a time; a heap profile that accounts for memory in use; and
//! nothing of it on the public port. (One test each, not one per backend: the profilers are
//! process-wide and do not depend on the database.)

use std::time::Duration;

use pprof::protos::Message;
use reqwest::StatusCode;

use crate::helpers::{Backend, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpu_profile_taken_under_load_is_valid_pprof_and_only_on_the_admin_port() {
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    let acme = app.shipper_token("acme");
    // Load runs until the test is done profiling, however slow the machine is.
    let busy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let load = {
        let (http, base, acme, busy) = (app.http.clone(), app.base.clone(), acme.clone(), busy.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while busy.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = http.get(format!("{base}/v1/stock")).bearer_auth(&acme).send().await;
                n += 1;
            }
            n
        })
    };
    let url = |path: &str| format!("{}{path}", app.admin_base);

    let (profile, concurrent) = tokio::join!(app.http.get(url("/debug/pprof/profile?seconds=1")).send(), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.http.get(url("/debug/pprof/profile?seconds=1")).send().await
    });
    let profile = profile.expect("profile");
    assert_eq!(profile.status(), StatusCode::OK);
    assert_eq!(concurrent.expect("second").status(), StatusCode::CONFLICT, "one profile at a time");
    let gzipped = profile.bytes().await.expect("body");
    assert_eq!(gzipped.get(..2), Some(&[0x1f, 0x8b][..]), "gzipped, as Go's endpoint serves it");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gzipped.as_ref()), &mut bytes).expect("gzip");
    let decoded = pprof::protos::Profile::decode(bytes.as_slice()).expect("a pprof protobuf");
    assert!(!decoded.sample_type.is_empty(), "no sample types");
    assert!(!decoded.sample.is_empty(), "no samples while the service was busy");
    assert!(decoded.string_table.iter().any(|s| s.contains("fulfillment")), "no frame of the service itself");

    let svg = app.http.get(url("/debug/pprof/flamegraph?seconds=1")).send().await.expect("flamegraph");
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await.expect("svg");
    assert!(svg.contains("<svg") && svg.contains("fulfillment"), "{}", &svg[..svg.len().min(300)]);
    busy.store(false, std::sync::atomic::Ordering::Relaxed);
    assert!(load.await.expect("load") > 10);

    for bad in ["0", "61", "soon"] {
        let r = app.http.get(url(&format!("/debug/pprof/profile?seconds={bad}"))).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "seconds={bad}");
    }
    for path in ["/debug/pprof/profile?seconds=1", "/debug/pprof/flamegraph", "/metrics", "/readyz"] {
        let r = app.http.get(format!("{}{path}", app.base)).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path} must not be on the public listener");
    }
}

#[cfg(feature = "jemalloc-profiling")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heap_profile_is_gzipped_pprof_that_accounts_for_memory_in_use_and_only_on_the_admin_port() {
    use std::io::Read;
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    // Arrange: 64 MiB held while the profile is taken. jemalloc samples one allocation per
    // 512 KiB on average, so one this large is sampled for certain and must show up in full.
    const BALLAST: usize = 64 << 20;
    let ballast = std::hint::black_box(vec![7u8; BALLAST]);

    // Act
    let r = app.http.get(format!("{}/debug/pprof/heap", app.admin_base)).send().await.expect("heap");

    // Assert
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let gzipped = r.bytes().await.expect("body");
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(gzipped.as_ref()).read_to_end(&mut bytes).expect("gzip");
    let decoded = pprof::protos::Profile::decode(bytes.as_slice()).expect("a pprof protobuf");
    let sample_type = decoded.sample_type.first().expect("a sample type");
    assert_eq!(decoded.string_table[usize::try_from(sample_type.ty).expect("index")], "inuse_space");
    assert_eq!(decoded.string_table[usize::try_from(sample_type.unit).expect("index")], "bytes");
    assert!(!decoded.sample.is_empty(), "no samples");
    let in_use: i64 = decoded.sample.iter().filter_map(|s| s.value.first()).sum();
    assert!(in_use >= BALLAST as i64, "{in_use} bytes in use, but {BALLAST} are held");
    assert!(
        decoded.string_table.iter().any(|s| s.contains("a_heap_profile_is_gzipped_pprof")),
        "the profile is symbolized down to the test that allocated the ballast"
    );
    drop(ballast);

    let r = app.http.get(format!("{}/debug/pprof/heap", app.base)).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "/debug/pprof/heap must not be on the public listener");
}
