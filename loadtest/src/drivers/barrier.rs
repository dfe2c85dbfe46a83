//! The start barrier between a run and its workers: each worker says `ready` on its output once
//! set up, and starts its load when the run writes `go` on its input, so every worker's load
//! begins at one moment.

use anyhow::Context as _;
use std::io::Write as _;
use std::process::Child;
use std::time::Duration;

/// What a worker prints once it is set up, and what it waits for.
const READY: &str = "ready";
pub const GO: &str = "go";
/// How long a worker may take to get ready.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The worker's side of the barrier: says `ready` and waits for `go`.
pub async fn ready_and_wait() -> anyhow::Result<()> {
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{READY}").context("telling the parent this worker is ready")?;
    stdout
        .flush()
        .context("telling the parent this worker is ready")?;
    let line = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await
    .context("waiting for the start")?
    .context("waiting for the start")?;
    anyhow::ensure!(
        line.trim() == GO,
        "expected `{GO}` on standard input to start, got {:?} (the parent may have stopped)",
        line.trim()
    );
    Ok(())
}

/// Reads the worker's first line, which must be `ready`.
pub async fn wait_ready(child: &mut Child) -> anyhow::Result<()> {
    let lines = mock_services::instances::first_lines(child, 1, READY_WITHIN).await?;
    anyhow::ensure!(
        lines.first().is_some_and(|line| line.trim() == READY),
        "it stopped before it was ready (its messages are above)"
    );
    Ok(())
}
