//! Kura on one machine.
//!
//! * [`up`] -- `kura up`: the fulfillment service, the SLO controller, a local alert receiver and
//!   synthetic traffic, with a live terminal view, stopped cleanly on Ctrl-C.
//! * [`load`] -- `kura load`: open-loop synthetic traffic over every journey, with HDR latency
//!   percentiles per operation.
//! * [`incident`] -- `kura incident start|stop`: faults injected in a running service.
//! * [`view`] -- `kura status`, and the live view of `kura up`.
//! * [`smoke`] -- `kura smoke`: each critical journey once against a URL (deploy pipelines).
//! * [`child`] -- how `kura` runs the service and the controller: as child processes of its own
//!   binary (`kura fulfillment …`, `kura slo …`), so `cargo run -p kura` builds everything
//!   `kura up` runs, each part keeps its own process (telemetry, allocator, crash), and none
//!   outlives `kura`.
//! * [`receiver`] -- the local alert receiver: verifies signed pages and keeps a log.
//! * [`api`] -- the small HTTP client the commands share.

pub mod api;
pub mod child;
pub mod cli;
pub mod incident;
pub mod load;
pub mod receiver;
pub mod smoke;
pub mod up;
pub mod view;
