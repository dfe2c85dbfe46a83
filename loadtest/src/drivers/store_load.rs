//! The session-store load: many tasks drive one store directly (no HTTP) with a read-heavy mix,
//! timing every operation into HDR histograms.
//!
//! It is a closed model: each task issues its next operation as soon as the last one returns,
//! so the latencies are service times under that concurrency, not responses to a fixed arrival
//! rate (no coordinated-omission correction applies).

use crate::error::{RunResult, ensure};
use hdrhistogram::Histogram;
use mock_services::session::{
    AnyStore, CartItem, SaveOutcome, SessionData, SessionId, SessionStore,
};
use rand::rngs::SmallRng;
use rand::{Rng as _, SeedableRng as _};
use reports::results::{OperationResult, Percentiles};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The operations of the mix, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    LoadAndExtend,
    Save,
    Create,
    Delete,
}

impl Operation {
    pub const ALL: [Operation; 4] = [
        Operation::LoadAndExtend,
        Operation::Save,
        Operation::Create,
        Operation::Delete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::LoadAndExtend => "load_and_extend",
            Operation::Save => "save",
            Operation::Create => "create",
            Operation::Delete => "delete",
        }
    }
}

/// Per-mille shares: load-and-extend, save (a cart write after a load), create+delete.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    pub load_and_extend: u32,
    pub save: u32,
    pub create_delete: u32,
}

impl Mix {
    /// 95% page views, 4% cart writes, 1% logins and logouts.
    pub const READ_HEAVY: Mix = Mix {
        load_and_extend: 950,
        save: 40,
        create_delete: 10,
    };

    pub fn as_pairs(&self) -> Vec<(String, u32)> {
        vec![
            ("load_and_extend".into(), self.load_and_extend),
            ("save".into(), self.save),
            ("create+delete".into(), self.create_delete),
        ]
    }
}

/// Latency histograms (nanoseconds) and error counts of one task, merged at the end.
#[derive(Debug)]
pub struct Tally {
    histograms: Vec<Histogram<u64>>,
    errors: Vec<u64>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            // 1 ns to 60 s at 3 significant digits: in-memory operations take well under 1 µs,
            // so microsecond buckets would read as 0 or 1.
            histograms: Operation::ALL
                .iter()
                .map(|_| Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds"))
                .collect(),
            errors: vec![0; Operation::ALL.len()],
        }
    }

    fn record(&mut self, operation: Operation, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.histograms[operation as usize].saturating_record(nanos);
    }

    fn error(&mut self, operation: Operation) {
        self.errors[operation as usize] += 1;
    }

    fn merge(&mut self, other: &Tally) {
        for (mine, theirs) in self.histograms.iter_mut().zip(&other.histograms) {
            mine.add(theirs).expect("same bounds");
        }
        for (mine, theirs) in self.errors.iter_mut().zip(&other.errors) {
            *mine += theirs;
        }
    }

    pub fn total_operations(&self) -> u64 {
        self.histograms.iter().map(Histogram::len).sum()
    }

    pub fn total_errors(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// One row per operation that ran at least once.
    pub fn rows(&self) -> Vec<OperationResult> {
        Operation::ALL
            .iter()
            .zip(self.histograms.iter().zip(&self.errors))
            .filter(|(_, (histogram, errors))| !histogram.is_empty() || **errors > 0)
            .map(|(operation, (histogram, errors))| {
                let micros = |nanos: u64| nanos as f64 / 1_000.0;
                OperationResult {
                    operation: operation.name().into(),
                    count: histogram.len(),
                    errors: *errors,
                    latency_us: Percentiles {
                        mean: histogram.mean() / 1_000.0,
                        p50: micros(histogram.value_at_quantile(0.50)),
                        p90: micros(histogram.value_at_quantile(0.90)),
                        p99: micros(histogram.value_at_quantile(0.99)),
                        p99_9: micros(histogram.value_at_quantile(0.999)),
                        max: micros(histogram.max()),
                    },
                }
            })
            .collect()
    }
}

/// Creates `count` sessions with `tasks` concurrent creators; returns their IDs.
pub async fn prefill(store: &AnyStore, count: usize, tasks: usize) -> RunResult<Vec<SessionId>> {
    Ok(mock_services::session::prefill(store, count, tasks).await?)
}

/// Runs the mix on `tasks` tasks until `duration` has passed; `completed` counts finished
/// operations as they happen (for the progress line and the per-second timeline).
pub async fn run(
    store: &AnyStore,
    ids: Arc<Vec<SessionId>>,
    tasks: usize,
    duration: Duration,
    mix: Mix,
    completed: Arc<AtomicU64>,
    handicap: Option<Duration>,
) -> RunResult<Tally> {
    ensure!(
        !ids.is_empty(),
        "the load needs at least one prefilled session"
    );
    let deadline = Instant::now() + duration;
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let store = store.clone();
        let ids = Arc::clone(&ids);
        let completed = Arc::clone(&completed);
        handles.push(tokio::spawn(async move {
            drive(store, ids, deadline, mix, completed, task as u64, handicap).await
        }));
    }
    let mut total = Tally::new();
    for handle in handles {
        total.merge(&handle.await?);
    }
    Ok(total)
}

