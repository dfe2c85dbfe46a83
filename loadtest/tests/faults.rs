//! Faults inside a run, end to end: a Redis restart without and with persistence, a Redis
//! pause and a stack pause — each a short run on loopback whose results must show the fault's
//! window, its recovery and exactly what it lost — and the flags that must be refused.

use clap::Parser;
use loadtest::drivers::run::{RunOutcome, execute};
use loadtest::setup::args::RunArgs;
use reports::results::{FaultResult, LoadRunResults};

/// A Redis restart long enough that requests fail: the store's Redis client retries a lost
/// connection for up to about half a second per reconnect (two retries, jittered backoff), and
/// a request may wait out two reconnects, so a 1 s outage can pass with no request failing.
const RESTART: &str = "redis-restart@2s+2s";

/// Goose keeps process-wide state: runs in one process go one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `loadtest`'s own flags, parsed as a user types them.
#[derive(Debug, Parser)]
struct Flags {
    #[command(flatten)]
    run: RunArgs,
}

fn flags(reports_dir: &std::path::Path, extra: &[&str]) -> RunArgs {
    let mut line = vec![
        "loadtest",
        "--users",
        "8",
        "--run-time",
        "6s",
        // Sessions idle out only long after any fault here: a lost session is the fault's.
        "--store-idle-timeout",
        "60s",
        "--quiet",
        "--reports-dir",
        reports_dir.to_str().expect("utf-8 temp dir"),
    ];
    line.extend_from_slice(extra);
    Flags::try_parse_from(line).expect("flags").run
}

async fn run(extra: &[&str]) -> (RunOutcome, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = flags(dir.path(), extra);
    let outcome = execute(&args).await.expect("run");
    (outcome, dir)
}

fn only_fault(results: &LoadRunResults) -> &FaultResult {
    assert_eq!(results.faults.len(), 1, "{:?}", results.faults);
    let fault = &results.faults[0];
    assert_eq!(fault.problem, None, "{fault:?}");
    let (began, ended) = (
        fault.began_ms.expect("began"),
        fault.ended_ms.expect("ended"),
    );
    assert!((2_000.0..2_300.0).contains(&began), "{fault:?}");
    // Planned for 1 s or more; the injector may wake a little late for the start.
    assert!(ended - began >= 950.0, "{fault:?}");
    fault
}

