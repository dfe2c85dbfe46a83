//! The start barrier between a run and its workers: each worker says `ready` on its output once
//! set up, and starts its load when the run says `go` on its input, so every worker's load
//! begins at one moment. The lines are `vocabulary::protocol::Barrier`'s.

use crate::error::While as _;
use crate::error::{RunResult, ensure};
use mock_services::children;
use std::process::Child;
use std::time::Duration;
use vocabulary::protocol::{self, Barrier};

/// How long a worker may take to get ready.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The worker's side of the barrier: says `ready` and waits for `go`.
pub async fn ready_and_wait() -> RunResult<()> {
    protocol::write_line(&mut std::io::stdout().lock(), &Barrier::Ready)
        .doing("telling the parent this worker is ready")?;
    let said = tokio::task::spawn_blocking(|| {
        protocol::read_line::<Barrier>(&mut std::io::stdin().lock())
    })
    .await
    .doing("waiting for the start")?
    .doing("waiting for `go` on standard input (the parent may have stopped)")?;
    ensure!(
        said == Barrier::Go,
        "expected `{}` on standard input to start, got `{said}`",
        Barrier::Go
    );
    Ok(())
}

/// The run's side: waits until the worker says `ready`.
pub async fn wait_ready(child: &mut Child) -> RunResult<()> {
    let said = children::read_lines::<Barrier>(child, 1, READY_WITHIN)
        .await
        .doing("it was not ready")?;
    ensure!(
        said.first() == Some(&Barrier::Ready),
        "it said {said:?} where `{}` was expected",
        Barrier::Ready
    );
    Ok(())
}

/// The run's side: releases a ready worker.
pub fn release(child: &mut Child) -> RunResult<()> {
    let input = child.stdin.as_mut().doing("the worker's input is closed")?;
    protocol::write_line(input, &Barrier::Go)?;
    Ok(())
}
