//! A load run's `results.json` contents, assembled from what was measured: rates over the
//! configured run time, every hop and flow, the generator's own figures and its verdict.

use crate::attack::measured::Measured;
use crate::fault;
use crate::judge::bound::{self, Evidence, Think};
use crate::measure::environment;
use crate::measure::recorder::UserRecorder;
use crate::measure::recorder::percentiles;
use crate::measure::timeline::{Window, steady_cores, steady_rate};
use crate::names::LoginOutcome;
use crate::setup::args::RunArgs;
use crate::setup::stack::Stack;
use crate::users::context::Targets;
use reports::results::{
    Bounces, Calibration, GeneratorResults, InstanceRequests, LoadRunConfig, LoadRunResults,
    LoginOutcomes, Pacing, RetryWaits, SCHEMA_VERSION, StackPlacement, StolenSessionResults,
    TargetHost, TlsResults, Transport, UserCost,
};
use vocabulary::Service;

/// What the results are assembled from.
#[derive(Debug)]
pub struct Inputs<'a> {
    pub args: &'a RunArgs,
    pub stack: &'a Stack,
    /// The targets as resolved at the start.
    pub targets: &'a Targets,
    pub measured: &'a Measured,
    pub started_at: jiff::Timestamp,
    pub calibration: Option<Calibration>,
    /// A coordinated worker's clock against its coordinator's.
    pub clock: Option<reports::results::ClockOffset>,
    /// The generator's cgroup CPU limit and its throttling over the attack.
    pub throttling: Option<reports::results::CpuThrottling>,
    pub goose_reports: Vec<String>,
    /// The stack's costs over the attack, where its services run in processes of their own.
    pub costs: Option<vocabulary::costs::Costs>,
}

