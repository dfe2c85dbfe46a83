//! `redis/load_and_extend_concurrent/<tasks>`: many tasks sharing one multiplexed connection,
//! as throughput: what pipelining buys over one round trip at a time.

use crate::support::{Backends, prefilled};
use criterion::{BenchmarkId, Criterion, Throughput};
use mock_services::session::SessionStore;
use std::sync::Arc;
use std::time::Instant;

const OPS_PER_TASK: u64 = 200;

pub fn define(c: &mut Criterion, runtime: &tokio::runtime::Runtime, backends: &Backends) {
    let Some((_, config)) = backends
        .configs("bench:concurrent:")
        .into_iter()
        .find(|(name, _)| *name == "redis")
    else {
        return;
    };
    let (store, ids) = runtime.block_on(prefilled(&config, 10_000));
    let ids = Arc::new(ids);
    let mut group = c.benchmark_group("redis/load_and_extend_concurrent");
    group.sample_size(10);
    for tasks in [1u64, 16, 64, 256] {
        group.throughput(Throughput::Elements(OPS_PER_TASK * tasks));
        group.bench_function(BenchmarkId::from_parameter(tasks), |b| {
            b.to_async(runtime).iter_custom(|batches| {
                let store = store.clone();
                let ids = Arc::clone(&ids);
                async move {
                    let started = Instant::now();
                    for _ in 0..batches {
                        let mut handles = Vec::new();
                        for task in 0..tasks {
                            let store = store.clone();
                            let ids = Arc::clone(&ids);
                            handles.push(tokio::spawn(async move {
                                for op in 0..OPS_PER_TASK {
                                    let id =
                                        ids[((task * 7919 + op * 31) % ids.len() as u64) as usize];
                                    assert!(
                                        store.load_and_extend(&id).await.expect("load").is_some()
                                    );
                                }
                            }));
                        }
                        for handle in handles {
                            handle.await.expect("task");
                        }
                    }
                    started.elapsed()
                }
            })
        });
    }
    group.finish();
}
