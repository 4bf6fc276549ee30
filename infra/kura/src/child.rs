//! The processes `kura up` runs: the fulfillment service and the SLO controller, each as a child
//! process of the `kura` binary itself (`kura fulfillment serve …`, `kura slo controller …`, the
//! same command lines as the `fulfillment` and `slo` binaries).
//!
//! Why child processes of itself rather than the other binaries or one process:
//! * `cargo run -p kura` builds everything `kura up` starts (a package builds only its own
//!   binaries, never its dependencies'), so the README's first command works on a fresh clone;
//! * each part keeps its own process, as in production: its own telemetry service name, its
//!   own allocator and heap profile, its own crash;
//! * none outlives `kura`: a child asks the kernel for SIGTERM when its parent dies
//!   (`PR_SET_PDEATHSIG`), and `kura up` stops each with SIGTERM on Ctrl-C, waits for its drain,
//!   and kills what is still there after a deadline.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

/// The variable that tells a child which process started it.
pub const PARENT_PID_VARIABLE: &str = "KURA_PARENT_PID";

/// What `kura` runs when its first argument names a part (`fulfillment`, `slo`), if it does.
pub fn dispatch(args: &[OsString]) -> Option<std::process::ExitCode> {
    let part = args.get(1)?.to_str()?;
    let rest = || std::iter::once(OsString::from(part)).chain(args.iter().skip(2).cloned());
    let run: fn(Vec<OsString>) -> std::process::ExitCode = match part {
        "fulfillment" => |a| fulfillment::cli::run_from(a),
        "slo" => |a| slo::cli::run::run_from(a),
        _ => return None,
    };
    die_with_parent();
    Some(run(rest().collect()))
}

/// In a child started by `kura up`: SIGTERM when the parent dies, so a killed `kura` leaves no
/// process behind.
fn die_with_parent() {
    let Some(parent) = std::env::var(PARENT_PID_VARIABLE).ok().and_then(|p| p.parse::<i32>().ok()) else {
        return;
    };
    if let Err(e) = rustix::process::set_parent_process_death_signal(Some(Signal::TERM)) {
        eprintln!("kura: cannot ask to end with the parent process: {e}");
    }
    // The parent may have died before the request took effect: then it is already too late.
    if rustix::process::getppid().map(Pid::as_raw_nonzero).map(std::num::NonZero::get) != Some(parent) {
        std::process::exit(143);
    }
}

/// A running part.
#[derive(Debug)]
pub struct Part {
    pub name: &'static str,
    child: Child,
}

impl Part {
    /// Starts `kura <args…>` with `env`, its output appended to `log`.
    pub fn start(name: &'static str, args: &[String], env: &[(String, String)], log: &Path) -> std::io::Result<Part> {
        let exe = std::env::current_exe()?;
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        let mut command = Command::new(exe);
        command
            .args(args)
            .env(PARENT_PID_VARIABLE, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in env {
            command.env(k, v);
        }
        Ok(Part { name, child: command.spawn()? })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM (it drains and exits); SIGKILL if it is still there after `deadline`.
    pub fn stop(&mut self, deadline: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited() {
            return Some(status);
        }
        if let Some(pid) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, Signal::TERM);
        }
        let started = Instant::now();
        while started.elapsed() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
