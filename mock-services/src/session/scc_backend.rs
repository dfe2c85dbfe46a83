//! The scc backend: `scc::HashMap` (lock-free reads of bucket arrays, per-bucket locks) under the
//! shared in-memory store.

use super::id::{IdBuildHasher, SessionId};
use super::memory::{Entry, MemoryMap, MemoryStore, Write};
use super::record::{Payload, SessionData};

/// The map: keys hashed by their own random bits ([`IdBuildHasher`]).
pub type SessionSccMap<P = SessionData> = scc::HashMap<SessionId, Entry<P>, IdBuildHasher>;

/// Sessions in an [`scc::HashMap`]. Every operation uses scc's synchronous API: a bucket lock
/// is held only while the call runs, never across an `.await`. (Mixing scc's `read_sync` with
/// its `*_async` writers on one runtime deadlocked a store run in testing: both workers blocked
/// in `read_sync` behind a bucket lock an async writer held while suspended.) Lookups use
/// `read_sync` (shared bucket lock); `get_*` would take the bucket's write lock.
pub type SccStore<P = SessionData> = MemoryStore<SessionSccMap<P>, P>;

impl<P: Payload> MemoryMap<P> for SessionSccMap<P> {
    const NAME: &'static str = vocabulary::Backend::Scc.name();

    fn with_capacity(capacity: usize) -> Self {
        scc::HashMap::with_capacity_and_hasher(capacity, IdBuildHasher::default())
    }

    async fn insert_or_return(&self, id: SessionId, entry: Entry<P>) -> Result<(), Entry<P>> {
        self.insert_sync(id, entry).map_err(|(_, entry)| entry)
    }

    async fn take(&self, id: &SessionId) -> Option<Entry<P>> {
        self.remove_sync(id).map(|(_, entry)| entry)
    }

    // Always inlined: `#[inline]` alone left it out of line under the `async` API, and the
    // lookup's answer came back through memory (the book's 2026-12-07 hot-path page).
    #[inline(always)]
    fn read<R>(&self, id: &SessionId, reader: impl FnOnce(&Entry<P>) -> R) -> Option<R> {
        self.read_sync(id, |_, entry| reader(entry))
    }

    async fn update<R: Send>(
        &self,
        id: &SessionId,
        mut writer: impl FnMut(&mut Entry<P>) -> Write<R> + Send,
    ) -> Option<R> {
        self.update_sync(id, |_, entry| match writer(entry) {
            Write::Kept(outcome) | Write::Changed(outcome) => outcome,
        })
    }

    async fn remove_if(
        &self,
        id: &SessionId,
        condition: impl Fn(&Entry<P>) -> bool + Send,
    ) -> bool {
        self.remove_if_sync(id, move |entry| condition(entry))
            .is_some()
    }

    fn remove_expired(&self, id: &SessionId, expired: impl Fn(&Entry<P>) -> bool) -> bool {
        self.remove_if_sync(id, |entry| expired(entry)).is_some()
    }

    /// O(N): scc counts by reading every bucket's metadata. Used by reports, not requests.
    fn entry_count(&self) -> usize {
        scc::HashMap::len(self)
    }
}