pub fn results(inputs: Inputs<'_>) -> LoadRunResults {
    let Inputs {
        args,
        stack,
        targets,
        measured,
        started_at,
        calibration,
        clock,
        throttling,
        goose_reports,
        costs,
    } = inputs;
    let timeline = &measured.sampled.timeline;
    let merged = &measured.merged;
    let totals = &measured.totals;
    let run_time = measured.window;
    let requests_per_second = steady_rate(timeline, run_time, |p| p.requests);
    let achieved_rate = steady_rate(timeline, run_time, |p| p.iterations);
    let generator_cpu_cores = steady_cores(timeline, run_time, |p| p.generator_cpu_cores);
    let stack_cpu_cores = timeline
        .iter()
        .all(|p| p.stack_cpu_cores.is_some())
        .then(|| steady_cores(timeline, run_time, |p| p.stack_cpu_cores.unwrap_or(0.0)))
        .filter(|_| !timeline.is_empty());
    let lag_us = percentiles(&measured.sampled.lag);
    let logical_cpus = environment::logical_cpus(args.cores.as_ref());
    let wait_ms = args.wait.map(|(low, high)| (millis(low), millis(high)));
    let hops: Vec<_> = merged
        .hops()
        .map(|(hop, latency)| latency.row(hop.name()))
        .collect();
    let think = Think::of(
        wait_ms,
        Think::mean_users(timeline),
        &hops,
        measured.elapsed_seconds,
    );
    let generator_bound = bound::judge(&Evidence {
        in_process: matches!(stack, Stack::InProcess(_)),
        logical_cpus,
        generator_threads: measured.generator_threads,
        generator_cpu_cores,
        stack_threads: stack.threads(),
        stack_processes: stack.cpu_sides().processes(),
        stack_cpu_cores,
        lag_p99_us: lag_us.p99,
        requests_per_second,
        calibration: calibration.clone(),
        target_rate: args.rate,
        achieved_rate,
        think,
        throttling,
    });
    let stolen = merged
        .stolen_usable
        .as_deref()
        .cloned()
        .unwrap_or_default()
        .row("stolen");
    // The run configured the IdP itself unless it ran against --target.
    let in_process = !matches!(stack, Stack::External { .. });
    let instances = instance_requests(targets, &merged.instance_requests);
    LoadRunResults {
        schema_version: SCHEMA_VERSION,
        kind: "load".into(),
        started_at: started_at.to_string(),
        config: LoadRunConfig {
            backend: args.backend.backend,
            target: match stack {
                Stack::InProcess(_) => StackPlacement::InProcess,
                Stack::Processes(_) => StackPlacement::Processes,
                Stack::External { .. } => StackPlacement::Target(args.target.clone()),
            },
            instances: u32::try_from(
                instances
                    .iter()
                    .filter(|instance| instance.service == Service::Store)
                    .count(),
            )
            .unwrap_or(u32::MAX),
            workers: 1,
            users: args.users,
            run_time_seconds: args.run_time().as_secs(),
            scenarios: args
                .scenarios()
                .iter()
                .map(|(name, weight)| (name.goose_name().to_owned(), *weight))
                .collect(),
            target_rate: args.rate,
            store_idle_timeout_ms: millis(args.store_idle_timeout),
            store_absolute_timeout_ms: millis(args.store_absolute_timeout),
            prefill_sessions: args.prefill_sessions,
            wait_ms,
            ramp_rate: args.ramp_rate,
            lookup_handicap_us: (!matches!(stack, Stack::External { .. }))
                .then(|| mock_services::cli::Handicap::cost_on(args.handicap, args.backend.backend))
                .flatten()
                .map(|cost| cost.as_secs_f64() * 1e6),
            cart_reads: args.cart_reads,
            stolen_window_ms: millis(args.stolen_window),
            replay_interval_ms: millis(args.replay_interval),
            signing_algorithm: in_process.then_some(args.signing_alg),
            password_hashing: in_process.then_some(args.password_hash),
            request_timeout_ms: millis(args.request_timeout),
            goose_metrics: args.goose_reports,
            repetition: args.repetition,
            arm: args.arm.clone(),
            warm_up_ms: millis(args.warm_up()),
            faults: args.faults.iter().map(ToString::to_string).collect(),
            redis_persistence: args.backend.redis_persistence,
            target_hosts: target_hosts(targets),
            users_file: args
                .users_file
                .as_ref()
                .map(|path| path.display().to_string()),
            accounts: args
                .login_settings()
                .map_or(0, |login| login.accounts.len()),
            login_form: args.login_form.clone(),
            username_field: args.username_field.clone(),
            password_field: args.password_field.clone(),
            max_form_steps: args.max_form_steps,
            soak_window_seconds: args.soak_window.map(|window| window.as_secs()),
        },
        environment: environment::capture(measured.generator_threads, args.cores.clone()),
        hops,
        flows: merged
            .flows()
            .map(|(flow, latency)| latency.row(flow.name()))
            .collect(),
        elapsed_seconds: measured.elapsed_seconds,
        requests_total: totals.requests,
        requests_per_second,
        errors_total: totals.errors,
        error_rate: if totals.requests == 0 {
            0.0
        } else {
            totals.errors as f64 / totals.requests as f64
        },
        logins_per_second: steady_rate(timeline, run_time, |p| p.logins),
        password_logins_per_second: steady_rate(timeline, run_time, |p| p.password_logins),
        status_codes: totals.status_codes().collect(),
        error_kinds: merged
            .failures
            .iter()
            .map(|(failure, count)| (failure.to_string(), *count))
            .collect(),
        timeline: timeline.clone(),
        pacing: Pacing {
            target_rate: args.rate,
            achieved_rate,
            iterations: totals.iterations,
            late: merged.late,
            dropped: merged.dropped,
        },
        stolen_session: StolenSessionResults {
            observations: stolen.count,
            usable_ms: stolen.raw_us.to_ms(),
            window_ms: millis(args.stolen_window),
            outlived_window: merged.stolen_outlived,
            refused_after_logout: merged.stolen_refused_after_logout,
            served_after_logout: merged.stolen_served_after_logout,
        },
        goose_reports,
        generator: GeneratorResults {
            threads: measured.generator_threads,
            stack_threads: stack.threads(),
            cpu_cores: generator_cpu_cores,
            stack_cpu_cores,
            stack_cpu_source: stack.cpu_source(),
            requests_per_core: if generator_cpu_cores > 0.0 {
                requests_per_second / generator_cpu_cores
            } else {
                0.0
            },
            lag_us,
            calibration,
            connections_opened: merged.client.connections_opened,
            resent: merged.client.resent,
            host_steal_cores: (!timeline.is_empty()
                && timeline.iter().all(|p| p.host_steal_cores.is_some()))
            .then(|| steady_cores(timeline, run_time, |p| p.host_steal_cores.unwrap_or(0.0))),
            cpu_throttling: throttling,
        },
        generator_bound,
        faults: fault::outcome::results(
            &measured.fault_moments,
            &merged.fault_losses,
            &measured.fault_problems,
            fault::outcome::Context {
                timeline,
                persistence: args.backend.redis_persistence.name(),
            },
        ),
        bounces: Bounces {
            expected: merged.bounces_expected,
            unexpected: merged.bounces_unexpected,
        },
        retry_waits: RetryWaits {
            count: merged.retry_waits,
            total_ms: merged.retry_waited.as_secs_f64() * 1000.0,
        },
        instances,
        host: reports::hlog::host_name(),
        measured_started_unix: measured.started_unix,
        clock,
        workers: Vec::new(),
        hlog_late_samples: measured
            .intervals
            .as_ref()
            .map_or(0, |written| written.late),
        transport: transport(args, targets, merged),
        login_outcomes: login_outcomes(merged),
        users: Some(UserCost {
            stack_refused_over_cap: stack.refused_over_cap(),
            ..user_cost(measured, run_time)
        }),
        warm_up: warm_up(args, measured),
        costs,
        problems: measured.problems.clone(),
    }
}

