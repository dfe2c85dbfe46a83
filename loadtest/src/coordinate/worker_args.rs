//! What a worker of a coordinated run is given: the run's arguments cut to its share (users,
//! rate, first user, the stack's URLs), where its files go, and a misbehaviour on purpose when
//! a test asks for one. The coordinator serves it whole as JSON; the worker reads it back into
//! this type.

use crate::setup::args::RunArgs;
use crate::setup::worker_fault::Misbehaviour;
use std::path::PathBuf;

/// A worker's directory inside the merged run's: `worker-1`, `worker-2`, …
pub const WORKER_DIR_PREFIX: &str = "worker-";

/// `loadtest worker`: one generator of a run of several.
#[derive(Debug, Clone, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The worker's run directory (results.json, hlog/, its report). A coordinated worker
    /// without one writes to a folder of its own under the system's temporary directory and
    /// removes it once its files are sent.
    #[arg(long, required_unless_present = "coordinator")]
    pub worker_dir: Option<PathBuf>,
    /// A test device (`--worker-fault` on the run): how this worker misbehaves.
    #[arg(skip)]
    #[serde(default)]
    pub misbehaviour: Option<Misbehaviour>,
}
