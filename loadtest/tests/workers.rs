//! Several load generators, end to end: `--workers 2` (the stack and two `loadtest worker`
//! processes, the coordinator's release, the merge), checked against the workers' own files — the merged
//! counts are their sums and the merged histograms the HDR sum of their interval logs, decoded
//! here independently of the merge — the coordination faults, each named, and workers started
//! by hand, merged by the library, with a worker of another configuration refused.

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use loadtest::drivers::run::execute;
use reports::results::{LoadRunResults, read_load};
use std::path::{Path, PathBuf};

mod support;
use support::{flags, loadtest_binary, process_stack};

/// Goose keeps process-wide state: runs in one process go one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One series' raw interval log, read with hdrhistogram's own log iterator and every interval
/// added up (an empty histogram when the worker wrote no log for it).
fn logged(worker: &Path, series: &str) -> Histogram<u64> {
    let path = worker
        .join("hlog")
        .join(format!("{}.raw.hlog", reports::report::slug(series)));
    let mut total = Histogram::<u64>::new(3).expect("histogram");
    let Ok(bytes) = std::fs::read(&path) else {
        return total;
    };
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("#unit: microseconds"), "{}", path.display());
    assert!(text.contains("#host: "), "{}", path.display());
    let mut deserializer = Deserializer::new();
    for entry in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(interval) = entry.expect("a well-formed log") {
            let encoded = base64::engine::general_purpose::STANDARD
                .decode(interval.encoded_histogram())
                .expect("base64");
            let histogram: Histogram<u64> = deserializer
                .deserialize(&mut encoded.as_slice())
                .expect("an interval histogram");
            total.add(histogram).expect("add");
        }
    }
    total
}

