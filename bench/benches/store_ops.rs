//! `store/<op>/<backend>/<size>`: each store operation at 1k, 100k and 1M live sessions, random
//! keys (`store/load_now`: an in-memory store's synchronous lookup, without the async API);
//! `raw/load_hit/<map>/<size>`: the same hits on bare maps (dashmap, scc, papaya and a
//! `RwLock<HashMap>`), so the store's own cost shows as a ratio; and `clock/*`, what reading
//! "now" costs per lookup (`clock/ticked` is what stores read).

use crate::support::{Backends, Keys, SIZES, prefilled, size_label};
use bench::raw::RawValue;
use criterion::{BenchmarkId, Criterion};
use dashmap::DashMap;
use mock_services::session::{
    AnyStore, CartItem, Clock, IdBuildHasher, ManualClock, SaveOutcome, Session, SessionData,
    SessionId, SessionStore,
};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, RwLock};
use std::time::Instant;

pub fn define(c: &mut Criterion, runtime: &tokio::runtime::Runtime, backends: &Backends) {
    // What each lookup pays for "now": the clock is part of the store's cost over the bare map.
    let system = Clock::System;
    c.bench_function("clock/system", |b| {
        b.iter(|| black_box(&system).now_millis())
    });
    let manual = Clock::Manual(ManualClock::new());
    c.bench_function("clock/manual", |b| {
        b.iter(|| black_box(&manual).now_millis())
    });
    // What a store reads since the ticker: the coarse clock as a thread last stored it.
    let ticked = Clock::System.ticked();
    c.bench_function("clock/ticked", |b| {
        b.iter(|| black_box(&ticked).now_millis())
    });
    for size in SIZES {
        let label = size_label(size);
        for (backend, config) in backends.configs(&format!("bench:{label}:")) {
            let (store, ids) = runtime.block_on(prefilled(&config, size));
            let id = |keys: &mut Keys| ids[keys.next()];

            if backend == vocabulary::Backend::Dashmap.name() {
                raw_maps(c, runtime, &ids, &label);
            }
            let mut keys = Keys::new(size);
            c.bench_function(&format!("store/load_hit/{backend}/{label}"), |b| {
                b.to_async(runtime).iter(|| {
                    let key = id(&mut keys);
                    let store = &store;
                    async move {
                        assert!(
                            store.load(&key).await.expect("load").is_some(),
                            "a hit must hit"
                        )
                    }
                })
            });
            // The in-memory lookup itself, as the bare maps are called (synchronously, inside
            // the same one-future-per-lookup harness): the store's own work over the map,
            // without the `async` API's layer that `store/load_hit` adds.
            if let Some(load_now) = load_now(&store) {
                let mut keys = Keys::new(size);
                c.bench_function(&format!("store/load_now/{backend}/{label}"), |b| {
                    b.to_async(runtime).iter(|| {
                        let key = id(&mut keys);
                        let load_now = &load_now;
                        async move { assert!(black_box(load_now(&key)).is_some(), "a hit must hit") }
                    })
                });
            }
            let mut keys = Keys::new(size);
            c.bench_function(&format!("store/load_and_extend/{backend}/{label}"), |b| {
                b.to_async(runtime).iter(|| {
                    let key = id(&mut keys);
                    let store = &store;
                    async move { assert!(store.load_and_extend(&key).await.expect("load").is_some()) }
                })
            });
            let mut misses = 0u64;
            c.bench_function(&format!("store/load_miss/{backend}/{label}"), |b| {
                b.to_async(runtime).iter(|| {
                    misses += 1;
                    let mut bytes = [0xa5u8; 16];
                    bytes[..8].copy_from_slice(&misses.to_le_bytes());
                    let key = SessionId::from_bytes(bytes);
                    let store = &store;
                    async move {
                        assert!(
                            store.load(&key).await.expect("load").is_none(),
                            "a miss must miss"
                        )
                    }
                })
            });
            let mut session = runtime
                .block_on(store.load(&ids[0]))
                .expect("load")
                .expect("live");
            // A cart of one line: the payload a cart write stores.
            Arc::make_mut(&mut session.data).cart.push(CartItem {
                sku: "book-1".into(),
                quantity: 1,
            });
            c.bench_function(&format!("store/save/{backend}/{label}"), |b| {
                b.to_async(runtime).iter_custom(|iterations| {
                    let store = store.clone();
                    let mut session = session.clone();
                    async move {
                        // The store's copy moves on with every save; reload so the CAS holds.
                        session = store.load(&session.id).await.expect("load").expect("live");
                        let started = Instant::now();
                        for _ in 0..iterations {
                            assert_eq!(
                                store.save(&mut session).await.expect("save"),
                                SaveOutcome::Saved
                            );
                        }
                        started.elapsed()
                    }
                })
            });
            c.bench_function(&format!("store/create/{backend}/{label}"), |b| {
                b.to_async(runtime).iter_custom(|iterations| {
                    let store = store.clone();
                    async move {
                        let mut created = Vec::with_capacity(iterations as usize);
                        let started = Instant::now();
                        for _ in 0..iterations {
                            created.push(
                                store
                                    .create("user-x", SessionData::default())
                                    .await
                                    .expect("create")
                                    .id,
                            );
                        }
                        let elapsed = started.elapsed();
                        // Keep the store at its size for the next benchmark.
                        for id in created {
                            store.delete(&id).await.expect("delete");
                        }
                        elapsed
                    }
                })
            });
            c.bench_function(&format!("store/delete/{backend}/{label}"), |b| {
                b.to_async(runtime).iter_custom(|iterations| {
                    let store = store.clone();
                    async move {
                        let mut created = Vec::with_capacity(iterations as usize);
                        for _ in 0..iterations {
                            created.push(
                                store
                                    .create("user-x", SessionData::default())
                                    .await
                                    .expect("create")
                                    .id,
                            );
                        }
                        let started = Instant::now();
                        for id in &created {
                            assert!(
                                store.delete(id).await.expect("delete"),
                                "a delete must delete"
                            );
                        }
                        started.elapsed()
                    }
                })
            });
            drop(store);
        }
    }
}

