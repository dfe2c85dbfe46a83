//! What the in-memory backends share: the stored entry, the store logic over any concurrent map,
//! and the background sweeper that frees expired entries through the expiry queue.
//!
//! The in-memory backends differ only in their map ([`MemoryMap`]); everything a session does
//! (expiry, extension, compare-and-swap save) is written once here, so a benchmark of the
//! backends compares the maps, not copies of the logic.
//!
//! An entry is kept small on purpose (48 bytes, 64 with its key; arithmetic in ARCHITECTURE.md):
//! the user ID inline, the data behind one shared pointer (one shared copy for every session
//! whose data is [`Payload::empty`]), and only two instants — creation, and last use as 32-bit
//! milliseconds after it — from which the policy gives both deadlines. The sweeper does not
//! scan the map: it visits the sessions the [`ExpiryQueue`] says are due, a bounded batch at a
//! time (16 bytes per queued ID beside the entry, more while a second's vector has spare room;
//! a deleted or rotated session's old ID stays queued until its deadline).

use super::clock::Clock;
use super::error::StoreError;
use super::expiry::ExpiryQueue;
use super::id::SessionId;
use super::record::{Payload, Session, SessionData, SessionPolicy, UserId};
use super::{SaveOutcome, SessionStore};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Settings of an in-memory backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfig {
    /// How often the sweeper frees the sessions that expired since its last tick; `None`
    /// disables it (expired entries then stay until swept by [`MemoryStore::sweep_expired`]).
    pub sweep_interval: Option<Duration>,
    /// Initial capacity hint, to keep rehashing out of prefilled runs.
    pub capacity: usize,
    /// Where "now" comes from: the system's coarse clock, or a test's manual one.
    pub clock: Clock,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            sweep_interval: Some(Duration::from_secs(1)),
            capacity: 0,
            clock: Clock::System,
        }
    }
}

/// The store's timeouts in milliseconds, computed once: every liveness check reads them.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    idle: u64,
    absolute: u64,
}

/// The longest absolute timeout an in-memory store keeps: a session's last use is stored as
/// 32-bit milliseconds after its creation (49.7 days). `build_store` refuses longer ones;
/// [`MemoryStore::new`] caps them.
pub const MAX_ABSOLUTE_TIMEOUT: Duration = Duration::from_millis(u32::MAX as u64);

/// One stored session. The one field the hot path writes, `last_used`, is an atomic, so
/// `load_and_extend` needs only the map's *read* lock and lookups of one shard run in parallel.
/// Both deadlines follow from `created_at`, `last_used` and the store's policy.
#[derive(Debug)]
pub struct Entry<P = SessionData> {
    user_id: UserId,
    data: Arc<P>,
    created_at: u64,
    /// Milliseconds from creation to the last use. A live session is younger than its absolute
    /// timeout, which is at most [`MAX_ABSOLUTE_TIMEOUT`], so this never saturates while it
    /// matters.
    last_used: AtomicU32,
    /// Successful saves, wrapping: compare-and-swap needs only that a save changes it.
    version: u32,
}

impl<P> Entry<P> {
    fn absolute_deadline(&self, timeouts: Timeouts) -> u64 {
        self.created_at.saturating_add(timeouts.absolute)
    }

    fn last_seen(&self) -> u64 {
        self.created_at
            .saturating_add(u64::from(self.last_used.load(Ordering::Relaxed)))
    }

    /// When the session ends had it last been used at `last_seen`: the idle deadline, capped
    /// by the absolute one.
    #[inline]
    fn ends_after(&self, last_seen: u64, timeouts: Timeouts) -> u64 {
        last_seen
            .saturating_add(timeouts.idle)
            .min(self.absolute_deadline(timeouts))
    }

    /// The idle deadline, already capped by the absolute one: when the session ends.
    fn expires_at(&self, timeouts: Timeouts) -> u64 {
        self.ends_after(self.last_seen(), timeouts)
    }

    fn is_live(&self, now: u64, timeouts: Timeouts) -> bool {
        now < self.expires_at(timeouts)
    }

    fn snapshot(&self, id: SessionId, timeouts: Timeouts) -> Session<P> {
        self.snapshot_seen_at(id, self.last_seen(), timeouts)
    }