/// Requests that failed for anything but the store being down (503) or unreachable.
fn other_failures(results: &LoadRunResults) -> Vec<(&String, &u64)> {
    results
        .error_kinds
        .iter()
        .filter(|(kind, _)| !kind.contains("status 503") && !kind.contains("no answer"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_without_persistence_loses_every_session_and_users_log_in_again() {
    let _serial = SERIAL.lock().await;
    let (outcome, _dir) = run(&[
        "--backend",
        "redis",
        "--scenario",
        "cart",
        "--fault",
        RESTART,
        "--max-recovery",
        "1ms",
    ])
    .await;
    let results = &outcome.results;
    let fault = only_fault(results);
    println!("{}", fault.verdict);
    assert_eq!(fault.kind, "redis-restart");
    assert!(fault.first_error_after_ms.is_some(), "{fault:?}");
    assert!(fault.first_success_after_ms.is_some(), "{fault:?}");
    let recovered = fault.recovered_after_ms.expect("recovered within the run");
    assert!(fault.requests_failed > 0, "{fault:?}");
    // Nothing survives a restart without persistence: every user that comes back finds its
    // session gone, and the IdP's SSO session with it — all log in again with a password.
    assert!(fault.sessions_lost >= 1, "{fault:?}");
    assert!(fault.sessions_lost <= 8, "one session per user: {fault:?}");
    assert_eq!(fault.relogins_password, fault.sessions_lost, "{fault:?}");
    assert_eq!(fault.relogins_sso, 0, "{fault:?}");
    assert!(fault.cart_lines_lost >= fault.carts_lost, "{fault:?}");
    assert!(
        results.bounces.expected >= fault.sessions_lost,
        "{:?}",
        results.bounces
    );
    assert_eq!(
        results.bounces.unexpected, 0,
        "no session ended outside the fault"
    );
    assert!(
        other_failures(results).is_empty(),
        "{:?}",
        results.error_kinds
    );
    assert!(results.retry_waits.count > 0, "users waited out the 503s");
    assert!(results.retry_waits.total_ms >= 900.0 * results.retry_waits.count as f64);
    assert!(results.timeline.iter().map(|p| p.bounces).sum::<u64>() >= fault.sessions_lost);
    assert_eq!(results.config.faults, [RESTART]);
    assert_eq!(results.config.redis_persistence.name(), "none");
    // --max-recovery 1ms: the recovery, a whole second's resolution, took longer.
    assert!(recovered > 1.0);
    assert!(
        outcome
            .violations
            .iter()
            .any(|v| v.contains("over --max-recovery 1ms")),
        "{:?}",
        outcome.violations
    );
    // The report shows the window and the figures.
    let page = std::fs::read_to_string(&outcome.report).expect("index.html");
    assert!(page.contains("<h2 id=\"faults\">Faults</h2>"));
    assert!(
        page.contains("sessions lost (no persistence)")
            || page.contains("session lost (no persistence)")
    );
    assert!(outcome.run_dir.join("charts/faults-redis.png").is_file());
    let read = reports::results::read_load(&outcome.run_dir).expect("results.json parses");
    assert_eq!(&read, results);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_with_aof_always_loses_no_session_and_no_cart_line() {
    let _serial = SERIAL.lock().await;
    let (outcome, _dir) = run(&[
        "--backend",
        "redis",
        "--redis-persistence",
        "aof-always",
        "--scenario",
        "cart",
        "--fault",
        RESTART,
        "--max-recovery",
        "3s",
    ])
    .await;
    let results = &outcome.results;
    let fault = only_fault(results);
    println!("{}", fault.verdict);
    assert!(fault.requests_failed > 0, "the store was down: {fault:?}");
    assert!(fault.recovered_after_ms.is_some(), "{fault:?}");
    // Every answered write is on disk. A login in flight at the kill may have had its new
    // session written and its answer lost: the browser keeps the cookie of the session the
    // login replaced, and bounces once (seen once in many runs). Without persistence every
    // user bounces.
    assert!(fault.sessions_lost <= 1, "{fault:?}");
    assert_eq!(
        (fault.carts_lost, fault.cart_lines_lost),
        (0, 0),
        "{fault:?}"
    );
    assert_eq!(results.bounces.unexpected, 0);
    assert!(fault.sessions_lost > 0 || results.bounces.expected == 0);
    assert!(
        other_failures(results).is_empty(),
        "{:?}",
        results.error_kinds
    );
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    assert!(
        fault
            .verdict
            .contains("no session lost (aof-always); no cart line lost")
    );
    assert_eq!(results.config.redis_persistence.name(), "aof-always");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_pause_holds_requests_and_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let (outcome, _dir) = run(&[
        "--backend",
        "redis",
        "--scenario",
        "cart",
        "--fault",
        "redis-pause@2s+1s",
    ])
    .await;
    let results = &outcome.results;
    let fault = only_fault(results);
    println!("{}", fault.verdict);
    assert_eq!(fault.sessions_lost, 0, "{fault:?}");
    assert!(fault.first_success_after_ms.is_some(), "{fault:?}");
    let cart = results
        .hops
        .iter()
        .find(|row| row.name == "store: GET /shopping-cart")
        .expect("cart views");
    assert!(
        cart.raw_us.max >= 800_000.0,
        "a view in flight waited out the pause: {cart:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_pause_holds_requests_at_the_gate_on_every_backend() {
    let _serial = SERIAL.lock().await;
    for backend in mock_services::session::Backend::ALL {
        let (outcome, _dir) = run(&[
            "--backend",
            backend.name(),
            "--scenario",
            "cart-view",
            "--fault",
            "stack-pause@2s+1s",
        ])
        .await;
        let results = &outcome.results;
        let fault = only_fault(results);
        println!("{}: {}", backend.name(), fault.verdict);
        assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
        assert_eq!(fault.first_error_after_ms, None);
        assert_eq!(fault.sessions_lost, 0);
        let first = fault
            .first_success_after_ms
            .expect("answered after the continue");
        assert!(
            first < 500.0,
            "held requests are answered at once: {fault:?}"
        );
        let answered = |second: u64| {
            results
                .timeline
                .iter()
                .filter(|p| p.second == second)
                .map(|p| p.requests)
                .sum::<u64>()
        };
        // Only requests already past the gate when it closed (the injector may wake a few
        // milliseconds into the second) finish inside the window.
        assert!(
            answered(3) * 20 < answered(2),
            "{}: {} answered inside the pause, {} the second before: {:?}",
            backend.name(),
            answered(3),
            answered(2),
            results.timeline
        );
        let cart = results
            .hops
            .iter()
            .find(|row| row.name == "store: GET /shopping-cart")
            .expect("cart views");
        assert!(
            cart.raw_us.max >= 900_000.0,
            "{}: a view waited at the gate through the pause: {cart:?}",
            backend.name()
        );
    }
}

#[test]
fn faults_the_run_does_not_own_or_that_do_not_fit_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let refused = |extra: &[&str], expected: &str| {
        let error = flags(dir.path(), extra)
            .validate()
            .expect_err("must be refused")
            .to_string();
        assert!(error.contains(expected), "{error}");
    };
    refused(
        &["--backend", "dashmap", "--fault", "redis-restart@1s+1s"],
        "a redis-server it started itself",
    );
    refused(
        &[
            "--backend",
            "redis",
            "--redis-url",
            "redis://127.0.0.1:6390/0",
            "--fault",
            "redis-pause@1s+1s",
        ],
        "a redis-server it started itself",
    );
    refused(
        &[
            "--target",
            "http://127.0.0.2:9011",
            "--fault",
            "stack-pause@1s+1s",
        ],
        "--target-pid",
    );
    refused(
        &["--fault", "stack-pause@5s+2s"],
        "ends at 7s but the run lasts 6s",
    );
    refused(&["--max-recovery", "1s"], "give one");
    refused(
        &[
            "--target",
            "http://127.0.0.2:9011",
            "--redis-persistence",
            "aof-always",
        ],
        "--redis-persistence",
    );
    assert!(
        Flags::try_parse_from(["loadtest", "--fault", "redis-restart@10s"]).is_err(),
        "KIND@AT+DOWN"
    );
    flags(
        dir.path(),
        &["--backend", "redis", "--fault", "redis-restart@1s+2s"],
    )
    .validate()
    .expect("a redis the run starts may be restarted");
}

/// `matrix`'s own flags, parsed as a user types them.
#[derive(Debug, Parser)]
struct MatrixFlags {
    #[command(flatten)]
    matrix: loadtest::drivers::matrix::MatrixArgs,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matrix_faults_every_backend_it_can_and_refuses_what_one_cannot_take() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let matrix = |extra: &[&str]| {
        let mut line = vec![
            "matrix",
            "--backends",
            "scc,redis",
            "--repeat",
            "1",
            "--users",
            "4",
            "--run-time",
            "4s",
            "--warm-up",
            "0s",
            "--store-idle-timeout",
            "60s",
            "--scenario",
            "cart",
            "--quiet",
            "--reports-dir",
            dir.path().to_str().expect("utf-8"),
        ];
        line.extend_from_slice(extra);
        MatrixFlags::try_parse_from(line).expect("flags").matrix
    };
    let refused = loadtest::drivers::matrix::execute(&matrix(&["--fault", "redis-pause@1s+1s"]))
        .await
        .expect_err("scc cannot take a Redis fault");
    assert!(
        format!("{refused:#}").contains("the scc runs of the matrix"),
        "{refused:#}"
    );
    let outcome = loadtest::drivers::matrix::execute(&matrix(&[
        "--fault",
        "stack-pause@1s+1s",
        "--redis-persistence",
        "aof-everysec",
    ]))
    .await
    .expect("matrix");
    assert_eq!(outcome.runs.len(), 2);
    for run in &outcome.runs {
        let results = &run.results;
        assert_eq!(results.faults.len(), 1, "{}", results.config.backend);
        assert!(results.faults[0].ended_ms.is_some());
        assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
        let persistence = if results.config.backend.name() == "redis" {
            "aof-everysec"
        } else {
            "none"
        };
        assert_eq!(results.config.redis_persistence.name(), persistence);
    }
    let page = std::fs::read_to_string(&outcome.report).expect("comparison page");
    assert!(page.contains("<h2 id=\"faults\">Faults</h2>"));
}
