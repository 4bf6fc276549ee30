//! Outgoing TLS against a real local HTTPS server: trusted through the CA bundle, refused
//! without it.

use axum::Router;
use axum::routing::get;
use platform::testing::https_server;
use platform::tls::Tls;

#[tokio::test]
async fn a_client_trusts_a_server_signed_by_the_ca_bundle() {
    let server = https_server(Router::new().route("/ping", get(|| async { "pong" }))).await;
    let tls = Tls::new(Some(&server.ca_pem)).expect("tls with the bundle");
    let client = tls.client().build().expect("client");
    let body = client.get(format!("{}/ping", server.url())).send().await.expect("request").text().await.expect("body");
    assert_eq!(body, "pong");
}

#[tokio::test]
async fn without_the_bundle_the_server_certificate_is_refused() {
    let server = https_server(Router::new().route("/ping", get(|| async { "pong" }))).await;
    // The system roots (if any) do not know the throw-away CA.
    let tls = Tls::new(None).expect("tls");
    let error = tls.client().build().expect("client").get(format!("{}/ping", server.url())).send().await.unwrap_err();
    let chain = format!("{error:?}");
    assert!(chain.contains("UnknownIssuer") || chain.contains("certificate"), "{chain}");
}

#[test]
fn a_blocking_client_uses_the_same_roots() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(https_server(Router::new().route("/ping", get(|| async { "pong" }))));
    let tls = Tls::only(&server.ca_pem).expect("tls");
    let url = format!("{}/ping", server.url());
    let client = tls.blocking_client().expect("client");
    let body = std::thread::spawn(move || client.get(url).send().expect("request").text().expect("body"))
        .join()
        .expect("thread");
    assert_eq!(body, "pong");
}

#[test]
fn a_bundle_that_is_not_pem_is_a_clear_error() {
    let path = std::env::temp_dir().join(format!("kura-not-pem-{}", std::process::id()));
    std::fs::write(&path, "not a certificate").expect("write");
    let e = Tls::new(Some(&path)).unwrap_err();
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    let _ = std::fs::remove_file(&path);
}
