//! The load runner end to end: short runs against the in-process stack on every backend, a
//! deliberately wrong server whose answers must count as failures, runs that must stop on time,
//! and runs whose own verdict must name what limited them.

use loadtest::drivers::rounds::RoundsArgs;
use loadtest::drivers::run::execute;
use loadtest::measure::settle::SettleRule;
use loadtest::setup::args::{RunArgs, ScenarioName, parse_p99_limit, parse_scenario, parse_wait};
use mock_services::cli::{Backend, BackendArgs};
use mock_services::idp::{PasswordHashing, SigningAlgorithm};
use reports::results::RoundsStopped;
use std::time::{Duration, Instant};
use vocabulary::Arm;

/// Goose keeps process-wide state: runs in one process go one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn args(backend: Backend, reports_dir: &std::path::Path) -> RunArgs {
    RunArgs {
        backend: BackendArgs {
            backend,
            redis_url: None,
            redis_persistence: Default::default(),
            redis_cluster_urls: Vec::new(),
        },
        target: Vec::new(),
        target_idp: "http://127.0.0.1:9010".into(),
        target_forums: vec!["http://127.0.0.3:9012".into()],
        ca_cert: None,
        insecure: false,
        tls_cert: None,
        tls_key: None,
        tls_resumption: Default::default(),
        users_file: None,
        login_form: None,
        username_field: None,
        password_field: None,
        max_form_steps: 5,
        instances: 1,
        stack_processes: false,
        workers: 1,
        first_user: 0,
        stack_pids: Vec::new(),
        ready_within: Duration::from_secs(60),
        results_within: Duration::from_secs(120),
        worker_fault: Vec::new(),
        stack_program: None,
        target_pid: None,
        users: 6,
        rate: None,
        ramp_rate: None,
        accounts: None,
        wait: None,
        keep_alive_idle: None,
        handicap: None,
        source_addrs: None,
        run_time: Some(Duration::from_secs(3)),
        soak_window: None,
        warm_up: None,
        settle: Default::default(),
        repetition: 1,
        arm: None,
        scenarios: Vec::new(),
        // Long enough that the prefilled sessions are still alive at the first timeline sample.
        store_idle_timeout: Duration::from_secs(2),
        store_absolute_timeout: Duration::from_secs(3600),
        cart_reads: 2,
        stolen_window: Duration::from_millis(500),
        replay_interval: Duration::from_millis(100),
        prefill_sessions: 1_000,
        signing_alg: SigningAlgorithm::Es256,
        password_hash: PasswordHashing::Plain,
        user_password: "password".into(),
        request_timeout: Duration::from_secs(10),
        generator_threads: None,
        stack_threads: None,
        pin: Default::default(),
        cores: None,
        goose_reports: false,
        faults: Vec::new(),
        max_recovery: None,
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
    "idp: GET authorize (form)",
    "idp: POST form 1",
    "store: GET /oauth-callback",
    "store: GET /shopping-cart",
    "store: POST /shopping-cart/items",
    "store: GET /shopping-cart (expired)",
    "idp: GET authorize (sso)",
    "forums: GET /",
    "forums: GET /login",
    "forums: GET /oauth-callback",
    "forums: GET /posts",
    "store: POST /logout",
    "forums: POST /logout",
    "idp: GET logout",
    "idp: POST logout form",
    "attacker: GET /shopping-cart (replay)",
];
const FLOWS: &[&str] = &[
    "password login (store)",
    "sso relogin (store)",
    "sso login (forums)",
];

