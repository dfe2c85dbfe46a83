//! The session record, its app data and the timeout policy that governs it.

use super::id::SessionId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Idle (sliding) and absolute timeouts of one app's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long is gone; every `load_and_extend` restarts the count.
    pub idle: Duration,
    /// A session is gone this long after its creation, however busy it is.
    pub absolute: Duration,
}

impl SessionPolicy {
    pub fn idle_millis(&self) -> u64 {
        duration_millis(self.idle)
    }

    pub fn absolute_millis(&self) -> u64 {
        duration_millis(self.absolute)
    }
}

impl Default for SessionPolicy {
    /// 30 minutes idle, 8 hours absolute: common defaults for web apps (OWASP's session
    /// management guidance suggests minutes-to-hours idle and hours absolute).
    fn default() -> Self {
        SessionPolicy {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(8 * 60 * 60),
        }
    }
}

fn duration_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What a store may keep in a session besides the user: an app's [`SessionData`], or a record
/// of the IdP's (a code, a grant, a refresh token), typed so that a misspelled field does not
/// compile and nothing unused is stored.
pub trait Payload: Clone + Send + Sync + std::fmt::Debug + 'static {
    /// The payload most sessions are created with, when there is one. An in-memory store keeps
    /// one shared copy of it and lets every session created with an equal payload point there,
    /// instead of allocating it per session.
    fn empty() -> Option<Self> {
        None
    }

    /// Whether this value equals [`Payload::empty`].
    fn is_empty(&self) -> bool {
        false
    }
}

impl Payload for SessionData {
    fn empty() -> Option<Self> {
        Some(SessionData::default())
    }

    fn is_empty(&self) -> bool {
        self.cart.is_empty() && self.attributes.is_empty()
    }
}

/// A user ID as sessions keep it: up to 23 bytes inline (no heap allocation, copied by
/// `clone`), longer ones behind a shared pointer.
pub type UserId = smol_str::SmolStr;

/// What an app keeps in a session besides the user: the store's cart, a few small attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionData {
    pub cart: Vec<CartItem>,
    pub attributes: BTreeMap<String, String>,
}

/// One cart line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItem {
    pub sku: String,
    pub quantity: u32,
}

/// A live session as a caller sees it: a snapshot taken at load time.
///
/// The user ID is inline up to 23 bytes and the data sits behind an `Arc`, so a lookup copies a
/// few words and clones one pointer, never the cart.
/// Change the data with `Arc::make_mut(&mut session.data)` and write it back with `save`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session<P = SessionData> {
    pub id: SessionId,
    pub user_id: UserId,
    /// Unix milliseconds.
    pub created_at: u64,
    /// Unix milliseconds of the last `create` or `load_and_extend`.
    pub last_seen: u64,
    /// Unix milliseconds; already capped by `absolute_expires_at`.
    pub idle_expires_at: u64,
    /// Unix milliseconds; never moves.
    pub absolute_expires_at: u64,
    /// Number of successful saves; `save` is compare-and-swap on it.
    pub version: u64,
    pub data: Arc<P>,
}

impl<P> Session<P> {
    /// The moment the session ends unless extended.
    pub fn expires_at(&self) -> u64 {
        self.idle_expires_at.min(self.absolute_expires_at)
    }
}

/// Deadlines of a session created at `now` under `policy`: (idle, absolute).
pub(crate) fn deadlines_at_creation(now: u64, policy: &SessionPolicy) -> (u64, u64) {
    let absolute = now.saturating_add(policy.absolute_millis());
    (extended_idle_deadline(now, absolute, policy), absolute)
}

/// The idle deadline after a use at `now`: slid forward, capped by the absolute deadline.
pub(crate) fn extended_idle_deadline(now: u64, absolute: u64, policy: &SessionPolicy) -> u64 {
    now.saturating_add(policy.idle_millis()).min(absolute)
}
