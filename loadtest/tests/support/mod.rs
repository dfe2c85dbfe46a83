//! What the tests of runs with a stack as processes share (`instances.rs`, `workers.rs`): the
//! `loadtest` binary, which serves those stacks, and a short run's flags parsed as a user types
//! them.

use clap::Parser;
use loadtest::setup::args::RunArgs;
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

/// A 4-second run of 8 users (the store's sessions idle out after 1 s, the stolen cookie is
/// watched for 500 ms) into `reports_dir`, with `extra` flags, its stack served by the
/// `loadtest` binary.
pub fn flags(reports_dir: &Path, extra: &[&str]) -> RunArgs {
    let mut line = vec![
        "loadtest",
        "--users",
        "8",
        "--run-time",
        "4s",
        "--store-idle-timeout",
        "1s",
        "--stolen-window",
        "500ms",
        "--quiet",
        "--reports-dir",
        reports_dir.to_str().expect("utf-8 temp dir"),
    ];
    line.extend_from_slice(extra);
    let mut args = Flags::try_parse_from(line).expect("flags").run;
    args.stack_program = Some(loadtest_binary());
    args
}
