//! The `slo` binary as operators run it: one exit-code policy for every subcommand
//! (`platform::exit`: 0 ok, 1 the answer is no, 64 usage or configuration, 69 unavailable, 70
//! internal), and `slo controller` started as a process with its listener flags.
//!
//! Each command runs with a cleared environment (no stray `DATABASE_URL` or `SLO_*` from the
//! machine) and tracing off.

use std::io::{Read, Write};
use std::net::{TcpListener as StdListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, SpecDir};

fn slo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slo"))
        .args(args)
        .env_clear()
        .env("OTEL_SDK_DISABLED", "true")
        .output()
        .expect("the slo binary runs")
}

fn app_slos() -> String {
    support::workspace().join("app/slos").display().to_string()
}

#[test]
fn a_usage_error_in_any_subcommand_exits_64() {
    let app = app_slos();
    let cases: [&[&str]; 11] = [
        &["generate", "grafana", "--compat", "sloth", &app],
        &["generate", "prometheus", "--compat", "pyrra-ish", &app],
        &["generate", "prometheus", "--datadog-window", "28d=30d", &app],
        &["frobnicate"],
        &["lint"],
        &["lint", "--no-such-flag", &app],
        &["generate", "no-such-kind", &app],
        &["import", "xml", "file.xml"],
        &["controller"],
        &["controller", "--slos", &app, "--listen", "not-an-address"],
        &["controller", "--slos", &app, "--max-connections", "many"],
    ];

    for args in cases {
        let out = slo(args);

        assert_eq!(out.status.code(), Some(64), "slo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!out.stderr.is_empty(), "slo {args:?} says why");
    }
}

#[test]
fn help_and_version_exit_0_and_the_controller_help_documents_every_flag() {
    let help = slo(&["controller", "--help"]);
    let version = slo(&["--version"]);

    assert_eq!((help.status.code(), version.status.code()), (Some(0), Some(0)));
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--ca-bundle", "KURA_CA_BUNDLE", "--max-connections", "SLO_MAX_CONNECTIONS", "--header-read-timeout"] {
        assert!(text.contains(flag), "{flag} missing from slo controller --help");
    }
}

#[test]
fn a_missing_file_is_a_usage_error_and_a_spec_with_problems_is_a_no() {
    let missing = slo(&["lint", "/no/such/spec.yaml"]);
    let import_missing = slo(&["import", "openslo", "/no/such/openslo.yaml"]);
    let invalid =
        slo(&["lint", &support::crate_dir().join("tests/fixtures/invalid/semantic.yaml").display().to_string()]);

    assert_eq!(missing.status.code(), Some(64));
    assert_eq!(import_missing.status.code(), Some(64));
    assert_eq!(invalid.status.code(), Some(1));
}