/// The merged run is the workers' sum: counts, statuses, the timeline, and every hop's and
/// flow's histogram (count, p50, p99, max) from their logs.
fn assert_merged_is_the_sum(merged: &LoadRunResults, workers: &[PathBuf]) {
    let each: Vec<LoadRunResults> = workers
        .iter()
        .map(|dir| read_load(dir).expect("a worker's results"))
        .collect();
    let sum = |value: fn(&LoadRunResults) -> u64| each.iter().map(value).sum::<u64>();
    assert_eq!(merged.requests_total, sum(|r| r.requests_total));
    assert_eq!(merged.errors_total, sum(|r| r.errors_total));
    assert_eq!(
        merged.config.users,
        each.iter().map(|r| r.config.users).sum::<usize>()
    );
    let rps: f64 = each.iter().map(|r| r.requests_per_second).sum();
    assert!((merged.requests_per_second - rps).abs() < 1e-6);
    let statuses: std::collections::BTreeSet<&String> = each
        .iter()
        .flat_map(|r| r.status_codes.keys())
        .chain(merged.status_codes.keys())
        .collect();
    for status in statuses {
        let summed: u64 = each.iter().filter_map(|r| r.status_codes.get(status)).sum();
        assert_eq!(
            merged.status_codes.get(status).copied().unwrap_or(0),
            summed,
            "status {status}"
        );
    }
    let timeline = |r: &LoadRunResults| r.timeline.iter().map(|p| p.requests).sum::<u64>();
    assert_eq!(timeline(merged), each.iter().map(timeline).sum::<u64>());
    for row in merged.hops.iter().chain(&merged.flows) {
        let mut expected = Histogram::<u64>::new(3).expect("histogram");
        for (dir, results) in workers.iter().zip(&each) {
            let own = logged(dir, &row.name);
            let counted = results
                .hops
                .iter()
                .chain(&results.flows)
                .find(|other| other.name == row.name)
                .map_or(0, |other| other.count);
            assert_eq!(own.len(), counted, "{}: {} logged", dir.display(), row.name);
            expected.add(&own).expect("add");
        }
        assert_eq!(row.count, expected.len(), "{}", row.name);
        if row.count > 0 {
            assert_eq!(
                row.raw_us.p50,
                expected.value_at_quantile(0.5) as f64,
                "{}",
                row.name
            );
            assert_eq!(
                row.raw_us.p99,
                expected.value_at_quantile(0.99) as f64,
                "{}",
                row.name
            );
            assert_eq!(row.raw_us.max, expected.max() as f64, "{}", row.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_two_workers_is_the_sum_of_their_own_files() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    // Workers warm up for a fixed time, so their measured seconds line up; what each logs
    // and counts starts at its end (the merge refuses logs that disagree with the results).
    let args = flags(dir.path(), &["--workers", "2", "--warm-up", "2s"]);
    let outcome = execute(&args).await.expect("run");
    let merged = &outcome.results;
    assert_eq!(merged.errors_total, 0, "{:?}", merged.error_kinds);
    let warm_up = merged.warm_up.as_ref().expect("the warm-up is recorded");
    assert_eq!((warm_up.seconds, warm_up.rule.as_deref()), (2, None));
    assert_eq!(merged.config.workers, 2);
    assert_eq!(merged.config.users, 8);
    assert_eq!(merged.config.target.to_string(), "processes");
    assert_eq!(merged.workers.len(), 2);
    let workers: Vec<PathBuf> = (1..=2)
        .map(|k| outcome.run_dir.join(format!("worker-{k}")))
        .collect();
    for (worker, dir) in merged.workers.iter().zip(&workers) {
        assert_eq!(worker.users, 4);
        assert!(
            worker.requests_total > 0 && worker.cpu_cores > 0.0,
            "{worker:?}"
        );
        assert!(dir.join("results.json").is_file());
        assert!(!worker.host.is_empty());
    }
    assert!(merged.password_logins_per_second > 0.0);
    assert!(
        merged
            .generator
            .stack_cpu_source
            .starts_with("measured by worker 1"),
        "{}",
        merged.generator.stack_cpu_source
    );
    assert_merged_is_the_sum(merged, &workers);
    let mut summed: Vec<u64> = Vec::new();
    for dir in &workers {
        let theirs = read_load(dir)
            .expect("worker results")
            .warm_up
            .expect("each worker warmed up");
        summed.resize(summed.len().max(theirs.requests.len()), 0);
        for (sum, requests) in summed.iter_mut().zip(&theirs.requests) {
            *sum += requests;
        }
    }
    assert_eq!(warm_up.requests, summed, "the warm-up's seconds are summed");
    let html = std::fs::read_to_string(&outcome.report).expect("report");
    assert!(html.contains("<h2 id=\"workers\">Workers</h2>"));
}

/// Each coordination fault ends the run with a message naming the worker and its pod, and
/// nothing is merged: a worker never ready within --ready-within, one that vanishes mid-run
/// (as an evicted pod), one that ends without sending its results, one whose clock is off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordination_faults_end_the_run_naming_the_worker() {
    let _serial = SERIAL.lock().await;
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["--worker-fault", "2:never-ready", "--ready-within", "20s"],
            &[
                "not ready within 20 s",
                "worker 2 (pod ",
                "took its arguments, never said ready",
            ],
        ),
        (
            &["--worker-fault", "2:exit-mid-run"],
            &["worker 2 (pod ", "exit status: 3", "without its results"],
        ),
        (
            &["--worker-fault", "2:withhold-results"],
            &["worker 2 (pod ", "without sending its results"],
        ),
        (
            &["--worker-fault", "2:clock-off=3s"],
            &["worker 2 (pod ", "its clock is +3000 ms off", "NTP"],
        ),
    ];
    for (extra, expected) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut line = vec!["--workers", "2"];
        line.extend_from_slice(extra);
        let args = flags(dir.path(), &line);
        let started = std::time::Instant::now();
        let error = execute(&args)
            .await
            .expect_err("a coordination fault ends the run")
            .to_string();
        for piece in expected {
            assert!(error.contains(piece), "{extra:?}: {error}");
        }
        assert!(
            !error.contains("worker 1 "),
            "only the faulty worker is named: {error}"
        );
        // Ended by the fault, not by a distant deadline.
        assert!(started.elapsed().as_secs() < 60, "{extra:?}: {error}");
        // No merged run: no results.json outside the workers' folders.
        for run in std::fs::read_dir(dir.path()).expect("reports dir") {
            let run = run.expect("entry").path();
            assert!(
                !run.join("results.json").exists(),
                "{extra:?}: a partial merge in {}",
                run.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_started_by_hand_merge_and_another_configuration_is_refused() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let stack = process_stack(dir.path()).await;
    let worker = |name: &str, run_time: &str| {
        let worker_dir = dir.path().join(name);
        let mut command = std::process::Command::new(loadtest_binary());
        command
            .arg("worker")
            .arg("--worker-dir")
            .arg(&worker_dir)
            .args(["--users", "3", "--run-time", run_time, "--quiet"])
            .args(["--store-idle-timeout", "1s", "--stolen-window", "500ms"])
            .args(["--target-idp", &stack.idp])
            .args(["--target", &stack.stores[0]])
            .args(["--target-forums", &stack.forums[0]]);
        (command, worker_dir)
    };
    let (mut first, first_dir) = worker("a", "2s");
    let (mut second, second_dir) = worker("b", "2s");
    let (mut other, other_dir) = worker("c", "1s");
    let mut running = vec![
        first.spawn().expect("worker a"),
        second.spawn().expect("worker b"),
    ];
    for child in &mut running {
        assert!(child.wait().expect("wait").success());
    }
    assert!(other.status().expect("worker c").success());
    stack.shutdown().await.expect("stop");

    let out = dir.path().join("merged");
    let dirs = [first_dir.clone(), second_dir.clone()];
    let merged = reports::merge::merge_dirs(&dirs, &out).expect("merge");
    assert_eq!(merged.config.workers, 2);
    assert_eq!(merged.config.users, 6);
    assert_eq!(merged.workers[1].dir, "../b");
    assert_merged_is_the_sum(&merged, &dirs);

    let refused = reports::merge::merge_dirs(&[first_dir, other_dir], &out)
        .expect_err("another run time")
        .to_string();
    assert!(
        refused.contains("run_time_seconds") && refused.contains("differs"),
        "{refused}"
    );
}

#[test]
fn a_workers_arguments_carry_the_runs_generator_settings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = flags(
        dir.path(),
        &[
            "--workers",
            "3",
            "--rate",
            "90",
            "--scenario",
            "cart:3",
            "--scenario",
            "journey",
            "--wait",
            "10ms..20ms",
            "--warm-up",
            "2s",
            "--cart-reads",
            "5",
            "--user-password",
            "pass word",
            "--generator-threads",
            "1",
            "--worker-fault",
            "3:withhold-results",
        ],
    );
    let urls = loadtest::setup::args::StackUrls {
        idp: "http://127.0.0.1:1".into(),
        stores: vec!["http://127.0.0.2:1".into(), "http://127.0.0.2:2".into()],
        forums: vec!["http://127.0.0.3:1".into()],
    };
    // What the worker reads back from the coordinator's JSON is what the run planned: the
    // third worker of 8 users has 2 of them, after the first 3 + 3, and the misbehaviour
    // asked of it; only the first measures the stack's processes.
    let planned = loadtest::drivers::workers::worker_plan(&args, 3, 2, &urls, &[7, 8]);
    assert_eq!(planned.worker_dir, None);
    assert!(
        loadtest::drivers::workers::worker_plan(&args, 3, 0, &urls, &[7, 8])
            .run
            .stack_pids
            == [7, 8]
    );
    let wire = serde_json::to_vec(&planned).expect("send");
    let received: loadtest::drivers::workers::WorkerArgs =
        serde_json::from_slice(&wire).expect("receive");
    assert_eq!(
        received.misbehaviour,
        Some(loadtest::setup::worker_fault::Misbehaviour::WithholdResults)
    );
    let parsed = received.run;
    assert_eq!(parsed.users, 2);
    // 90 iterations/s over 8 users: 2 users keep their share.
    assert_eq!(parsed.rate, Some(22.5));
    assert_eq!(parsed.run_time(), args.run_time());
    assert_eq!(parsed.warm_up(), args.warm_up());
    assert_eq!(parsed.scenarios, args.scenarios);
    assert_eq!(parsed.wait, args.wait);
    assert_eq!(parsed.store_idle_timeout, args.store_idle_timeout);
    assert_eq!(parsed.store_absolute_timeout, args.store_absolute_timeout);
    assert_eq!(parsed.cart_reads, 5);
    assert_eq!(parsed.stolen_window, args.stolen_window);
    assert_eq!(parsed.replay_interval, args.replay_interval);
    assert_eq!(parsed.user_password, "pass word");
    assert_eq!(parsed.request_timeout, args.request_timeout);
    assert_eq!(parsed.generator_threads, Some(1));
    assert_eq!(parsed.backend.backend, args.backend.backend);
    assert_eq!(parsed.target_idp, urls.idp);
    assert_eq!(parsed.target, urls.stores);
    assert_eq!(parsed.target_forums, urls.forums);
    assert!(parsed.stack_pids.is_empty());
    assert_eq!(parsed.first_user, 6);
    assert_eq!(parsed.reports_dir, args.reports_dir);
    assert_eq!(parsed.workers, 1);
    assert!(parsed.quiet);
    parsed.validate().expect("a worker's flags are valid");
}
