//! ssobench's load runner, in rooms by stage:
//!
//! - [`http`]: the generator's own HTTP/1.1 client (TLS, cookie jar, page markers);
//! - [`names`]: the hops, flows and failures every figure is named by;
//! - [`measure`]: per-user recorders, the once-a-second sampler, interval logs, CPU, timer lag
//!   and the machine's description;
//! - [`fault`]: faults injected inside a run and what they cost;
//! - [`users`]: the simulated users — their shared context, the hop layer, the scenarios and
//!   the login walk;
//! - [`error`]: the one error type of the runner's commands, and what a run was doing;
//! - [`setup`]: arguments, and the stack a run starts or points at;
//! - [`attack`]: the goose attack and its measured drive;
//! - [`judge`]: results assembled from what was measured, thresholds, the printed summary;
//! - [`coordinate`]: a run of several generators over HTTP — the coordinator (arguments, one
//!   release, heartbeats, files) and each worker's link to it, on one host or on a cluster;
//! - [`cluster`]: a run as Kubernetes objects (the manifests `loadtest kube` writes);
//! - [`drivers`]: what a command runs — a run, several workers, the matrix, calibration, the
//!   store-level load.
//!
//! Each room uses only the rooms above it in this list (`users` and `fault` read `measure`;
//! `drivers` may use every other room), so there are no import cycles.

pub mod attack;
pub mod cluster;
pub mod coordinate;
pub mod drivers;
pub mod error;
pub mod fault;
pub mod http;
pub mod judge;
pub mod measure;
pub mod names;
pub mod setup;
pub mod users;
