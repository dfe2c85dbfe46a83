//! The in-memory store's lookup against a bare map of its own kind and shape, in three regimes criterion's
//! one-future-per-lookup harness mixes up: back-to-back independent lookups (the CPU overlaps one
//! lookup's cache misses with the next's), serialized ones (each key chosen after the previous
//! lookup's answer, as a server's lookups are, thousands of instructions apart), and each inside
//! a future (the `async` API's shape). Plain timed loops, alternated in rounds in one process, so
//! ratios are read side by side.
//!
//! `cargo run --release -p bench --example lookup_regimes -- [dashmap|scc|papaya]`
//! (`SIZES=1000,100000`, `ROUNDS=5` and `LOOKUPS=4000000` change what is run.)

use bench::order::shuffled;
use bench::raw::{RawHit, RawValue};
use dashmap::DashMap;
use mock_services::session::{
    AnyStore, Backend, IdBuildHasher, MemoryConfig, Session, SessionData, SessionId, SessionPolicy,
    SessionStore, StoreConfig, build_store, prefill,
};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// The regimes, each a (bare map, store) pair of loops.
const REGIMES: [&str; 5] = [
    "independent",
    "serialized",
    "in a future",
    "async API",
    "async, serialized",
];

/// The bare map of the store's own kind, with the store's hasher.
enum Bare {
    DashMap(DashMap<SessionId, RawValue, IdBuildHasher>),
    Scc(scc::HashMap<SessionId, RawValue, IdBuildHasher>),
    Papaya(papaya::HashMap<SessionId, RawValue, IdBuildHasher>),
}

impl Bare {
    fn new(backend: Backend, capacity: usize) -> Self {
        let hasher = IdBuildHasher::default();
        match backend {
            Backend::Scc => Bare::Scc(scc::HashMap::with_capacity_and_hasher(capacity, hasher)),
            Backend::Papaya => Bare::Papaya(
                papaya::HashMap::builder()
                    .capacity(capacity)
                    .hasher(hasher)
                    .build(),
            ),
            _ => Bare::DashMap(DashMap::with_capacity_and_hasher(capacity, hasher)),
        }
    }

    fn insert(&self, key: SessionId, value: RawValue) {
        match self {
            Bare::DashMap(map) => drop(map.insert(key, value)),
            Bare::Scc(map) => drop(map.insert_sync(key, value)),
            Bare::Papaya(map) => drop(map.pin().insert(key, value)),
        }
    }

    /// The bare map's time in `regime`, the map's type known to the loop (matched once here,
    /// not per lookup).
    fn time(&self, runtime: &Runtime, keys: &[SessionId], regime: usize) -> f64 {
        let version = |hit: &RawHit| hit.3 as usize;
        match self {
            Bare::DashMap(map) => {
                let get = |key: &SessionId| map.get(key).map(|value| value.hit());
                time_regime(runtime, keys, get, version, regime)
            }
            Bare::Scc(map) => {
                let get = |key: &SessionId| map.read_sync(key, |_, value| value.hit());
                time_regime(runtime, keys, get, version, regime)
            }
            Bare::Papaya(map) => {
                let get = |key: &SessionId| map.pin().get(key).map(RawValue::hit);
                time_regime(runtime, keys, get, version, regime)
            }
        }
    }
}

/// The store's time in `regime`: its synchronous lookup (`load_now`) in the first three, its
/// backend's type known to the loop (a closure matching on [`AnyStore`] per lookup is too large
/// to inline, and its answer comes back through memory); the `async` API, as the apps call it
/// through [`AnyStore`], in the last two.
fn time_store(runtime: &Runtime, keys: &[SessionId], store: &AnyStore, regime: usize) -> f64 {
    let version = |session: &Session| session.version as usize;
    match (regime, store) {
        (3, _) => async_api(runtime, keys, store),
        (4, _) => serialized_async_api(runtime, keys, store),
        (_, AnyStore::DashMap(store)) => {
            time_regime(runtime, keys, |key| store.load_now(key), version, regime)
        }
        (_, AnyStore::Scc(store)) => {
            time_regime(runtime, keys, |key| store.load_now(key), version, regime)
        }
        (_, AnyStore::Papaya(store)) => {
            time_regime(runtime, keys, |key| store.load_now(key), version, regime)
        }
        (_, AnyStore::Redis(_)) => panic!("an in-memory store"),
    }
}

