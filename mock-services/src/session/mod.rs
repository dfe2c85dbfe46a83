//! Server-side sessions: the [`SessionStore`] contract and the backends that implement it.
//!
//! Every backend (DashMap, scc::HashMap, papaya, Redis) obeys the same contract, proven by one shared
//! conformance suite (`tests/it/conformance.rs`). The contract, at its edges:
//!
//! - IDs are 128-bit CSPRNG values minted by the store at `create`; an ID the store did not issue
//!   (made up, expired, deleted) loads as `None` and is never adopted by `save`.
//! - A session is gone once `now >= idle_expires_at` or `now >= absolute_expires_at`, whether or
//!   not a sweeper or Redis has reclaimed its memory yet.
//! - `load_and_extend` (the hot path) slides the idle deadline to `now + idle`, capped by the
//!   absolute deadline; `load` reads without extending.
//! - `save` is compare-and-swap on [`Session::version`]: concurrent writers of one session never
//!   lose each other's updates silently; the loser gets [`SaveOutcome::Conflict`], reloads and
//!   retries. Extensions never conflict with saves: they touch expiry only, never data.
//! - A backend failure is a [`StoreError`], never a panic.

mod clock;
mod codec;
mod config;
mod dashmap_backend;
mod error;
mod expiry;
mod id;
mod memory;
mod papaya_backend;
mod prefill;
mod record;
mod redis_backend;
mod scc_backend;

use std::future::Future;

pub use clock::{Clock, ManualClock, TICK, TickedClock, now_millis};
pub use codec::{Encoded, HEADER_LEN, decode, encode};
pub use config::{AnyStore, Backend, MemoryConfig, RedisConfig, StoreConfig, build_store};
pub use dashmap_backend::{DashMapStore, SessionDashMap, fix_default_shards};
pub use error::StoreError;
pub use id::{IdBuildHasher, IdHasher, SessionId};
pub use memory::{Entry, MAX_ABSOLUTE_TIMEOUT, MemoryMap, MemoryStore, SWEEP_BATCH, Swept, Write};
pub use papaya_backend::{PapayaStore, SessionPapayaMap};
pub use prefill::prefill;
pub use record::{CartItem, Payload, Session, SessionData, SessionPolicy, UserId};
pub use redis_backend::RedisStore;
pub use scc_backend::{SccStore, SessionSccMap};

/// What became of a [`SessionStore::save`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    /// The data was written and the caller's [`Session::version`] advanced by one.
    Saved,
    /// Someone saved this session since the caller loaded it; nothing was written.
    Conflict,
    /// The session does not exist (never issued, expired or deleted); nothing was written.
    Gone,
}

/// A server-side session store. Futures are `Send` so handlers can hold them across `.await`.
///
/// Native `async fn`-style methods (no boxed futures): the store is used through generics or the
/// [`AnyStore`] enum, so the hot path pays no dynamic dispatch. `P` is what a session holds:
/// an app's [`SessionData`] by default, or any other [`Payload`] (the IdP's typed records).
pub trait SessionStore<P: Payload = SessionData>: Send + Sync + 'static {
    /// Short backend name for reports (`dashmap`, `scc`, `redis`).
    fn backend_name(&self) -> &'static str;

    /// The timeouts this store applies.
    fn policy(&self) -> SessionPolicy;

    /// Creates a session with a fresh ID for `user_id`, holding `data`, version 0.
    fn create(
        &self,
        user_id: &str,
        data: P,
    ) -> impl Future<Output = Result<Session<P>, StoreError>> + Send;

    /// Reads a live session without extending it. Unknown or expired IDs give `None`.
    fn load(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Session<P>>, StoreError>> + Send;

    /// Reads a live session and slides its idle deadline (the hot path of every page view).
    fn load_and_extend(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Session<P>>, StoreError>> + Send;

    /// Writes `session.data` if the stored version still equals `session.version`; on success
    /// advances `session.version`. Never creates a session and never changes its deadlines.
    fn save(
        &self,
        session: &mut Session<P>,
    ) -> impl Future<Output = Result<SaveOutcome, StoreError>> + Send;

    /// Moves a live session to a fresh ID, keeping its user, data, version and deadlines (so
    /// rotation never lengthens a session); the old ID stops working at once. `None` when the
    /// session is gone.
    fn rotate(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Session<P>>, StoreError>> + Send;

    /// Deletes a session at once (logout, revocation). `true` when something was deleted.
    fn delete(&self, id: &SessionId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// How many sessions the backend holds now. In-memory backends count entries not yet swept
    /// (at most a second plus one sweep interval late, while a tick frees all that are due);
    /// Redis counts keys whose TTL has not passed.
    fn live_count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
