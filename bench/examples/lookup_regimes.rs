//! The in-memory store's lookup against a bare map of its own kind and shape, in three regimes criterion's
//! one-future-per-lookup harness mixes up: back-to-back independent lookups (the CPU overlaps one
//! lookup's cache misses with the next's), serialized ones (each key chosen after the previous
//! lookup's answer, as a server's lookups are, thousands of instructions apart), and each inside
//! a future (the `async` API's shape). Plain timed loops, alternated in rounds in one process, so
//! ratios are read side by side.
//!
//! `cargo run --release -p bench --example lookup_regimes -- [dashmap|scc|papaya]`
//! (`SIZES=1000,100000`, `ROUNDS=5` and `LOOKUPS=4000000` change what is run.)

use dashmap::DashMap;
use mock_services::session::{
    AnyStore, Backend, IdBuildHasher, MemoryConfig, Session, SessionData, SessionId, SessionPolicy,
    SessionStore, StoreConfig, UserId, build_store, prefill,
};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the bare map holds: the shape of the store's entry (as `benches/store_ops.rs`'s).
struct RawValue {
    user: UserId,
    data: Arc<SessionData>,
    created_at: u64,
    version: u64,
    last_seen: u64,
}

/// What a bare-map hit copies out: what the store's lookup hands back, less its arithmetic.
type RawHit = (UserId, Arc<SessionData>, u64, u64, u64);

