//! Process and tokio runtime metrics, sampled from `/proc/self` and the runtime handle when
//! `/metrics` is scraped (Linux; elsewhere the process gauges stay at zero). Per-worker poll
//! counts need `--cfg tokio_unstable`, which Kura does not build with; busy time is stable.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

/// Linux reports CPU time in clock ticks of 1/100 s (`getconf CLK_TCK`) on every platform Kura ships for.
const TICKS_PER_SECOND: f64 = 100.0;
const PAGE_SIZE: i64 = 4096;

#[derive(Debug, Clone, Default)]
pub struct ProcessMetrics {
    cpu: Counter<f64, AtomicU64>,
    cpu_seen: Arc<AtomicU64>,
    resident: Gauge<i64, AtomicI64>,
    open_fds: Gauge<i64, AtomicI64>,
    start_time: Gauge<i64, AtomicI64>,
    workers: Gauge<i64, AtomicI64>,
    alive_tasks: Gauge<i64, AtomicI64>,
    global_queue: Gauge<i64, AtomicI64>,
    busy: Counter<f64, AtomicU64>,
    busy_seen: Arc<AtomicU64>,
}

impl ProcessMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register_with_unit("process_cpu", "User and system CPU time spent", Unit::Seconds, m.cpu.clone());
        registry.register_with_unit("process_resident_memory", "Resident memory size", Unit::Bytes, m.resident.clone());
        registry.register("process_open_fds", "Open file descriptors", m.open_fds.clone());
        registry.register_with_unit(
            "process_start_time",
            "Start time since the Unix epoch",
            Unit::Seconds,
            m.start_time.clone(),
        );
        registry.register("tokio_workers", "Tokio runtime worker threads", m.workers.clone());
        registry.register("tokio_alive_tasks", "Tokio tasks alive", m.alive_tasks.clone());
        registry.register(
            "tokio_global_queue_depth",
            "Tasks waiting in the tokio global queue",
            m.global_queue.clone(),
        );
        registry.register_with_unit(
            "tokio_worker_busy",
            "Time tokio workers spent running tasks, summed over workers",
            Unit::Seconds,
            m.busy.clone(),
        );
        m
    }

    /// Refreshes every gauge; called before encoding.
    pub fn sample(&self) {
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
            let fields: Vec<&str> =
                stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
            let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
            let cpu_ticks = ticks(11) + ticks(12);
            let seen = self.cpu_seen.swap(cpu_ticks, Ordering::Relaxed);
            if cpu_ticks > seen {
                self.cpu.inc_by((cpu_ticks - seen) as f64 / TICKS_PER_SECOND);
            }
            if self.start_time.get() == 0
                && let Some(boot) = boot_time()
            {
                self.start_time.set(boot + (ticks(19) as f64 / TICKS_PER_SECOND) as i64);
            }
        }
        if let Ok(statm) = std::fs::read_to_string("/proc/self/statm")
            && let Some(pages) = statm.split_whitespace().nth(1).and_then(|p| p.parse::<i64>().ok())
        {
            self.resident.set(pages * PAGE_SIZE);
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(fds.count() as i64);
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let rt = handle.metrics();
            self.workers.set(rt.num_workers() as i64);
            self.alive_tasks.set(rt.num_alive_tasks() as i64);
            self.global_queue.set(rt.global_queue_depth() as i64);
            let busy_micros: u64 = (0..rt.num_workers())
                .map(|w| u64::try_from(rt.worker_total_busy_duration(w).as_micros()).unwrap_or(u64::MAX))
                .sum();
            let seen = self.busy_seen.swap(busy_micros, Ordering::Relaxed);
            if busy_micros > seen {
                self.busy.inc_by((busy_micros - seen) as f64 / 1e6);
            }
        }
    }
}

fn boot_time() -> Option<i64> {
    std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok()))
}
