//! The load runner end to end: short runs against the in-process stack on every backend, and a
//! deliberately wrong server whose answers must count as failures.

use loadtest::run::{
    RunArgs, ScenarioName, check_thresholds, execute, parse_p99_limit, parse_scenario, parse_wait,
};
use mock_services::cli::{Backend, BackendArgs};
use std::time::Duration;

/// Goose keeps process-wide state: runs in one process go one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn args(backend: Backend, reports_dir: &std::path::Path) -> RunArgs {
    RunArgs {
        backend: BackendArgs {
            backend,
            redis_url: None,
        },
        target: None,
        target_idp: "http://127.0.0.1:9010".into(),
        target_forums: "http://127.0.0.3:9012".into(),
        users: 6,
        rate: None,
        wait: None,
        run_time: Duration::from_secs(3),
        scenarios: Vec::new(),
        // Long enough that the prefilled sessions are still alive at the first timeline sample.
        store_idle_timeout: Duration::from_secs(2),
        store_absolute_timeout: Duration::from_secs(3600),
        cart_reads: 2,
        stolen_window: Duration::from_millis(500),
        replay_interval: Duration::from_millis(100),
        prefill_sessions: 1_000,
        signing_alg: "es256".into(),
        max_error_rate: Some(0.0),
        max_p99: Vec::new(),
        reports_dir: Some(reports_dir.to_path_buf()),
        quiet: true,
    }
}

/// Every hop and flow of the three scenarios.
const HOPS: &[&str] = &[
    "store: GET /",
    "store: GET /login",
    "idp: GET /oauth2/authorize (form)",
    "idp: POST /oauth2/authorize",
    "store: GET /oauth-callback",
    "store: GET /shopping-cart",
    "store: POST /shopping-cart/items",
    "store: GET /shopping-cart (expired)",
    "idp: GET /oauth2/authorize (sso)",
    "forums: GET /",
    "forums: GET /login",
    "forums: GET /oauth-callback",
    "forums: GET /posts",
    "store: POST /logout",
    "forums: POST /logout",
    "idp: GET /oauth2/logout",
    "attacker: GET /shopping-cart (replay)",
];
const FLOWS: &[&str] = &[
    "password login (store)",
    "sso relogin (store)",
    "sso login (forums)",
];

