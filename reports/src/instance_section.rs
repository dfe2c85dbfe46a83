//! The report's Instances section: how many requests each instance of a service got, for runs
//! that spread a service over several instances (`--instances`, repeated `--target`).

use crate::format::{count, escape};
use crate::report::Report;
use crate::results::InstanceRequests;
use std::fmt::Write as _;

/// The section, or nothing when no run had a service of several instances.
pub(crate) fn section(report: &Report) -> String {
    let runs: Vec<_> = report
        .runs
        .iter()
        .filter(|run| spread(&run.results.instances))
        .collect();
    if runs.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<h2 id=\"instances\">Instances</h2>\n<p>Requests each instance got. Users take a \
         service's instances in turn, request by request (round robin, as behind a balancer), \
         so one login's hops land on different instances and every instance serves sessions \
         another one wrote.</p>\n",
    );
    for run in runs {
        let instances = &run.results.instances;
        let _ = writeln!(
            html,
            "<h3>{}</h3>\n<table>\n<tr><th>service</th><th>instance</th><th>requests</th>\
             <th>share of the service</th></tr>",
            escape(&run.label)
        );
        for instance in instances {
            let total: u64 = instances
                .iter()
                .filter(|other| other.service == instance.service)
                .map(|other| other.requests)
                .sum();
            let share = if total == 0 {
                "–".to_owned()
            } else {
                format!("{:.1}%", instance.requests as f64 / total as f64 * 100.0)
            };
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{share}</td></tr>",
                instance.service.name(),
                escape(&instance.url),
                count(instance.requests)
            );
        }
        html.push_str("</table>\n");
    }
    html
}

/// Whether some service had more than one instance.
fn spread(instances: &[InstanceRequests]) -> bool {
    instances.iter().any(|instance| {
        instances
            .iter()
            .filter(|other| other.service == instance.service)
            .count()
            > 1
    })
}