/// The synchronous lookup of an in-memory store; `None` for Redis.
fn load_now(store: &AnyStore) -> Option<impl Fn(&SessionId) -> Option<Session> + '_> {
    let lookup = move |key: &SessionId| match store {
        AnyStore::DashMap(store) => store.load_now(key),
        AnyStore::Scc(store) => store.load_now(key),
        AnyStore::Papaya(store) => store.load_now(key),
        AnyStore::Redis(_) => None,
    };
    (!matches!(store, AnyStore::Redis(_))).then_some(lookup)
}

/// The raw maps, with the store's hasher, filled with the store's own keys and probed in the
/// same order; a hit copies out what a `load` hands back. Each lookup runs inside the same
/// async harness as the store's (`to_async(runtime).iter`, one future per lookup), so the ratio
/// holds the store's own work, not criterion's executor.
fn raw_maps(c: &mut Criterion, runtime: &tokio::runtime::Runtime, keys: &[SessionId], label: &str) {
    let size = keys.len();
    let empty = Arc::new(SessionData::default());
    let value = |n: usize| RawValue::numbered(n, &empty);
    let hit = RawValue::hit;
    let dashmap: DashMap<SessionId, RawValue, IdBuildHasher> =
        DashMap::with_capacity_and_hasher(size, IdBuildHasher::default());
    for (n, key) in keys.iter().enumerate() {
        dashmap.insert(*key, value(n));
    }
    let scc_map: scc::HashMap<SessionId, RawValue, IdBuildHasher> =
        scc::HashMap::with_capacity_and_hasher(size, IdBuildHasher::default());
    for (n, key) in keys.iter().enumerate() {
        let _ = scc_map.insert_sync(*key, value(n));
    }
    let papaya_map: papaya::HashMap<SessionId, RawValue, IdBuildHasher> =
        papaya::HashMap::builder()
            .capacity(size)
            .hasher(IdBuildHasher::default())
            .build();
    {
        let pinned = papaya_map.pin();
        for (n, key) in keys.iter().enumerate() {
            pinned.insert(*key, value(n));
        }
    }
    let locked: RwLock<HashMap<SessionId, RawValue, IdBuildHasher>> = RwLock::new(
        keys.iter()
            .enumerate()
            .map(|(n, k)| (*k, value(n)))
            .collect(),
    );

    let mut group = c.benchmark_group("raw/load_hit");
    let mut order = Keys::new(size);
    group.bench_function(BenchmarkId::new("dashmap", label), |b| {
        b.to_async(runtime).iter(|| {
            let key = keys[order.next()];
            let dashmap = &dashmap;
            async move {
                let found = dashmap.get(&key).map(|v| hit(&v));
                assert!(black_box(found).is_some());
            }
        })
    });
    let mut order = Keys::new(size);
    group.bench_function(BenchmarkId::new("scc", label), |b| {
        b.to_async(runtime).iter(|| {
            let key = keys[order.next()];
            let scc_map = &scc_map;
            async move {
                let found = scc_map.read_sync(&key, |_, v| hit(v));
                assert!(black_box(found).is_some());
            }
        })
    });
    let mut order = Keys::new(size);
    group.bench_function(BenchmarkId::new("papaya", label), |b| {
        b.to_async(runtime).iter(|| {
            let key = keys[order.next()];
            let papaya_map = &papaya_map;
            async move {
                let found = papaya_map.pin().get(&key).map(hit);
                assert!(black_box(found).is_some());
            }
        })
    });
    let mut order = Keys::new(size);
    group.bench_function(BenchmarkId::new("rwlock_hashmap", label), |b| {
        b.to_async(runtime).iter(|| {
            let key = keys[order.next()];
            let locked = &locked;
            async move {
                let map = locked.read().expect("lock");
                let found = map.get(&key).map(hit);
                assert!(black_box(found).is_some());
            }
        })
    });
    group.finish();
}
