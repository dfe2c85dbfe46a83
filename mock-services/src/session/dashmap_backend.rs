//! The DashMap backend: a sharded `RwLock<HashMap>` map under the shared in-memory store.

use super::id::{IdBuildHasher, SessionId};
use super::memory::{Entry, MemoryMap, MemoryStore, Write};
use super::record::{Payload, SessionData};
use dashmap::DashMap;

/// The map: its default shard count (4 × cores, rounded up to a power of two), keys hashed by
/// their own random bits ([`IdBuildHasher`]).
pub type SessionDashMap<P = SessionData> = DashMap<SessionId, Entry<P>, IdBuildHasher>;

/// Fixes DashMap's default shard count for this process. DashMap reads it once, from the CPUs
/// the first thread to build a map may use; a run that pins its threads to CPUs calls this
/// first, unpinned, so pinning does not change the map it measures.
pub fn fix_default_shards() {
    drop(DashMap::<(), ()>::new());
}

/// Sessions in a [`DashMap`].
pub type DashMapStore<P = SessionData> = MemoryStore<SessionDashMap<P>, P>;

// Every method finishes with the map before returning: no `Ref` survives into an `.await`.
impl<P: Payload> MemoryMap<P> for SessionDashMap<P> {
    const NAME: &'static str = vocabulary::Backend::Dashmap.name();

    fn with_capacity(capacity: usize) -> Self {
        DashMap::with_capacity_and_hasher(capacity, IdBuildHasher::default())
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

    #[inline]
    fn read<R>(&self, id: &SessionId, reader: impl FnOnce(&Entry<P>) -> R) -> Option<R> {
        self.get(id).map(|entry| reader(&entry))
    }

    async fn update<R: Send>(
        &self,
        id: &SessionId,
        mut writer: impl FnMut(&mut Entry<P>) -> Write<R> + Send,
    ) -> Option<R> {
        self.get_mut(id).map(|mut entry| match writer(&mut entry) {
            Write::Kept(outcome) | Write::Changed(outcome) => outcome,
        })
    }

    async fn remove_if(
        &self,
        id: &SessionId,
        condition: impl Fn(&Entry<P>) -> bool + Send,
    ) -> bool {
        DashMap::remove_if(self, id, |_, entry| condition(entry)).is_some()
    }

    fn remove_expired(&self, id: &SessionId, expired: impl Fn(&Entry<P>) -> bool) -> bool {
        DashMap::remove_if(self, id, |_, entry| expired(entry)).is_some()
    }

    fn entry_count(&self) -> usize {
        DashMap::len(self)
    }
}
