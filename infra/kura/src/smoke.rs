//! `kura smoke`: a deploy's smoke test. Against a running service (a URL and an admin token),
//! every critical journey once, end to end -- a shipment created and allocated, stock read, a
//! signed Shopify order synced, an inbound received and put away, a wave released and picked
//! with an HHT device, inspected, packed, labelled and handed over -- each answered 2xx, or
//! the command exits 1 naming what failed. It works on data of its own (a synthetic shipper
//! with two items and a shop), so it never touches a real shipper's stock.

use std::process::ExitCode;

use crate::load;

#[derive(Debug, Clone, clap::Args)]
pub struct SmokeArgs {
    /// The service's public URL.
    #[arg(long, env = "KURA_BASE")]
    pub url: String,
    /// An admin token (the smoke test prepares its own data).
    #[arg(long, env = "KURA_ADMIN_TOKEN", hide_env_values = true)]
    pub token: String,
}

pub async fn run(args: SmokeArgs) -> ExitCode {
    let results = match load::smoke(&args.url, &args.token).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("smoke: preparing the data failed: {e:#}");
            return ExitCode::from(platform::exit::FAILURE);
        }
    };
    print!("{}", load::table(&results));
    let mut failed = false;
    for op in load::SMOKE_OPERATIONS {
        match results.get(op) {
            Some(s) if s.failed == 0 && s.shed == 0 && s.ok > 0 => {}
            Some(s) => {
                failed = true;
                eprintln!("smoke: {op} failed: {}", s.errors.join("; "));
            }
            None => {
                failed = true;
                eprintln!("smoke: {op} never ran (an earlier step failed)");
            }
        }
    }
    if failed {
        ExitCode::from(platform::exit::FAILURE)
    } else {
        println!("smoke: every journey answered");
        ExitCode::SUCCESS
    }
}
