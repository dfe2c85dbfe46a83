//! Integration tests of mock-services, in one test binary.

/// The session-store contract, run against every backend.
mod conformance;
/// The in-memory sweeper's bounded batches.
mod memory_sweeper;
/// Redis going away and coming back under a live store.
mod redis_recovery;
/// Starting stores for tests (a local redis-server per Redis test).
mod support;
