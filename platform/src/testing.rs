//! Test support (feature `testing`): a local HTTPS server whose certificate is made on the
//! spot by a throw-away CA, so tests exercise real TLS -- the client's roots, the custom CA
//! bundle -- without the network.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// A running HTTPS server for `localhost` and `127.0.0.1`.
#[derive(Debug)]
pub struct HttpsServer {
    pub addr: SocketAddr,
    /// The CA that signed the server's certificate, as a PEM file (pass it as `KURA_CA_BUNDLE`).
    pub ca_pem: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl HttpsServer {
    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.ca_pem);
    }
}

/// Serves `router` over TLS on a free port of 127.0.0.1.
pub async fn https_server(router: Router) -> HttpsServer {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Kura test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("server key");
    let server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("server params");
    let server_cert = server_params.signed_by(&server_key, &issuer).expect("server certificate");

    let ca_pem = std::env::temp_dir().join(format!(
        "kura-test-ca-{}-{}.pem",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
    ));
    std::fs::write(&ca_pem, ca_cert.pem()).expect("write CA");

    let chain: Vec<CertificateDer<'static>> = vec![server_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: that is the test.
                let Ok(tls) = acceptor.accept(stream).await else { return };
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move {
                        match router.oneshot(req.map(axum::body::Body::new)).await {
                            Ok(response) => Ok::<_, std::convert::Infallible>(response),
                            Err(never) => match never {},
                        }
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
            });
        }
    });
    HttpsServer { addr, ca_pem, task }
}
