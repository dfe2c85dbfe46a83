//! Load runs over several app instances, end to end: `--instances 2` on Redis and on a Redis
//! Cluster (the run starts the stack as processes), and repeated `--target` against a stack of
//! two instances started beforehand. Users take the instances in turn, request by request, so
//! every login crosses instances: a run without a failure shows the sessions are shared.

use loadtest::drivers::run::execute;
use loadtest::setup::process_stack::{self, ProcessStack};
use reports::results::LoadRunResults;
use vocabulary::costs::Component;

mod support;
use support::{flags, loadtest_binary};

/// Goose keeps process-wide state: runs in one process go one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every request answered as expected, every flow completed, and each service's instances
/// given equal turns (round robin per user: at most one request apart per user).
fn assert_spread_without_failure(results: &LoadRunResults, instances: usize) {
    assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
    for flow in [
        "password login (store)",
        "sso relogin (store)",
        "sso login (forums)",
    ] {
        let row = results
            .flows
            .iter()
            .find(|row| row.name == flow)
            .unwrap_or_else(|| panic!("no {flow}"));
        assert!(row.count > 0, "{flow} never completed");
    }
    assert_eq!(
        results.config.instances,
        u32::try_from(instances).expect("few")
    );
    for service in ["store", "forums"] {
        let counts: Vec<u64> = results
            .instances
            .iter()
            .filter(|instance| instance.service.name() == service)
            .map(|instance| instance.requests)
            .collect();
        assert_eq!(counts.len(), instances, "{:?}", results.instances);
        let total: u64 = counts.iter().sum();
        let (low, high) = (
            counts.iter().min().copied().unwrap_or(0),
            counts.iter().max().copied().unwrap_or(0),
        );
        // Each user (browser and attacker) alternates: the instances differ by at most one
        // request per client.
        let clients = 2 * u64::try_from(results.config.users).expect("few");
        assert!(
            low > 0 && high - low <= clients,
            "{service}: {counts:?} of {total}"
        );
    }
    let requests: u64 = results.instances.iter().map(|i| i.requests).sum();
    assert_eq!(
        requests, results.requests_total,
        "every request is counted at one instance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_two_instances_on_redis_and_on_a_cluster_shares_every_session() {
    let _serial = SERIAL.lock().await;
    for backend in ["redis", "redis-cluster"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let args = flags(dir.path(), &["--instances", "2", "--backend", backend]);
        let outcome = execute(&args).await.expect("run");
        let results = &outcome.results;
        assert_eq!(results.config.target.to_string(), "processes");
        assert_spread_without_failure(results, 2);
        let costs = results.costs.as_ref().expect("costs by component");
        let redis = costs
            .component(Component::Redis)
            .expect("the redis-servers");
        let nodes = if backend == "redis" { 1 } else { 6 };
        assert_eq!(redis.processes, nodes, "{backend}");
        assert!(redis.cpu_seconds > 0.0, "{backend}");
        assert_eq!(
            costs.component(Component::Apps).expect("apps").processes,
            4,
            "two store and two forums instances"
        );
        assert!(
            results
                .generator
                .stack_cpu_source
                .contains("the stack's processes"),
            "{}",
            results.generator.stack_cpu_source
        );
        // Each process's memory by the services it serves, and Redis's own figures, asked of
        // the stores while the run went on.
        let last = results.timeline.last().expect("a timeline");
        for name in ["idp", "store 1", "store 2", "forums 1", "forums 2"] {
            assert!(
                last.stack_rss_bytes
                    .get(name)
                    .is_some_and(|&bytes| bytes > 0),
                "{backend}: {name} in {:?}",
                last.stack_rss_bytes
            );
        }
        let redis_servers = last
            .stack_rss_bytes
            .keys()
            .filter(|name| name.starts_with("redis-server "))
            .count();
        assert_eq!(
            redis_servers as u32, nodes,
            "{backend}: {:?}",
            last.stack_rss_bytes
        );
        assert!(
            results
                .timeline
                .iter()
                .any(|point| point.backend_memory_bytes.is_some_and(|bytes| bytes > 0)),
            "{backend}: Redis's used memory sampled"
        );
        assert!(
            results
                .timeline
                .iter()
                .any(|point| point.store_sessions_alive.is_some()),
            "{backend}: the shared store's sessions counted (every five seconds on Redis)"
        );
        let html = std::fs::read_to_string(&outcome.report).expect("report");
        assert!(
            html.contains("<h2 id=\"instances\">Instances</h2>"),
            "{backend}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_targets_are_taken_in_turn() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut serve = process_stack::serve_args(&flags(dir.path(), &[]));
    serve.backend.backend = mock_services::cli::Backend::Redis;
    serve.instances = 2;
    let stack = ProcessStack::start(&serve, &loadtest_binary())
        .await
        .expect("stack");
    let mut extra = vec!["--target-idp", stack.idp.as_str()];
    for store in &stack.stores {
        extra.extend(["--target", store.as_str()]);
    }
    for forums in &stack.forums {
        extra.extend(["--target-forums", forums.as_str()]);
    }
    let args = flags(dir.path(), &extra);
    let outcome = execute(&args).await.expect("run");
    stack.shutdown().await.expect("stop");
    let results = &outcome.results;
    assert_eq!(results.config.target.to_string(), args.target.join(","));
    assert_spread_without_failure(results, 2);
}

#[test]
fn instances_need_a_shared_backend_and_a_stack_of_their_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let refused = |extra: &[&str]| {
        flags(dir.path(), extra)
            .validate()
            .expect_err("refused")
            .to_string()
    };
    let message = refused(&["--instances", "2"]);
    assert!(
        message.contains("needs a shared session backend"),
        "{message}"
    );
    let message = refused(&[
        "--instances",
        "2",
        "--backend",
        "redis",
        "--target",
        "http://127.0.0.2:9011",
    ]);
    assert!(message.contains("repeat --target"), "{message}");
    let message = refused(&[
        "--instances",
        "2",
        "--backend",
        "redis",
        "--fault",
        "redis-pause@1s+1s",
    ]);
    assert!(message.contains("faults do not reach"), "{message}");
    let message = refused(&["--stack-processes", "--target", "http://127.0.0.2:9011"]);
    assert!(
        message.contains("--stack-processes starts the stack"),
        "{message}"
    );
    let message = refused(&["--stack-processes", "--fault", "stack-pause@1s+1s"]);
    assert!(message.contains("faults do not reach"), "{message}");
    for fine in [
        &["--instances", "2", "--backend", "redis"][..],
        // The first store instance prefills the shared backend before it is announced.
        &[
            "--instances",
            "2",
            "--backend",
            "redis",
            "--prefill-sessions",
            "10",
        ],
        // One instance of each app, any backend.
        &["--stack-processes"],
    ] {
        flags(dir.path(), fine).validate().expect("accepted");
    }
}