    /// The session as a caller sees it, its last use taken as `last_seen`.
    #[inline]
    fn snapshot_seen_at(&self, id: SessionId, last_seen: u64, timeouts: Timeouts) -> Session<P> {
        Session {
            id,
            user_id: self.user_id.clone(),
            created_at: self.created_at,
            last_seen,
            idle_expires_at: self.ends_after(last_seen, timeouts),
            absolute_expires_at: self.absolute_deadline(timeouts),
            version: u64::from(self.version),
            data: Arc::clone(&self.data),
        }
    }

    /// The session as a lookup at `now` hands it back, extended first when `extend`; `None`
    /// when it has expired. The last use is read once (the liveness check and the snapshot
    /// share it): each read of the atomic is a load the compiler may not merge.
    #[inline]
    fn live_snapshot(
        &self,
        id: SessionId,
        now: u64,
        timeouts: Timeouts,
        extend: bool,
    ) -> Option<Session<P>> {
        let mut last_seen = self.last_seen();
        if now >= self.ends_after(last_seen, timeouts) {
            return None;
        }
        if extend {
            self.extend(now);
            last_seen = last_seen.max(now);
        }
        Some(self.snapshot_seen_at(id, last_seen, timeouts))
    }

    /// Slides the idle deadline by moving the last use forward. `fetch_max` keeps it monotonic
    /// when two requests of one session race, whatever order their clocks were read in.
    pub(super) fn extend(&self, now: u64) {
        let after = u32::try_from(now.saturating_sub(self.created_at)).unwrap_or(u32::MAX);
        self.last_used.fetch_max(after, Ordering::Relaxed);
    }
}

impl<P> Entry<P> {
    /// Carries the last use over from the entry `self` replaced (a copy-on-write map's save):
    /// an extension of the old copy that landed after the copy was made is not lost.
    pub(super) fn carry_last_use_from(&self, old: &Entry<P>) {
        self.last_used
            .fetch_max(old.last_used.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// The same allocation: how a copy-on-write map tells an entry from its replacement.
    pub(super) fn same_as(&self, other: &Entry<P>) -> bool {
        std::ptr::eq(self, other)
    }
}

/// A copy of an entry as it is now (its last use read once): what a copy-on-write map writes
/// to, and what one hands back from `take`.
impl<P> Clone for Entry<P> {
    fn clone(&self) -> Self {
        Entry {
            user_id: self.user_id.clone(),
            data: Arc::clone(&self.data),
            created_at: self.created_at,
            last_used: AtomicU32::new(self.last_used.load(Ordering::SeqCst)),
            version: self.version,
        }
    }
}

/// What an [`MemoryMap::update`] writer did to the entry it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write<R> {
    /// Left it as it was: nothing to store.
    Kept(R),
    /// Changed it: store it.
    Changed(R),
}

/// The concurrent map under an in-memory backend, keyed by [`SessionId`] with
/// [`IdBuildHasher`]. Closures run under the map's lock for that key (or, in a lock-free map,
/// on a private copy) and must not block or await: that is what keeps DashMap guards from
/// living across an `.await` (which can deadlock a shard).
///
/// Two kinds of map fit: ones that change an entry in place under an exclusive lock (DashMap,
/// scc), and copy-on-write ones that publish a changed copy (papaya). The hot path's one write,
/// the extension, is an atomic on a shared reference in both; [`MemoryMap::keep_extension`] is
/// how a copy-on-write map makes sure a save's copy does not lose an extension.
pub trait MemoryMap<P: Payload = SessionData>: Send + Sync + 'static {
    /// Backend name for reports.
    const NAME: &'static str;

    fn with_capacity(capacity: usize) -> Self;

    /// Inserts unless the key exists; on collision hands the entry back.
    fn insert_or_return(
        &self,
        id: SessionId,
        entry: Entry<P>,
    ) -> impl Future<Output = Result<(), Entry<P>>> + Send;

    /// Runs `reader` on the entry under a shared lock. Synchronous, as the maps' own lookups
    /// are: a lookup that met a writer on its shard or bucket waits the few nanoseconds that
    /// writer holds it, and an `async` layer here cost the 1M-session hit a third of its time
    /// (it keeps the CPU from overlapping one lookup's cache misses with the next; README).
    fn read<R>(&self, id: &SessionId, reader: impl FnOnce(&Entry<P>) -> R) -> Option<R>;