/// A synchronous lookup's time in `regime`: as it is, or in a future of its own.
fn time_regime<T>(
    runtime: &Runtime,
    keys: &[SessionId],
    lookup: impl Fn(&SessionId) -> Option<T>,
    some_field: impl Fn(&T) -> usize,
    regime: usize,
) -> f64 {
    match regime {
        0 => independent(keys, lookup),
        1 => serialized(keys, lookup, some_field),
        2 | 3 => in_futures(runtime, keys, lookup),
        _ => serialized_in_futures(runtime, keys, lookup, some_field),
    }
}

fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name).map_or(default, |value| value.parse().expect("a number"))
    };
    let lookups = env("LOOKUPS", 4_000_000);
    let rounds = env("ROUNDS", 5);
    let sizes: Vec<usize> = std::env::var("SIZES").map_or(vec![1_000, 100_000, 1_000_000], |v| {
        v.split(',').map(|s| s.parse().expect("a size")).collect()
    });
    let backend = match std::env::args().nth(1).as_deref() {
        None | Some("dashmap") => Backend::Dashmap,
        Some("scc") => Backend::Scc,
        Some("papaya") => Backend::Papaya,
        Some(other) => panic!("an in-memory backend: dashmap, scc or papaya, not {other}"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "{} (ns per lookup, median of {rounds} rounds)",
        backend.name()
    );
    println!(
        "{:>9}  {:<12} {:>9} {:>9} {:>7}",
        "sessions", "regime", "bare map", "store", "ratio"
    );
    for size in sizes {
        let memory = MemoryConfig {
            sweep_interval: None,
            capacity: size,
            ..MemoryConfig::default()
        };
        let config = StoreConfig::in_memory(backend, memory).expect("an in-memory backend");
        let policy = SessionPolicy {
            idle: Duration::from_secs(3600),
            absolute: Duration::from_secs(7200),
        };
        let (store, ids) = runtime.block_on(async {
            let store = build_store(&config, policy).await.expect("a store");
            let ids = prefill(&store, size, 64).await.expect("prefilled");
            (store, ids)
        });
        let empty = Arc::new(SessionData::default());
        let raw = Bare::new(backend, size);
        for (n, key) in ids.iter().enumerate() {
            raw.insert(*key, RawValue::numbered(n, &empty));
        }
        // Every lookup a hit, in a fixed random order; the keys laid out in advance so that
        // reading the next one is never a cache miss of its own.
        let order = shuffled(size);
        let keys: Vec<SessionId> = (0..lookups).map(|i| ids[order[i % size]]).collect();
        let mut times = vec![[Vec::new(), Vec::new()]; REGIMES.len()];
        for _ in 0..rounds {
            for (regime, pair) in times.iter_mut().enumerate() {
                let [bare, stored] = pair;
                let bare_ns = raw.time(&runtime, &keys, regime);
                let store_ns = time_store(&runtime, &keys, &store, regime);
                bare.push(bare_ns);
                stored.push(store_ns);
            }
        }
        for (regime, [bare, store]) in REGIMES.iter().zip(&times) {
            let (bare, store) = (median(bare), median(store));
            println!(
                "{size:>9}  {regime:<12} {bare:>9.1} {store:>9.1} {:>6.2}×",
                store / bare
            );
        }
    }
}

// One function per loop, never inlined into `main`: each loop's code is then the same whatever
// else is measured beside it (inlined into one large function, the loops' timings moved by up to
// half as others were added or removed). The two walks are macros, not functions taking a
// closure, so that an `async` lookup is awaited right in the loop, as a handler awaits it: a
// closure returning the future would wrap it in one more future, and the answer would be moved
// once more on its way out (which alone cost the store a tenth more than the bare map).

