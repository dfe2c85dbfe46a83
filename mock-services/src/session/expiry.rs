//! The expiry queue of an in-memory store: every session's ID filed under the second it may
//! expire, so a sweep visits only the sessions whose time has come, never the whole map.
//!
//! Checked lazily: a lookup's extension does not touch the queue. When a session's second comes
//! the sweep reads it; if it was extended meanwhile it is filed again under its new deadline, if
//! it expired it is removed, if it is gone (deleted, rotated) its ID is dropped. A session in
//! use is so visited once per idle timeout, not once per sweep.
//!
//! Why a queue and not a cursor over the map: DashMap's shards are reachable only through its
//! raw API, scc has no iterator that survives between ticks, and papaya would hold a guard
//! (and its garbage) for as long as the cursor lived. Each queued ID costs 16 bytes (more while
//! its second's vector has spare room) and one short lock per `create` or `rotate`.

use super::id::SessionId;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The queue's resolution: IDs are filed by the second (of Unix time) their deadline falls in.
/// A sweep takes every second up to the current one, and files a session that is still live
/// but due within the current second again under the next one, to be looked at on a later
/// sweep.
const SLOT_MILLIS: u64 = 1_000;

/// Shards of the queue, so that creates on many threads seldom meet on one lock.
const SHARDS: usize = 16;

/// One shard: IDs by the second (of Unix time) of their deadline.
type Slots = BTreeMap<u64, Vec<SessionId>>;

/// Session IDs filed by the second of their deadline, in [`SHARDS`] independently locked
/// parts (an ID's shard is chosen by its random bits).
#[derive(Debug)]
pub(super) struct ExpiryQueue {
    shards: Box<[Mutex<Slots>]>,
}

impl ExpiryQueue {
    pub(super) fn new() -> Self {
        ExpiryQueue {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    fn shard(&self, id: &SessionId) -> &Mutex<Slots> {
        &self.shards[usize::from(id.as_bytes()[15]) % SHARDS]
    }

    /// Files `id` under the second of `deadline` (Unix milliseconds).
    pub(super) fn file(&self, id: SessionId, deadline: u64) {
        let mut slots = lock(self.shard(&id));
        slots.entry(deadline / SLOT_MILLIS).or_default().push(id);
    }

    /// Files `id` again after a sweep found it live at `now`: under its deadline's second, but
    /// never the current one (taken again at once, it would be visited again within the same
    /// tick); a session due later in this second is freed on the next tick instead.
    pub(super) fn file_again(&self, id: SessionId, deadline: u64, now: u64) {
        let next_second = (now / SLOT_MILLIS + 1) * SLOT_MILLIS;
        self.file(id, deadline.max(next_second));
    }

    /// Moves into `due` up to `budget` IDs filed under seconds up to and including the one of
    /// `now`, earliest seconds first; the rest stay for the next call, and the answer says
    /// whether any due ones did. The budget is shared out among the shards, and what a shard
    /// with fewer due IDs leaves goes to the others.
    pub(super) fn take_due(&self, now: u64, budget: usize, due: &mut Vec<SessionId>) -> bool {
        let current = now / SLOT_MILLIS;
        let mut left = budget;
        loop {
            let share = left.div_ceil(SHARDS);
            let mut more = false;
            for shard in &*self.shards {
                let mut slots = lock(shard);
                let taken = take_from(&mut slots, current, share.min(left), due);
                left -= taken;
                more |= slots
                    .first_key_value()
                    .is_some_and(|(&second, _)| second <= current);
            }
            if !more || left == 0 {
                return more;
            }
        }
    }

    /// IDs filed now (those of sessions deleted or rotated since included, until their second).
    pub(super) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(shard).values().map(Vec::len).sum::<usize>())
            .sum()
    }
}

/// A shard's lock. A poisoned one only means another thread panicked while pushing or
/// taking: the map itself is whole, so it is used as it is.
fn lock(shard: &Mutex<Slots>) -> std::sync::MutexGuard<'_, Slots> {
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Moves up to `most` IDs of seconds up to `current` from `slots` into `due`; how many.
fn take_from(slots: &mut Slots, current: u64, most: usize, due: &mut Vec<SessionId>) -> usize {
    let mut left = most;
    while left > 0 {
        let Some(mut slot) = slots.first_entry() else {
            break;
        };
        if *slot.key() > current {
            break;
        }
        let ids = slot.get_mut();
        if ids.len() <= left {
            left -= ids.len();
            due.append(&mut slot.remove());
        } else {
            due.extend(ids.drain(ids.len() - left..));
            left = 0;
        }
    }
    most - left
}

#[cfg(test)]
mod tests {
    use super::{ExpiryQueue, SHARDS, SLOT_MILLIS};
    use crate::session::SessionId;

    fn id(n: u8) -> SessionId {
        let mut bytes = [n; 16];
        bytes[15] = n;
        SessionId::from_bytes(bytes)
    }

    #[test]
    fn only_ids_whose_second_has_come_are_taken_earliest_first() {
        let queue = ExpiryQueue::new();
        let now = 1_000 * SLOT_MILLIS;
        queue.file(id(1), now + 2 * SLOT_MILLIS);
        queue.file(id(2), now - 5 * SLOT_MILLIS);
        queue.file(id(3), now + 999); // due later within the current second: taken, re-checked
        queue.file(id(4), now + SLOT_MILLIS);
        let mut due = Vec::new();
        assert!(!queue.take_due(now, usize::MAX, &mut due), "none left due");
        due.sort();
        assert_eq!(due, [id(2), id(3)]);
        assert_eq!(queue.len(), 2);
        due.clear();
        queue.take_due(now + 2 * SLOT_MILLIS, usize::MAX, &mut due);
        due.sort();
        assert_eq!(due, [id(1), id(4)]);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn a_session_filed_again_is_never_under_the_current_second() {
        let queue = ExpiryQueue::new();
        let now = 1_000 * SLOT_MILLIS + 300;
        queue.file_again(id(1), now + 200, now); // due later this second: the next one
        queue.file_again(id(2), now + 5 * SLOT_MILLIS, now); // its own second
        let mut due = Vec::new();
        assert!(!queue.take_due(now, usize::MAX, &mut due));
        assert!(due.is_empty());
        queue.take_due(now + SLOT_MILLIS, usize::MAX, &mut due);
        assert_eq!(due, [id(1)]);
    }

    #[test]
    fn a_budget_leaves_the_rest_for_the_next_sweep_and_an_idle_shards_share_goes_to_others() {
        let queue = ExpiryQueue::new();
        // 40 IDs in one shard, all due, the other shards empty: the budget is theirs too.
        for n in 0..40u8 {
            let mut bytes = [n; 16];
            bytes[15] = 0;
            queue.file(SessionId::from_bytes(bytes), u64::from(n) * SLOT_MILLIS);
        }
        let now = 100 * SLOT_MILLIS;
        let mut due = Vec::new();
        assert!(queue.take_due(now, 1, &mut due), "more are due");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].as_bytes()[0], 0, "the earliest second first");
        assert!(queue.take_due(now, 2 * SHARDS, &mut due));
        assert_eq!(due.len(), 1 + 2 * SHARDS);
        assert_eq!(queue.len(), 40 - 1 - 2 * SHARDS);
        assert!(!queue.take_due(now, usize::MAX, &mut due));
        assert_eq!(due.len(), 40);
        let mut seen: Vec<u8> = due.iter().map(|id| id.as_bytes()[0]).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 40, "each ID once");
    }
}