    /// Runs `writer` on the entry and stores what it changed: in place under an exclusive
    /// lock, or on a copy that is published if the entry did not change meanwhile (then the
    /// writer may run again on a fresh copy, so it is `FnMut`). A copy-on-write map carries
    /// the replaced entry's last use over after publishing ([`Entry::carry_last_use_from`]).
    fn update<R: Send>(
        &self,
        id: &SessionId,
        writer: impl FnMut(&mut Entry<P>) -> Write<R> + Send,
    ) -> impl Future<Output = Option<R>> + Send;

    /// Removes the entry and hands it back.
    fn take(&self, id: &SessionId) -> impl Future<Output = Option<Entry<P>>> + Send;

    /// Removes the entry when `condition` holds; `true` when removed.
    fn remove_if(
        &self,
        id: &SessionId,
        condition: impl Fn(&Entry<P>) -> bool + Send,
    ) -> impl Future<Output = bool> + Send;

    /// Called after a lookup extended the entry of `id` at `now`. In-place maps have nothing
    /// to do (a save takes the exclusive lock, so it cannot overlap an extension). A
    /// copy-on-write map extends whatever copy is current until that stops changing, so an
    /// extension that landed on a copy a save was replacing reaches the replacement.
    #[inline]
    fn keep_extension(&self, id: &SessionId, now: u64) {
        let _ = (id, now);
    }

    /// Removes the entry of `id` if `expired` holds for it, checked under the entry's exclusive
    /// lock (or on the current copy); `true` when removed. Synchronous: the sweeper calls it on
    /// a blocking thread, once per due session.
    fn remove_expired(&self, id: &SessionId, expired: impl Fn(&Entry<P>) -> bool) -> bool;

    /// Entries held now, expired-but-unswept ones included.
    fn entry_count(&self) -> usize;
}

/// A session store over an in-memory concurrent map, holding payload `P`. Cheap to clone (one
/// `Arc`).
#[derive(Debug)]
pub struct MemoryStore<M, P = SessionData> {
    shared: Arc<Shared<M, P>>,
}

impl<M, P> Clone for MemoryStore<M, P> {
    fn clone(&self) -> Self {
        MemoryStore {
            shared: Arc::clone(&self.shared),
        }
    }
}

#[derive(Debug)]
struct Shared<M, P> {
    map: M,
    policy: SessionPolicy,
    timeouts: Timeouts,
    clock: Clock,
    /// The one copy of [`Payload::empty`] every session created with it points to.
    empty: Option<Arc<P>>,
    /// Every session's ID under the second it may expire: what the sweeper visits.
    queue: ExpiryQueue,
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Due IDs taken from the queue and looked at.
    pub visited: usize,
    /// Expired sessions freed.
    pub removed: usize,
    /// Whether due IDs were left for the next sweep (the budget ran out).
    pub more: bool,
}

/// Due sessions a background sweep visits per batch (one blocking task each): 3 ms of work on
/// DashMap when all are expired (longer on scc and papaya, whose tables shrink or whose freed
/// entries are reclaimed in bulk), off the request path.
pub const SWEEP_BATCH: usize = 16_384;

/// Batches per tick at most: a tick frees up to 262,144 sessions (on a 1 s interval, far more
/// than any login rate here creates); a backlog beyond it waits for the next tick, so one tick's
/// work is bounded however many sessions expire at once.
const SWEEP_BATCHES_PER_TICK: usize = 16;

impl<M: MemoryMap<P>, P: Payload> MemoryStore<M, P> {
    /// Builds the store and, when `config.sweep_interval` is set and a tokio runtime is running,
    /// starts its sweeper. The sweeper holds only a weak reference and stops once the last clone
    /// of the store is dropped.
    pub fn new(policy: SessionPolicy, config: &MemoryConfig) -> Self {
        let shared = Arc::new(Shared {
            map: M::with_capacity(config.capacity),
            policy,
            timeouts: Timeouts {
                idle: policy.idle_millis(),
                absolute: policy.absolute_millis().min(u64::from(u32::MAX)),
            },
            clock: config.clock.ticked(),
            empty: P::empty().map(Arc::new),
            queue: ExpiryQueue::new(),
        });
        if let (Some(interval), Ok(runtime)) =
            (config.sweep_interval, tokio::runtime::Handle::try_current())
        {
            runtime.spawn(sweep_forever::<M, P>(Arc::downgrade(&shared), interval));
        }
        MemoryStore { shared }
    }

