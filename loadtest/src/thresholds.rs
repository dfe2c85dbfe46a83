//! `--max-error-rate` and `--max-p99`: the rules a run must keep to exit zero.

use crate::args::RunArgs;
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
    violations
}