/// A short run of the default mix; with `goose_reports`, goose's own reports are written too.
async fn short_run(backend: Backend, goose_reports: bool) {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut run = args(backend, dir.path());
    run.goose_reports = goose_reports;
    let outcome = execute(&run).await.expect("run");
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
    // The file on disk is the same, and goose's reports are beside it when asked for.
    let read = reports::results::read_load(&outcome.run_dir).expect("results.json parses");
    assert_eq!(&read, results);
    assert_eq!(
        results.goose_reports.len(),
        if goose_reports { 2 } else { 0 }
    );
    for report in &results.goose_reports {
        assert!(outcome.run_dir.join(report).is_file(), "{report}");
    }
    assert_eq!(
        outcome.run_dir.join("goose-report.html").is_file(),
        goose_reports
    );
    // The generator watched itself: its CPU and the stack's, by side, and its timer lag.
    let generator = &results.generator;
    assert!(generator.cpu_cores > 0.0, "{generator:?}");
    assert!(
        generator.stack_cpu_cores.is_some_and(|cores| cores > 0.0),
        "{generator:?}"
    );
    assert!(generator.lag_us.p50 > 0.0 && generator.lag_us.p50 <= generator.lag_us.max);
    assert!(generator.requests_per_core > 0.0);
    assert!(generator.connections_opened > 0);
    assert!(
        results
            .timeline
            .iter()
            .all(|p| p.generator_cpu_cores >= 0.0 && p.stack_cpu_cores.is_some())
    );
    assert!(!results.generator_bound.verdict.is_empty());
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
    run.run_time = Some(Duration::from_secs(2));
    run.warm_up = Some(Duration::from_secs(1));
    run.prefill_sessions = 0;
    run.goose_reports = true;
    let matrix = loadtest::drivers::matrix::MatrixArgs {
        arms: vec![Arm::plain(Backend::Dashmap), Arm::plain(Backend::Scc)],
        rounds: RoundsArgs {
            repeat: Some(2),
            ..RoundsArgs::default()
        },
        run,
    };
    let outcome = loadtest::drivers::matrix::execute(&matrix)
        .await
        .expect("matrix");
    assert_eq!(outcome.report, outcome.dir.join("index.html"));
    // Interleaved: the second repetition starts with the other backend.
    let order: Vec<(&str, u32)> = outcome
        .runs
        .iter()
        .map(|run| {
            (
                run.results.config.arm.as_deref().unwrap_or("none"),
                run.results.config.repetition,
            )
        })
        .collect();
    assert_eq!(
        order,
        [("dashmap", 1), ("scc", 1), ("scc", 2), ("dashmap", 2)]
    );
    for run in &outcome.runs {
        assert!(run.report.is_file(), "each run renders its own report too");
        assert_eq!(run.results.errors_total, 0, "{:?}", run.results.error_kinds);
        assert_eq!(
            run.results.config.warm_up_ms, 1_000,
            "the warm-up is recorded"
        );
        assert_eq!(run.results.config.run_time_seconds, 2);
        assert!(
            run.run_dir.ends_with(format!(
                "{}/{}",
                run.results.config.backend, run.results.config.repetition
            )),
            "{}",
            run.run_dir.display()
        );
    }
    let page = std::fs::read_to_string(&outcome.report).expect("index.html");
    // Medians per backend, then every repetition.
    assert!(
        page.contains("<table id=\"summary\">\n<thead><tr><th></th><th>dashmap</th><th>scc</th>"),
        "{page}"
    );
    assert!(page.contains("<th>dashmap #1</th>"), "{page}");
    assert!(page.contains("href=\"dashmap/1/goose-report.html\""));
    assert!(page.contains("href=\"scc/2/goose-report.html\""));
    assert!(
        page.contains("95% confidence"),
        "two pairs give an interval: {page}"
    );
    assert!(outcome.dir.join("charts/hops-p99.png").is_file());
    assert!(outcome.dir.join("charts/spread-throughput.png").is_file());
    // The rounds are recorded beside the page, and the verdict opens with them.
    let rounds = reports::results::read_rounds(&outcome.dir)
        .expect("rounds.json reads")
        .expect("rounds.json is written");
    assert_eq!(rounds.stopped, RoundsStopped::Planned);
    assert_eq!((rounds.rounds, rounds.planned_rounds), (2, 2));
    assert_eq!(rounds.names, ["dashmap", "scc"]);
    assert_eq!(rounds, outcome.rounds);
    assert!(
        page.contains("The comparison ran the 2 rounds asked for in"),
        "{page}"
    );
    assert!(page.contains("smallest difference found four times in five"));
}

