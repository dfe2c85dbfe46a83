//! The report's Logins and connections section: how logins through the provider's pages
//! ended (only completed ones are logins; the others are named), where the load went (every
//! host and the addresses it resolved to), the connections and TLS handshakes the generator
//! made, and each hop's time by part (connect, TLS handshake, first byte).

use crate::format::{count, escape, ms};
use crate::report::{Report, Run};
use crate::results::{LatencyRow, LoadRunResults, Percentiles};
use std::fmt::Write as _;

/// The section (every load run has logins and connections to show).
pub(crate) fn section(report: &Report) -> String {
    if report.runs.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<h2 id=\"logins\">Logins and connections</h2>\n<p>Logins walk the provider's pages as \
         a browser does (the login form, and any identifier, consent or \"continue\" page after \
         it); only those that reached the app again are counted as logins. Hop times include \
         connecting and the TLS handshake when a request had to open a connection.</p>\n",
    );
    let mut table = crate::html::RunTable::new(report, " id=\"logins-table\"");
    let outcome = |pick: fn(&LoadRunResults) -> u64| {
        report
            .runs
            .iter()
            .map(|run| count(pick(&run.results)))
            .collect()
    };
    table.row("logins completed", outcome(|r| r.login_outcomes.completed));
    table.row(
        "login form again after the password (wrong password, locked, invalid)",
        outcome(|r| r.login_outcomes.form_again),
    );
    table.row(
        "rate-limited (429)",
        outcome(|r| r.login_outcomes.rate_limited),
    );
    table.row(
        "error page (error status, or no form to go on)",
        outcome(|r| r.login_outcomes.error_page),
    );
    table.row(
        "too many pages or redirects",
        outcome(|r| r.login_outcomes.too_many_steps),
    );
    table.row(
        "password asked where SSO should log in",
        outcome(|r| r.login_outcomes.password_asked),
    );
    table.row(
        "connections opened",
        outcome(|r| r.transport.connections_opened),
    );
    table.row(
        "connect p50 / p99 (ms)",
        cells(report, |r| p50_p99(r.transport.connect_us.as_ref())),
    );
    table.row(
        "TLS handshakes: full / resumed (TLS 1.3)",
        cells(report, |r| match &r.transport.tls {
            None => "– (plain HTTP)".into(),
            Some(tls) => format!(
                "{} / {} ({})",
                count(tls.handshakes_full),
                count(tls.handshakes_resumed),
                count(tls.handshakes_tls13)
            ),
        }),
    );
    table.row(
        "TLS handshake p50 / p99, full; resumed (ms)",
        cells(report, |r| match &r.transport.tls {
            None => "–".into(),
            Some(tls) => format!(
                "{}; {}",
                p50_p99(tls.handshake_full_us.as_ref()),
                p50_p99(tls.handshake_resumed_us.as_ref())
            ),
        }),
    );
    table.row(
        "TLS certificates; session resumption",
        cells(report, |r| match &r.transport.tls {
            None => "–".into(),
            Some(tls) => {
                let trust = if tls.insecure {
                    "NOT verified (--insecure)".to_owned()
                } else if let Some(ca) = &tls.ca_cert {
                    format!("verified: platform roots and {ca}")
                } else {
                    "verified: platform roots".to_owned()
                };
                format!("{trust}; resumption {}", tls.resumption)
            }
        }),
    );
    html.push_str(&table.finish());
    html.push_str(&hosts(report));
    html.push_str(&phases(report));
    html
}

fn cells(report: &Report, cell: impl Fn(&LoadRunResults) -> String) -> Vec<String> {
    report.runs.iter().map(|run| cell(&run.results)).collect()
}

fn p50_p99(percentiles: Option<&Percentiles>) -> String {
    percentiles.map_or("–".into(), |p| format!("{} / {}", ms(p.p50), ms(p.p99)))
}

/// Every host that received load, with the addresses it resolved to at the start.
fn hosts(report: &Report) -> String {
    let runs: Vec<&Run> = report
        .runs
        .iter()
        .filter(|run| !run.results.config.target_hosts.is_empty())
        .collect();
    if runs.is_empty() {
        return String::new();
    }
    let mut html = String::from("<h3>Where the load went</h3>\n");
    for run in runs {
        let _ = writeln!(
            html,
            "<table>\n<tr><th>run</th><th>service</th><th>URL</th><th>addresses</th></tr>"
        );
        for host in &run.results.config.target_hosts {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&run.label),
                host.service.name(),
                escape(&host.url),
                escape(&host.addresses.join(", "))
            );
        }
        html.push_str("</table>\n");
    }
    html
}

/// Each hop's mean time by part, for the hops that opened connections.
fn phases(report: &Report) -> String {
    let rows: Vec<(&Run, &LatencyRow)> = report
        .runs
        .iter()
        .flat_map(|run| run.results.hops.iter().map(move |row| (run, row)))
        .filter(|(_, row)| row.phases.is_some())
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<h3>Hop time by part</h3>\n<table>\n<tr><th>hop</th><th>run</th><th>samples</th>\
         <th>connections opened</th><th>connect, mean ms</th><th>TLS handshakes</th>\
         <th>handshake, mean ms</th><th>first byte, mean ms</th></tr>\n",
    );
    for (run, row) in rows {
        let Some(phases) = &row.phases else {
            continue;
        };
        let mean = |value: Option<f64>| value.map_or("–".into(), ms);
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            escape(&row.name),
            escape(&run.label),
            count(row.count),
            count(phases.connections),
            mean(phases.connect_mean_us),
            count(phases.handshakes),
            mean(phases.handshake_mean_us),
            ms(phases.first_byte_mean_us)
        );
    }
    html.push_str(
        "</table>\n<p class=\"sub\">First byte: from the request written to the answer's first \
         byte, over every answered sample; connect and handshake over the requests that opened \
         a connection.</p>\n",
    );
    html
}
