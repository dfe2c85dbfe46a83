//! Integration tests of mock-services, in one test binary.

/// The session-store contract, run against every backend.
mod conformance;
/// The IdP through its router: the flow and every bad input.
mod idp;
/// The IdP over a real socket, verified the way a relying party would.
mod idp_e2e;
/// An in-process IdP and protocol helpers.
mod idp_support;
/// The in-memory sweeper's bounded batches.
mod memory_sweeper;
/// Redis going away and coming back under a live store.
mod redis_recovery;
/// Starting stores for tests (a local redis-server per Redis test).
mod support;