/// The warm-up as it went (`None` without one).
fn warm_up(args: &RunArgs, measured: &Measured) -> Option<reports::results::WarmUp> {
    let plan = args.warm_up_plan();
    let seen = measured.sampled.warm_up.as_ref()?;
    Some(reports::results::WarmUp {
        limit_seconds: plan.limit_seconds,
        rule: plan.rule.map(|rule| rule.describe()),
        seconds: seen.timeline.last().map_or(0, |point| point.second),
        settled: seen.ended_by == Some(crate::measure::settle::WarmUpEnd::Settled),
        requests: seen.timeline.iter().map(|point| point.requests).collect(),
    })
}

/// What the users cost the generator: their start, and its memory once they were all there.
pub fn user_cost(measured: &Measured, window: Window) -> UserCost {
    let timeline = &measured.sampled.timeline;
    let rss_peak_bytes = timeline.iter().filter_map(|p| p.generator_rss_bytes).max();
    // Steady state: the seconds after every user started (the ramp's own second left out).
    // The timeline counts from the end of the warm-up, the users' start from the attack's.
    let warmed_up_for = measured
        .sampled
        .warm_up
        .as_ref()
        .and_then(|warm_up| warm_up.timeline.last())
        .map_or(0.0, |point| point.elapsed_seconds);
    let steady: Vec<u64> = measured
        .all_started_after
        .map(|after| {
            timeline
                .iter()
                .filter(|p| p.elapsed_seconds + warmed_up_for >= after + 1.0)
                .filter_map(|p| p.generator_rss_bytes)
                .collect()
        })
        .unwrap_or_default();
    let rss_steady_bytes = median(steady);
    let rss_per_user_bytes = match (rss_steady_bytes, measured.rss_before) {
        (Some(steady), Some(before)) if measured.users_started > 0 => {
            Some((steady as f64 - before as f64) / measured.users_started as f64)
        }
        _ => None,
    };
    UserCost {
        users_planned: measured.users_planned as u64,
        users_started: measured.users_started,
        ramp_up_planned_seconds: measured.ramp_up.as_secs_f64(),
        all_started_after_seconds: measured.all_started_after,
        rss_before_bytes: measured.rss_before,
        rss_peak_bytes,
        rss_steady_bytes,
        rss_per_user_bytes,
        open_files_peak: timeline.iter().filter_map(|p| p.generator_open_files).max(),
        new_connections_per_second: timeline
            .iter()
            .any(|p| p.connections_opened.is_some())
            .then(|| steady_rate(timeline, window, |p| p.connections_opened.unwrap_or(0))),
        host_time_wait_peak: timeline.iter().filter_map(|p| p.host_time_wait).max(),
        stack_connections_peak: timeline.iter().filter_map(|p| p.stack_connections).max(),
        stack_refused_over_cap: None,
        host_tcp_memory_peak_bytes: timeline
            .iter()
            .filter_map(|p| p.host_tcp_memory_bytes)
            .max(),
    }
}

