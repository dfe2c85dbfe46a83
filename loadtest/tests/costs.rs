//! The stack's costs by component, end to end: a run whose stack runs as processes records each
//! component's CPU against the operations its services counted; `profile` fits per-operation
//! costs over its mixes and writes the profile; `plan` sizes a target from it, writes its page,
//! and with `--verify` runs a mix made from the target and compares each component's CPU with
//! the prediction.

use clap::Parser;
use loadtest::drivers::plan::{self, PlanArgs};
use loadtest::drivers::profile::{self, ProfileArgs};
use loadtest::drivers::run::execute;
use vocabulary::costs::{Component, Operation};

mod support;
use support::{flags, loadtest_binary};

/// Goose keeps process-wide state: runs in one process go one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_of_processes_records_each_components_cpu_against_what_its_services_counted() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let args = flags(dir.path(), &["--stack-processes", "--scenario", "journey"]);
    let outcome = execute(&args).await.expect("run");
    let results = &outcome.results;
    assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
    let costs = results.costs.as_ref().expect("costs by component");
    assert!(costs.seconds >= 4.0, "the whole attack: {}", costs.seconds);
    let idp = costs.component(Component::Idp).expect("the IdP");
    let apps = costs.component(Component::Apps).expect("the apps");
    assert_eq!(idp.processes, 1);
    assert_eq!(apps.processes, 2, "the store and the forums");
    assert!(idp.cpu_seconds > 0.0 && apps.cpu_seconds > 0.0);
    assert!(idp.resident_bytes > 0 && apps.resident_bytes > 0);
    let password = idp.count(Operation::PasswordLogin);
    let sso = idp.count(Operation::SsoAuthorization);
    assert!(password > 0 && sso > 0, "{:?}", idp.operations);
    // Every login shows the form once, and every code issued was exchanged by an app's
    // callback: the services' counts agree with one another.
    assert_eq!(idp.count(Operation::LoginForm), password);
    assert_eq!(idp.count(Operation::TokenExchange), password + sso);
    assert_eq!(apps.count(Operation::AppLogin), password + sso);
    assert!(apps.count(Operation::CartRead) > 0 && apps.count(Operation::CartWrite) > 0);
    // And with what the generator saw of them.
    let generator_cart = results
        .hops
        .iter()
        .find(|row| row.name == "store: GET /shopping-cart")
        .expect("cart hop")
        .count;
    assert!(
        apps.count(Operation::CartRead) >= generator_cart,
        "the store counted {} cart reads, the generator saw {generator_cart} answered",
        apps.count(Operation::CartRead)
    );

    // Each process's memory by the service it serves, and the store's sessions, asked of it.
    let last = results.timeline.last().expect("a timeline");
    for name in ["idp", "store", "forums"] {
        assert!(
            last.stack_rss_bytes
                .get(name)
                .is_some_and(|&bytes| bytes > 0),
            "{name} in {:?}",
            last.stack_rss_bytes
        );
    }
    assert!(
        results
            .timeline
            .iter()
            .any(|point| point.store_sessions_alive.is_some_and(|alive| alive > 0)),
        "the store's sessions counted"
    );
    assert!(
        results
            .timeline
            .iter()
            .all(|point| point.backend_memory_bytes.is_none())
    );

    // The in-process stack is one process: no costs by component.
    let in_process = execute(&flags(dir.path(), &[])).await.expect("run");
    assert!(in_process.results.costs.is_none());
}

#[derive(Debug, Parser)]
struct ProfileFlags {
    #[command(flatten)]
    args: ProfileArgs,
}