/// The warm-up is the attack's first seconds: it ends when the rate settles (or at its limit),
/// every figure counts from its end, and its users stay logged in — the measured run does not
/// open with a burst of password logins, as a warm-up of its own attack would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warm_up_ends_when_the_rate_settles_and_its_users_stay_logged_in() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut run = args(Backend::Dashmap, dir.path());
    run.prefill_sessions = 0;
    // Each user logs in once, at its start, then views its cart; no session expires during
    // the run: every login is a user's first.
    run.scenarios = vec![(ScenarioName::CartView, 1)];
    run.store_idle_timeout = Duration::from_secs(600);
    run.users = 4;
    run.warm_up = Some(Duration::from_secs(8));
    run.run_time = Some(Duration::from_secs(2));
    let outcome = execute(&run).await.expect("run");
    let results = &outcome.results;
    assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
    let warm_up = results.warm_up.as_ref().expect("the warm-up is recorded");
    assert_eq!(warm_up.limit_seconds, 8);
    assert_eq!(warm_up.requests.len() as u64, warm_up.seconds);
    let rule = SettleRule::DEFAULT;
    assert_eq!(warm_up.rule.as_deref(), Some(rule.describe().as_str()));
    if warm_up.settled {
        // The rule may first hold at the limit's own second: that warm-up settled too.
        assert!(warm_up.seconds <= 8, "{warm_up:?}");
        assert!(rule.holds(&warm_up.requests), "{warm_up:?}");
    } else {
        assert_eq!(warm_up.seconds, 8, "{warm_up:?}");
    }
    // Every user logged in during the warm-up, and never again.
    assert!(warm_up.requests.iter().sum::<u64>() > 0);
    let measured_logins: u64 = results.timeline.iter().map(|p| p.logins).sum();
    assert_eq!(measured_logins, 0, "{:?}", results.timeline);
    assert_eq!(results.logins_per_second, 0.0);
    let password_logins = results
        .flows
        .iter()
        .find(|flow| flow.name == "password login (store)")
        .map_or(0, |flow| flow.count);
    assert_eq!(password_logins, 0, "{:?}", results.flows);
    // The measured timeline counts from the end of the warm-up, and the run ends its run time
    // after it (with a short drain), not at the warm-up's limit.
    assert_eq!(results.timeline.first().map(|p| p.second), Some(1));
    assert!(results.requests_per_second > 0.0);
    assert!(
        (2.0..5.0).contains(&results.elapsed_seconds),
        "measured for {} s",
        results.elapsed_seconds
    );
    let page = std::fs::read_to_string(&outcome.report).expect("index.html");
    assert!(
        page.contains(if warm_up.settled {
            "settled after"
        } else {
            "its limit"
        }),
        "{page}"
    );
}

