//! The injector: a thread of its own that sleeps until each fault's moment, does it, and
//! undoes it after its DOWN — on a thread, not the generator's runtime, because killing and
//! restarting a `redis-server` blocks (the restart waits for PING), and because a stalled
//! runtime must not delay the fault that stalls the stack.
//!
//! Whatever happens to the run, what was done is undone: a run that ends early, or fails,
//! continues what it paused and restarts what it killed before the injector returns.

use super::board::FaultBoard;
use super::spec::FaultKind;
use mock_services::cli::SharedRedis;
use mock_services::web::pause::PauseGate;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, PoisonError};
use std::time::Instant;

/// What the run may fault (see `spec::validate` for who may have which).
#[derive(Debug, Clone, Default)]
pub struct Controls {
    /// The `redis-server` the run started.
    pub redis: Option<SharedRedis>,
    /// Where the current `redis-server`'s pid is kept for the CPU meter (it changes on restart).
    pub redis_pid: Option<Arc<AtomicU32>>,
    /// The in-process stack's gate.
    pub gate: Option<PauseGate>,
    /// The process of `--target-pid`.
    pub stack_pid: Option<u32>,
}

/// A running injector.
#[derive(Debug)]
pub struct Injector {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Vec<String>>,
}

impl Injector {
    /// Starts injecting `board`'s faults, timed from its origin.
    pub fn start(board: Arc<FaultBoard>, controls: Controls) -> std::io::Result<Injector> {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ssobench-faults".into())
            .spawn(move || inject(&board, &controls, &stopped))?;
        Ok(Injector { stop, thread })
    }

    /// Stops (undoing a fault in progress at once) and returns what went wrong, one sentence
    /// per problem.
    pub fn finish(self) -> Vec<String> {
        let _ = self.stop.send(());
        self.thread
            .join()
            .unwrap_or_else(|_| vec!["the fault injector panicked".into()])
    }
}

/// Sleeps until `deadline`; `false` if told to stop first.
fn wait_until(deadline: Instant, stopped: &mpsc::Receiver<()>) -> bool {
    match stopped.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Err(RecvTimeoutError::Timeout) => true,
        Ok(()) | Err(RecvTimeoutError::Disconnected) => false,
    }
}

fn inject(board: &FaultBoard, controls: &Controls, stopped: &mpsc::Receiver<()>) -> Vec<String> {
    let mut problems = Vec::new();
    let origin = board.origin();
    for (index, spec) in board.specs().collect::<Vec<_>>().into_iter().enumerate() {
        if !wait_until(origin + spec.at, stopped) {
            return problems;
        }
        if let Err(problem) = act(spec.kind, controls, Phase::Begin) {
            problems.push(format!("--fault {spec}: {problem}"));
            continue;
        }
        board.began(index, Instant::now());
        let on_time = wait_until(origin + spec.until(), stopped);
        match act(spec.kind, controls, Phase::End) {
            Ok(()) => board.ended(index, Instant::now()),
            Err(problem) => problems.push(format!("--fault {spec}: undoing it: {problem}")),
        }
        if !on_time {
            return problems;
        }
    }
    problems
}

/// Doing a fault, or undoing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Begin,
    End,
}

