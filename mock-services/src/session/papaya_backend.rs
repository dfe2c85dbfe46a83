//! The papaya backend: `papaya::HashMap` (lock-free reads and writes, copy-on-write updates,
//! epoch-based reclamation) under the shared in-memory store.
//!
//! Lookups never take a lock, so they never wait for a writer. A save publishes a changed copy
//! of the entry; the one field readers write, the last use, is then carried from the old copy
//! to the new one after publishing, and a reader that extended an entry re-checks which copy is
//! current ([`MemoryMap::keep_extension`]). With a sequentially consistent fence on each side,
//! either the saver sees the reader's extension on the old copy, or the reader sees the new
//! copy and extends it too: no extension is lost.

use super::id::{IdBuildHasher, SessionId};
use super::memory::{Entry, MemoryMap, MemoryStore, Write};
use super::record::{Payload, SessionData};
use papaya::{Compute, Operation};
use std::sync::atomic::{Ordering, fence};

/// The map: keys hashed by their own random bits ([`IdBuildHasher`]).
pub type SessionPapayaMap<P = SessionData> = papaya::HashMap<SessionId, Entry<P>, IdBuildHasher>;

/// Sessions in a [`papaya::HashMap`].
pub type PapayaStore<P = SessionData> = MemoryStore<SessionPapayaMap<P>, P>;

impl<P: Payload> MemoryMap<P> for SessionPapayaMap<P> {
    const NAME: &'static str = vocabulary::Backend::Papaya.name();

    fn with_capacity(capacity: usize) -> Self {
        papaya::HashMap::builder()
            .capacity(capacity)
            .hasher(IdBuildHasher::default())
            .build()
    }

    async fn insert_or_return(&self, id: SessionId, entry: Entry<P>) -> Result<(), Entry<P>> {
        self.pin()
            .try_insert(id, entry)
            .map(|_| ())
            .map_err(|occupied| occupied.not_inserted)
    }

    /// papaya hands back a reference to a removed value (freed once no reader can hold it),
    /// so the entry comes back as a copy.
    async fn take(&self, id: &SessionId) -> Option<Entry<P>> {
        self.pin().remove(id).cloned()
    }

    // Always inlined: `#[inline]` alone left it out of line under the `async` API, and the
    // lookup's answer came back through memory (the book's 2026-12-07 hot-path page).
    #[inline(always)]
    fn read<R>(&self, id: &SessionId, reader: impl FnOnce(&Entry<P>) -> R) -> Option<R> {
        self.pin().get(id).map(reader)
    }

    async fn update<R: Send>(
        &self,
        id: &SessionId,
        mut writer: impl FnMut(&mut Entry<P>) -> Write<R> + Send,
    ) -> Option<R> {
        let map = self.pin();
        let mut outcome = None;
        // `compute` retries the closure on a fresh current value if another writer got there
        // first; the outcome kept is the one of the attempt that decided.
        let computed = map.compute(*id, |current| {
            let Some((_, entry)) = current else {
                return Operation::Abort(());
            };
            let mut copy = entry.clone();
            match writer(&mut copy) {
                Write::Kept(result) => {
                    outcome = Some(result);
                    Operation::Abort(())
                }
                Write::Changed(result) => {
                    outcome = Some(result);
                    Operation::Insert(copy)
                }
            }
        });
        if let Compute::Updated {
            old: (_, old),
            new: (_, new),
        } = computed
        {
            fence(Ordering::SeqCst);
            new.carry_last_use_from(old);
        }
        outcome
    }

    async fn remove_if(
        &self,
        id: &SessionId,
        condition: impl Fn(&Entry<P>) -> bool + Send,
    ) -> bool {
        matches!(
            self.pin().remove_if(id, |_, entry| condition(entry)),
            Ok(Some(_))
        )
    }

    fn keep_extension(&self, id: &SessionId, now: u64) {
        // One guard for the whole walk: no copy seen here is freed (and its address reused)
        // before it ends.
        let map = self.pin();
        let mut extended: Option<&Entry<P>> = None;
        loop {
            fence(Ordering::SeqCst);
            let Some(current) = map.get(id) else {
                return; // deleted or rotated meanwhile: nothing left to extend
            };
            if extended.is_some_and(|seen| seen.same_as(current)) {
                return;
            }
            current.extend(now);
            extended = Some(current);
        }
    }

    /// Removes the current copy if `expired` holds for it. A lookup that read the clock before
    /// the entry's deadline may still extend it meanwhile (the sweep then files it again); the
    /// condition is checked on the copy being removed.
    fn remove_expired(&self, id: &SessionId, expired: impl Fn(&Entry<P>) -> bool) -> bool {
        matches!(
            self.pin().remove_if(id, |_, entry| expired(entry)),
            Ok(Some(_))
        )
    }

    fn entry_count(&self) -> usize {
        papaya::HashMap::len(self)
    }
}
