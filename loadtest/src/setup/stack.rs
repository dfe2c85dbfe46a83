//! What a run drives: the stack in this process on a runtime of its own (its own named worker
//! threads, so its CPU and the generator's can be told apart), the stack as processes of its own
//! (`--instances`), or a stack already running on loopback (`--target`, with `--target-pid`
//! naming its process).

use crate::error::While as _;
use crate::error::{RunError, RunResult, bail};
use crate::fault::inject::Controls;
use crate::measure::cpu::CpuSides;
use crate::measure::gauges::{StackMemory, StoreGauges};
use crate::measure::timeline::StackConnections;
use crate::setup::args::RunArgs;
use crate::setup::gauges::GaugeWatch;
use crate::setup::process_stack::{self, ProcessStack};
use crate::users::context::Targets;
use mock_services::session::{AnyStore, SessionPolicy, SessionStore as _};
use mock_services::stack::{RunningStack, StackConfig};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

/// The name of every thread of an in-process stack's runtime (at most 15 bytes: Linux keeps
/// no more of a thread's name). The CPU meter tells the sides apart by it.
pub const STACK_THREAD_NAME: &str = "ssobench-stack";

/// A runtime for a stack (or calibration's trivial server): named threads, shut down without
/// blocking whoever drops it.
#[derive(Debug)]
pub struct StackRuntime {
    runtime: Option<tokio::runtime::Runtime>,
    threads: usize,
}

impl StackRuntime {
    /// A runtime of `threads` workers, each pinned to `cpus` when given (`setup::cores`).
    pub fn new(threads: usize, cpus: Option<Vec<usize>>) -> RunResult<Self> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder
            .worker_threads(threads)
            .thread_name(STACK_THREAD_NAME)
            .enable_all();
        if let Some(cpus) = cpus {
            builder.on_thread_start(move || crate::setup::cores::pin_current_thread(&cpus));
        }
        let runtime = builder.build().doing("starting the stack's runtime")?;
        Ok(StackRuntime {
            runtime: Some(runtime),
            threads,
        })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `future` on the stack's threads and waits for it from the caller's runtime.
    pub async fn run<F>(&self, future: F) -> RunResult<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let runtime = self
            .runtime
            .as_ref()
            .doing("the stack's runtime has shut down")?;
        runtime
            .spawn(future)
            .await
            .doing("a task of the stack's runtime failed")
    }

    /// Spawns `future` on the stack's threads.
    pub fn spawn<F>(&self, future: F) -> Option<tokio::task::JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.as_ref().map(|runtime| runtime.spawn(future))
    }
}

