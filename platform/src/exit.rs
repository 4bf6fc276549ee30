//! One exit-code policy for every Kura binary (the BSD `sysexits.h` codes where one fits):
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | success (and `--help`, `--version`) |
//! | 1    | the command ran and the answer is no: a spec with problems, a check that failed |
//! | 64   | usage or configuration error: a bad flag, variable, URL or file; fix it and run again |
//! | 69   | a service the command needs is unavailable (a database, a controller) |
//! | 70   | an internal error |
//!
//! Commands with a documented contract of their own say so in their `--help` (`slo gate`: 0
//! approve, 1 reject, 2 hold, 3 error).

use std::process::ExitCode;

pub const SUCCESS: u8 = 0;
/// The command ran and the answer is no.
pub const FAILURE: u8 = 1;
/// EX_USAGE: bad flags, variables or configuration.
pub const USAGE: u8 = 64;
/// EX_UNAVAILABLE: a needed service cannot be reached.
pub const UNAVAILABLE: u8 = 69;
/// EX_SOFTWARE: an internal error.
pub const SOFTWARE: u8 = 70;

/// Parses the command line: `--help` and `--version` print and exit 0; a usage error prints
/// and exits [`USAGE`].
pub fn parse<C: clap::Parser>() -> Result<C, ExitCode> {
    parse_from(std::env::args_os())
}

/// [`parse`] of the given arguments (`args[0]` is the program name).
pub fn parse_from<C, I, T>(args: I) -> Result<C, ExitCode>
where
    C: clap::Parser,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    C::try_parse_from(args).map_err(|e| {
        let usage = e.use_stderr();
        let _ = e.print();
        ExitCode::from(if usage { USAGE } else { SUCCESS })
    })
}

/// A multi-threaded tokio runtime, or exit [`SOFTWARE`] with the reason on stderr.
pub fn runtime(binary: &str) -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| {
        eprintln!("{binary}: cannot start the runtime: {e}");
        ExitCode::from(SOFTWARE)
    })
}