/// Times `lookup` on each key in turn, each key known in advance: the CPU may start the next
/// lookup's cache misses before this one's answer is in. `lookup` may `.await` inside an
/// `async` block.
macro_rules! walk {
    ($keys:expr, |$key:ident| $lookup:expr) => {{
        let started = Instant::now();
        for $key in $keys {
            let found = $lookup;
            assert!(black_box(found).is_some());
        }
        started.elapsed()
    }};
}

/// Times `lookup` on half the keys, each key's index depending on the previous answer
/// (`some_field & zero`, with a zero the compiler cannot see), so no lookup starts before the one
/// before it is done.
macro_rules! walk_serialized {
    ($keys:expr, |$key:ident| $lookup:expr, |$found:ident| $some_field:expr) => {{
        let zero = black_box(0usize);
        let mut carry = 0;
        let started = Instant::now();
        for i in 0..$keys.len() / 2 {
            let $key = &$keys[i + carry];
            let found = $lookup;
            carry = found.as_ref().map_or(1, |$found| $some_field & zero);
            assert!(black_box(found).is_some());
        }
        started.elapsed()
    }};
}

/// Back-to-back lookups: [`walk!`].
#[inline(never)]
fn independent<T>(keys: &[SessionId], lookup: impl Fn(&SessionId) -> Option<T>) -> f64 {
    per_lookup(walk!(keys, |key| lookup(key)), keys.len())
}

/// Serialized lookups: [`walk_serialized!`].
#[inline(never)]
fn serialized<T>(
    keys: &[SessionId],
    lookup: impl Fn(&SessionId) -> Option<T>,
    some_field: impl Fn(&T) -> usize,
) -> f64 {
    let elapsed = walk_serialized!(keys, |key| lookup(key), |value| some_field(value));
    per_lookup(elapsed, keys.len() / 2)
}

/// Each lookup awaited as a future of its own (`async { lookup(key) }`).
#[inline(never)]
fn in_futures<T>(
    runtime: &Runtime,
    keys: &[SessionId],
    lookup: impl Fn(&SessionId) -> Option<T>,
) -> f64 {
    let elapsed = runtime.block_on(async { walk!(keys, |key| async { lookup(key) }.await) });
    per_lookup(elapsed, keys.len())
}

/// The store's `async` API, as the apps call it.
#[inline(never)]
fn async_api(runtime: &Runtime, keys: &[SessionId], store: &AnyStore) -> f64 {
    let elapsed = runtime.block_on(async {
        walk!(keys, |key| store
            .load(key)
            .await
            .expect("an in-memory load"))
    });
    per_lookup(elapsed, keys.len())
}

/// [`serialized`], each lookup awaited as a future of its own.
#[inline(never)]
fn serialized_in_futures<T>(
    runtime: &Runtime,
    keys: &[SessionId],
    lookup: impl Fn(&SessionId) -> Option<T>,
    some_field: impl Fn(&T) -> usize,
) -> f64 {
    let elapsed = runtime.block_on(async {
        walk_serialized!(keys, |key| async { lookup(key) }.await, |value| some_field(
            value
        ))
    });
    per_lookup(elapsed, keys.len() / 2)
}

/// [`serialized`] through the store's `async` API: a server's lookups, one per request.
#[inline(never)]
fn serialized_async_api(runtime: &Runtime, keys: &[SessionId], store: &AnyStore) -> f64 {
    let elapsed = runtime.block_on(async {
        walk_serialized!(
            keys,
            |key| store.load(key).await.expect("an in-memory load"),
            |session| session.version as usize
        )
    });
    per_lookup(elapsed, keys.len() / 2)
}

fn per_lookup(elapsed: Duration, lookups: usize) -> f64 {
    elapsed.as_nanos() as f64 / lookups as f64
}
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
