//! The scc backend: `scc::HashMap` (lock-free reads of bucket arrays, per-bucket locks) under the
//! shared in-memory store.

use super::id::SessionId;
use super::memory::{Entry, MemoryMap, MemoryStore};
use super::record::{Payload, SessionData};

/// Sessions in an [`scc::HashMap`] with std's SipHash-1-3 hasher, randomly keyed per map.
/// Lookups use `read_async` (shared bucket lock); `get_*` would take the bucket's write lock.
pub type SccStore<P = SessionData> = MemoryStore<scc::HashMap<SessionId, Entry<P>>, P>;

impl<P: Payload> MemoryMap<P> for scc::HashMap<SessionId, Entry<P>> {
    const NAME: &'static str = "scc";

    fn with_capacity(capacity: usize) -> Self {
        scc::HashMap::with_capacity(capacity)
    }

    async fn insert_or_return(&self, id: SessionId, entry: Entry<P>) -> Result<(), Entry<P>> {
        self.insert_async(id, entry)
            .await
            .map_err(|(_, entry)| entry)
    }

    async fn take(&self, id: &SessionId) -> Option<Entry<P>> {
        self.remove_async(id).await.map(|(_, entry)| entry)
    }

    async fn read<R: Send>(
        &self,
        id: &SessionId,
        reader: impl FnOnce(&Entry<P>) -> R + Send,
    ) -> Option<R> {
        self.read_async(id, |_, entry| reader(entry)).await
    }

    async fn update<R: Send>(
        &self,
        id: &SessionId,
        writer: impl FnOnce(&mut Entry<P>) -> R + Send,
    ) -> Option<R> {
        self.update_async(id, |_, entry| writer(entry)).await
    }

    async fn remove_if(
        &self,
        id: &SessionId,
        condition: impl FnOnce(&Entry<P>) -> bool + Send,
    ) -> bool {
        self.remove_if_async(id, |entry| condition(entry))
            .await
            .is_some()
    }

    /// O(N): scc counts by reading every bucket's metadata. Used by reports, not requests.
    fn entry_count(&self) -> usize {
        scc::HashMap::len(self)
    }
}