impl Drop for StackRuntime {
    fn drop(&mut self) {
        // Dropping a runtime blocks on its tasks, which an async caller must not do.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The whole stack in this process.
#[derive(Debug)]
pub struct InProcessStack {
    runtime: StackRuntime,
    running: Option<RunningStack>,
    /// The pid of the redis-server the stack started (0: none); a restart fault moves it.
    redis_pid: Arc<AtomicU32>,
}

/// What the run drives.
#[derive(Debug)]
pub enum Stack {
    InProcess(Box<InProcessStack>),
    /// Started by the run as processes (`--instances`).
    Processes(ProcessStack),
    External {
        idp: String,
        stores: Vec<String>,
        forums: Vec<String>,
        pid: Option<u32>,
        /// More of its processes (`--stack-pids`).
        more_pids: Vec<u32>,
    },
}

impl Stack {
    /// Starts the stack the flags describe (in-process, or as processes with `--instances`),
    /// or checks `--target`'s URLs.
    pub async fn start(args: &RunArgs) -> RunResult<Stack> {
        if args.target.is_empty() && !args.stack_in_process() {
            let serve = process_stack::serve_args(args);
            let program = process_stack::program(args)?;
            return Ok(Stack::Processes(
                ProcessStack::start(&serve, &program).await?,
            ));
        }
        if args.target.is_empty() {
            let cpus = args.cores.as_ref().map(|split| split.stack.clone());
            let runtime = StackRuntime::new(args.stack_threads(), cpus)?;
            let config = stack_config(args);
            let running = runtime
                .run(async move { mock_services::stack::start(&config).await })
                .await??;
            let redis_pid = Arc::new(AtomicU32::new(running.local_redis_pid().unwrap_or(0)));
            return Ok(Stack::InProcess(Box::new(InProcessStack {
                runtime,
                running: Some(running),
                redis_pid,
            })));
        }
        let trimmed = |urls: &[String]| {
            urls.iter()
                .map(|url| url.trim_end_matches('/').to_owned())
                .collect()
        };
        let stack = Stack::External {
            idp: args.target_idp.trim_end_matches('/').to_owned(),
            stores: trimmed(&args.target),
            forums: trimmed(&args.target_forums),
            pid: args.target_pid,
            more_pids: args.stack_pids.clone(),
        };
        // Its URLs are parsed and resolved once, by the run (`targets`).
        Ok(stack)
    }

    /// The services' origins, parsed and their names resolved (call it once per run).
    pub fn targets(&self) -> RunResult<Targets> {
        let (idp, stores, forums) = match self {
            Stack::InProcess(stack) => {
                let running = stack.running()?;
                let url = |url: &Option<String>| url.clone().unwrap_or_default();
                (
                    url(&running.idp_url),
                    vec![url(&running.store_url)],
                    vec![url(&running.forums_url)],
                )
            }
            Stack::Processes(stack) => (
                stack.idp.clone(),
                stack.stores.clone(),
                stack.forums.clone(),
            ),
            Stack::External {
                idp,
                stores,
                forums,
                ..
            } => (idp.clone(), stores.clone(), forums.clone()),
        };
        Targets::parse(&idp, &stores, &forums).map_err(|error| {
            RunError::refused(format!(
                "{error} (check --target, --target-idp and --target-forums)"
            ))
        })
    }

    /// What counts as the stack's CPU.
    pub fn cpu_sides(&self) -> CpuSides {
        match self {
            Stack::InProcess(stack) => CpuSides {
                stack_thread_name: Some(STACK_THREAD_NAME),
                stack_pids: stack
                    .running
                    .as_ref()
                    .map_or_else(Vec::new, RunningStack::local_cluster_pids),
                moving_pid: Some(Arc::clone(&stack.redis_pid)),
            },
            Stack::Processes(stack) => CpuSides {
                stack_thread_name: None,
                stack_pids: stack.pids().to_vec(),
                moving_pid: None,
            },
            Stack::External { pid, more_pids, .. } => CpuSides {
                stack_thread_name: None,
                stack_pids: pid.iter().chain(more_pids).copied().collect(),
                moving_pid: None,
            },
        }
    }

    /// Where the stack's costs by component are read: its services' counts and the processes
    /// under the stack's (a stack in this process has one process for all: `None`).
    pub fn cost_meter(&self, targets: &Targets) -> Option<crate::setup::costs::CostMeter> {
        let roots = match self {
            Stack::InProcess(_) => return None,
            Stack::Processes(stack) => vec![stack.pid()],
            Stack::External { pid, more_pids, .. } => {
                pid.iter().chain(more_pids).copied().collect()
            }
        };
        (!roots.is_empty()).then(|| crate::setup::costs::CostMeter::new(targets.clone(), roots))
    }

    /// How the sampler reads the connections the stack holds: its servers' own counts
    /// in-process, its processes' descriptors otherwise.
    pub fn connections(&self) -> StackConnections {
        match self {
            Stack::InProcess(stack) => match &stack.running {
                Some(running) => {
                    let services = running.connections();
                    StackConnections(Box::new(move || {
                        Some(services.iter().map(|(_, counts)| counts.open()).sum())
                    }))
                }
                None => StackConnections::unknown(),
            },
            Stack::Processes(stack) => StackConnections::of_processes(stack.pids().to_vec()),
            Stack::External { pid: None, .. } => StackConnections::unknown(),
            Stack::External { pid, more_pids, .. } => {
                StackConnections::of_processes(pid.iter().chain(more_pids).copied().collect())
            }
        }
    }

    /// Connections the stack answered 503 for being over its cap, when it ran in this process.
    pub fn refused_over_cap(&self) -> Option<u64> {
        match self {
            Stack::InProcess(stack) => stack.running.as_ref().map(|running| {
                running
                    .refused_over_cap()
                    .iter()
                    .map(|(_, count)| count)
                    .sum()
            }),
            _ => None,
        }
    }

    /// What the run's faults may act on: the redis-server the stack started and the stack's
    /// pause gate in-process; the process of `--target-pid` otherwise.
    pub fn fault_controls(&self) -> Controls {
        match self {
            Stack::InProcess(stack) => Controls {
                redis: stack.running.as_ref().and_then(RunningStack::local_redis),
                redis_pid: Some(Arc::clone(&stack.redis_pid)),
                gate: stack.running.as_ref().map(|running| running.gate.clone()),
                stack_pid: None,
            },
            Stack::Processes(_) => Controls::default(),
            Stack::External { pid, .. } => Controls {
                stack_pid: *pid,
                ..Controls::default()
            },
        }
    }

    /// What the stack's CPU figure covers, in words for the report.
    pub fn cpu_source(&self) -> String {
        match self {
            Stack::InProcess(stack) => {
                let running = stack.running.as_ref();
                let nodes = running.map_or(0, |running| running.local_cluster_pids().len());
                let redis = match running.and_then(RunningStack::local_redis_pid) {
                    Some(pid) => format!(" and the redis-server it started (pid {pid})"),
                    None if nodes > 0 => {
                        format!(" and the {nodes} redis-server nodes of the cluster it started")
                    }
                    None => String::new(),
                };
                format!(
                    "the in-process stack's {} runtime thread(s){redis}",
                    stack.runtime.threads()
                )
            }
            Stack::Processes(stack) => format!(
                "the stack's processes: `serve` (pid {}, the IdP) and the {} process(es) under \
                 it (app instances, redis-servers)",
                stack.pid(),
                stack.pids().len().saturating_sub(1)
            ),
            Stack::External {
                pid: None,
                more_pids,
                ..
            } if !more_pids.is_empty() => format!(
                "the stack's processes ({}: the `serve` process and those under it)",
                more_pids.len()
            ),
            Stack::External { pid: Some(pid), .. } => format!("process {pid} (--target-pid)"),
            Stack::External { pid: None, .. } => {
                "unknown: give --target-pid to record the stack's CPU".into()
            }
        }
    }

    /// Worker threads of the in-process stack's runtime.
    pub fn threads(&self) -> Option<usize> {
        match self {
            Stack::InProcess(stack) => Some(stack.runtime.threads()),
            Stack::Processes(_) | Stack::External { .. } => None,
        }
    }

    /// The store app's session store, in-process only.
    pub fn store_sessions(&self) -> Option<AnyStore> {
        match self {
            Stack::InProcess(stack) => stack
                .running
                .as_ref()
                .and_then(|running| running.store.as_ref())
                .map(|store| store.sessions().clone()),
            Stack::Processes(_) | Stack::External { .. } => None,
        }
    }

    /// Creates `count` live sessions in the store's backend, on the stack's threads.
    pub async fn prefill(&self, count: u64) -> RunResult<()> {
        if count == 0 {
            return Ok(());
        }
        // A stack of processes prefilled its store before it announced itself.
        if let Stack::Processes(_) = self {
            return Ok(());
        }
        let (Stack::InProcess(stack), Some(store)) = (self, self.store_sessions()) else {
            bail!("--prefill-sessions needs the in-process stack (no --target)");
        };
        let started = Instant::now();
        let count = usize::try_from(count)?;
        stack
            .runtime
            .run(async move { mock_services::session::prefill(&store, count, 64).await })
            .await??;
        eprintln!("prefilled {count} sessions in {:.2?}", started.elapsed());
        Ok(())
    }

    /// Keeps `gauges` at the store's live-session count and its backend's memory, beside the
    /// sampler, until the watch is dropped. In-process, on the stack's threads: in memory that
    /// is cheap and runs every second; on Redis the count is a SCAN over the keyspace on the
    /// app's own connection, which competes with the measured traffic, so it runs every five
    /// seconds there — except in runs with faults (`every_second`), whose before-and-after
    /// counts need it each second. A stack of processes is asked at its stores' gauges route on
    /// the same schedule (`setup::gauges`).
    pub fn watch_gauges(
        &self,
        gauges: &Arc<StoreGauges>,
        targets: &Targets,
        every_second: bool,
    ) -> GaugeWatch {
        let stack = match self {
            Stack::InProcess(stack) => stack,
            Stack::Processes(_) | Stack::External { .. } => {
                return crate::setup::gauges::watch_stores(
                    targets.clone(),
                    Arc::clone(gauges),
                    every_second,
                );
            }
        };
        let Some(store) = self.store_sessions() else {
            return GaugeWatch::of(None);
        };
        let gauges = Arc::clone(gauges);
        GaugeWatch::of(stack.runtime.spawn(async move {
            let every = if store.shared() && !every_second {
                Duration::from_secs(5)
            } else {
                Duration::from_secs(1)
            };
            loop {
                gauges.set(
                    store.live_count().await.ok(),
                    store.backend_memory().await.ok().flatten(),
                );
                tokio::time::sleep(every).await;
            }
        }))
    }

    /// The stack's processes whose resident memory the sampler reads, each by its name: the
    /// services each serves (`idp`, `store 2`, ...) as `named` tells them (a cost reading's
    /// pids), the rest by their command. None for a stack in this process, whose memory is
    /// the generator's.
    pub fn memory(&self, named: &std::collections::BTreeMap<u32, String>) -> StackMemory {
        let roots: Vec<u32> = match self {
            Stack::InProcess(_) => return StackMemory::none(),
            Stack::Processes(stack) => vec![stack.pid()],
            Stack::External { pid, more_pids, .. } => {
                pid.iter().chain(more_pids).copied().collect()
            }
        };
        let mut processes: Vec<(u32, String)> = Vec::new();
        for root in roots {
            for pid in process_stack::process_tree(root) {
                if processes.iter().any(|(seen, _)| *seen == pid) {
                    continue;
                }
                let name = named
                    .get(&pid)
                    .cloned()
                    .unwrap_or_else(|| crate::measure::gauges::process_name(pid));
                processes.push((pid, name));
            }
        }
        StackMemory::named(processes)
    }

    /// Stops the in-process stack (in-flight requests finish) and its runtime.
    pub async fn shutdown(self) -> RunResult<()> {
        let mut stack = match self {
            Stack::InProcess(stack) => stack,
            Stack::Processes(stack) => return stack.shutdown().await,
            Stack::External { .. } => return Ok(()),
        };
        if let Some(running) = stack.running.take() {
            stack.runtime.run(running.shutdown()).await??;
        }
        Ok(())
    }
}

impl InProcessStack {
    fn running(&self) -> RunResult<&RunningStack> {
        self.running
            .as_ref()
            .doing("the in-process stack has shut down")
    }
}

/// The in-process stack the run's flags describe: every service on a free loopback port.
pub fn stack_config(args: &RunArgs) -> StackConfig {
    let mut config = StackConfig::ephemeral(args.backend.clone());
    config.apps.policy = SessionPolicy {
        idle: args.store_idle_timeout,
        absolute: args.store_absolute_timeout,
    };
    config.idp.signing_alg = args.signing_alg;
    config.idp.password_hash = args.password_hash;
    config.idp.user_password = args.user_password.clone();
    config.idp.users = args.accounts();
    config.tls = args.stack_tls();
    config.ca_cert = args.ca_cert.clone();
    config.apps.handicap = args.handicap;
    config
}
