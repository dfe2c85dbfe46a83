//! Integration tests of mock-services, in one test binary.

/// Store and forums with the IdP over real sockets, on every backend.
mod apps;
/// Two store instances sharing Redis; Redis failing under the apps.
mod apps_redis;
/// The session-store contract, run against every backend.
mod conformance;
/// `--handicap`: CPU planted on one backend's session lookups.
mod handicap;
/// Every service over HTTPS.
mod https;
/// The IdP through its router: the flow and every bad input.
mod idp;
/// The OpenID Connect Basic OP behaviours of a code-flow OP, one test each.
mod idp_basic_op;
/// The IdP over a real socket, verified the way a relying party would.
mod idp_e2e;
/// An in-process IdP and protocol helpers.
mod idp_support;
/// `serve --instances`: app instances as processes sharing one backend.
mod instances;
/// Extensions racing saves in the in-memory maps.
mod memory_races;
/// The in-memory sweeper, under paused time and a manual clock.
mod memory_sweeper;
/// A certified relying party (openid-client) through the mock IdP's code flow.
mod openid_client;
/// Property tests over every parser of client input.
mod properties;
/// A primary of a Redis Cluster killed under a live store: its replica takes over.
mod redis_cluster_failover;
/// Redis going away and coming back under a live store.
mod redis_recovery;
/// The apps as relying parties of another provider (`--provider`), and its bad answers.
mod relying_party;
/// Header read timeout, connection cap and the Host rule, over raw sockets.
mod server_limits;
/// A whole stack on free loopback ports and a browser that shows every hop.
mod stack_support;
/// Starting stores for tests (a local redis-server per Redis test).
mod support;
