//! [`PauseGate`]: a stall of the whole stack on demand (`loadtest --fault stack-pause@…`).
//! Every service's accept loop passes each request through the stack's one gate before its
//! handler runs: while the gate is closed requests wait there, connections stay open and
//! nothing is refused — as a process stopped by a debugger or a long GC pause looks to clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;

/// Open unless paused. Clones share one gate.
#[derive(Debug, Clone)]
pub struct PauseGate(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// The fast path: one relaxed-enough load per request while open.
    paused: AtomicBool,
    /// What waiting requests watch for the gate to open again.
    state: watch::Sender<bool>,
}

impl Default for PauseGate {
    fn default() -> Self {
        PauseGate(Arc::new(Inner {
            paused: AtomicBool::new(false),
            state: watch::Sender::new(false),
        }))
    }
}

impl PauseGate {
    /// Holds every request that arrives from now until [`PauseGate::resume`].
    pub fn pause(&self) {
        self.0.paused.store(true, Ordering::SeqCst);
        self.0.state.send_replace(true);
    }

    /// Lets every held request through, and every later one.
    pub fn resume(&self) {
        self.0.paused.store(false, Ordering::SeqCst);
        self.0.state.send_replace(false);
    }

    pub fn is_paused(&self) -> bool {
        self.0.paused.load(Ordering::Acquire)
    }

    /// Returns at once while open; while paused, once the gate opens again.
    pub async fn pass(&self) {
        if !self.is_paused() {
            return;
        }
        // Subscribing after a resume sees `false` at once: no wake-up can be missed.
        let mut state = self.0.state.subscribe();
        let _ = state.wait_for(|paused| !*paused).await;
    }
}

#[cfg(test)]
mod tests {
    use super::PauseGate;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn requests_wait_while_paused_and_pass_once_resumed() {
        let gate = PauseGate::default();
        gate.pass().await;
        gate.pause();
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.pass().await }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!waiting.is_finished(), "held while paused");
        gate.resume();
        tokio::time::timeout(Duration::from_millis(1), waiting)
            .await
            .expect("released at once")
            .expect("task");
        gate.pass().await;
        assert!(!gate.is_paused());
    }
}
