//! What the in-memory backends share: the stored entry, the store logic over any concurrent map,
//! and the background sweeper that frees expired entries with bounded work per tick.
//!
//! The two in-memory backends differ only in their map ([`MemoryMap`]); everything a session
//! does (expiry, extension, compare-and-swap save) is written once here, so a benchmark of the
//! two compares the maps, not two copies of the logic.

use super::error::StoreError;
use super::id::SessionId;
use super::record::{
    Payload, Session, SessionData, SessionPolicy, deadlines_at_creation, extended_idle_deadline,
};
use super::{SaveOutcome, SessionStore, clock::now_millis};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Settings of an in-memory backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfig {
    /// How often the sweeper wakes; `None` disables it (expired entries then stay until read).
    pub sweep_interval: Option<Duration>,
    /// At most this many due entries are examined per tick, so a sweep never stalls the map.
    pub sweep_batch: usize,
    /// Initial capacity hint, to keep rehashing out of prefilled runs.
    pub capacity: usize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            sweep_interval: Some(Duration::from_secs(1)),
            sweep_batch: 10_000,
            capacity: 0,
        }
    }
}

/// One stored session. The two fields the hot path writes are atomics, so `load_and_extend`
/// needs only the map's *read* lock and lookups of one shard run in parallel.
#[derive(Debug)]
pub struct Entry<P = SessionData> {
    user_id: Arc<str>,
    data: Arc<P>,
    created_at: u64,
    absolute_expires_at: u64,
    version: u64,
    last_seen: AtomicU64,
    idle_expires_at: AtomicU64,
}

impl<P> Entry<P> {
    fn expires_at(&self) -> u64 {
        self.idle_expires_at
            .load(Ordering::Relaxed)
            .min(self.absolute_expires_at)
    }

    fn is_live(&self, now: u64) -> bool {
        now < self.expires_at()
    }

    fn snapshot(&self, id: SessionId) -> Session<P> {
        Session {
            id,
            user_id: Arc::clone(&self.user_id),
            created_at: self.created_at,
            last_seen: self.last_seen.load(Ordering::Relaxed),
            idle_expires_at: self.idle_expires_at.load(Ordering::Relaxed),
            absolute_expires_at: self.absolute_expires_at,
            version: self.version,
            data: Arc::clone(&self.data),
        }
    }

    /// Slides the idle deadline. `fetch_max` keeps deadlines monotonic when two requests of one
    /// session race, whatever order their clocks were read in.
    fn extend(&self, now: u64, policy: &SessionPolicy) {
        let deadline = extended_idle_deadline(now, self.absolute_expires_at, policy);
        self.idle_expires_at.fetch_max(deadline, Ordering::Relaxed);
        self.last_seen.fetch_max(now, Ordering::Relaxed);
    }
}

/// The concurrent map under an in-memory backend. Closures run under the map's lock for that
/// key and must not block or await: that is what keeps DashMap guards from living across an
/// `.await` (which can deadlock a shard).
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

    /// Runs `reader` on the entry under a shared lock.
    fn read<R: Send>(
        &self,
        id: &SessionId,
        reader: impl FnOnce(&Entry<P>) -> R + Send,
    ) -> impl Future<Output = Option<R>> + Send;

    /// Runs `writer` on the entry under an exclusive lock.
    fn update<R: Send>(
        &self,
        id: &SessionId,
        writer: impl FnOnce(&mut Entry<P>) -> R + Send,
    ) -> impl Future<Output = Option<R>> + Send;

    /// Removes the entry and hands it back.
    fn take(&self, id: &SessionId) -> impl Future<Output = Option<Entry<P>>> + Send;

    /// Removes the entry when `condition` holds; `true` when removed.
    fn remove_if(
        &self,
        id: &SessionId,
        condition: impl FnOnce(&Entry<P>) -> bool + Send,
    ) -> impl Future<Output = bool> + Send;

    /// Entries held now, expired-but-unswept ones included.
    fn entry_count(&self) -> usize;
}

/// A session store over an in-memory concurrent map, holding payload `P`. Cheap to clone (one
/// `Arc`).
#[derive(Debug)]
pub struct MemoryStore<M, P = SessionData> {
    shared: Arc<Shared<M>>,
    payload: std::marker::PhantomData<fn() -> P>,
}

impl<M, P> Clone for MemoryStore<M, P> {
    fn clone(&self) -> Self {
        MemoryStore {
            shared: Arc::clone(&self.shared),
            payload: std::marker::PhantomData,
        }
    }
}

#[derive(Debug)]
struct Shared<M> {
    map: M,
    policy: SessionPolicy,
    /// Sessions by the deadline they had when last queued. A min-heap lets the sweeper visit
    /// only what is due instead of scanning the map; an entry extended since it was queued is
    /// pushed back with its new deadline when the sweeper reaches it.
    due: Mutex<BinaryHeap<Reverse<(u64, SessionId)>>>,
}

impl<M: MemoryMap<P>, P: Payload> MemoryStore<M, P> {
    /// Builds the store and, when `config.sweep_interval` is set and a tokio runtime is running,
    /// starts its sweeper. The sweeper holds only a weak reference and stops once the last clone
    /// of the store is dropped.
    pub fn new(policy: SessionPolicy, config: &MemoryConfig) -> Self {
        let shared = Arc::new(Shared {
            map: M::with_capacity(config.capacity),
            policy,
            due: Mutex::new(BinaryHeap::with_capacity(config.capacity)),
        });
        if let (Some(interval), Ok(runtime)) =
            (config.sweep_interval, tokio::runtime::Handle::try_current())
        {
            runtime.spawn(sweep_forever::<M, P>(
                Arc::downgrade(&shared),
                interval,
                config.sweep_batch.max(1),
            ));
        }
        MemoryStore {
            shared,
            payload: std::marker::PhantomData,
        }
    }

