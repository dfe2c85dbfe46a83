//! What a bare map holds when it stands beside a store: the shape of a stored entry, so a
//! comparison isolates the store's logic (clock, liveness, the snapshot) from the memory traffic
//! every session lookup pays.

use mock_services::session::{SessionData, UserId};
use std::sync::Arc;

/// The shape of a stored entry: the user ID inline, the data behind one pointer (the one empty
/// payload every prefilled session shares, as in the store), three instants.
#[derive(Debug, Clone)]
pub struct RawValue {
    pub user: UserId,
    pub data: Arc<SessionData>,
    pub created_at: u64,
    pub version: u64,
    pub last_seen: u64,
}

/// What a bare-map hit copies out: what a store's lookup hands back, less its arithmetic.
pub type RawHit = (UserId, Arc<SessionData>, u64, u64, u64);

impl RawValue {
    /// The `n`th prefilled session's value, its data the shared `empty` payload.
    pub fn numbered(n: usize, empty: &Arc<SessionData>) -> Self {
        RawValue {
            user: UserId::new(format!("user-{n}")),
            data: Arc::clone(empty),
            created_at: 1,
            version: 0,
            last_seen: 1,
        }
    }

    /// What a hit copies out.
    #[inline]
    pub fn hit(&self) -> RawHit {
        (
            self.user.clone(),
            Arc::clone(&self.data),
            self.created_at,
            self.version,
            self.last_seen,
        )
    }
}
