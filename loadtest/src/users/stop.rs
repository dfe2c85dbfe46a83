//! The end of a run as the scenarios see it.
//!
//! Goose ends a run only between transactions and then waits for every user, so a wait inside a
//! transaction — the journey waiting out the store's idle timeout, open-model pacing, the
//! attacker's replays — would hold the run open for as long as it lasts. Every such wait is a
//! [`RunEnd::sleep`], which the end of the run cuts short.

use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Shared by the run and every user: ended once, when the run time is over.
#[derive(Debug, Clone, Default)]
pub struct RunEnd {
    token: CancellationToken,
}

/// The run ended while waiting: the transaction should stop where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended;

impl RunEnd {
    /// Ends the run: every wait returns [`Ended`] at once, and every later one too.
    pub fn end(&self) {
        self.token.cancel();
    }

    pub fn has_come(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Ends the run at `deadline`, from a task of the current runtime.
    pub fn end_at(&self, deadline: Instant) -> tokio::task::JoinHandle<()> {
        let end = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => end.end(),
                () = end.token.cancelled() => {}
            }
        })
    }

    /// Ends the run `after` the instant `zero` brings (the measured run's zero, sent once the
    /// warm-up ends), from a task of the current runtime; at once if `zero` never comes.
    pub fn end_after(
        &self,
        zero: tokio::sync::oneshot::Receiver<std::time::Instant>,
        after: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let end = self.clone();
        tokio::spawn(async move {
            let zero = tokio::select! {
                zero = zero => zero,
                () = end.token.cancelled() => return,
            };
            match zero {
                Ok(zero) => {
                    let deadline = Instant::from_std(zero + after);
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => end.end(),
                        () = end.token.cancelled() => {}
                    }
                }
                Err(_) => end.end(),
            }
        })
    }

    /// Sleeps for `duration`, or less if the run ends first.
    pub async fn sleep(&self, duration: Duration) -> Result<(), Ended> {
        self.sleep_until(Instant::now() + duration).await
    }

    /// Sleeps until `deadline`, or less if the run ends first.
    pub async fn sleep_until(&self, deadline: Instant) -> Result<(), Ended> {
        if self.has_come() {
            return Err(Ended);
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => Ok(()),
            () = self.token.cancelled() => Err(Ended),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_long_sleep_ends_with_the_run() {
        let end = RunEnd::default();
        let _ender = end.end_at(Instant::now() + Duration::from_secs(2));
        let started = Instant::now();
        assert_eq!(end.sleep(Duration::from_secs(1800)).await, Err(Ended));
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert_eq!(
            end.sleep(Duration::from_millis(1)).await,
            Err(Ended),
            "after the end, every wait ends at once"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_end_is_timed_from_the_zero_it_is_sent() {
        let end = RunEnd::default();
        let (send, zero) = tokio::sync::oneshot::channel();
        let _ender = end.end_after(zero, Duration::from_secs(3));
        let started = Instant::now();
        end.sleep(Duration::from_secs(2))
            .await
            .expect("no end before the zero");
        // The warm-up ends two seconds in: the run ends three seconds after that.
        send.send(Instant::now().into_std()).expect("send");
        assert_eq!(end.sleep(Duration::from_secs(1800)).await, Err(Ended));
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_sleep_before_the_end_completes() {
        let end = RunEnd::default();
        let _ender = end.end_at(Instant::now() + Duration::from_secs(10));
        assert_eq!(end.sleep(Duration::from_secs(1)).await, Ok(()));
        assert!(!end.has_come());
    }
}
