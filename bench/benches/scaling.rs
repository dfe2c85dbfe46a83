//! `scaling/mix/<backend>/<threads>`: a read-heavy mix (95% load-and-extend, 4% save,
//! 1% create+delete) on 1, 2 and 4 threads over 100k sessions, as throughput, in the manner of
//! conc-map-bench.

use crate::support::{Backends, Keys, prefilled};
use criterion::{BenchmarkId, Criterion, Throughput};
use mock_services::session::{SaveOutcome, SessionData, SessionStore};
use std::sync::Arc;
use std::time::Instant;

/// Operations per thread per measured batch.
const OPS_PER_THREAD: u64 = 10_000;

pub fn define(c: &mut Criterion, runtime: &tokio::runtime::Runtime, backends: &Backends) {
    let mut group = c.benchmark_group("scaling/mix");
    // One sample is 10,000 operations per thread (seconds on Redis): ten samples are plenty.
    group.sample_size(10);
    for (backend, config) in backends.configs("bench:scaling:") {
        let (store, ids) = runtime.block_on(prefilled(&config, 100_000));
        let ids = Arc::new(ids);
        for threads in [1usize, 2, 4] {
            let workers = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()
                .expect("runtime");
            group.throughput(Throughput::Elements(OPS_PER_THREAD * threads as u64));
            group.bench_function(BenchmarkId::new(backend, threads), |b| {
                b.iter_custom(|batches| {
                    let mut total = std::time::Duration::ZERO;
                    for _ in 0..batches {
                        total += workers.block_on(run_mix(&store, &ids, threads));
                    }
                    total
                })
            });
        }
        drop(store);
    }
    group.finish();
}

async fn run_mix(
    store: &mock_services::session::AnyStore,
    ids: &Arc<Vec<mock_services::session::SessionId>>,
    threads: usize,
) -> std::time::Duration {
    let started = Instant::now();
    let mut handles = Vec::with_capacity(threads);
    for thread in 0..threads {
        let store = store.clone();
        let ids = Arc::clone(ids);
        handles.push(tokio::spawn(async move {
            let mut keys = Keys::new(ids.len());
            for _ in 0..thread * 97 {
                keys.next();
            }
            for op in 0..OPS_PER_THREAD {
                let id = ids[keys.next()];
                match op % 100 {
                    0 => {
                        let session = store
                            .create("user-x", SessionData::default())
                            .await
                            .expect("create");
                        assert!(store.delete(&session.id).await.expect("delete"));
                    }
                    1..=4 => {
                        let mut session = store
                            .load_and_extend(&id)
                            .await
                            .expect("load")
                            .expect("live");
                        let outcome = store.save(&mut session).await.expect("save");
                        assert_ne!(outcome, SaveOutcome::Gone);
                    }
                    _ => assert!(store.load_and_extend(&id).await.expect("load").is_some()),
                }
            }
        }));
    }
    for handle in handles {
        handle.await.expect("worker");
    }
    started.elapsed()
}