async fn drive(
    store: AnyStore,
    ids: Arc<Vec<SessionId>>,
    deadline: Instant,
    mix: Mix,
    completed: Arc<AtomicU64>,
    seed: u64,
    handicap: Option<Duration>,
) -> Tally {
    let mut tally = Tally::new();
    let mut rng = SmallRng::seed_from_u64(0x5eed_0000 + seed);
    let mut done_since_flush = 0u64;
    // In memory, flush the shared counter every 256 operations (a shared atomic per operation
    // would cost more than the operation). Over the network each operation waits far longer
    // than an atomic add, and a batch of 256 per task made the per-second counts move in steps
    // of 256 × tasks (16,384 at 64 tasks): flush each one there.
    let batch = if in_memory(&store) { 256 } else { 1 };
    loop {
        let pick = rng.random_range(0..1000);
        let id = ids[rng.random_range(0..ids.len())];
        if pick < mix.load_and_extend {
            let started = Instant::now();
            let result = store.load_and_extend(&id).await;
            if let Some(cost) = handicap {
                // The test device: the lookup costs this much more CPU, inside its timing.
                mock_services::cli::Handicap::spend(cost);
            }
            tally.record(Operation::LoadAndExtend, started.elapsed());
            if !matches!(result, Ok(Some(_))) {
                tally.error(Operation::LoadAndExtend);
            }
        } else if pick < mix.load_and_extend + mix.save {
            cart_write(&store, &id, &mut tally).await;
        } else {
            create_then_delete(&store, &mut tally).await;
        }
        done_since_flush += 1;
        // Flush the shared counter and yield now and then: in-memory operations never wait, so
        // without a yield one task could hold a worker thread for the whole run.
        if done_since_flush == batch {
            completed.fetch_add(done_since_flush, Ordering::Relaxed);
            done_since_flush = 0;
            tokio::task::yield_now().await;
            if Instant::now() >= deadline {
                return tally;
            }
        }
    }
}

/// A cart write as a page would do it: load (untimed here), add a line, save (timed).
async fn cart_write(store: &AnyStore, id: &SessionId, tally: &mut Tally) {
    let Ok(Some(mut session)) = store.load_and_extend(id).await else {
        tally.error(Operation::Save);
        return;
    };
    let cart = &mut Arc::make_mut(&mut session.data).cart;
    if cart.len() >= 8 {
        cart.clear(); // keep the payload at a steady size
    }
    cart.push(CartItem {
        sku: "sku-1".into(),
        quantity: 1,
    });
    let started = Instant::now();
    let result = store.save(&mut session).await;
    tally.record(Operation::Save, started.elapsed());
    // A conflict is the contract working (another task wrote first), not an error.
    if !matches!(result, Ok(SaveOutcome::Saved | SaveOutcome::Conflict)) {
        tally.error(Operation::Save);
    }
}

async fn create_then_delete(store: &AnyStore, tally: &mut Tally) {
    let started = Instant::now();
    let created = store
        .create("visitor@example.com", SessionData::default())
        .await;
    tally.record(Operation::Create, started.elapsed());
    let Ok(session) = created else {
        tally.error(Operation::Create);
        return;
    };
    let started = Instant::now();
    let deleted = store.delete(&session.id).await;
    tally.record(Operation::Delete, started.elapsed());
    if !matches!(deleted, Ok(true)) {
        tally.error(Operation::Delete);
    }
}

/// Whether `store` keeps its sessions in this process (its operations never wait on I/O).
fn in_memory(store: &AnyStore) -> bool {
    mock_services::session::Backend::from_name(store.backend_name())
        .is_some_and(mock_services::session::Backend::is_in_memory)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_services::session::{MemoryConfig, SessionPolicy, StoreConfig, build_store};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn short_run_times_every_operation_of_the_mix() {
        let store = build_store(
            &StoreConfig::DashMap(MemoryConfig::default()),
            SessionPolicy::default(),
        )
        .await
        .expect("store");
        let ids = prefill(&store, 200, 4).await.expect("prefill");
        assert_eq!(ids.len(), 200);
        let completed = Arc::new(AtomicU64::new(0));
        let tally = run(
            &store,
            Arc::new(ids),
            4,
            Duration::from_millis(300),
            Mix::READ_HEAVY,
            Arc::clone(&completed),
            None,
        )
        .await
        .expect("run");
        assert_eq!(tally.total_errors(), 0);
        assert!(completed.load(Ordering::Relaxed) <= tally.total_operations());
        let rows = tally.rows();
        let names: Vec<&str> = rows.iter().map(|row| row.operation.as_str()).collect();
        assert_eq!(names, ["load_and_extend", "save", "create", "delete"]);
        for row in &rows {
            assert!(row.count > 0, "{row:?}");
            let latency = &row.latency_us;
            assert!(
                latency.p50 <= latency.p99
                    && latency.p99 <= latency.p99_9
                    && latency.p99_9 <= latency.max,
                "{row:?}"
            );
        }
        // Every create was followed by a delete, so the store holds exactly the prefill.
        assert_eq!(store.live_count().await.expect("count"), 200);
    }

    #[tokio::test]
    async fn a_deleted_session_counts_as_an_error() {
        let store = build_store(
            &StoreConfig::DashMap(MemoryConfig::default()),
            SessionPolicy::default(),
        )
        .await
        .expect("store");
        let ids = prefill(&store, 1, 1).await.expect("prefill");
        assert!(store.delete(&ids[0]).await.expect("delete"));
        let reads_only = Mix {
            load_and_extend: 1000,
            save: 0,
            create_delete: 0,
        };
        let tally = run(
            &store,
            Arc::new(ids),
            1,
            Duration::from_millis(50),
            reads_only,
            Arc::new(AtomicU64::new(0)),
            None,
        )
        .await
        .expect("run");
        assert!(tally.total_operations() > 0);
        assert_eq!(tally.total_errors(), tally.total_operations());
    }
}