#[derive(Debug, Parser)]
struct PlanFlags {
    #[command(flatten)]
    args: PlanArgs,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_fits_costs_over_its_mixes_and_a_plan_sizes_and_verifies_from_it() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let reports = dir.path().to_str().expect("utf-8");
    let file = dir.path().join("profile.json");
    let mut profile_args = ProfileFlags::try_parse_from([
        "profile",
        "--mix-time",
        "2s",
        "--memory-sessions",
        "50000",
        "--quiet",
        "--reports-dir",
        reports,
        "--out",
        file.to_str().expect("utf-8"),
    ])
    .expect("flags")
    .args;
    profile_args.run.stack_program = Some(loadtest_binary());
    let profiled = profile::execute(&profile_args).await.expect("profile");
    let written = profile::read_profile(&file).expect("profile read back");
    assert_eq!(written, profiled.profile);
    assert_eq!(written.mixes.len(), profile::MIXES.len());
    assert_eq!(written.settings["backend"], "dashmap");
    let idp = written.model(Component::Idp).expect("an IdP model");
    let apps = written.model(Component::Apps).expect("an apps model");
    assert!(written.model(Component::Redis).is_none(), "no Redis here");
    for model in [idp, apps] {
        assert!(model.costs.iter().all(|cost| cost.cpu_seconds >= 0.0));
        assert!(
            model.r_squared > 0.5,
            "{}: R² {}",
            model.component,
            model.r_squared
        );
    }
    assert!(
        idp.cost(Operation::PasswordLogin) + idp.cost(Operation::SsoAuthorization) > 0.0,
        "logins cost the IdP something"
    );
    assert!(
        idp.folded
            .iter()
            .any(|(operation, _)| *operation == Operation::TokenExchange),
        "the token exchange comes with every login and is said to: {:?}",
        idp.folded
    );
    let bytes = apps.bytes_per_session.expect("bytes per session measured");
    assert!(
        (20.0..5_000.0).contains(&bytes),
        "{bytes} bytes per in-memory session"
    );

    let out = dir.path().join("plan");
    let mut plan_args = PlanFlags::try_parse_from([
        "plan",
        "--logins",
        "500/s",
        "--sso-logins",
        "2000/s",
        "--cart",
        "20000/s",
        "--sessions",
        "2000000",
        "--verify",
        "--verify-time",
        "3s",
        "--verify-rounds",
        "2",
        "--quiet",
        "--reports-dir",
        reports,
        "--profile",
        file.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ])
    .expect("flags")
    .args;
    plan_args.run.stack_program = Some(loadtest_binary());
    let planned = plan::execute(&plan_args).await.expect("plan");
    let idp_plan = &planned.plan.components[0];
    assert_eq!(idp_plan.component, Component::Idp);
    let expected = idp.cores(&planned.plan.target.rates(Component::Idp));
    assert!((idp_plan.cores - expected).abs() < 1e-9);
    assert!(idp_plan.instances >= 1);
    assert!(
        planned.plan.components[1].session_memory.unwrap_or(0) > 0,
        "in-memory sessions are the apps' memory"
    );
    assert!((planned.plan.reference.vcpu - (500.0 / 15.0 + 2000.0 / 120.0)).abs() < 1e-9);
    let verification = planned.verification.as_ref().expect("verified");
    assert_eq!(verification.checks.len(), 2);
    assert_eq!(verification.run_dirs.len(), 2, "two rounds, two runs");
    for check in &verification.checks {
        assert!(check.measured_cores > 0.0, "{check:?}");
        // Pooled CPU over pooled time lies between the runs' own figures.
        let (low, high) = check.measured_range;
        assert!(
            low - 1e-9 <= check.measured_cores && check.measured_cores <= high + 1e-9,
            "{check:?}"
        );
        assert!(check.predicted_cores > 0.0, "{check:?}");
        // Profiled from 2-second mixes on a shared machine, the model is rough; but a cost in
        // the wrong unit, or counts and CPU of different spans, would be off by far more.
        let ratio = check.measured_cores / check.predicted_from_counted;
        assert!(
            (1.0 / 3.0..3.0).contains(&ratio),
            "measured {:.3} cores against {:.3} predicted from the counted operations",
            check.measured_cores,
            check.predicted_from_counted
        );
        assert_eq!(
            check.within,
            check.error.abs() <= verification.tolerance,
            "{check:?}"
        );
    }
    assert!(verification.counted_rates[&Operation::PasswordLogin] > 0.0);
    let page = std::fs::read_to_string(out.join("plan.html")).expect("plan page");
    assert!(page.contains("Checked on this machine"));
    assert!(page.contains("By Keycloak's published figures"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("plan.json")).expect("plan.json"))
            .expect("json");
    assert!(json["verification"]["checks"].is_array());
}
