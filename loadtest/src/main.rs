//! `loadtest`: ssobench's load runner. With no subcommand it starts the whole stack in-process
//! (DashMap sessions, on threads of its own), runs the scenario mix for 30 s and writes
//! `reports/<timestamp>/`.

use clap::Parser;
use loadtest::drivers::calibrate::{self, CalibrateArgs};
use loadtest::drivers::matrix::{self, MatrixArgs};
use loadtest::drivers::run::execute;
use loadtest::drivers::store::{self, StoreArgs};
use loadtest::setup::args::{RunArgs, default_threads};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Load-test session-based login through the IdP and the apps"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Drive the session store directly, without HTTP.
    Store(StoreArgs),
    /// Run the same load on every backend (or the arms of --backends), in interleaved rounds
    /// until the rule of --repeat or --precision stops, and render one comparison report.
    Matrix(Box<MatrixArgs>),
    /// Measure this machine's load-generator ceiling (requests/s per generator core) and keep
    /// it, to show beside every later run here.
    Calibrate(CalibrateArgs),
    /// Measure what each operation costs each component of the stack on this machine (CPU per
    /// login, per SSO login, per cart read and write; bytes per live session), from several
    /// short mixes run against the stack as processes, and keep it for `plan`.
    Profile(Box<loadtest::drivers::profile::ProfileArgs>),
    /// Size an auth tier for a target (logins, SSO logins, cart operations per second, live
    /// sessions, headroom) from a cost profile, beside Keycloak's published figures; with
    /// --verify, check the model here by running a mix made from the target.
    Plan(Box<loadtest::drivers::plan::PlanArgs>),
    /// The mock services' `serve`: how a run started with `--instances` runs its stack (and
    /// each app instance) as processes of this same program.
    #[command(hide = true)]
    Serve(Box<mock_services::serve::ServeCommand>),
    /// One load generator of a run of several: coordinated (--coordinator), its share of the
    /// run, released with the others, its files sent back to be merged; or by hand, the load
    /// against a running stack (--target) into --worker-dir, to be merged with the others
    /// (`cargo run -p reports -- merge`).
    Worker(Box<loadtest::drivers::workers::WorkerCommand>),
    /// The coordinator of a distributed run as a process of its own (the coordinator pod of
    /// `loadtest kube`): waits for the workers, releases them together, merges their runs and
    /// serves the report until it is fetched.
    Coordinate(Box<loadtest::drivers::coordinate::CoordinateArgs>),
    /// Write the Kubernetes manifests of a distributed run into --out (`kubectl apply -f`),
    /// or with --local run them as processes on loopback.
    Kube(Box<loadtest::drivers::kube::KubeCommand>),
}

