//! `slo gate`: asks the SLO controller whether a deploy may go out now (`POST /api/v1/gate`),
//! prints the decision and its reasons, and appends them to `$GITHUB_STEP_SUMMARY` when that
//! is set (a GitHub Actions job's summary).
//!
//! Exit status: 0 approve, 1 reject, 2 still holding when `--wait` runs out, 3 the controller
//! unreachable or failing (the workflow decides whether 3 blocks; blocking is the default),
//! 64 bad flags. While the gate holds, it asks again every `--poll` until `--wait` is over.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{parse_interval, parse_url};
use crate::gate::report::comment;
use crate::gate::{Decision, Deploy, Sha, Verdict};

/// Exit status: approved.
pub const APPROVE: u8 = 0;
/// Exit status: rejected.
pub const REJECT: u8 = 1;
/// Exit status: still held when `--wait` ran out.
pub const HOLD: u8 = 2;
/// Exit status: the controller could not be asked or could not answer.
pub const UNREACHABLE: u8 = 3;

/// `slo gate`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct GateArgs {
    /// The deploying service (as its spec names it).
    #[arg(long)]
    pub service: String,
    /// The environment deployed to, e.g. production.
    #[arg(long)]
    pub environment: String,
    /// The commit deployed.
    #[arg(long)]
    pub sha: String,
    /// The branch or tag deployed.
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,
    /// A label of the change, e.g. hotfix (repeatable).
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// A commit trailer, `Key: value`, e.g. "Kura-Exception: hotfix" (repeatable).
    #[arg(long = "trailer", value_name = "TRAILER")]
    pub trailers: Vec<String>,
    /// The SLO controller's URL.
    #[arg(long, env = "SLO_CONTROLLER", value_name = "URL", default_value = crate::spec::DEFAULT_EXTERNAL_URL, value_parser = parse_url)]
    pub controller: String,
    /// How long to keep asking while the gate holds (0: answer at once).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_wait)]
    pub wait: Duration,
    /// How often to ask again while it holds.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_interval)]
    pub poll: Duration,
    /// A CA bundle (PEM) trusted beside the system's roots.
    #[arg(long, env = "KURA_CA_BUNDLE", value_name = "PATH")]
    pub ca_bundle: Option<PathBuf>,
}

fn parse_wait(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    let d = crate::math::parse_duration(s).map_err(|e| e.to_string())?;
    Duration::try_from(d).map_err(|e| e.to_string())
}

/// Runs `slo gate`.
pub fn run(args: &GateArgs) -> ExitCode {
    let fail = |message: &dyn std::fmt::Display| {
        eprintln!("slo gate: {message}");
        ExitCode::from(UNREACHABLE)
    };
    let sha = match Sha::parse(&args.sha) {
        Ok(s) => s,
        Err(m) => {
            eprintln!("slo gate: --sha: {m}");
            return ExitCode::from(platform::exit::USAGE);
        }
    };
    let client = match platform::tls::Tls::new(args.ca_bundle.as_deref())
        .map_err(|e| e.to_string())
        .and_then(|t| t.blocking_client().map_err(|e| platform::tls::redact(e).to_string()))
    {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let deploy = Deploy {
        service: args.service.clone(),
        environment: args.environment.clone(),
        sha,
        git_ref: args.git_ref.clone(),
        labels: args.labels.clone(),
        trailers: args.trailers.clone(),
    };
    let body = json!({
        "service": deploy.service,
        "environment": deploy.environment,
        "sha": deploy.sha.as_str(),
        "ref": deploy.git_ref,
        "labels": deploy.labels,
        "trailers": deploy.trailers,
    });
    let started = Instant::now();
    let url = format!("{}/api/v1/gate", args.controller);
    loop {
        let answer = client.post(&url).json(&body).timeout(Duration::from_secs(30)).send();
        let response = match answer {
            Ok(r) => r,
            Err(e) => {
                return fail(&format_args!(
                    "cannot reach the controller at {}: {}",
                    args.controller,
                    platform::tls::redact(e)
                ));
            }
        };
        let status = response.status();
        let text = response.text().unwrap_or_default();
        if !status.is_success() {
            return fail(&format_args!("the controller answered {status}: {text}"));
        }
        let decision: Decision = match serde_json::from_str(&text) {
            Ok(d) => d,
            Err(e) => return fail(&format_args!("the controller's answer is not a decision: {e}")),
        };
        if decision.verdict == Verdict::Hold && started.elapsed() + args.poll <= args.wait {
            eprintln!("slo gate: holding ({}); asking again in {:?}", first_reason(&decision), args.poll);
            std::thread::sleep(args.poll);
            continue;
        }
        let link = format!(
            "{}{}",
            args.controller.trim_end_matches('/'),
            crate::dashboard::html::deploys_href(&deploy.service)
        );
        let text = comment(&decision, &deploy, Some(&link));
        println!("{text}");
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| writeln!(f, "{text}\n"));
            if let Err(e) = written {
                eprintln!("slo gate: cannot write $GITHUB_STEP_SUMMARY: {e}");
            }
        }
        return ExitCode::from(match decision.verdict {
            Verdict::Approve => APPROVE,
            Verdict::Reject => REJECT,
            Verdict::Hold => HOLD,
        });
    }
}

fn first_reason(d: &Decision) -> &str {
    d.reasons.first().map_or("", |r| r.message.as_str())
}
