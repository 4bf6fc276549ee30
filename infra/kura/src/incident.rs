//! `kura incident start|stop`: injects faults in a running service through its admin
//! listener's `/incidents` (present only when the service runs with `--fault-injection`, as
//! `kura up` starts it), to burn a journey's budget on purpose and watch the page fire and
//! resolve.

use std::time::Duration;

use serde_json::json;

use crate::api::Api;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum IncidentCommand {
    /// Make a share of one journey's requests fail (500), or slow them down, for a while.
    Start {
        /// The journey, e.g. `create-shipment`.
        #[arg(long)]
        journey: String,
        /// Share of its requests that fail, 0 to 1.
        #[arg(long, default_value_t = 0.5)]
        error_rate: f64,
        /// Milliseconds added to each of its requests.
        #[arg(long = "latency", value_name = "MS", default_value_t = 0)]
        latency_ms: u64,
        /// How long it lasts (`90s`, `10m`, `1h`).
        #[arg(long = "for", value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
        lasts: Duration,
    },
    /// Stop every incident.
    Stop,
}

/// A duration as `90s`, `10m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = slo::math::parse_duration(text).map_err(|e| e.to_string())?;
    Duration::try_from(d).map_err(|e| e.to_string())
}

/// Runs the command against the service's admin listener at `admin`.
pub async fn run(admin: &Api, command: IncidentCommand) -> anyhow::Result<()> {
    match command {
        IncidentCommand::Start { journey, error_rate, latency_ms, lasts } => {
            let body = json!({"journey": journey, "error_rate": error_rate, "latency_ms": latency_ms,
                              "for_seconds": lasts.as_secs().max(1)});
            let incident = admin.post("/incidents", None, &body).await.map_err(|e| match e.status() {
                Some(reqwest::StatusCode::NOT_FOUND) => {
                    anyhow::anyhow!("the service has no /incidents: start it with --fault-injection (kura up does)")
                }
                _ => anyhow::anyhow!(e),
            })?;
            println!(
                "incident on {journey}: {:.0}% errors, +{latency_ms} ms, for {} s",
                error_rate * 100.0,
                incident["remaining_seconds"].as_u64().unwrap_or_default()
            );
        }
        IncidentCommand::Stop => {
            admin.call(reqwest::Method::DELETE, "/incidents", None, None).await?;
            println!("incidents stopped");
        }
    }
    Ok(())
}