fn main() -> anyhow::Result<()> {
    let mut cli = Cli::parse();
    // Every connection is a descriptor: the soft limit goes up to the hard one before anything
    // opens (runs check what they need against it before they start).
    let _ = mock_services::limits::raise_open_files();
    // A worker started by a run reads its arguments first: its thread count is among them.
    if let Some(Command::Worker(command)) = &mut cli.command {
        command.receive()?;
    }
    // No `log` bridge: goose installs its own `log` logger, and two would clash. The in-process
    // stack's per-request warnings (a store that is down answers 503 and says so) are off by
    // default: the run counts those answers, and a fault run would print thousands of lines.
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,mock_services=error".into()),
        )
        .with_writer(std::io::stderr)
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
    // The generator's runtime: every load runs on it; the stack gets a runtime of its own.
    let generator_threads = match &cli.command {
        Some(Command::Matrix(args)) => args.run.generator_threads,
        Some(Command::Profile(args)) => args.run.generator_threads,
        Some(Command::Plan(args)) => args.run.generator_threads,
        Some(Command::Worker(command)) => command.args.run.generator_threads,
        _ => cli.run.generator_threads,
    }
    .unwrap_or_else(default_threads);
    let worker_threads = match &cli.command {
        // The store-level load has no stack runtime, and a served stack no generator: each
        // uses every core.
        Some(Command::Store(_) | Command::Serve(_)) => {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
        _ => generator_threads,
    };
    // A run with its stack in this process gives each side CPUs of its own (`--pin`), decided
    // here, once, and carried in its arguments to the stack's runtime and the results.
    let split = match &cli.command {
        None => cli.run.core_split(generator_threads),
        Some(Command::Matrix(args)) => args.run.core_split(generator_threads),
        Some(_) => None,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(worker_threads)
        .thread_name("ssobench-gen")
        .enable_all();
    if let Some(split) = &split {
        // What depends on the CPUs a thread may use is settled before any thread is pinned:
        // the stack's thread count and DashMap's shard count.
        let run = match &mut cli.command {
            Some(Command::Matrix(args)) => &mut args.run,
            _ => &mut cli.run,
        };
        run.stack_threads = Some(run.stack_threads());
        run.cores = Some(split.clone());
        mock_services::session::fix_default_shards();
    }
    if let Some(split) = split {
        // This thread drives the runtime's `block_on`, and the threads it starts (the sampler,
        // the interval logs) inherit its CPUs.
        loadtest::setup::cores::pin_current_thread(&split.generator);
        builder
            .on_thread_start(move || loadtest::setup::cores::pin_current_thread(&split.generator));
    }
    let runtime = builder.build()?;
    runtime.block_on(async move {
        match cli.command {
            Some(Command::Store(args)) => Ok(store::run(args, worker_threads).await?),
            Some(Command::Serve(command)) => Ok(command.run().await?),
            Some(Command::Worker(command)) => {
                let outcome = loadtest::drivers::workers::work(&command).await?;
                eprintln!(
                    "worker results: {}",
                    outcome
                        .run_dir
                        .join(reports::results::RESULTS_FILE)
                        .display()
                );
                Ok(())
            }
            Some(Command::Coordinate(args)) => {
                let outcome = loadtest::drivers::coordinate::execute(&args).await?;
                eprintln!("report: {}", outcome.report.display());
                Ok(())
            }
            Some(Command::Kube(command)) => {
                let outcome = loadtest::drivers::kube::execute(&command).await?;
                for file in &outcome.files {
                    println!("wrote {}", file.display());
                }
                match outcome.local {
                    Some(local) => {
                        loadtest::judge::summary::print(&local.results);
                        println!("report: {}", local.report.display());
                    }
                    None => println!(
                        "apply with: kubectl apply -f {}",
                        command.kube.out.display()
                    ),
                }
                Ok(())
            }
            Some(Command::Plan(args)) => {
                let planned = loadtest::drivers::plan::execute(&args).await?;
                planned.print();
                let failures = planned.failures();
                if !failures.is_empty() {
                    anyhow::bail!(
                        "the model is off by more than --tolerance:\n{}",
                        failures.join("\n")
                    );
                }
                Ok(())
            }
            Some(Command::Profile(args)) => {
                loadtest::drivers::profile::execute(&args).await?.print();
                Ok(())
            }
            Some(Command::Calibrate(args)) => {
                let calibrated = calibrate::execute(&args).await?;
                calibrated.print();
                Ok(())
            }
            Some(Command::Matrix(args)) => {
                let outcome = matrix::execute(&args).await?;
                outcome.print();
                let violations: Vec<String> = outcome
                    .runs
                    .iter()
                    .flat_map(|run| {
                        run.violations.iter().map(|v| {
                            format!(
                                "{}: {v}",
                                run.results
                                    .config
                                    .arm
                                    .as_deref()
                                    .unwrap_or(run.results.config.backend.name())
                            )
                        })
                    })
                    .collect();
                anyhow::ensure!(
                    violations.is_empty(),
                    "thresholds exceeded:\n  {}",
                    violations.join("\n  ")
                );
                Ok(())
            }
            None => {
                let outcome = execute(&cli.run).await?;
                loadtest::judge::summary::print(&outcome.results);
                println!(
                    "results: {}",
                    outcome
                        .run_dir
                        .join(reports::results::RESULTS_FILE)
                        .display()
                );
                println!("report: {}", outcome.report.display());
                anyhow::ensure!(
                    outcome.violations.is_empty(),
                    "thresholds exceeded:\n  {}",
                    outcome.violations.join("\n  ")
                );
                Ok(())
            }
        }
    })
}
