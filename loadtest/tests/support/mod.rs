//! What the tests of runs with a stack as processes share (`instances.rs`, `workers.rs`,
//! `kube.rs`, `login_pages.rs`, `oidc_provider.rs`,
//! `costs.rs`): the `loadtest` binary, which serves those stacks, a short run's flags parsed as a
//! user types them, and such a stack started.

use clap::Parser;
use loadtest::setup::args::RunArgs;
use loadtest::setup::process_stack::{self, ProcessStack};
use std::path::{Path, PathBuf};

/// `loadtest`'s own flags.
#[derive(Debug, Parser)]
struct Flags {
    #[command(flatten)]
    run: RunArgs,
}

/// The `loadtest` binary: its hidden `serve` runs a stack as processes (this test binary has
/// none).
pub fn loadtest_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_loadtest"))
}

/// A 4-second run of 8 users: the store's sessions idle out after 1 s, the stolen cookie is
/// watched for 500 ms (the flags as a user types them, for other command lines too).
pub const SHORT_RUN: &[&str] = &[
    "--users",
    "8",
    "--run-time",
    "4s",
    "--store-idle-timeout",
    "1s",
    "--stolen-window",
    "500ms",
];

/// [`SHORT_RUN`] into `reports_dir`, quiet, with `extra` flags, its stack served by the
/// `loadtest` binary.
pub fn flags(reports_dir: &Path, extra: &[&str]) -> RunArgs {
    let mut line = vec!["loadtest"];
    line.extend_from_slice(SHORT_RUN);
    line.extend_from_slice(&[
        "--quiet",
        "--reports-dir",
        reports_dir.to_str().expect("utf-8 temp dir"),
    ]);
    line.extend_from_slice(extra);
    let mut args = Flags::try_parse_from(line).expect("flags").run;
    args.stack_program = Some(loadtest_binary());
    args
}

/// A stack as processes for a short run's settings (see [`flags`]), served by the `loadtest`
/// binary, for tests that point workers at it.
#[allow(
    dead_code,
    reason = "each test binary compiles this module; only the worker and kube tests use this"
)]
pub async fn process_stack(reports_dir: &Path) -> ProcessStack {
    let serve = process_stack::serve_args(&flags(reports_dir, &[]));
    ProcessStack::start(&serve, &loadtest_binary())
        .await
        .expect("stack")
}
