//! The report's Faults section: each fault's verdict in words, then its figures, one table
//! per run that had faults.

use crate::format::{count, escape};
use crate::report::Report;
use crate::results::FaultResult;
use std::fmt::Write as _;

/// The section, or nothing when no run had a fault.
pub(crate) fn section(report: &Report) -> String {
    let runs: Vec<_> = report
        .runs
        .iter()
        .filter(|run| !run.results.faults.is_empty())
        .collect();
    if runs.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<h2 id=\"faults\">Faults</h2>\n<p>Each fault is shaded on the timelines below. Times are \
         seconds: when the fault began and how long it lasted from the start of the measured \
         run; the first error after it began; the first success after it ended, and the first \
         whole second, starting at or after its end, with under 1% failed requests \
         (“recovered”, one second's resolution). Sessions lost are users sent to /login whose \
         session was alive before the fault ended; they log in again and are not counted as \
         failures.</p>\n",
    );
    for run in runs {
        let results = &run.results;
        let _ = writeln!(
            html,
            "<h3>{}</h3>\n<ul class=\"verdict\">",
            escape(&run.label)
        );
        for fault in &results.faults {
            let _ = writeln!(html, "<li>{}</li>", escape(&fault.verdict));
        }
        html.push_str(
            "</ul>\n<table>\n<tr><th>fault</th><th>began</th><th>down</th>\
                       <th>first error after</th><th>first success after</th>\
                       <th>recovered after</th><th>requests failed</th><th>sessions lost</th>\
                       <th>logged in again: SSO / password</th><th>carts / cart lines lost</th>\
                       <th>live sessions before → after</th></tr>\n",
        );
        for fault in &results.faults {
            html.push_str(&row(fault));
        }
        html.push_str("</table>\n");
        let _ = writeln!(
            html,
            "<p>Users sent to /login: {} inside a fault's reach, {} outside any (failures). \
             Waits after a 503, as its Retry-After asked: {} ({:.1} s in all). Redis \
             persistence: {}.</p>",
            count(results.bounces.expected),
            count(results.bounces.unexpected),
            count(results.retry_waits.count),
            results.retry_waits.total_ms / 1000.0,
            results.config.redis_persistence.name()
        );
    }
    html
}

fn row(fault: &FaultResult) -> String {
    let seconds = |ms: Option<f64>| ms.map_or("–".to_owned(), |ms| format!("{:.2}", ms / 1000.0));
    let down = fault
        .began_ms
        .zip(fault.ended_ms)
        .map(|(began, ended)| ended - began);
    let alive = |n: Option<u64>| n.map_or("–".to_owned(), count);
    format!(
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{} / {}</td><td>{} / {}</td><td>{} → {}</td></tr>\n",
        escape(&fault.spec),
        seconds(fault.began_ms),
        seconds(down),
        seconds(fault.first_error_after_ms),
        seconds(fault.first_success_after_ms),
        seconds(fault.recovered_after_ms),
        count(fault.requests_failed),
        count(fault.sessions_lost),
        count(fault.relogins_sso),
        count(fault.relogins_password),
        count(fault.carts_lost),
        count(fault.cart_lines_lost),
        alive(fault.sessions_alive_before),
        alive(fault.sessions_alive_after),
    )
}
