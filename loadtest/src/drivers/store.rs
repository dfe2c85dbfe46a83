//! `loadtest store`: drives the session store directly (no HTTP) with a read-heavy mix and
//! writes `reports/<timestamp>/` (`results.json` and its rendered report): the backends' own
//! cost, without the web stack.

use crate::drivers::rounds::{Ledger, RoundsArgs};
use crate::drivers::store_load::{self, Mix};
use crate::error::While as _;
use crate::error::{RunResult, ensure};
use crate::measure::environment;
use mock_services::cli::BackendArgs;
use mock_services::session::{SessionPolicy, SessionStore, build_store};
use reports::results::{SCHEMA_VERSION, StoreRunConfig, StoreRunResults};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use vocabulary::Arm;

/// Load-test a session backend directly and write a results file.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Arms to compare, comma-separated, as `matrix --arms` takes them: backends, or a backend
    /// whose every timed lookup spends more CPU (`dashmap+handicap=2us`, a test device); run in
    /// interleaved rounds, each on a fresh store [default: --backend alone].
    #[arg(long, visible_alias = "backends", value_name = "ARMS", value_delimiter = ',', value_parser = Arm::parse)]
    pub arms: Vec<Arm>,
    /// How long the measured run lasts (e.g. 10s; 1s to 1h, in whole seconds).
    #[arg(long, default_value = "10s", value_parser = store_duration)]
    pub duration: Duration,
    /// Concurrent tasks driving the store.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub tasks: u64,
    /// Live sessions put in the store before the run; lookups pick among them at random.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
    pub prefill_sessions: u64,
    /// Rounds: `--repeat N` (default 1), or `--precision` with `--max-time`, as in `matrix`.
    /// With more than one run, each goes to `<timestamp>/<round>/` (one arm) or
    /// `<timestamp>/<arm>/<round>/`, and the report at the top gives medians with intervals.
    #[command(flatten)]
    pub rounds: RoundsArgs,
    /// Where run directories go (one `<timestamp>/` per run) [default: the workspace's
    /// `reports/` folder].
    #[arg(long)]
    pub reports_dir: Option<PathBuf>,
}

/// `--duration`: a duration with its unit, in whole seconds from 1 s to 1 h.
fn store_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|error| error.to_string())?;
    if duration.subsec_nanos() != 0 || !(1..=3600).contains(&duration.as_secs()) {
        return Err(format!("{text}: whole seconds from 1s to 1h"));
    }
    Ok(duration)
}

/// Runs the store-level load — each arm in interleaved rounds until the rounds' rule stops —
/// writes each run's results and report, and, for several runs, `rounds.json` and a report over
/// all of them.
pub async fn run(args: StoreArgs, worker_threads: usize) -> RunResult<()> {
    let root = args
        .reports_dir
        .clone()
        .unwrap_or_else(crate::setup::output::default_reports_dir)
        .join(crate::setup::output::timestamp());
    let named = !args.arms.is_empty();
    let arms = if named {
        args.arms.clone()
    } else {
        vec![Arm::plain(args.backend.backend)]
    };
    let names = vocabulary::arm::names(&arms);
    let policy = args.rounds.policy(1)?;
    let alone = arms.len() == 1 && policy.max_rounds == 1;
    let mut ledger = Ledger::new(policy, arms.len());
    let mut failed = 0;
    let mut dirs = Vec::new();
    while let Some((round, order)) = ledger.next_round() {
        for index in order {
            let run_dir = match (alone, arms.len()) {
                (true, _) => root.clone(),
                (false, 1) => root.join(round.to_string()),
                (false, _) => root.join(&names[index]).join(round.to_string()),
            };
            let arm = Leg {
                arm: arms[index],
                name: named.then(|| names[index].clone()),
                round,
            };
            let (run_dir, results) = one(&args, &arm, &run_dir, worker_threads).await?;
            failed += results.total_errors;
            ledger.record(index, results.operations_per_second);
            dirs.push(run_dir);
        }
    }
    if !alone {
        let root = root.canonicalize().unwrap_or(root);
        let rounds = ledger.finish(&arms, names);
        reports::results::write_rounds(&root, &rounds)
            .doing_with(|| format!("writing the rounds into {}", root.display()))?;
        let report =
            reports::render::render_comparison(&dirs, reports::render::criterion_or_warn(), &root)
                .doing_with(|| format!("rendering the report in {}", root.display()))?;
        println!("{}", reports::compare::rounds_sentence(&rounds));
        println!("report over {} runs: {}", dirs.len(), report.display());
    }
    ensure!(failed == 0, "{failed} operations failed");
    Ok(())
}

/// One run's place in a comparison.
#[derive(Debug)]
struct Leg {
    arm: Arm,
    /// Its name in results, when arms were named (`--arms`).
    name: Option<String>,
    round: u32,
}

