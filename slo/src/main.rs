//! `slo`: the SLO tool's binary; its flags are [`slo::cli`], and [`slo::cli::run`] does what
//! they say.

fn main() -> std::process::ExitCode {
    slo::cli::run::main()
}
