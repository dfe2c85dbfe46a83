//! The short summary a run prints at its end.

use reports::results::LoadRunResults;

/// Prints the headline figures and the per-hop and per-flow table.
pub fn print(results: &LoadRunResults) {
    println!(
        "{} requests in {:.1} s: {:.0} req/s, {:.1} logins/s ({:.1} with a password), {} errors ({:.3}%)",
        results.requests_total,
        results.elapsed_seconds,
        results.requests_per_second,
        results.logins_per_second,
        results.password_logins_per_second,
        results.errors_total,
        results.error_rate * 100.0
    );
    if let Some(rate) = results.pacing.target_rate {
        println!(
            "open model: target {rate:.1} iterations/s, achieved {:.1}; {} late, {} dropped",
            results.pacing.achieved_rate, results.pacing.late, results.pacing.dropped
        );
    }
    println!(
        "{:<42} {:>8} {:>6} {:>9} {:>9} {:>9} {:>11}",
        "hop / flow (raw µs)", "count", "errors", "p50", "p99", "p99.9", "p99 corr."
    );
    for (kind, rows) in [("", &results.hops), ("flow: ", &results.flows)] {
        for row in rows {
            println!(
                "{:<42} {:>8} {:>6} {:>9.0} {:>9.0} {:>9.0} {:>11.0}",
                format!("{kind}{}", row.name),
                row.count,
                row.errors,
                row.raw_us.p50,
                row.raw_us.p99,
                row.raw_us.p99_9,
                row.corrected_us.p99
            );
        }
    }
    let generator = &results.generator;
    println!(
        "generator: {:.2} cores on {} thread(s), {:.0} requests/s per core, timer lag p99 {:.2} ms (max {:.1} ms)",
        generator.cpu_cores,
        generator.threads,
        generator.requests_per_core,
        generator.lag_us.p99 / 1000.0,
        generator.lag_us.max / 1000.0
    );
    match generator.stack_cpu_cores {
        Some(cores) => println!("stack: {cores:.2} cores ({})", generator.stack_cpu_source),
        None => println!("stack: CPU {}", generator.stack_cpu_source),
    }
    match &generator.calibration {
        Some(calibration) => println!(
            "this machine's generator ceiling: {:.0} requests/s per core (calibrated {})",
            calibration.requests_per_core, calibration.measured_at
        ),
        None => println!(
            "this machine's generator ceiling: not calibrated (run `loadtest calibrate` once)"
        ),
    }
    println!("{}", results.generator_bound.verdict);
    let logins = &results.login_outcomes;
    if logins.completed + logins.failed() > 0 {
        println!(
            "logins through the provider's pages: {} completed, {} not (form again after the password {}, rate-limited {}, error page {}, too many pages {}, password asked for SSO {})",
            logins.completed,
            logins.failed(),
            logins.form_again,
            logins.rate_limited,
            logins.error_page,
            logins.too_many_steps,
            logins.password_asked
        );
    }
    let transport = &results.transport;
    match &transport.tls {
        Some(tls) => println!(
            "connections: {} opened; TLS handshakes {} full, {} resumed ({} TLS 1.3), full p50 {} ms; certificates {}",
            transport.connections_opened,
            tls.handshakes_full,
            tls.handshakes_resumed,
            tls.handshakes_tls13,
            tls.handshake_full_us
                .as_ref()
                .map_or("–".into(), |p| format!("{:.2}", p.p50 / 1000.0)),
            if tls.insecure {
                "NOT verified (--insecure)"
            } else {
                "verified"
            }
        ),
        None => println!(
            "connections: {} opened (plain HTTP), {} closed by users after {} idle",
            transport.connections_opened,
            transport.closed_idle,
            transport
                .keep_alive_idle_ms
                .map_or("no limit".to_owned(), |ms| format!(
                    "{:.1} s",
                    ms as f64 / 1000.0
                ))
        ),
    }
    if let Some(users) = &results.users {
        println!("{}", users_line(users));
    }
    for problem in &results.problems {
        println!("PROBLEM: {problem}");
    }
    let stolen = &results.stolen_session;
    if stolen.observations > 0 {
        println!(
            "stolen cookie: usable p50 {:.0} ms (window {} ms, {} of {} outlived it); after logout {} refused, {} served",
            stolen.usable_ms.p50,
            stolen.window_ms,
            stolen.outlived_window,
            stolen.observations,
            stolen.refused_after_logout,
            stolen.served_after_logout
        );
    }
    if results.hlog_late_samples > 0 {
        println!(
            "interval logs: {} sample(s) arrived after their second was written and were filed in a later one",
            results.hlog_late_samples
        );
    }
    for (index, worker) in results.workers.iter().enumerate() {
        println!(
            "worker {} ({}, {} users): {:.0} requests/s, {} errors, generator {:.2} cores on {} thread(s), timer lag p99 {:.2} ms{}",
            index + 1,
            worker.host,
            worker.users,
            worker.requests_per_second,
            worker.errors_total,
            worker.cpu_cores,
            worker.threads,
            worker.lag_us.p99 / 1000.0,
            if worker.generator_bound {
                format!(", generator-bound ({})", worker.limit)
            } else {
                String::new()
            }
        );
    }
    for service in [vocabulary::Service::Store, vocabulary::Service::Forums] {
        let counts: Vec<String> = results
            .instances
            .iter()
            .filter(|instance| instance.service == service)
            .map(|instance| format!("{} {}", instance.url, instance.requests))
            .collect();
        if counts.len() > 1 {
            println!("{service} instances (requests): {}", counts.join(", "));
        }
    }
}

/// One line on the users: how long they took to start, and what they cost the generator.
pub fn users_line(users: &reports::results::UserCost) -> String {
    let mib = |bytes: Option<u64>| {
        bytes.map_or("–".to_owned(), |b| format!("{:.1}", b as f64 / 1048576.0))
    };
    let mut line = format!(
        "users: {} of {} started{}; generator memory {} MiB before them, {} MiB with them ({} KiB per user), peak {} MiB; descriptors open at most {}; {} new connections/s, TIME_WAIT at most {} (host)",
        users.users_started,
        users.users_planned,
        users
            .all_started_after_seconds
            .map_or(String::new(), |after| format!(
                " in {after:.1} s (planned {:.1} s)",
                users.ramp_up_planned_seconds
            )),
        mib(users.rss_before_bytes),
        mib(users.rss_steady_bytes),
        users
            .rss_per_user_bytes
            .map_or("–".to_owned(), |b| format!("{:.1}", b / 1024.0)),
        mib(users.rss_peak_bytes),
        users
            .open_files_peak
            .map_or("–".to_owned(), |n| n.to_string()),
        users
            .new_connections_per_second
            .map_or("–".to_owned(), |n| format!("{n:.1}")),
        users
            .host_time_wait_peak
            .map_or("–".to_owned(), |n| n.to_string()),
    );
    if let Some(peak) = users.stack_connections_peak {
        line.push_str(&format!("; the stack held at most {peak} connections"));
    }
    if let Some(refused) = users.stack_refused_over_cap {
        line.push_str(&format!(", refused {refused} over its --max-connections"));
    }
    line
}