#[test]
fn the_controller_exits_64_on_a_bad_database_url_a_missing_ca_bundle_or_specs_with_problems() {
    let app = app_slos();
    let invalid = support::crate_dir().join("tests/fixtures/invalid").display().to_string();

    let database = slo(&["controller", "--slos", &app, "--database-url", "mysql://localhost/slo"]);
    let bundle = slo(&["controller", "--slos", &app, "--ca-bundle", "/no/such/ca.pem"]);
    let specs = slo(&["controller", "--slos", &invalid]);

    for (what, out) in [("database URL", database), ("CA bundle", bundle), ("specs", specs)] {
        assert_eq!(out.status.code(), Some(64), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// `slo controller` as a process; killed when dropped.
pub(crate) struct Controller {
    pub(crate) child: Child,
    pub(crate) public: u16,
    pub(crate) admin: u16,
    dir: PathBuf,
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `slo controller` over `specs` with `extra` flags on free ports and a fresh SQLite file,
/// once its admin listener says it is ready.
pub(crate) fn start_controller(specs: &SpecDir, extra: &[&str]) -> Controller {
    let dir = std::env::temp_dir().join(format!("kura-slo-cli-{}", support::unique()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let (public, admin) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_slo"))
        .arg("controller")
        .args(["--slos", &specs.0.display().to_string()])
        .args(["--listen", &format!("127.0.0.1:{public}"), "--admin-listen", &format!("127.0.0.1:{admin}")])
        .args(["--database-url", &format!("sqlite://{}", dir.join("slo.db").display())])
        .args(extra)
        .env_clear()
        .env("OTEL_SDK_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("slo controller starts");
    let controller = Controller { child, public, admin, dir };
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get(controller.admin, "/readyz").is_none_or(|r| !r.starts_with("HTTP/1.1 200")) {
        assert!(Instant::now() < deadline, "slo controller did not become ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    controller
}

/// A whole HTTP/1.1 exchange on a fresh connection; what came back as text (`None` if nothing).
/// A refused connection is answered before the request is read and then reset, so the request
/// may not be written and the read may end in a reset: what arrived counts.
pub(crate) fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let _ = write!(stream, "GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
    }
    (!response.is_empty()).then(|| String::from_utf8_lossy(&response).into_owned())
}

#[test]
fn the_controller_refuses_connections_past_max_connections_and_closes_idle_ones_after_the_header_timeout() {
    // Arrange: two open connections allowed, one second to send a request head.
    let specs = SpecDir::new(crate::alert::support::SPEC);
    let controller = start_controller(&specs, &["--max-connections", "2", "--header-read-timeout", "1s"]);
    let idle: Vec<TcpStream> =
        (0..2).map(|_| TcpStream::connect(("127.0.0.1", controller.public)).expect("connect")).collect();
    std::thread::sleep(Duration::from_millis(200));

    // Act
    let refused = http_get(controller.public, "/api/v1/slos").expect("an answer");
    let admin = http_get(controller.admin, "/livez").expect("an answer");
    std::thread::sleep(Duration::from_millis(1500));
    let closed: Vec<bool> = idle
        .into_iter()
        .map(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
            // A closed connection reaches its end (or is reset); an open one times out.
            match s.read_to_end(&mut Vec::new()) {
                Ok(_) => true,
                Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        })
        .collect();
    let served = http_get(controller.public, "/api/v1/slos").expect("an answer");

    // Assert
    assert!(refused.starts_with("HTTP/1.1 503"), "past the cap: {refused}");
    assert!(refused.contains("/problems/overloaded"), "{refused}");
    assert!(admin.starts_with("HTTP/1.1 200"), "the admin listener has a cap of its own: {admin}");
    assert_eq!(closed, [true, true], "idle connections are closed after the header-read timeout");
    assert!(served.starts_with("HTTP/1.1 200"), "once they are gone, requests are served: {served}");
}

#[test]
fn the_controller_stops_with_exit_0_on_sigterm() {
    let specs = SpecDir::new(crate::alert::support::SPEC);
    let mut controller = start_controller(&specs, &[]);

    let killed = Command::new("kill").args(["-TERM", &controller.child.id().to_string()]).status().expect("kill");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = controller.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "slo controller did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };

    assert!(killed.success());
    assert_eq!(status.code(), Some(0));
}

#[test]
fn import_and_generate_run_end_to_end_for_every_format_and_mapping() {
    let fixture = |p: &str| support::crate_dir().join("tests/fixtures").join(p).display().to_string();
    let app = app_slos();
    let runs: [&[&str]; 5] = [
        &["import", "pyrra", &fixture("pyrra/objectives.yaml")],
        &["import", "sloth", &fixture("sloth/k8s-crd.yaml")],
        &["import", "openslo", &fixture("openslo/lenient.yaml")],
        &["generate", "prometheus", "--compat", "sloth", &app],
        &[
            "generate",
            "datadog-terraform",
            "--datadog-window",
            "28d=30d",
            "--datadog-window",
            "month=30d",
            "--datadog-skip-long-tiers",
            &app,
        ],
    ];
    for args in runs {
        let out = slo(args);
        assert_eq!(out.status.code(), Some(0), "slo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!out.stdout.is_empty(), "slo {args:?} prints its output");
    }
    let refused = slo(&["import", "pyrra", &fixture("pyrra/grouping.yaml")]);
    assert_eq!(refused.status.code(), Some(1), "a refused document is a no");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("`grouping` by `handler` cannot be represented"));
}
