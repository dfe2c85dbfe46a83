//! `loadtest kube`: the manifests hold what a cluster needs (an Indexed Job that is never retried,
//! kept after it ends, bounded; the token from a Secret; the coordinator behind a headless
//! Service), and `kube --local` — the pods' own command lines and environment as processes on
//! loopback — gives the same merged run as `--workers` for the same split. (The manifests'
//! schemas are checked by `scripts/validate-manifests.sh`, which the test script runs.)

use clap::Parser;
use loadtest::cluster::manifest::Object;
use loadtest::cluster::render::{self, KubeArgs};
use loadtest::drivers::run::execute;
use reports::results::{LoadRunResults, read_load};
use std::path::Path;

mod support;
use support::{SHORT_RUN, flags, loadtest_binary, process_stack};

/// The runs here start process stacks and generators: one at a time, on two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Parser)]
struct Flags {
    #[command(flatten)]
    kube: KubeArgs,
}

fn kube(extra: &[&str]) -> KubeArgs {
    let mut line = vec![
        "kube",
        "--image",
        "registry.example/ssobench:test",
        "--target",
        "http://sut.example:8080",
        "--target-idp",
        "http://idp.example:8080",
        "--target-forums",
        "http://forums.example:8080",
    ];
    line.extend_from_slice(extra);
    Flags::try_parse_from(line).expect("flags").kube
}

