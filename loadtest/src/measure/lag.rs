//! The generator's timer-lag probe (the idea of jHiccup): a task on the generator's runtime
//! sleeps 1 ms in a loop and records how late it wakes. A generator too busy to wake its own
//! timers on time also sends its requests late, and its latencies then include its own delay.

use crate::measure::recorder::micros;
use hdrhistogram::sync::Recorder;
use std::time::{Duration, Instant};

/// How long the probe asks to sleep.
pub const TICK: Duration = Duration::from_millis(1);

/// Starts the probe on the current runtime; it records lateness in microseconds (at least 1)
/// until aborted.
pub fn spawn(mut recorder: Recorder<u64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let asked = Instant::now();
            tokio::time::sleep(TICK).await;
            let late = asked.elapsed().saturating_sub(TICK);
            let _ = recorder.record(micros(late));
        }
    })
}
