//! CPU profiling on the admin listener: a real pprof profile taken while the service works,
//! a flame graph, one profile at a time, and nothing of it on the public port. (One test,
//! not one per backend: the sampler is process-wide and does not depend on the database.)

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
    let bytes = profile.bytes().await.expect("body");
    let decoded = pprof::protos::Profile::decode(bytes.as_ref()).expect("a pprof protobuf");
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
