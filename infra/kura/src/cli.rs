//! The `kura` command line.
//!
//! ```text
//! kura up [--data-dir DIR] [--postgres URL] [--prometheus URL] [--rate N] ...
//! kura load --base URL --admin-token T [--rate N] [--seconds S] [--mix ...] [--json]
//! kura incident start --journey J [--error-rate R] [--latency MS] [--for DURATION]
//! kura incident stop
//! kura status
//! kura smoke --url URL --token T
//! ```
//!
//! `kura fulfillment …` and `kura slo …` run the service's and the SLO tool's own command lines
//! (how `kura up` starts them, see [`crate::child`]). Exit status: 0 success, 1 a failure the
//! command reports (a smoke test that failed, load with unexpected errors), 64 usage.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use platform::exit;

use crate::api::Api;
use crate::{incident, load, smoke, up, view};

#[derive(Debug, Parser)]
#[command(
    name = "kura",
    version,
    about = "Kura on one machine: run the whole stack, drive traffic, inject incidents, smoke-test a deploy",
    after_help = "`kura fulfillment ...` and `kura slo ...` run the service's and the SLO tool's command lines."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the fulfillment service, the SLO controller, an alert receiver and synthetic traffic,
    /// with a live view, until Ctrl-C.
    Up(Box<up::UpArgs>),
    /// Send synthetic traffic over every journey (open loop) and report latency per operation.
    Load(Box<load::LoadArgs>),
    /// Inject or stop faults in a running service (started with --fault-injection, as `kura up` does).
    Incident {
        #[command(subcommand)]
        command: incident::IncidentCommand,
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Print the journeys, budgets and alerts of a running stack once.
    Status {
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Exercise every critical journey once against a service; exit 1 if one fails.
    Smoke(smoke::SmokeArgs),
}

/// Which running stack: the one `kura up` describes in its data directory, or explicit URLs.
#[derive(Debug, Clone, clap::Args)]
struct StackArgs {
    /// The data directory of a running `kura up`.
    #[arg(long, env = "KURA_DATA_DIR", default_value = "kura-data", global = true)]
    data_dir: PathBuf,
    /// The service's admin listener (instead of the data directory's).
    #[arg(long, value_name = "URL", global = true)]
    service_admin: Option<String>,
    /// The controller's API (instead of the data directory's).
    #[arg(long, value_name = "URL", global = true)]
    controller: Option<String>,
}

impl StackArgs {
    fn endpoints(&self) -> anyhow::Result<view::Endpoints> {
        let running = || up::running(&self.data_dir);
        let url = |given: &Option<String>, key: &str| -> anyhow::Result<String> {
            match given {
                Some(u) => Ok(u.clone()),
                None => {
                    running()?[key].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("no {key} in stack.json"))
                }
            }
        };
        let controller = Api::new(&url(&self.controller, "controller")?)?;
        let service_admin = url(&self.service_admin, "service_admin").ok().map(|u| controller.at(&u));
        Ok(view::Endpoints { service_admin, controller })
    }
}

/// Runs the command line of this process.
pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = crate::child::dispatch(&args) {
        return code;
    }
    let cli = match exit::parse_from::<Cli, _, _>(args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let runtime = match exit::runtime("kura") {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Up(args) => return up::run(*args).await,
        Command::Smoke(args) => return smoke::run(args).await,
        Command::Load(args) => match load::run(*args).await {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(exit::FAILURE),
            Err(e) => Err(e),
        },
        Command::Incident { command, stack } => match stack.endpoints() {
            Ok(e) => match e.service_admin {
                Some(admin) => incident::run(&admin, command).await,
                None => Err(anyhow::anyhow!("no service admin URL: pass --service-admin")),
            },
            Err(e) => Err(e),
        },
        Command::Status { stack } => match stack.endpoints() {
            Ok(e) => {
                print!("{}", view::status(&e).await.render());
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kura: {e:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}