/// The tool's own check: the same backend twice (A/A) and against itself with a handicap that
/// costs far more than the noise (A/B), with the precision rule deciding when to stop. The A/A
/// pair is not asserted to hold 1 — at 95% it fails one run in twenty by design — but the
/// planted difference must be found, and the rounds must stop by their rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_finds_a_planted_difference_and_rounds_stop_by_their_rule() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut run = args(Backend::Dashmap, dir.path());
    run.run_time = Some(Duration::from_secs(1));
    run.warm_up = Some(Duration::from_secs(1));
    run.prefill_sessions = 0;
    run.scenarios = vec![(ScenarioName::Cart, 1)];
    let slow = Arm::parse("dashmap+handicap=1ms").expect("arm");
    let matrix = loadtest::drivers::matrix::MatrixArgs {
        arms: vec![
            Arm::plain(Backend::Dashmap),
            Arm::plain(Backend::Dashmap),
            slow,
        ],
        rounds: RoundsArgs {
            precision: Some(0.10),
            max_time: Some(Duration::from_secs(60)),
            ..RoundsArgs::default()
        },
        run,
    };
    let outcome = loadtest::drivers::matrix::execute(&matrix)
        .await
        .expect("matrix");
    let rounds = &outcome.rounds;
    assert_eq!(
        rounds.names,
        ["dashmap", "dashmap-2", "dashmap-handicap-1ms"]
    );
    // It stopped for a reason it states, and that reason holds: the precision only after five
    // rounds, the budget before a round that would have ended past it.
    match rounds.stopped {
        RoundsStopped::PrecisionReached => {
            assert!(rounds.rounds >= 5, "at least five rounds: {rounds:?}");
            assert!(rounds.widest_reach.expect("reach") <= 0.10, "{rounds:?}");
        }
        RoundsStopped::TimeBudget => {
            assert!(rounds.elapsed_seconds <= 60.0, "{rounds:?}");
            assert!(rounds.widest_reach.expect("reach") > 0.10, "{rounds:?}");
        }
        other => panic!("stopped as {other:?}: {rounds:?}"),
    }
    for run in &outcome.runs {
        assert_eq!(run.results.errors_total, 0, "{:?}", run.results.error_kinds);
        let handicapped = run.results.config.arm.as_deref() == Some("dashmap-handicap-1ms");
        assert_eq!(
            run.results.config.lookup_handicap_us,
            handicapped.then_some(1000.0)
        );
    }
    // The handicapped arm is named the slower, with an interval that excludes 1.
    let report = reports::report::Report::load(
        &outcome
            .runs
            .iter()
            .map(|run| run.run_dir.clone())
            .collect::<Vec<_>>(),
        None,
    )
    .expect("report");
    let observations = reports::verdict::observations(&report);
    let groups = reports::compare::groups(&observations);
    let find = |name: &str| {
        groups
            .iter()
            .find(|group| group.name == name)
            .expect("a group")
    };
    let ratio = reports::compare::ratio_between(
        find("dashmap-handicap-1ms"),
        find("dashmap"),
        reports::compare::Measure::Throughput,
    )
    .expect("ratio");
    assert!(ratio.below_one(), "{ratio:?}");
    let page = std::fs::read_to_string(&outcome.report).expect("index.html");
    assert!(page.contains("dashmap-handicap-1ms"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_run_on_dashmap() {
    short_run(Backend::Dashmap, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_run_on_scc() {
    short_run(Backend::Scc, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_run_on_redis() {
    short_run(Backend::Redis, true).await;
}

/// A "store" over its connection cap answers as `serve` does (503, the page naming the cap):
/// the generator names that failure, not a slow server or a bare status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_over_the_connection_cap_is_named() {
    use axum::http::StatusCode;
    let _serial = SERIAL.lock().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let full = axum::Router::new().route(
        "/",
        axum::routing::get(|| async {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::response::Html(format!(
                    "<main id=\"{}\">over capacity</main>",
                    mock_services::web::routes::markers::OVER_CAPACITY
                )),
            )
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, full).await });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut run = args(Backend::Dashmap, dir.path());
    run.target = vec![url];
    run.prefill_sessions = 0;
    run.scenarios = vec![(ScenarioName::Journey, 1)];
    run.users = 2;
    run.run_time = Some(Duration::from_secs(2));
    let outcome = execute(&run).await.expect("run");
    assert!(
        outcome.results.error_kinds.keys().any(|kind| kind
            == "store: GET /: 503 over the server's connection cap (its --max-connections)"),
        "{:?}",
        outcome.results.error_kinds
    );
    server.abort();
}

/// Users start at the --ramp-rate asked for, and the run says when the last one started and
/// what they cost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_start_at_the_ramp_rate_and_their_cost_is_reported() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut run = args(Backend::Dashmap, dir.path());
    run.prefill_sessions = 0;
    run.scenarios = vec![(ScenarioName::Cart, 1)];
    run.users = 6;
    run.ramp_rate = Some(3.0);
    run.run_time = Some(Duration::from_secs(2));
    // Users who think far longer than they wait for pages.
    run.wait = Some((Duration::from_millis(300), Duration::from_millis(300)));
    let outcome = execute(&run).await.expect("run");
    let users = outcome.results.users.as_ref().expect("user cost");
    assert_eq!((users.users_planned, users.users_started), (6, 6));
    assert!((users.ramp_up_planned_seconds - 2.0).abs() < 1e-9);
    // Six users at three a second: the last starts about 5/3 s after the first (goose starts
    // the first at once), never all within the first second.
    let after = users.all_started_after_seconds.expect("all started");
    assert!((1.3..4.0).contains(&after), "all started after {after} s");
    let timeline = &outcome.results.timeline;
    let first = timeline
        .first()
        .and_then(|p| p.users)
        .expect("users in the timeline");
    assert!(first < 6, "{first} users by the first second at 3/s");
    assert_eq!(timeline.last().and_then(|p| p.users), Some(6));
    assert!(users.rss_before_bytes.is_some() && users.rss_peak_bytes.is_some());
    assert!(users.open_files_peak.is_some_and(|n| n > 0));
    // The in-process stack's servers count what they hold and what they refused.
    assert!(
        users.stack_connections_peak.is_some_and(|n| n >= 6),
        "{users:?}"
    );
    assert_eq!(users.stack_refused_over_cap, Some(0));
    assert!(timeline.iter().all(|p| p.stack_connections.is_some()));
    // The host's steal time is read each second (Linux's /proc/stat has it), zero or more.
    let stolen = outcome.results.generator.host_steal_cores.expect("steal");
    assert!(stolen >= 0.0, "{stolen}");
    assert!(timeline.iter().all(|p| p.host_steal_cores.is_some()));
    assert_eq!(outcome.results.config.ramp_rate, Some(3.0));
    // Their think time, not the stack, set the pace, and the verdict says so.
    let judged = &outcome.results.generator_bound;
    assert_eq!(judged.limit, "think time", "{judged:?}");
    assert!(judged.verdict.contains("0.3 s between pages"), "{judged:?}");
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
    run.target = vec![url];
    run.prefill_sessions = 0;
    run.scenarios = vec![(ScenarioName::Journey, 1)];
    run.users = 2;
    run.run_time = Some(Duration::from_secs(2));
    let outcome = execute(&run).await.expect("run");
    let results = &outcome.results;
    assert!(results.errors_total > 0);
    assert!(
        results
            .error_kinds
            .keys()
            .any(|kind| kind == "store: GET /: page marker login-link missing"),
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

/// Accounts from a file are taken in turn; at the mock IdP a wrong password gets its form
/// again, which is named and never a login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_come_from_a_users_file_and_a_wrong_password_is_the_form_again() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("users.csv");
    let run_with = |accounts: &str| {
        std::fs::write(&file, accounts).expect("users file");
        let mut run = args(Backend::Dashmap, dir.path());
        run.prefill_sessions = 0;
        run.users_file = Some(file.clone());
        run.scenarios = vec![(ScenarioName::Cart, 1)];
        run.users = 2;
        run.run_time = Some(Duration::from_secs(2));
        run.max_error_rate = None;
        run
    };
    let right = execute(&run_with(
        "username,password\nuser3@example.com,password\nuser4@example.com,password\n",
    ))
    .await
    .expect("run");
    let results = &right.results;
    assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
    assert_eq!(results.config.accounts, 2);
    assert!(results.login_outcomes.completed >= 2);

    let wrong = execute(&run_with("user3@example.com,not-the-password\n"))
        .await
        .expect("run");
    let outcomes = &wrong.results.login_outcomes;
    assert_eq!(outcomes.completed, 0, "{outcomes:?}");
    assert!(outcomes.form_again >= 2, "{outcomes:?}");
    assert_eq!(wrong.results.logins_per_second, 0.0);
    assert!(
        wrong
            .results
            .error_kinds
            .keys()
            .any(|kind| kind.starts_with("idp: POST form 1: the login form again")),
        "{:?}",
        wrong.results.error_kinds
    );

    let refused = execute(&run_with("user3@example.com\n"))
        .await
        .expect_err("a malformed file is refused at start");
    assert!(refused.to_string().contains("line 1"), "{refused}");
}

#[test]
fn a_target_that_is_not_an_http_origin_is_refused_before_any_load() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    for target in [
        "ftp://127.0.0.1:21",
        "http://127.0.0.2:9011/shop",
        "127.0.0.2:9011",
    ] {
        let mut run = args(Backend::Dashmap, dir.path());
        run.prefill_sessions = 0;
        run.target = vec![target.into()];
        let error = runtime.block_on(execute(&run)).expect_err("must refuse");
        assert!(
            error
                .to_string()
                .contains("expected http://HOST[:PORT] or https://HOST[:PORT]"),
            "{target}: {error}"
        );
    }
}

#[tokio::test]
async fn the_matrix_refuses_a_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut run = args(Backend::Dashmap, dir.path());
    run.target = vec!["http://127.0.0.1:9".into()];
    let matrix = loadtest::drivers::matrix::MatrixArgs {
        arms: vec![Arm::plain(Backend::Dashmap)],
        rounds: RoundsArgs::default(),
        run,
    };
    let error = loadtest::drivers::matrix::execute(&matrix)
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
            ..Default::default()
        };
    // Three samples that took 4 s between them (one arrived late), then a drain sample.
    let timeline = [
        point(1, 1.0, 100),
        point(2, 3.0, 300),
        point(3, 4.0, 100),
        point(4, 5.0, 7),
    ];
    let rate =
        loadtest::measure::timeline::steady_rate(&timeline, Duration::from_secs(3), |p| p.requests);
    assert_eq!(rate, 500.0 / 4.0);
    assert_eq!(
        loadtest::measure::timeline::steady_rate(&[], Duration::from_secs(3), |p| p.requests),
        0.0
    );
}

/// The journey waiting out a 30-minute idle timeout and an attacker replaying every 10 minutes
/// must still end with the run: within ramp-up, run time and one request timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_with_long_waits_inside_transactions_stop_on_time() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut run = args(Backend::Dashmap, dir.path());
    run.prefill_sessions = 0;
    run.users = 4;
    run.run_time = Some(Duration::from_secs(2));
    run.scenarios = vec![(ScenarioName::Journey, 1), (ScenarioName::Stolen, 1)];
    run.store_idle_timeout = Duration::from_secs(30 * 60);
    run.stolen_window = Duration::from_secs(30 * 60);
    run.replay_interval = Duration::from_secs(10 * 60);
    run.request_timeout = Duration::from_secs(5);
    let bound = run.ramp_up() + run.run_time() + run.request_timeout;
    let started = Instant::now();
    let outcome = execute(&run).await.expect("run");
    assert!(
        outcome.results.elapsed_seconds <= bound.as_secs_f64(),
        "the attack took {:.1} s, more than {bound:?}",
        outcome.results.elapsed_seconds
    );
    // Stack start, report and the rest of the run's own work on top.
    assert!(
        started.elapsed() < bound + Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The journeys did start (and then waited): the wait was really inside a transaction.
    assert!(
        outcome.results.pacing.iterations >= 4,
        "{:?}",
        outcome.results.pacing
    );
    assert_eq!(
        outcome.results.errors_total, 0,
        "{:?}",
        outcome.results.error_kinds
    );

    // An open-model run whose users wait minutes for their first slot ends on time too.
    let mut paced = args(Backend::Dashmap, dir.path());
    paced.prefill_sessions = 0;
    paced.users = 4;
    paced.run_time = Some(Duration::from_secs(2));
    paced.rate = Some(0.01);
    paced.scenarios = vec![(ScenarioName::Cart, 1)];
    paced.request_timeout = Duration::from_secs(5);
    let outcome = execute(&paced).await.expect("run");
    assert!(
        outcome.results.elapsed_seconds <= bound.as_secs_f64(),
        "the paced attack took {:.1} s",
        outcome.results.elapsed_seconds
    );
}

/// A generator starved on purpose (64 users on one worker thread that something else keeps
/// busy) must call its own run generator-bound, in its results, its summary and its report.
#[test]
fn a_starved_generator_calls_its_run_generator_bound() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let outcome = runtime.block_on(async {
        let _serial = SERIAL.lock().await;
        // Holds the generator's only thread 20 ms at a time.
        let hog = tokio::spawn(async {
            loop {
                let started = Instant::now();
                while started.elapsed() < Duration::from_millis(20) {
                    std::hint::black_box(0u64);
                }
                tokio::task::yield_now().await;
            }
        });
        let mut run = args(Backend::Dashmap, dir.path());
        run.prefill_sessions = 0;
        run.users = 64;
        run.run_time = Some(Duration::from_secs(3));
        run.scenarios = vec![(ScenarioName::CartView, 1)];
        run.max_error_rate = None;
        let outcome = execute(&run).await.expect("run");
        hog.abort();
        outcome
    });
    let results = &outcome.results;
    let judged = &results.generator_bound;
    assert!(judged.bound, "{judged:?}");
    assert_eq!(judged.limit, "generator");
    let rules: Vec<&str> = judged.reasons.iter().map(|r| r.rule.as_str()).collect();
    assert!(
        rules.contains(&"generator_cpu") && rules.contains(&"generator_lag"),
        "{rules:?}"
    );
    assert!(results.generator.threads == 1, "{:?}", results.generator);
    assert!(results.generator.lag_us.p99 > 5_000.0);
    let page = std::fs::read_to_string(&outcome.report).expect("index.html");
    assert!(page.contains("Generator-bound"), "the report says so");
    assert!(outcome.run_dir.join("charts/cpu.png").is_file());
}

