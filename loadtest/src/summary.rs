//! The short summary a run prints.

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
}
