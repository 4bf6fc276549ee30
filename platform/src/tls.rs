//! TLS for every outgoing HTTP client of every Kura binary: the PromQL source, the alert
//! receivers (Slack and PagerDuty are HTTPS only), the OTLP trace exporter, GitHub and the
//! channels. One [`Tls`] is built in `main` and every client is made from it, so `https://`
//! works everywhere and a private CA is configured once.
//!
//! * rustls with the *ring* provider (no C toolchain beyond what SQLite needs, no OpenSSL);
//! * the platform's root certificates (`rustls-native-certs`: the system store, or
//!   `SSL_CERT_FILE` / `SSL_CERT_DIR` when set, as OpenSSL reads them);
//! * plus every PEM certificate in the file named by `KURA_CA_BUNDLE` (or the binary's
//!   `--ca-bundle` flag): a private CA, a corporate proxy's, a test's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The variable naming an extra CA bundle (PEM), added to the platform's roots.
pub const CA_BUNDLE_VARIABLE: &str = "KURA_CA_BUNDLE";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA bundle {path}: {reason}")]
    Bundle { path: PathBuf, reason: String },
    #[error("the CA bundle {0} holds no certificate")]
    EmptyBundle(PathBuf),
    #[error("cannot set up TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The TLS client configuration every outgoing client is built from; cheap to clone.
#[derive(Debug, Clone)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
    roots: usize,
}

impl Tls {
    /// The platform's roots plus the bundle named by `KURA_CA_BUNDLE`, if set.
    pub fn from_env() -> Result<Tls, TlsError> {
        let bundle = std::env::var_os(CA_BUNDLE_VARIABLE).filter(|v| !v.is_empty()).map(PathBuf::from);
        Tls::new(bundle.as_deref())
    }

    /// The platform's roots plus the certificates in `extra_ca` (PEM), if given.
    pub fn new(extra_ca: Option<&Path>) -> Result<Tls, TlsError> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::debug!(%error, "a system root certificate could not be loaded");
        }
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        if let Some(path) = extra_ca {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| TlsError::Bundle { path: path.to_owned(), reason: e.to_string() })?;
            if certs.is_empty() {
                return Err(TlsError::EmptyBundle(path.to_owned()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| TlsError::Bundle { path: path.to_owned(), reason: e.to_string() })?;
            }
        }
        if roots.is_empty() {
            // Plain-HTTP deployments (a sidecar collector, an internal Prometheus) need no roots;
            // say once why HTTPS will fail instead of refusing to start.
            tracing::warn!(
                "no root certificates: the system has none and no CA bundle was given (set {CA_BUNDLE_VARIABLE}); HTTPS connections will fail"
            );
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tracing::debug!(system_roots = added, extra = extra_ca.map(|p| p.display().to_string()), "TLS roots loaded");
        Ok(Tls { config: Arc::new(config), roots: added })
    }

    /// Like [`Tls::new`], but without the platform's roots: only `ca`'s certificates are
    /// trusted (tests, and air-gapped installs with one private CA).
    pub fn only(ca: &Path) -> Result<Tls, TlsError> {
        let certs = CertificateDer::pem_file_iter(ca)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| TlsError::Bundle { path: ca.to_owned(), reason: e.to_string() })?;
        let mut roots = RootCertStore::empty();
        for cert in certs {
            roots.add(cert).map_err(|e| TlsError::Bundle { path: ca.to_owned(), reason: e.to_string() })?;
        }
        if roots.is_empty() {
            return Err(TlsError::EmptyBundle(ca.to_owned()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls { config: Arc::new(config), roots: 0 })
    }

    /// How many system roots were loaded (0 for [`Tls::only`]).
    pub fn system_roots(&self) -> usize {
        self.roots
    }

    /// The rustls configuration, for clients that are not reqwest.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.config)
    }

    /// An async reqwest client builder that speaks TLS with these roots.
    pub fn client(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder().tls_backend_preconfigured((*self.config).clone())
    }

    /// A blocking reqwest client (the OTLP exporter's thread) with these roots. It is built on
    /// a thread of its own, because building one blocks and tokio forbids that inside a
    /// runtime; so this may be called from anywhere.
    pub fn blocking_client(&self) -> Result<reqwest::blocking::Client, reqwest::Error> {
        let config = (*self.config).clone();
        std::thread::spawn(move || reqwest::blocking::Client::builder().tls_backend_preconfigured(config).build())
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// A client error as it may be logged or stored: without the URL, which for Slack webhooks
/// and some channels *is* the secret, but with its causes (reqwest's own message is only "error
/// sending request"; the cause says "connection refused" or "invalid peer certificate:
/// UnknownIssuer"), and whether it timed out.
pub fn redact(e: reqwest::Error) -> String {
    let timed_out = e.is_timeout();
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper-util repeats its inner error in its own message; say each thing once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    if timed_out && !text.contains("timed out") {
        text.push_str(" (timed out)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_redacted_client_error_keeps_its_cause_and_drops_the_url() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let client = Tls::new(None).expect("system roots").client().build().expect("client");
        let url = format!("http://127.0.0.1:{port}/services/T000/B000/XOXB-SECRET");

        let error = client.get(&url).send().await.expect_err("nothing listens there");
        let text = redact(error);

        assert!(!text.contains("XOXB-SECRET"), "{text}");
        assert!(text.to_lowercase().contains("connect"), "the cause is kept: {text}");
    }
}