/// A stack stalled by its backend (Redis stopped mid-run) is the limit: the generator idles
/// with a low timer lag, and the run's verdict says the stack's response time was the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_stalled_by_its_backend_is_called_the_limit() {
    let _serial = SERIAL.lock().await;
    let redis = mock_services::local_redis::LocalRedis::start().expect("redis-server");
    let pid = redis.pid().expect("pid").to_string();
    let signal = |name: &str| {
        let status = std::process::Command::new("kill")
            .args([name, pid.as_str()])
            .status()
            .expect("kill");
        assert!(status.success());
    };
    /// Resumes Redis however the test ends.
    struct Resume(String);
    impl Drop for Resume {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill")
                .args(["-CONT", self.0.as_str()])
                .status();
        }
    }
    let _resume = Resume(pid.clone());
    let dir = tempfile::tempdir().expect("temp dir");
    let mut run = args(Backend::Redis, dir.path());
    run.backend.redis_url = Some(redis.url());
    run.prefill_sessions = 0;
    run.users = 16;
    run.run_time = Some(Duration::from_secs(4));
    run.scenarios = vec![(ScenarioName::CartView, 1)];
    run.stack_threads = Some(1);
    run.max_error_rate = None;
    let stall = {
        let pid = pid.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            let _ = std::process::Command::new("kill")
                .args(["-STOP", pid.as_str()])
                .status();
        })
    };
    let outcome = execute(&run).await.expect("run");
    stall.join().expect("stall thread");
    signal("-CONT");
    let judged = &outcome.results.generator_bound;
    assert!(!judged.bound, "{judged:?}");
    assert_eq!(judged.limit, "stack", "{judged:?}");
    assert_eq!(judged.reasons[0].rule, "stack_latency", "{judged:?}");
    assert!(outcome.results.generator.lag_us.p99 < 5_000.0);
    assert!(
        outcome.results.status_codes.contains_key("503"),
        "the stalled store answered 503: {:?}",
        outcome.results.status_codes
    );
}