/// Does (`Begin`) or undoes (`End`) a fault with what it acts on: each control's pair of
/// actions side by side.
fn act(kind: FaultKind, controls: &Controls, phase: Phase) -> Result<(), String> {
    match kind {
        FaultKind::RedisRestart | FaultKind::RedisPause => {
            let redis = controls
                .redis
                .as_ref()
                .ok_or("no redis-server of this run")?;
            let mut redis = redis.lock().unwrap_or_else(PoisonError::into_inner);
            match (kind, phase) {
                (FaultKind::RedisRestart, Phase::Begin) => {
                    redis.kill();
                    Ok(())
                }
                (FaultKind::RedisRestart, Phase::End) => {
                    redis.restart().map_err(|error| error.to_string())?;
                    if let (Some(slot), Some(pid)) = (&controls.redis_pid, redis.pid()) {
                        slot.store(pid, Ordering::Relaxed);
                    }
                    Ok(())
                }
                (_, Phase::Begin) => redis.pause().map_err(|error| error.to_string()),
                (_, Phase::End) => redis.resume().map_err(|error| error.to_string()),
            }
        }
        FaultKind::StackPause => match (&controls.gate, controls.stack_pid, phase) {
            (Some(gate), _, Phase::Begin) => {
                gate.pause();
                Ok(())
            }
            (Some(gate), _, Phase::End) => {
                gate.resume();
                Ok(())
            }
            (None, Some(pid), Phase::Begin) => mock_services::signals::pause(pid)
                .map_err(|error| format!("process {pid}: {error}")),
            (None, Some(pid), Phase::End) => mock_services::signals::resume(pid)
                .map_err(|error| format!("process {pid}: {error}")),
            (None, None, Phase::Begin) => Err("no stack of this run to pause".into()),
            (None, None, Phase::End) => Err("no stack of this run to continue".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::parse_fault;
    use std::time::Duration;

    /// Polls `condition` every 5 ms for up to two seconds.
    fn eventually(condition: impl Fn() -> bool) -> bool {
        for _ in 0..400 {
            if condition() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn a_gate_is_closed_for_the_fault_window_and_open_after() {
        let gate = PauseGate::default();
        let origin = Instant::now();
        let board = Arc::new(FaultBoard::new(
            origin,
            &[parse_fault("stack-pause@100ms+200ms").expect("spec")],
        ));
        let injector = Injector::start(
            Arc::clone(&board),
            Controls {
                gate: Some(gate.clone()),
                ..Controls::default()
            },
        )
        .expect("thread");
        assert!(eventually(|| gate.is_paused()), "paused inside the window");
        assert!(eventually(|| !gate.is_paused()), "open after it");
        assert!(injector.finish().is_empty());
        let moments = board.moments();
        let (began, ended) = (
            moments[0].began_us.expect("began"),
            moments[0].ended_us.expect("ended"),
        );
        // Each moment is the planned one (100 ms, 300 ms) or later, never earlier.
        assert!(began >= 100_000, "{began}");
        assert!(ended >= 300_000 && ended > began, "{began}..{ended}");
    }

    #[test]
    fn a_run_that_ends_inside_the_window_opens_the_gate() {
        let gate = PauseGate::default();
        let board = Arc::new(FaultBoard::new(
            Instant::now(),
            &[parse_fault("stack-pause@0s+1h").expect("spec")],
        ));
        let injector = Injector::start(
            Arc::clone(&board),
            Controls {
                gate: Some(gate.clone()),
                ..Controls::default()
            },
        )
        .expect("thread");
        for _ in 0..200 {
            if gate.is_paused() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(gate.is_paused());
        assert!(injector.finish().is_empty());
        assert!(!gate.is_paused(), "undone when the run stops");
    }

    #[test]
    fn a_fault_without_its_control_is_reported_not_ignored() {
        let board = Arc::new(FaultBoard::new(
            Instant::now(),
            &[parse_fault("redis-pause@0s+10ms").expect("spec")],
        ));
        let injector = Injector::start(Arc::clone(&board), Controls::default()).expect("thread");
        // Long past the fault's moment, even on a busy machine, before the run "stops".
        std::thread::sleep(Duration::from_millis(500));
        let problems = injector.finish();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("redis-pause@0s+10ms"), "{problems:?}");
        assert_eq!(board.moments()[0].began_us, None);
    }

    /// The kernel's view of a process: `T` while stopped.
    fn stopped(pid: u32) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
        let state = stat.rsplit_once(')').expect("comm").1.trim_start();
        state.starts_with('T')
    }

    #[test]
    fn a_target_process_is_stopped_for_the_window_and_continued_after() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let pid = child.id();
        let board = Arc::new(FaultBoard::new(
            Instant::now(),
            &[parse_fault("stack-pause@50ms+300ms").expect("spec")],
        ));
        let injector = Injector::start(
            Arc::clone(&board),
            Controls {
                stack_pid: Some(pid),
                ..Controls::default()
            },
        )
        .expect("thread");
        assert!(eventually(|| stopped(pid)), "SIGSTOP inside the window");
        assert!(eventually(|| !stopped(pid)), "SIGCONT after it");
        assert!(injector.finish().is_empty());
        assert!(board.moments()[0].ended_us.is_some());
        let _ = child.kill();
        let _ = child.wait();
    }
}