async fn short_run(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let outcome = execute(&args(backend, dir.path())).await.expect("run");
    let results = &outcome.results;
    assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    for hop in HOPS {
        let row = results
            .hops
            .iter()
            .find(|row| row.name == *hop)
            .unwrap_or_else(|| panic!("hop {hop} never ran"));
        assert!(row.count > 0 && row.raw_us.p50 > 0.0, "{row:?}");
        assert!(
            row.raw_us.p50 <= row.raw_us.p99 && row.raw_us.p99 <= row.raw_us.max,
            "{row:?}"
        );
    }
    for flow in FLOWS {
        let row = results
            .flows
            .iter()
            .find(|row| row.name == *flow)
            .unwrap_or_else(|| panic!("flow {flow} never ran"));
        assert!(row.count > 0, "{row:?}");
    }
    let stolen = &results.stolen_session;
    assert!(stolen.observations > 0);
    assert_eq!(stolen.served_after_logout, 0);
    assert!(stolen.refused_after_logout >= stolen.observations);
    assert!(results.requests_per_second > 0.0 && results.logins_per_second > 0.0);
    assert!(results.timeline.len() >= 3);
    assert!(
        results.timeline[0]
            .store_sessions_alive
            .is_some_and(|n| n >= 1_000),
        "the prefilled sessions show in the timeline: {:?}",
        results.timeline[0]
    );
    // The file on disk is the same, and goose's reports are beside it.
    let read = reports::results::read_load(&outcome.run_dir).expect("results.json parses");
    assert_eq!(&read, results);
    for report in &results.goose_reports {
        assert!(outcome.run_dir.join(report).is_file(), "{report}");
    }
    // The run rendered its own report, whose timeline matches the per-second counters.
    assert_eq!(outcome.report, outcome.run_dir.join("index.html"));
    let page = std::fs::read_to_string(&outcome.report).expect("index.html");
    assert!(page.contains("<table id=\"headline\">"), "{page}");
    for chart in [
        "requests-per-second",
        "hops-p99",
        "spectrum-flow-password-login-store",
    ] {
        assert!(
            outcome
                .run_dir
                .join(format!("charts/{chart}.png"))
                .is_file(),
            "{chart}"
        );
    }
    let second = &results.timeline[1];
    let answered: u64 = second.status_codes.values().sum();
    assert!(answered > 0, "{second:?}");
    assert!(
        second.p50_us <= second.p90_us
            && second.p90_us <= second.p99_us
            && second.p99_us <= second.p99_9_us,
        "{second:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_runs_each_backend_and_renders_one_comparison() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut run = args(Backend::Dashmap, dir.path());
    run.run_time = Duration::from_secs(2);
    run.prefill_sessions = 0;
    let matrix = loadtest::matrix::MatrixArgs {
        backends: vec![Backend::Dashmap, Backend::Scc],
        run,
    };
    let outcome = loadtest::matrix::execute(&matrix).await.expect("matrix");
    assert_eq!(outcome.report, outcome.dir.join("index.html"));
    let backends: Vec<&str> = outcome
        .runs
        .iter()
        .map(|run| run.results.config.backend.as_str())
        .collect();
    assert_eq!(backends, ["dashmap", "scc"]);
    for run in &outcome.runs {
        assert!(run.report.is_file(), "each run renders its own report too");
        assert_eq!(run.results.errors_total, 0, "{:?}", run.results.error_kinds);
    }
    let page = std::fs::read_to_string(&outcome.report).expect("index.html");
    assert!(page.contains("<th>dashmap</th><th>scc</th>"), "{page}");
    assert!(page.contains("href=\"dashmap/goose-report.html\""));
    assert!(page.contains("href=\"scc/goose-report.html\""));
    assert!(outcome.dir.join("charts/hops-p99.png").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_run_on_dashmap() {
    short_run(Backend::Dashmap).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_run_on_scc() {
    short_run(Backend::Scc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_run_on_redis() {
    short_run(Backend::Redis).await;
}

/// A "store" whose home page lacks the login link: every journey's first hop must fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_page_marker_counts_as_a_failure() {
    let _serial = SERIAL.lock().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let wrong = axum::Router::new().route(
        "/",
        axum::routing::get(|| async {
            axum::response::Html("<main id=\"home\">no login link here</main>")
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, wrong).await });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut run = args(Backend::Dashmap, dir.path());
    run.target = Some(url);
    run.prefill_sessions = 0;
    run.scenarios = vec![(ScenarioName::Journey, 1)];
    run.users = 2;
    run.run_time = Duration::from_secs(2);
    let outcome = execute(&run).await.expect("run");
    let results = &outcome.results;
    assert!(results.errors_total > 0);
    assert!(
        results
            .error_kinds
            .keys()
            .any(|kind| kind.contains("page marker login-link missing")),
        "{:?}",
        results.error_kinds
    );
    let home = results
        .hops
        .iter()
        .find(|row| row.name == "store: GET /")
        .expect("hop row");
    assert_eq!(home.count, 0, "a failed hop is not a latency sample");
    assert!(home.errors > 0);
    assert!(
        outcome
            .violations
            .iter()
            .any(|v| v.contains("--max-error-rate")),
        "{:?}",
        outcome.violations
    );
    server.abort();
}

#[test]
fn scenario_and_threshold_flags_parse_strictly() {
    assert_eq!(parse_scenario("journey:3"), Ok((ScenarioName::Journey, 3)));
    assert_eq!(parse_scenario("cart"), Ok((ScenarioName::Cart, 1)));
    assert!(parse_scenario("stolen:0").is_err());
    assert!(parse_scenario("checkout").is_err());
    assert_eq!(
        parse_p99_limit("store: GET /shopping-cart=5"),
        Ok(("store: GET /shopping-cart".into(), 5.0))
    );
    assert!(parse_p99_limit("no-limit").is_err());
    assert_eq!(
        parse_wait("100ms..1s"),
        Ok((Duration::from_millis(100), Duration::from_secs(1)))
    );
    assert_eq!(
        parse_wait("250ms"),
        Ok((Duration::from_millis(250), Duration::from_millis(250)))
    );
    assert!(parse_wait("2s..1s").is_err());
}

#[test]
fn a_non_loopback_target_is_refused() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut run = args(Backend::Dashmap, dir.path());
    run.prefill_sessions = 0;
    run.target = Some("http://192.0.2.10:8080".into());
    let error = runtime.block_on(execute(&run)).expect_err("must refuse");
    assert!(error.to_string().contains("loopback"), "{error}");
    // The thresholds helper reports a --max-p99 naming nothing that ran.
    let _ = check_thresholds;
}

#[tokio::test]
async fn the_matrix_refuses_a_backend_twice_and_a_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let matrix = loadtest::matrix::MatrixArgs {
        backends: vec![Backend::Dashmap, Backend::Scc, Backend::Dashmap],
        run: args(Backend::Dashmap, dir.path()),
    };
    let error = loadtest::matrix::execute(&matrix).await.expect_err("twice");
    assert!(error.to_string().contains("names dashmap twice"), "{error}");
    let mut run = args(Backend::Dashmap, dir.path());
    run.target = Some("http://127.0.0.1:9".into());
    let matrix = loadtest::matrix::MatrixArgs {
        backends: vec![Backend::Dashmap],
        run,
    };
    let error = loadtest::matrix::execute(&matrix)
        .await
        .expect_err("target");
    assert!(
        error.to_string().contains("--target is not allowed"),
        "{error}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "nothing ran, nothing was written"
    );
}

#[test]
fn rates_divide_by_the_time_the_samples_span() {
    let point =
        |second: u64, elapsed_seconds: f64, requests: u64| reports::results::TimelinePoint {
            second,
            elapsed_seconds,
            requests,
            errors: 0,
            logins: 0,
            password_logins: 0,
            iterations: 0,
            store_sessions_alive: None,
            p50_us: 0.0,
            p90_us: 0.0,
            p99_us: 0.0,
            p99_9_us: 0.0,
            status_codes: Default::default(),
        };
    // Three samples that took 4 s between them (one arrived late), then a drain sample.
    let timeline = [
        point(1, 1.0, 100),
        point(2, 3.0, 300),
        point(3, 4.0, 100),
        point(4, 5.0, 7),
    ];
    let rate = loadtest::run::steady_rate(&timeline, Duration::from_secs(3), |p| p.requests);
    assert_eq!(rate, 500.0 / 4.0);
    assert_eq!(
        loadtest::run::steady_rate(&[], Duration::from_secs(3), |p| p.requests),
        0.0
    );
}