fn hit(value: &RawValue) -> RawHit {
    (
        value.user.clone(),
        Arc::clone(&value.data),
        value.created_at,
        value.version,
        value.last_seen,
    )
}

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

    #[inline]
    fn get(&self, key: &SessionId) -> Option<RawHit> {
        match self {
            Bare::DashMap(map) => map.get(key).map(|value| hit(&value)),
            Bare::Scc(map) => map.read_sync(key, |_, value| hit(value)),
            Bare::Papaya(map) => map.pin().get(key).map(hit),
        }
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
    println!("{} (ns per lookup, median of {rounds} rounds)", backend.name());
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
            let value = RawValue {
                user: UserId::new(format!("user-{n}")),
                data: Arc::clone(&empty),
                created_at: 1,
                version: 0,
                last_seen: 1,
            };
            raw.insert(*key, value);
        }
        // Every lookup a hit, in a fixed random order; the keys laid out in advance so that
        // reading the next one is never a cache miss of its own.
        let order = shuffled(size);
        let keys: Vec<SessionId> = (0..lookups).map(|i| ids[order[i % size]]).collect();
        let load_now = |key: &SessionId| -> Option<Session> {
            match &store {
                AnyStore::DashMap(store) => store.load_now(key),
                AnyStore::Scc(store) => store.load_now(key),
                AnyStore::Papaya(store) => store.load_now(key),
                AnyStore::Redis(_) => None,
            }
        };
        let mut times = vec![[Vec::new(), Vec::new()]; REGIMES.len()];
        for _ in 0..rounds {
            for (regime, pair) in times.iter_mut().enumerate() {
                let [bare, stored] = pair;
                let (bare_ns, store_ns) = match regime {
                    0 => (independent(&keys, |k| raw.get(k)), independent(&keys, load_now)),
                    1 => (
                        serialized(&keys, |k| raw.get(k), |hit| hit.3 as usize),
                        serialized(&keys, load_now, |session| session.version as usize),
                    ),
                    2 => (
                        in_futures(&runtime, &keys, |k| raw.get(k)),
                        in_futures(&runtime, &keys, load_now),
                    ),
                    3 => (
                        in_futures(&runtime, &keys, |k| raw.get(k)),
                        async_api(&runtime, &keys, &store),
                    ),
                    _ => (
                        serialized_in_futures(&runtime, &keys, |k| raw.get(k), |hit| hit.3 as usize),
                        serialized_async_api(&runtime, &keys, &store),
                    ),
                };
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
// half as others were added or removed).

/// Back-to-back lookups, each key known in advance: the CPU may start the next lookup's cache
/// misses before this one's answer is in.
#[inline(never)]
fn independent<T>(keys: &[SessionId], lookup: impl Fn(&SessionId) -> Option<T>) -> f64 {
    let started = Instant::now();
    for key in keys {
        assert!(black_box(lookup(key)).is_some());
    }
    per_lookup(started, keys)
}

/// Each key's index depends on the previous answer (`answer & zero`, with a zero the compiler
/// cannot see), so no lookup starts before the one before it is done.
#[inline(never)]
fn serialized<T>(
    keys: &[SessionId],
    lookup: impl Fn(&SessionId) -> Option<T>,
    some_field: impl Fn(&T) -> usize,
) -> f64 {
    let zero = black_box(0usize);
    let lookups = keys.len() / 2;
    let mut carry = 0;
    let started = Instant::now();
    for i in 0..lookups {
        let found = lookup(&keys[i + carry]);
        carry = found.as_ref().map_or(1, |value| some_field(value) & zero);
        assert!(black_box(found).is_some());
    }
    per_lookup(started, &keys[..lookups])
}

/// Each lookup awaited as a future of its own (`async { lookup(key) }`).
#[inline(never)]
fn in_futures<T>(
    runtime: &tokio::runtime::Runtime,
    keys: &[SessionId],
    lookup: impl Fn(&SessionId) -> Option<T>,
) -> f64 {
    let started = Instant::now();
    runtime.block_on(async {
        for key in keys {
            let found = async { lookup(key) }.await;
            assert!(black_box(found).is_some());
        }
    });
    per_lookup(started, keys)
}

/// The store's `async` API, as the apps call it.
#[inline(never)]
fn async_api(runtime: &tokio::runtime::Runtime, keys: &[SessionId], store: &AnyStore) -> f64 {
    let started = Instant::now();
    runtime.block_on(async {
        for key in keys {
            let found = store.load(key).await.expect("an in-memory load");
            assert!(black_box(found).is_some());
        }
    });
    per_lookup(started, keys)
}

/// [`serialized`], each lookup awaited as a future of its own.
#[inline(never)]
fn serialized_in_futures<T>(
    runtime: &tokio::runtime::Runtime,
    keys: &[SessionId],
    lookup: impl Fn(&SessionId) -> Option<T>,
    some_field: impl Fn(&T) -> usize,
) -> f64 {
    let zero = black_box(0usize);
    let lookups = keys.len() / 2;
    let started = Instant::now();
    runtime.block_on(async {
        let mut carry = 0;
        for i in 0..lookups {
            let found = async { lookup(&keys[i + carry]) }.await;
            carry = found.as_ref().map_or(1, |value| some_field(value) & zero);
            assert!(black_box(found).is_some());
        }
    });
    per_lookup(started, &keys[..lookups])
}

/// [`serialized`] through the store's `async` API: a server's lookups, one per request.
#[inline(never)]
fn serialized_async_api(
    runtime: &tokio::runtime::Runtime,
    keys: &[SessionId],
    store: &AnyStore,
) -> f64 {
    let zero = black_box(0usize);
    let lookups = keys.len() / 2;
    let started = Instant::now();
    runtime.block_on(async {
        let mut carry = 0;
        for i in 0..lookups {
            let found = store.load(&keys[i + carry]).await.expect("an in-memory load");
            carry = found.as_ref().map_or(1, |session| session.version as usize & zero);
            assert!(black_box(found).is_some());
        }
    });
    per_lookup(started, &keys[..lookups])
}

fn per_lookup(started: Instant, keys: &[SessionId]) -> f64 {
    started.elapsed().as_nanos() as f64 / keys.len() as f64
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// A fixed-seed shuffle of `0..count` (splitmix64 driving Fisher–Yates), as the benches' keys.
fn shuffled(count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    let mut state: u64 = 0x5eed_5e55_1015;
    for i in (1..count).rev() {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        order.swap(i, (z % (i as u64 + 1)) as usize);
    }
    order
}
