//! The scc backend: `scc::HashMap` (lock-free reads of bucket arrays, per-bucket locks) under the
//! shared in-memory store.

use super::id::{IdBuildHasher, SessionId};
use super::memory::{Entry, MemoryMap, MemoryStore, Write};
use super::record::{Payload, SessionData};

/// The map: keys hashed by their own random bits ([`IdBuildHasher`]).
pub type SessionSccMap<P = SessionData> = scc::HashMap<SessionId, Entry<P>, IdBuildHasher>;

/// Sessions in an [`scc::HashMap`]. Lookups use `read_sync` (shared bucket lock, no `async`
/// layer); `get_*` would take the bucket's write lock.
pub type SccStore<P = SessionData> = MemoryStore<SessionSccMap<P>, P>;

impl<P: Payload> MemoryMap<P> for SessionSccMap<P> {
    const NAME: &'static str = "scc";

    fn with_capacity(capacity: usize) -> Self {
        scc::HashMap::with_capacity_and_hasher(capacity, IdBuildHasher::default())
    }

    async fn insert_or_return(&self, id: SessionId, entry: Entry<P>) -> Result<(), Entry<P>> {
        self.insert_async(id, entry)
            .await
            .map_err(|(_, entry)| entry)
    }

    async fn take(&self, id: &SessionId) -> Option<Entry<P>> {
        self.remove_async(id).await.map(|(_, entry)| entry)
    }

    #[inline]
    fn read<R>(&self, id: &SessionId, reader: impl FnOnce(&Entry<P>) -> R) -> Option<R> {
        self.read_sync(id, |_, entry| reader(entry))
    }

    async fn update<R: Send>(
        &self,
        id: &SessionId,
        mut writer: impl FnMut(&mut Entry<P>) -> Write<R> + Send,
    ) -> Option<R> {
        self.update_async(id, |_, entry| match writer(entry) {
            Write::Kept(outcome) | Write::Changed(outcome) => outcome,
        })
        .await
    }

    async fn remove_if(
        &self,
        id: &SessionId,
        condition: impl Fn(&Entry<P>) -> bool + Send,
    ) -> bool {
        self.remove_if_async(id, move |entry| condition(entry))
            .await
            .is_some()
    }

    /// One bucket locked at a time: a lookup waits at most for one bucket's check.
    fn remove_expired(&self, expired: impl Fn(&Entry<P>) -> bool + Sync) -> usize {
        let mut removed = 0;
        self.retain_sync(|_, entry| {
            let keep = !expired(entry);
            removed += usize::from(!keep);
            keep
        });
        removed
    }

    /// O(N): scc counts by reading every bucket's metadata. Used by reports, not requests.
    fn entry_count(&self) -> usize {
        scc::HashMap::len(self)
    }
}