/// One run on a fresh store, into `run_dir`.
async fn one(
    args: &StoreArgs,
    leg: &Leg,
    run_dir: &std::path::Path,
    worker_threads: usize,
) -> RunResult<(PathBuf, StoreRunResults)> {
    let started_at = jiff::Timestamp::now();
    let mut backend = args.backend.clone();
    backend.backend = leg.arm.backend;
    let chosen = backend.choose("ssobench:loadtest:")?;
    let policy = SessionPolicy::default();
    let store = build_store(&chosen.config, policy)
        .await
        .doing("building the session store")?;
    let tasks = usize::try_from(args.tasks)?;
    let seconds = args.duration.as_secs();
    let prefill_count = usize::try_from(args.prefill_sessions)?;

    eprintln!(
        "ssobench store load: {}, {} prefilled sessions, {} tasks, {} s{}",
        leg.name.as_ref().map_or_else(
            || format!("backend {}", store.backend_name()),
            |name| format!("arm {name}, round {}", leg.round)
        ),
        prefill_count,
        tasks,
        seconds,
        leg.arm.handicap.map_or(String::new(), |cost| format!(
            ", every lookup {cost:?} dearer (handicap)"
        ))
    );
    let prefill_started = Instant::now();
    let ids = store_load::prefill(&store, prefill_count, tasks).await?;
    eprintln!(
        "prefilled {} sessions in {:.2?}",
        ids.len(),
        prefill_started.elapsed()
    );

    let completed = Arc::new(AtomicU64::new(0));
    let progress = tokio::spawn(progress_line(Arc::clone(&completed), seconds));
    let run_started = Instant::now();
    let tally = store_load::run(
        &store,
        Arc::new(ids),
        tasks,
        args.duration,
        Mix::READ_HEAVY,
        Arc::clone(&completed),
        leg.arm.handicap,
    )
    .await?;
    let elapsed = run_started.elapsed().as_secs_f64();
    let timeline = progress.await.unwrap_or_default();
    eprintln!();

    let results = StoreRunResults {
        schema_version: SCHEMA_VERSION,
        started_at: started_at.to_string(),
        config: StoreRunConfig {
            backend: leg.arm.backend,
            tasks,
            duration_seconds: seconds,
            prefill_sessions: prefill_count,
            mix: Mix::READ_HEAVY.as_pairs(),
            idle_timeout_ms: policy.idle_millis(),
            absolute_timeout_ms: policy.absolute_millis(),
            repetition: leg.round,
            arm: leg.name.clone(),
            lookup_handicap_us: leg.arm.handicap.map(|cost| cost.as_secs_f64() * 1e6),
        },
        environment: environment::capture(worker_threads, None),
        operations: tally.rows(),
        operations_per_second_timeline: timeline,
        total_operations: tally.total_operations(),
        total_errors: tally.total_errors(),
        elapsed_seconds: elapsed,
        operations_per_second: tally.total_operations() as f64 / elapsed,
        live_sessions_at_end: store.live_count().await?,
    };
    std::fs::create_dir_all(run_dir).doing_with(|| format!("creating {}", run_dir.display()))?;
    let run_dir = run_dir.canonicalize().unwrap_or(run_dir.to_owned());
    reports::results::write(&run_dir, &results)?;
    let report = reports::render::render_store_run(&run_dir, &results)
        .doing_with(|| format!("rendering the report in {}", run_dir.display()))?;
    print_summary(&results);
    println!(
        "results: {}",
        run_dir.join(reports::results::RESULTS_FILE).display()
    );
    println!("report: {}", report.display());
    drop(chosen);
    Ok((run_dir, results))
}

/// Prints elapsed time and operations/s once a second for the run's length; returns the
/// per-second counts.
async fn progress_line(completed: Arc<AtomicU64>, duration: u64) -> Vec<u64> {
    let mut timeline = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    let mut last = 0;
    for second in 1..=duration {
        ticks.tick().await;
        let now = completed.load(Ordering::Relaxed);
        let in_this_second = now - last;
        timeline.push(in_this_second);
        last = now;
        eprint!("\r{second:>4}/{duration} s {in_this_second:>12} ops/s");
    }
    timeline
}

fn print_summary(results: &StoreRunResults) {
    println!(
        "{} ops in {:.1} s: {:.0} ops/s, {} errors, {} sessions live at the end",
        results.total_operations,
        results.elapsed_seconds,
        results.operations_per_second,
        results.total_errors,
        results.live_sessions_at_end
    );
    println!(
        "{:<16} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "operation", "count", "errors", "p50 µs", "p99 µs", "p99.9 µs", "max µs"
    );
    for row in &results.operations {
        println!(
            "{:<16} {:>10} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.1}",
            row.operation,
            row.count,
            row.errors,
            row.latency_us.p50,
            row.latency_us.p99,
            row.latency_us.p99_9,
            row.latency_us.max
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duration_takes_a_unit_in_whole_seconds_from_one_to_an_hour() {
        assert_eq!(store_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(store_duration("1h"), Ok(Duration::from_secs(3600)));
        for refused in ["10", "0s", "61m", "1500ms"] {
            assert!(store_duration(refused).is_err(), "{refused}");
        }
    }
}