/// The median of `values` (the lower middle one of an even count), `None` when empty.
fn median(mut values: Vec<u64>) -> Option<u64> {
    values.sort_unstable();
    values.get(values.len().saturating_sub(1) / 2).copied()
}

/// Connections and TLS handshakes, from every user's counts and histograms.
fn transport(args: &RunArgs, targets: &Targets, merged: &UserRecorder) -> Transport {
    let times = merged.transport.as_deref();
    let some = |histogram: &hdrhistogram::Histogram<u64>| {
        (!histogram.is_empty()).then(|| percentiles(histogram))
    };
    Transport {
        connections_opened: merged.client.connections_opened,
        closed_idle: merged.client.closed_idle,
        keep_alive_idle_ms: args.keep_alive_idle().map(millis),
        connect_us: times.and_then(|times| some(&times.connect)),
        tls: targets.tls.as_ref().map(|tls| TlsResults {
            handshakes_full: merged.client.handshakes_full,
            handshakes_resumed: merged.client.handshakes_resumed,
            handshakes_tls13: merged.client.handshakes_tls13,
            handshake_full_us: times.and_then(|times| some(&times.handshake_full)),
            handshake_resumed_us: times.and_then(|times| some(&times.handshake_resumed)),
            resumption: tls.resumption().name().to_owned(),
            insecure: args.insecure,
            ca_cert: args.ca_cert.as_ref().map(|path| path.display().to_string()),
        }),
    }
}

/// How logins ended, by outcome.
fn login_outcomes(merged: &UserRecorder) -> LoginOutcomes {
    let count = |outcome: LoginOutcome| merged.login_outcomes[outcome.index()];
    LoginOutcomes {
        completed: count(LoginOutcome::Completed),
        form_again: count(LoginOutcome::FormAgain),
        rate_limited: count(LoginOutcome::RateLimited),
        error_page: count(LoginOutcome::ErrorPage),
        too_many_steps: count(LoginOutcome::TooManySteps),
        password_asked: count(LoginOutcome::PasswordAsked),
    }
}

/// Every instance of every service, with the addresses it resolved to.
fn target_hosts(targets: &Targets) -> Vec<TargetHost> {
    targets
        .services()
        .into_iter()
        .flat_map(|(service, site)| {
            targets
                .origins
                .site(site)
                .instances()
                .iter()
                .map(move |origin| TargetHost {
                    service,
                    url: origin.base.clone(),
                    addresses: origin.addrs.iter().map(ToString::to_string).collect(),
                })
        })
        .collect()
}

/// Requests each instance got, by service, from the users' per-slot counts.
fn instance_requests(targets: &Targets, by_slot: &[u64]) -> Vec<InstanceRequests> {
    targets
        .services()
        .into_iter()
        .flat_map(|(service, site)| {
            let count = targets.origins.site(site).instances().len();
            (0..count).map(move |turn| {
                let (slot, origin) = targets
                    .origins
                    .instance(site, u32::try_from(turn).unwrap_or(0));
                InstanceRequests {
                    service,
                    url: origin.base.clone(),
                    requests: by_slot.get(slot).copied().unwrap_or(0),
                }
            })
        })
        .collect()
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
