//! Where users' latencies go: a few shards per run, each a lock over HDR histograms (the run's
//! totals per hop and flow, and the current second's hop latencies for the sampler), shared by
//! the users whose number falls on it.
//!
//! Why not histograms per user: a user kept its own per hop and flow, each 16 KiB when created
//! and about 90 KiB once it had seen a second, so 90% of a user's 640 KiB went to histograms
//! (heaptrack, 1,000 users of the cart scenario). Users that share a shard take its lock for a
//! few hundred nanoseconds per answered request; with four shards per generator thread two
//! threads seldom meet on one. The shards are the run's (its context holds them), never the
//! process's.

use crate::measure::recorder::{UserRecorder, histogram};
use hdrhistogram::Histogram;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Shards per generator thread.
pub const PER_THREAD: usize = 4;

/// One shard: the run's totals so far, and this second's hop latencies.
#[derive(Debug)]
pub struct Shard {
    /// Only its histograms and hop error counts are used: the users' other counts stay theirs.
    pub totals: UserRecorder,
    /// Hop latencies since the sampler last took them, microseconds.
    pub second: Histogram<u64>,
}

/// A shard on a cache line (or two) of its own, so two locks never share one.
#[derive(Debug)]
#[repr(align(128))]
struct Padded(Mutex<Shard>);

/// A run's shards.
#[derive(Debug)]
pub struct Shards {
    shards: Box<[Padded]>,
}

impl Shards {
    /// `count` shards (at least one).
    pub fn new(count: usize) -> Self {
        Shards {
            shards: (0..count.max(1))
                .map(|_| {
                    Padded(Mutex::new(Shard {
                        totals: UserRecorder::default(),
                        second: histogram(),
                    }))
                })
                .collect(),
        }
    }

    /// Shards for a generator of `threads` runtime threads.
    pub fn for_threads(threads: usize) -> Self {
        Shards::new(threads.max(1) * PER_THREAD)
    }

    pub fn count(&self) -> usize {
        self.shards.len()
    }

    /// The shard of user `user` (users are spread over the shards in turn).
    pub fn lock(&self, user: usize) -> MutexGuard<'_, Shard> {
        self.shards[user % self.shards.len()]
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds every shard's hop latencies of the second into `into`, and starts the next second.
    pub fn take_second(&self, into: &mut Histogram<u64>) {
        for index in 0..self.shards.len() {
            let mut shard = self.lock(index);
            let _ = into.add(&shard.second);
            shard.second.reset();
        }
    }

    /// Every shard's totals, merged.
    pub fn merged(&self) -> UserRecorder {
        let mut merged = UserRecorder::default();
        for index in 0..self.shards.len() {
            merged.merge(&self.lock(index).totals);
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Hop;
    use std::time::Duration;

    #[test]
    fn users_on_different_shards_are_merged_and_seconds_taken_once() {
        let shards = Shards::new(3);
        for user in 0..7 {
            let mut shard = shards.lock(user);
            shard
                .totals
                .hop(Hop::ALL[0])
                .record(Duration::from_millis(1 + user as u64), None);
            let _ = shard.second.record(1_000);
        }
        let merged = shards.merged();
        let (_, latency) = merged.hops().next().expect("a hop");
        assert_eq!(latency.count(), 7);
        let mut second = histogram();
        shards.take_second(&mut second);
        assert_eq!(second.len(), 7);
        let mut next = histogram();
        shards.take_second(&mut next);
        assert_eq!(next.len(), 0, "a second's samples are taken once");
        assert_eq!(shards.merged().hops().next().expect("a hop").1.count(), 7);
    }

    #[test]
    fn shards_follow_the_generator_threads() {
        assert_eq!(Shards::for_threads(2).count(), 2 * PER_THREAD);
        assert_eq!(Shards::for_threads(0).count(), PER_THREAD);
    }
}
