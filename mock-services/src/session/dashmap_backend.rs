//! The DashMap backend: a sharded `RwLock<HashMap>` map under the shared in-memory store.

use super::id::SessionId;
use super::memory::{Entry, MemoryMap, MemoryStore};
use super::record::{Payload, SessionData};
use dashmap::DashMap;

/// Sessions in a [`DashMap`] with its default shard count (4 × cores, rounded up to a power
/// of two) and std's SipHash-1-3 hasher, randomly keyed per map.
pub type DashMapStore<P = SessionData> = MemoryStore<DashMap<SessionId, Entry<P>>, P>;

// Every method finishes with the map before returning: no `Ref` survives into an `.await`.
impl<P: Payload> MemoryMap<P> for DashMap<SessionId, Entry<P>> {
    const NAME: &'static str = "dashmap";

    fn with_capacity(capacity: usize) -> Self {
        DashMap::with_capacity(capacity)
    }

    async fn insert_or_return(&self, id: SessionId, entry: Entry<P>) -> Result<(), Entry<P>> {
        match self.entry(id) {
            dashmap::Entry::Occupied(_) => Err(entry),
            dashmap::Entry::Vacant(vacant) => {
                vacant.insert(entry);
                Ok(())
            }
        }
    }

    async fn take(&self, id: &SessionId) -> Option<Entry<P>> {
        self.remove(id).map(|(_, entry)| entry)
    }

    async fn read<R: Send>(
        &self,
        id: &SessionId,
        reader: impl FnOnce(&Entry<P>) -> R + Send,
    ) -> Option<R> {
        self.get(id).map(|entry| reader(&entry))
    }

    async fn update<R: Send>(
        &self,
        id: &SessionId,
        writer: impl FnOnce(&mut Entry<P>) -> R + Send,
    ) -> Option<R> {
        self.get_mut(id).map(|mut entry| writer(&mut entry))
    }

    async fn remove_if(
        &self,
        id: &SessionId,
        condition: impl FnOnce(&Entry<P>) -> bool + Send,
    ) -> bool {
        DashMap::remove_if(self, id, |_, entry| condition(entry)).is_some()
    }

    fn entry_count(&self) -> usize {
        DashMap::len(self)
    }
}
