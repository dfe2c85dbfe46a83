//! The report's Workers section: each load generator of a merged run (`--workers`, `merge`)
//! with its own CPU, timer lag and verdict beside the merged figures, so one saturated worker
//! shows.

use crate::format::{count, escape};
use crate::report::Report;
use std::fmt::Write as _;

/// The section, or nothing when no run was merged from workers.
pub(crate) fn section(report: &Report) -> String {
    let runs: Vec<_> = report
        .runs
        .iter()
        .filter(|run| !run.results.workers.is_empty())
        .collect();
    if runs.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<h2 id=\"workers\">Workers</h2>\n<p>This run's load came from several generator \
         processes, released together; its figures are theirs merged: histograms added from \
         their interval logs (<code>worker-*/hlog/</code>), counts and rates summed, seconds \
         aligned on the wall clock (the coordinator's: each worker measured its clock against \
         it before the release, and its seconds are put back by that offset). Each worker's own \
         figures:</p>\n",
    );
    for run in runs {
        let results = &run.results;
        let _ = writeln!(
            html,
            "<h3>{} — {} workers on {}</h3>\n<table>\n<tr><th>worker</th><th>host</th>\
             <th>users</th><th>requests</th><th>requests/s</th><th>errors</th>\
             <th>generator CPU (cores, threads)</th><th>requests per core</th>\
             <th>timer lag p99 / max (ms)</th><th>clock offset (ms)</th>\
             <th>generator-bound</th></tr>",
            escape(&run.label),
            results.workers.len(),
            escape(&results.host)
        );
        for worker in &results.workers {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td>\
                 <td>{:.2} ({})</td><td>{:.0}</td><td>{:.2} / {:.2}</td><td>{}</td><td>{}</td>\
                 </tr>",
                escape(&worker.dir),
                escape(&worker.host),
                worker.users,
                count(worker.requests_total),
                worker.requests_per_second,
                count(worker.errors_total),
                worker.cpu_cores,
                worker.threads,
                worker.requests_per_core,
                worker.lag_us.p99 / 1000.0,
                worker.lag_us.max / 1000.0,
                worker
                    .clock_offset_ms
                    .map_or_else(|| "not measured".to_owned(), |ms| format!("{ms:+.1}")),
                if worker.generator_bound {
                    format!("yes ({})", escape(&worker.limit))
                } else {
                    "no".to_owned()
                }
            );
        }
        html.push_str("</table>\n");
    }
    html
}