/// `calibrate` measures the generator's ceiling, keeps it for this machine, and later runs show
/// it beside their own figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn calibration_is_kept_and_shown_beside_later_runs() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let calibrated =
        loadtest::drivers::calibrate::execute(&loadtest::drivers::calibrate::CalibrateArgs {
            users: 8,
            run_time: Duration::from_secs(2),
            server_threads: Some(1),
            reports_dir: Some(dir.path().to_path_buf()),
            quiet: true,
        })
        .await
        .expect("calibrate");
    let calibration = &calibrated.calibration;
    assert!(calibration.requests_per_core > 0.0, "{calibration:?}");
    assert_eq!(calibration.generator_threads, 1);
    assert!(calibrated.file.starts_with(dir.path().join("calibration")));
    assert_eq!(
        loadtest::drivers::calibrate::load(dir.path()).as_ref(),
        Some(calibration)
    );
    let mut run = args(Backend::Dashmap, dir.path());
    run.prefill_sessions = 0;
    run.run_time = Some(Duration::from_secs(1));
    let outcome = execute(&run).await.expect("run");
    assert_eq!(
        outcome.results.generator.calibration.as_ref(),
        Some(calibration)
    );
    let page = std::fs::read_to_string(&outcome.report).expect("index.html");
    assert!(page.contains("calibrated ceiling"), "the report shows it");
}