    /// [`SessionStore::load`] without the `async` layer: in-memory lookups never wait on I/O.
    #[inline]
    pub fn load_now(&self, id: &SessionId) -> Option<Session<P>> {
        self.lookup(id, false)
    }

    /// [`SessionStore::load_and_extend`] without the `async` layer.
    #[inline]
    pub fn load_and_extend_now(&self, id: &SessionId) -> Option<Session<P>> {
        self.lookup(id, true)
    }

    /// The one lookup both forms share; `extend` is a constant at each call site, so the
    /// inlined branch costs nothing. Always inlined: with a plain `#[inline]` the `async` arms
    /// of `AnyStore` called it out of line, and its `Option<Session>` came back through memory
    /// in pieces a later load had to wait for; inlined, DashMap's async lookup went from 1.23×
    /// to 1.08× the bare map at 1k and from 1.41× to 1.15× at 100k with lookups in series
    /// (`bench/examples/lookup_regimes.rs`; the book's 2026-12-07 hot-path page).
    #[inline(always)]
    fn lookup(&self, id: &SessionId, extend: bool) -> Option<Session<P>> {
        let shared = &*self.shared;
        let now = shared.clock.now_millis();
        let timeouts = shared.timeouts;
        let found = shared
            .map
            .read(id, |entry| entry.live_snapshot(*id, now, timeouts, extend))
            .flatten();
        if extend && found.is_some() {
            shared.map.keep_extension(id, now);
        }
        found
    }

    /// Frees the sessions that have expired by the store's clock; returns how many it removed.
    /// Blocking, and it visits only the sessions due by now (see [`ExpiryQueue`]): one that an
    /// earlier sweep found live and filed under a later second waits for that second. The
    /// background sweeper does the same in bounded batches. Tests and benches may call it.
    pub fn sweep_expired(&self) -> usize {
        self.shared.sweep(usize::MAX).removed
    }

    /// One bounded sweep: visits at most `budget` due sessions.
    pub fn sweep_some(&self, budget: usize) -> Swept {
        self.shared.sweep(budget)
    }

    /// Session IDs in the expiry queue (deleted and rotated ones stay until their second).
    pub fn queued(&self) -> usize {
        self.shared.queue.len()
    }
}

impl<M: MemoryMap<P>, P: Payload> Shared<M, P> {
    fn sweep(&self, budget: usize) -> Swept {
        let now = self.clock.now_millis();
        let timeouts = self.timeouts;
        let mut due = Vec::new();
        let more = self.queue.take_due(now, budget, &mut due);
        let mut swept = Swept {
            visited: due.len(),
            removed: 0,
            more,
        };
        for id in due {
            // Still live: filed again under its deadline (it was extended, or is due later in
            // this second). Gone already (deleted, rotated): nothing to do.
            let live_until = self.map.read(&id, |entry| {
                entry
                    .is_live(now, timeouts)
                    .then(|| entry.expires_at(timeouts))
            });
            match live_until {
                Some(Some(deadline)) => self.queue.file_again(id, deadline, now),
                Some(None) => {
                    if self
                        .map
                        .remove_expired(&id, |entry| !entry.is_live(now, timeouts))
                    {
                        swept.removed += 1;
                    } else if let Some(deadline) =
                        self.map.read(&id, |entry| entry.expires_at(timeouts))
                    {
                        // A lookup that read the clock a tick earlier extended it in between:
                        // live again, so filed again, or nothing would ever free it.
                        self.queue.file_again(id, deadline, now);
                    }
                }
                None => {}
            }
        }
        swept
    }
}

async fn sweep_forever<M: MemoryMap<P>, P: Payload>(
    shared: Weak<Shared<M, P>>,
    interval: Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick of an interval is immediate; a new store has nothing to sweep.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        for _ in 0..SWEEP_BATCHES_PER_TICK {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            // Each visit is a map lookup: off the runtime's workers, so requests keep being
            // served.
            let Ok(swept) = tokio::task::spawn_blocking(move || shared.sweep(SWEEP_BATCH)).await
            else {
                return; // the runtime is shutting down
            };
            if !swept.more {
                break;
            }
        }
    }
}