#[test]
fn the_manifests_hold_what_a_cluster_needs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let accounts = dir.path().join("accounts.csv");
    std::fs::write(&accounts, "username,password\nada@example.com,pw\n").expect("accounts");
    let args = kube(&[
        "--users-file",
        accounts.to_str().expect("utf-8"),
        "--out",
        dir.path().to_str().expect("utf-8"),
        "--workers",
        "3",
        "--users",
        "30",
        "--namespace",
        "load",
        "--cpu-limit",
        "2",
        "--spread",
    ]);
    let token = loadtest::coordinate::new_token();
    args.render(&token)
        .expect("render")
        .write(dir.path())
        .expect("write");
    let objects = render::read_dir(dir.path()).expect("read back");
    let job = |name: &str| render::job(&objects, name).unwrap_or_else(|| panic!("no Job {name}"));
    let workers = job(render::WORKERS);
    assert_eq!(workers.metadata.namespace.as_deref(), Some("load"));
    assert_eq!(workers.spec.completion_mode.as_deref(), Some("Indexed"));
    assert_eq!(workers.spec.completions, Some(3));
    assert_eq!(workers.spec.parallelism, Some(3));
    // Never retried mid-run, kept for their logs, stopped by a deadline whatever happens.
    assert_eq!(workers.spec.backoff_limit, 0);
    assert!(workers.spec.ttl_seconds_after_finished >= 3600);
    let run = args.coordinated_run();
    assert_eq!(run.ready_within, std::time::Duration::from_secs(600));
    assert!(
        workers.spec.active_deadline_seconds
            >= (run.ready_within + run.run_time() + run.results_within).as_secs()
    );
    let pod = &workers.spec.template.spec;
    assert_eq!(pod.restart_policy, "Never");
    assert!(pod.security_context.run_as_non_root);
    assert!(pod.affinity.is_some(), "--spread: one generator per node");
    let container = &pod.containers[0];
    assert_eq!(
        container.args,
        [
            "worker",
            "--coordinator",
            "http://ssobench-coordinator.load.svc:7878"
        ]
    );
    assert_eq!(
        container.resources.limits.get("cpu").map(String::as_str),
        Some("2")
    );
    assert!(container.security_context.read_only_root_filesystem);
    let env = |name: &str| {
        container
            .env
            .iter()
            .find(|variable| variable.name == name)
            .and_then(|variable| variable.value_from.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let token_ref = env("SSOBENCH_TOKEN").secret_key_ref.expect("from a Secret");
    assert_eq!(
        (token_ref.name.as_str(), token_ref.key.as_str()),
        (render::SECRET, render::TOKEN_KEY)
    );
    let pod_name = env("POD_NAME").field_ref.expect("from a field");
    assert_eq!(pod_name.field_path, "metadata.name");
    // The token is in the Secret only, never on a command line; the run's arguments too.
    let secret = render::secret(&objects, render::SECRET).expect("the Secret");
    assert_eq!(secret.string_data.get(render::TOKEN_KEY), Some(&token));
    let text = std::fs::read_to_string(dir.path().join("20-coordinator.yaml")).expect("read");
    assert!(!text.contains(&token));
    let held: loadtest::setup::args::RunArgs =
        serde_json::from_str(&secret.string_data[render::RUN_KEY]).expect("run.json");
    assert_eq!(held.users, 30);
    assert_eq!(held.workers, 3);
    assert_eq!(held.target, ["http://sut.example:8080"]);
    // A file the run names here travels in the Secret, and the pods read it where it is
    // mounted (the workers too).
    assert_eq!(
        held.users_file.as_deref(),
        Some(Path::new("/etc/ssobench/users.csv"))
    );
    assert_eq!(
        secret
            .string_data
            .get(render::USERS_KEY)
            .map(String::as_str),
        Some("username,password\nada@example.com,pw\n")
    );
    assert!(
        container
            .volume_mounts
            .iter()
            .any(|mount| mount.mount_path == render::RUN_MOUNT)
    );
    // The coordinator: a headless Service selects its pod, which listens on the Service's port.
    let service = objects
        .iter()
        .find_map(|object| match object {
            Object::Service(service) => Some(service.clone()),
            _ => None,
        })
        .expect("the Service");
    assert_eq!(service.spec.cluster_ip, "None");
    let coordinator = job(render::COORDINATOR);
    assert_eq!(
        service.spec.selector,
        coordinator.spec.template.metadata.labels
    );
    assert_eq!(coordinator.spec.backoff_limit, 0);
    let args = &coordinator.spec.template.spec.containers[0].args;
    assert_eq!(args[0], "coordinate");
    assert!(
        args.windows(2)
            .any(|pair| pair == ["--listen", "0.0.0.0:7878"])
    );
}

/// The same split through `--workers` and through the pods' own command lines: the same
/// workers with the same users, the merged run the sum of its workers' files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_local_runs_the_pods_and_merges_as_workers_do() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let stack = process_stack(dir.path()).await;
    let targets = [
        "--target-idp",
        stack.idp.as_str(),
        "--target",
        stack.stores[0].as_str(),
        "--target-forums",
        stack.forums[0].as_str(),
    ];
    // `flags` gives a short run of 8 users; the pods get the same on their command line.
    let mut workers_line = vec!["--workers", "2"];
    workers_line.extend_from_slice(&targets);
    let by_workers = execute(&flags(dir.path(), &workers_line))
        .await
        .expect("--workers");
    let mut common = SHORT_RUN.to_vec();
    common.extend_from_slice(&workers_line);

    let manifests = dir.path().join("manifests");
    let output = std::process::Command::new(loadtest_binary())
        .arg("kube")
        .arg("--local")
        .arg("--out")
        .arg(&manifests)
        .args(["--image", "ssobench:local", "--serve-for", "2m"])
        .args(&common)
        .output()
        .expect("kube --local runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stack.shutdown().await.expect("stop");
    let run_dir = manifests.join("local/fetched/ssobench-run");
    let by_pods = read_load(&run_dir).expect("the fetched report's results");
    assert!(run_dir.join("index.html").is_file());

    for merged in [&by_workers.results, &by_pods] {
        assert_eq!(merged.errors_total, 0, "{:?}", merged.error_kinds);
        assert_eq!(merged.config.workers, 2);
        assert_eq!(merged.config.users, 8);
        let users: Vec<usize> = merged.workers.iter().map(|worker| worker.users).collect();
        assert_eq!(users, [4, 4]);
        // Every worker measured its clock against the coordinator's (loopback: well within).
        for worker in &merged.workers {
            let offset = worker.clock_offset_ms.expect("a measured clock");
            assert!(offset.abs() < 50.0, "{offset} ms");
        }
    }
    assert_eq!(
        by_pods.workers[0].host, by_workers.results.workers[0].host,
        "the same host's name in both"
    );
    assert_sum(&by_pods, &run_dir);
    assert_sum(&by_workers.results, &by_workers.run_dir);
    // Everything the two runs were told is the same, but where their load went in time.
    let config = |results: &LoadRunResults| {
        let mut value = serde_json::to_value(&results.config).expect("config");
        if let Some(map) = value.as_object_mut() {
            map.remove("started_at");
        }
        value
    };
    assert_eq!(config(&by_pods), config(&by_workers.results));
}

/// The merged requests are the workers' own, each from its file.
fn assert_sum(merged: &LoadRunResults, run_dir: &Path) {
    let each: u64 = (1..=merged.workers.len())
        .map(|k| {
            read_load(&run_dir.join(format!("worker-{k}")))
                .expect("a worker's results")
                .requests_total
        })
        .sum();
    assert_eq!(merged.requests_total, each);
    assert!(merged.requests_total > 0);
}

/// The coordination faults through the pods' own command lines: the coordinator sees no exits
/// there (as on a cluster), so a pod that vanishes or keeps its results falls silent; each
/// ends the run with a message naming the pod, and no report is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordination_faults_through_the_pods_are_named() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let stack = process_stack(dir.path()).await;
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &[
                "--worker-fault",
                "2:never-ready",
                "--pod-ready-within",
                "20s",
            ],
            &[
                "not ready within 20 s",
                "worker 2 (pod ssobench-workers-1-local): took its arguments, never said ready",
            ],
        ),
        (
            &["--worker-fault", "1:exit-mid-run"],
            &[
                "worker 1 (pod ssobench-workers-0-local) fell silent",
                "evicted",
            ],
        ),
        (
            &["--worker-fault", "2:withhold-results"],
            &["worker 2 (pod ssobench-workers-1-local) fell silent"],
        ),
        (
            &["--worker-fault", "2:clock-off=4s"],
            &["worker 2 (pod ssobench-workers-1-local): its clock is +4000 ms off"],
        ),
    ];
    for (case, (extra, expected)) in cases.iter().enumerate() {
        let manifests = dir.path().join(format!("case-{case}"));
        let output = std::process::Command::new(loadtest_binary())
            .arg("kube")
            .arg("--local")
            .arg("--out")
            .arg(&manifests)
            .args(["--image", "ssobench:local", "--serve-for", "1m"])
            .args(["--workers", "2", "--users", "4", "--run-time", "3s"])
            .args(["--target-idp", &stack.idp, "--target", &stack.stores[0]])
            .args(["--target-forums", &stack.forums[0]])
            .args(*extra)
            .output()
            .expect("kube --local runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{extra:?}: {stderr}");
        for piece in *expected {
            assert!(stderr.contains(piece), "{extra:?}: {stderr}");
        }
        assert!(
            stderr.contains("before serving the report"),
            "{extra:?}: {stderr}"
        );
        assert!(!manifests.join("local/fetched").exists(), "{extra:?}");
        assert!(
            !manifests.join("local/results/results.json").exists(),
            "{extra:?}"
        );
    }
    stack.shutdown().await.expect("stop");
}
