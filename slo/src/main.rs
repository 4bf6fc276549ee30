//! `slo`: the SLO tool's binary; everything it does is in [`slo::cli`].

fn main() -> std::process::ExitCode {
    slo::cli::main()
}