/// A short `loadtest store` comparison into `reports_dir`: 2 rounds of 1 s on 1,000 prefilled
/// sessions, on `arms` (none: scc alone).
fn store_args(
    arms: Vec<Arm>,
    reports_dir: &std::path::Path,
) -> loadtest::drivers::store::StoreArgs {
    loadtest::drivers::store::StoreArgs {
        backend: BackendArgs {
            backend: Backend::Scc,
            redis_url: None,
            redis_persistence: Default::default(),
            redis_cluster_urls: Vec::new(),
        },
        arms,
        duration: Duration::from_secs(1),
        tasks: 4,
        prefill_sessions: 1_000,
        rounds: RoundsArgs {
            repeat: Some(2),
            ..RoundsArgs::default()
        },
        reports_dir: Some(reports_dir.to_path_buf()),
    }
}

/// `loadtest store --repeat 2`: each repetition on a fresh store in its own folder, and a report
/// over both with medians and intervals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_runs_repeat_into_folders_of_their_own_and_one_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    loadtest::drivers::store::run(store_args(Vec::new(), dir.path()), 2)
        .await
        .expect("store runs");
    let root = std::fs::read_dir(dir.path())
        .expect("reports dir")
        .next()
        .expect("one run folder")
        .expect("entry")
        .path();
    for repetition in [1, 2] {
        let results = reports::results::read(&root.join(repetition.to_string())).expect("results");
        assert_eq!(results.config.repetition, repetition);
        assert!(results.total_operations > 0);
    }
    let page = std::fs::read_to_string(root.join("index.html")).expect("report");
    assert!(page.contains("<table id=\"summary\">"), "{page}");
    assert!(page.contains("scc over 2 repetitions: median"), "{page}");
    assert!(
        page.contains("The comparison ran the 2 rounds asked for"),
        "{page}"
    );
}

