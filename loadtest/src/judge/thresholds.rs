//! `--max-error-rate`, `--max-p99` and `--max-recovery`: the rules a run must keep to exit
//! zero.

use crate::setup::args::RunArgs;
use reports::results::LoadRunResults;

/// The rules that failed, one sentence each.
pub fn check(args: &RunArgs, results: &LoadRunResults) -> Vec<String> {
    let mut violations = Vec::new();
    if let Some(limit) = args.max_error_rate
        && results.error_rate > limit
    {
        violations.push(format!(
            "error rate {:.4} exceeds --max-error-rate {limit}",
            results.error_rate
        ));
    }
    for (name, limit_ms) in &args.max_p99 {
        let row = results
            .hops
            .iter()
            .chain(&results.flows)
            .find(|row| &row.name == name);
        match row {
            Some(row) if row.raw_us.p99 / 1000.0 > *limit_ms => violations.push(format!(
                "{name}: p99 {:.2} ms exceeds --max-p99 {limit_ms} ms",
                row.raw_us.p99 / 1000.0
            )),
            Some(_) => {}
            None => violations.push(format!("--max-p99 {name}: no hop or flow of that name ran")),
        }
    }
    if let Some(limit) = args.max_recovery {
        let limit_ms = limit.as_secs_f64() * 1000.0;
        for fault in &results.faults {
            match fault.recovered_after_ms {
                Some(ms) if ms <= limit_ms => {}
                Some(ms) => violations.push(format!(
                    "--fault {}: recovered {:.1} s after its end, over --max-recovery {}",
                    fault.spec,
                    ms / 1000.0,
                    humantime::format_duration(limit)
                )),
                None => violations.push(format!(
                    "--fault {}: never recovered before the run ended (--max-recovery {})",
                    fault.spec,
                    humantime::format_duration(limit)
                )),
            }
        }
    }
    violations
}
