//! The `slo` command: `lint` spec files, `generate` rules and dashboards from them, and
//! `import` OpenSLO or Sloth documents as Kura specs. Exit status: 0 on success, 1 when a
//! spec or document has errors (each printed as `file:line:column: message`), 2 on usage errors.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use slo::generate::{self, Kind};
use slo::spec::catalogue::Catalogue;

#[derive(Debug, Parser)]
#[command(name = "slo", version, about = "Kura's SLO tool: lint, generate and import journey SLO specs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check spec files (and directories of them); print every problem as file:line:column.
    Lint {
        /// A Prometheus/OpenMetrics scrape whose metrics SLIs may also use (repeatable).
        #[arg(long = "metrics", value_name = "FILE")]
        metrics: Vec<PathBuf>,
        /// Spec files or directories (searched for *.yaml / *.yml).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Generate prometheus | grafana | datadog-terraform | openslo from specs, on stdout.
    Generate {
        #[arg(value_name = "KIND", value_parser = parse_kind)]
        kind: Kind,
        /// A Prometheus/OpenMetrics scrape whose metrics SLIs may also use (repeatable).
        #[arg(long = "metrics", value_name = "FILE")]
        metrics: Vec<PathBuf>,
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Import an OpenSLO v1 or Sloth prometheus/v1 document; print it as a Kura spec.
    Import {
        #[arg(value_enum)]
        format: ImportFormat,
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ImportFormat {
    Openslo,
    Sloth,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint { metrics, paths } => {
            let Some(catalogue) = catalogue(&metrics) else { return ExitCode::FAILURE };
            match slo::spec::load_paths_with(&paths, &catalogue) {
                Ok(specs) => {
                    let slos: usize = specs.iter().map(|s| s.slos().count()).sum();
                    let journeys: usize = specs.iter().map(|s| s.journeys.len()).sum();
                    println!("ok: {} files, {journeys} journeys, {slos} SLOs", specs.len());
                    ExitCode::SUCCESS
                }
                Err(diagnostics) => {
                    eprintln!("{diagnostics}");
                    eprintln!("{} problem(s)", diagnostics.len());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Generate { kind, metrics, paths } => {
            let Some(catalogue) = catalogue(&metrics) else { return ExitCode::FAILURE };
            let specs = match slo::spec::load_paths_with(&paths, &catalogue) {
                Ok(specs) => specs,
                Err(diagnostics) => {
                    eprintln!("{diagnostics}");
                    return ExitCode::FAILURE;
                }
            };
            match generate::generate(kind, &specs) {
                Ok(text) => write_stdout(&text),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Import { format, file } => {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    return ExitCode::FAILURE;
                }
            };
            let imported = match format {
                ImportFormat::Openslo => slo::import::openslo::import(&file, &text),
                ImportFormat::Sloth => slo::import::sloth::import(&file, &text),
            };
            match imported {
                Ok(specs) => {
                    let docs: Vec<String> = specs.iter().map(slo::spec::to_yaml).collect();
                    write_stdout(&docs.join("---\n"))
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Kura's metric contract plus every scrape given with `--metrics`.
fn catalogue(scrapes: &[PathBuf]) -> Option<Catalogue> {
    let mut catalogue = Catalogue::kura();
    for path in scrapes {
        match std::fs::read_to_string(path) {
            Ok(text) => catalogue.merge(Catalogue::from_exposition(&text)),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return None;
            }
        }
    }
    Some(catalogue)
}

fn write_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`slo generate ... | head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