/// `loadtest store --arms`: arms in interleaved rounds, each in its own folder, and a planted
/// difference (every lookup 50 µs dearer, far beyond an in-memory lookup's cost) found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_arms_run_in_rounds_and_a_handicapped_one_is_named_slower() {
    let dir = tempfile::tempdir().expect("temp dir");
    loadtest::drivers::store::run(
        store_args(
            vec![
                Arm::plain(Backend::Dashmap),
                Arm::parse("dashmap+handicap=50us").expect("arm"),
            ],
            dir.path(),
        ),
        2,
    )
    .await
    .expect("store runs");
    let root = std::fs::read_dir(dir.path())
        .expect("reports dir")
        .next()
        .expect("one run folder")
        .expect("entry")
        .path();
    let mut dirs = Vec::new();
    for (arm, handicap) in [("dashmap", None), ("dashmap-handicap-50us", Some(50.0))] {
        for round in [1, 2] {
            let run_dir = root.join(arm).join(round.to_string());
            let results = reports::results::read(&run_dir).expect("results");
            assert_eq!(results.config.repetition, round);
            assert_eq!(results.config.arm.as_deref(), Some(arm));
            assert_eq!(results.config.backend, Backend::Dashmap);
            assert_eq!(results.config.lookup_handicap_us, handicap);
            dirs.push(run_dir);
        }
    }
    let rounds = reports::results::read_rounds(&root)
        .expect("rounds.json reads")
        .expect("rounds.json");
    assert_eq!(rounds.rounds, 2);
    assert_eq!(rounds.arms, ["dashmap", "dashmap+handicap=50us"]);
    let report = reports::report::StoreReport::load(&dirs, None).expect("report");
    let observations = reports::store_report::observations(&report);
    let groups = reports::compare::groups(&observations);
    let ratio = reports::compare::ratio_between(
        &groups[1],
        &groups[0],
        reports::compare::Measure::Throughput,
    )
    .expect("ratio");
    assert_eq!(groups[1].name, "dashmap-handicap-50us");
    assert!(ratio.below_one(), "{ratio:?}");
    let page = std::fs::read_to_string(root.join("index.html")).expect("report");
    assert!(page.contains("dashmap-handicap-50us"), "{page}");
}

/// The binary gives the generator and its in-process stack CPUs of their own when the machine
/// has two or more (and says so in the results), and leaves them unpinned with `--pin off`.
#[test]
fn the_binary_pins_the_generator_and_the_stack_to_cpus_of_their_own() {
    use loadtest::setup::cores;
    // Not goose in this process, but the CPUs the other runs measure on.
    let _serial = SERIAL.blocking_lock();
    let run = |extra: &[&str]| {
        let dir = tempfile::tempdir().expect("temp dir");
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_loadtest"))
            .args([
                "--users",
                "2",
                "--run-time",
                "1s",
                "--scenario",
                "cart",
                "--prefill-sessions",
                "0",
                "--quiet",
                "--reports-dir",
                dir.path().to_str().expect("utf-8"),
            ])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("loadtest runs");
        assert!(status.success(), "{status}");
        let run_dir = std::fs::read_dir(dir.path())
            .expect("reports dir")
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| path.join(reports::results::RESULTS_FILE).is_file())
            .expect("a run folder");
        reports::results::read_load(&run_dir).expect("results")
    };
    let usable = cores::usable();
    let threads = loadtest::setup::args::default_threads();
    let pinned = run(&[]);
    assert_eq!(
        pinned.environment.cores,
        cores::split(&usable, threads, threads),
        "the split this machine's CPUs give"
    );
    assert_eq!(pinned.environment.logical_cpus, usable.len());
    if usable.len() >= 2 {
        let split = pinned.environment.cores.expect("pinned");
        assert!(split.generator.iter().all(|cpu| !split.stack.contains(cpu)));
    }
    let unpinned = run(&["--pin", "off"]);
    assert_eq!(unpinned.environment.cores, None);
    assert_eq!(unpinned.environment.logical_cpus, usable.len());
}