impl<M: MemoryMap<P>, P: Payload> SessionStore<P> for MemoryStore<M, P> {
    fn backend_name(&self) -> &'static str {
        M::NAME
    }

    fn policy(&self) -> SessionPolicy {
        self.shared.policy
    }

    async fn create(&self, user_id: &str, data: P) -> Result<Session<P>, StoreError> {
        let shared = &self.shared;
        let now = shared.clock.now_millis();
        let user_id = UserId::new(user_id);
        let data = match &shared.empty {
            Some(empty) if data.is_empty() => Arc::clone(empty),
            _ => Arc::new(data),
        };
        // A collision of two 128-bit random IDs is not expected in the life of the universe;
        // the retry only makes "the store never overwrites a session" hold unconditionally.
        for _ in 0..4 {
            let id = SessionId::generate();
            let entry = Entry {
                user_id: user_id.clone(),
                data: Arc::clone(&data),
                created_at: now,
                last_used: AtomicU32::new(0),
                version: 0,
            };
            let session = entry.snapshot(id, shared.timeouts);
            if shared.map.insert_or_return(id, entry).await.is_ok() {
                shared.queue.file(id, session.expires_at());
                return Ok(session);
            }
        }
        Err(StoreError::Unavailable(
            "could not mint an unused session ID".into(),
        ))
    }

    async fn load(&self, id: &SessionId) -> Result<Option<Session<P>>, StoreError> {
        Ok(self.load_now(id))
    }

    async fn load_and_extend(&self, id: &SessionId) -> Result<Option<Session<P>>, StoreError> {
        Ok(self.load_and_extend_now(id))
    }

    async fn save(&self, session: &mut Session<P>) -> Result<SaveOutcome, StoreError> {
        let shared = &self.shared;
        let now = shared.clock.now_millis();
        let timeouts = shared.timeouts;
        let expected = session.version;
        let data = Arc::clone(&session.data);
        let outcome = shared
            .map
            .update(&session.id, |entry| {
                if !entry.is_live(now, timeouts) {
                    Write::Kept((SaveOutcome::Gone, expected))
                } else if u64::from(entry.version) != expected {
                    Write::Kept((SaveOutcome::Conflict, expected))
                } else {
                    entry.data = Arc::clone(&data);
                    entry.version = entry.version.wrapping_add(1);
                    Write::Changed((SaveOutcome::Saved, u64::from(entry.version)))
                }
            })
            .await
            .unwrap_or((SaveOutcome::Gone, expected));
        session.version = outcome.1;
        Ok(outcome.0)
    }

    async fn rotate(&self, id: &SessionId) -> Result<Option<Session<P>>, StoreError> {
        let shared = &self.shared;
        let now = shared.clock.now_millis();
        let Some(mut entry) = shared.map.take(id).await else {
            return Ok(None);
        };
        if !entry.is_live(now, shared.timeouts) {
            return Ok(None);
        }
        // The entry moves as it is: same creation and last use, so the same deadlines.
        for _ in 0..4 {
            let new_id = SessionId::generate();
            let session = entry.snapshot(new_id, shared.timeouts);
            match shared.map.insert_or_return(new_id, entry).await {
                Ok(()) => {
                    shared.queue.file(new_id, session.expires_at());
                    return Ok(Some(session));
                }
                Err(back) => entry = back,
            }
        }
        Err(StoreError::Unavailable(
            "could not mint an unused session ID".into(),
        ))
    }

    async fn delete(&self, id: &SessionId) -> Result<bool, StoreError> {
        Ok(self.shared.map.remove_if(id, |_| true).await)
    }

    async fn live_count(&self) -> Result<u64, StoreError> {
        Ok(self.shared.map.entry_count() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::Entry;

    /// The layout the memory target rests on (ARCHITECTURE.md): 48 bytes, 64 with the key.
    #[test]
    fn an_entry_is_six_words() {
        assert_eq!(size_of::<Entry>(), 48);
    }
}