    /// Frees up to `max` entries whose queued deadline has passed; returns how many it removed.
    /// The background sweeper calls this each tick; tests and benches may call it directly.
    pub async fn sweep_expired(&self, max: usize) -> usize {
        self.shared.sweep::<P>(now_millis(), max).await
    }
}

impl<M> Shared<M> {
    fn queue(&self, deadline: u64, id: SessionId) {
        // A poisoned lock only means another thread panicked while pushing; the heap itself is
        // still a valid heap, so keep going rather than stop sweeping forever.
        let mut due = self
            .due
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        due.push(Reverse((deadline, id)));
    }

    async fn sweep<P: Payload>(&self, now: u64, max: usize) -> usize
    where
        M: MemoryMap<P>,
    {
        let batch: Vec<SessionId> = {
            let mut due = self
                .due
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut batch = Vec::new();
            while batch.len() < max {
                match due.peek() {
                    Some(Reverse((deadline, _))) if *deadline <= now => {}
                    _ => break,
                }
                if let Some(Reverse((_, id))) = due.pop() {
                    batch.push(id);
                }
            }
            batch
        };
        let mut removed = 0;
        for id in batch {
            if self.map.remove_if(&id, |entry| !entry.is_live(now)).await {
                removed += 1;
            } else if let Some(deadline) = self.map.read(&id, Entry::<P>::expires_at).await {
                // Still live: it was extended after being queued.
                self.queue(deadline, id);
            }
        }
        removed
    }
}

async fn sweep_forever<M: MemoryMap<P>, P: Payload>(
    shared: Weak<Shared<M>>,
    interval: Duration,
    batch: usize,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.sweep::<P>(now_millis(), batch).await;
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
        let now = now_millis();
        let (idle_deadline, absolute_deadline) = deadlines_at_creation(now, &self.shared.policy);
        let user_id: Arc<str> = Arc::from(user_id);
        let data = Arc::new(data);
        // A collision of two 128-bit random IDs is not expected in the life of the universe;
        // the retry only makes "the store never overwrites a session" hold unconditionally.
        for _ in 0..4 {
            let id = SessionId::generate();
            let entry = Entry {
                user_id: Arc::clone(&user_id),
                data: Arc::clone(&data),
                created_at: now,
                absolute_expires_at: absolute_deadline,
                version: 0,
                last_seen: AtomicU64::new(now),
                idle_expires_at: AtomicU64::new(idle_deadline),
            };
            if self.shared.map.insert_or_return(id, entry).await.is_ok() {
                self.shared.queue(idle_deadline, id);
                return Ok(Session {
                    id,
                    user_id,
                    created_at: now,
                    last_seen: now,
                    idle_expires_at: idle_deadline,
                    absolute_expires_at: absolute_deadline,
                    version: 0,
                    data,
                });
            }
        }
        Err(StoreError::Unavailable(
            "could not mint an unused session ID".into(),
        ))
    }

    async fn load(&self, id: &SessionId) -> Result<Option<Session<P>>, StoreError> {
        let now = now_millis();
        let found = self
            .shared
            .map
            .read(id, |entry| entry.is_live(now).then(|| entry.snapshot(*id)))
            .await;
        Ok(found.flatten())
    }

    async fn load_and_extend(&self, id: &SessionId) -> Result<Option<Session<P>>, StoreError> {
        let now = now_millis();
        let policy = self.shared.policy;
        let found = self
            .shared
            .map
            .read(id, |entry| {
                entry.is_live(now).then(|| {
                    entry.extend(now, &policy);
                    entry.snapshot(*id)
                })
            })
            .await;
        Ok(found.flatten())
    }

    async fn save(&self, session: &mut Session<P>) -> Result<SaveOutcome, StoreError> {
        let now = now_millis();
        let expected = session.version;
        let data = Arc::clone(&session.data);
        let outcome = self
            .shared
            .map
            .update(&session.id, |entry| {
                if !entry.is_live(now) {
                    SaveOutcome::Gone
                } else if entry.version != expected {
                    SaveOutcome::Conflict
                } else {
                    entry.data = data;
                    entry.version += 1;
                    SaveOutcome::Saved
                }
            })
            .await
            .unwrap_or(SaveOutcome::Gone);
        if outcome == SaveOutcome::Saved {
            session.version += 1;
        }
        Ok(outcome)
    }

    async fn rotate(&self, id: &SessionId) -> Result<Option<Session<P>>, StoreError> {
        let now = now_millis();
        let Some(entry) = self.shared.map.take(id).await else {
            return Ok(None);
        };
        if !entry.is_live(now) {
            return Ok(None);
        }
        let deadline = entry.expires_at();
        let mut entry = entry;
        for _ in 0..4 {
            let new_id = SessionId::generate();
            let session = entry.snapshot(new_id);
            match self.shared.map.insert_or_return(new_id, entry).await {
                Ok(()) => {
                    self.shared.queue(deadline, new_id);
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
        // The queued deadline stays in the heap; the sweeper drops it when it finds no entry.
        Ok(self.shared.map.remove_if(id, |_| true).await)
    }

    async fn live_count(&self) -> Result<u64, StoreError> {
        Ok(self.shared.map.entry_count() as u64)
    }
}
