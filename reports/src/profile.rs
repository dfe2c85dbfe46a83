//! A cost profile from several mixes' runs: for each component of the stack, its CPU over each
//! run fitted against the run's length (the idle cost) and the counts of the operations it is
//! sized by (`Component::drivers`), with every cost ≥ 0 (`fit`). What the fit could not tell
//! apart is said: an operation that came with a driver in a fixed proportion in every mix (a
//! token exchange per login) is carried in that driver's cost.

use crate::fit::{self, LeftOut};
use vocabulary::costs::{Component, ComponentModel, FittedCost, Operation, ProfileMix};

/// Each component's model, fitted over the mixes (components missing from a mix's costs are
/// fitted over the mixes that have them; one seen in fewer than two mixes is not fitted).
pub fn models(mixes: &[ProfileMix]) -> Vec<ComponentModel> {
    Component::ALL
        .iter()
        .filter_map(|&component| model(component, mixes))
        .collect()
}

fn model(component: Component, mixes: &[ProfileMix]) -> Option<ComponentModel> {
    let rows: Vec<_> = mixes
        .iter()
        .filter_map(|mix| Some((mix.costs.seconds, mix.costs.component(component)?, mix)))
        .collect();
    if rows.len() < 2 {
        return None;
    }
    let drivers = component.drivers();
    // What the services counted in a mix: the IdP's and the apps' (each operation is one
    // service's), whichever component's CPU is being explained.
    let count = |operation: Operation| -> Vec<f64> {
        rows.iter()
            .map(|(_, _, mix)| services_count(mix, operation) as f64)
            .collect()
    };
    let mut columns = vec![
        rows.iter()
            .map(|(seconds, _, _)| *seconds)
            .collect::<Vec<_>>(),
    ];
    columns.extend(drivers.iter().map(|&operation| count(operation)));
    let cpu: Vec<f64> = rows.iter().map(|(_, cost, _)| cost.cpu_seconds).collect();
    // Relative errors: a quiet mix's CPU counts as much as a busy one's, as a plan's check
    // (within a share of the prediction) does.
    let weights: Vec<f64> = cpu.iter().map(|&c| 1.0 / c.max(1e-3)).collect();
    let found = fit::fit_weighted(&columns, &cpu, &weights);
    // A mix run in several rounds is left out whole: its twin left in would pin what the mix
    // alone pins, and the range would show only round-to-round noise.
    let groups: Vec<&str> = rows.iter().map(|(_, _, mix)| mix.flags.as_str()).collect();
    let ranges = leave_one_out(&columns, &cpu, &weights, &groups);
    let operations = std::iter::once(None).chain(drivers.iter().map(|&operation| Some(operation)));
    let costs = operations
        .zip(&found.coefficients)
        .zip(ranges)
        .map(|((operation, &cpu_seconds), leave_one_out)| FittedCost {
            operation,
            cpu_seconds,
            leave_one_out,
        })
        .collect();
    let name = |column: usize| -> String {
        if column == 0 {
            "the run's length".to_owned()
        } else {
            drivers[column - 1].name().to_owned()
        }
    };
    let mut folded: Vec<(Operation, String)> = found
        .left_out
        .iter()
        // Column 0, the run's length, is never zero in a run.
        .filter(|(column, _)| *column > 0)
        .map(|(column, why)| {
            let said = match why {
                LeftOut::NeverHappened => "did not happen in any mix: no cost fitted".to_owned(),
                LeftOut::MovedWith(with) => format!(
                    "moved with {} in every mix: its cost is carried by them",
                    with.iter()
                        .map(|&c| name(c))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            };
            (drivers[column - 1], said)
        })
        .collect();
    // The service's other counted operations: those that came with the drivers in a fixed
    // proportion are carried in the drivers' costs, and said so.
    for &operation in &Operation::ALL {
        if operation == Operation::Request || drivers.contains(&operation) {
            continue;
        }
        let column = count(operation);
        if column.iter().all(|&v| v == 0.0) {
            continue;
        }
        let mut with_it = columns[1..].to_vec();
        with_it.push(column);
        let test = fit::fit(&with_it, &vec![0.0; rows.len()]);
        if let Some((_, LeftOut::MovedWith(with))) =
            test.left_out.iter().find(|(c, _)| *c == with_it.len() - 1)
        {
            let mut totals = [0.0f64; 2];
            for (_, _, mix) in &rows {
                totals[0] += services_count(mix, operation) as f64;
                totals[1] += with
                    .iter()
                    .map(|&c| services_count(mix, drivers[c]) as f64)
                    .sum::<f64>();
            }
            folded.push((
                operation,
                format!(
                    "{:.2} per {} in every mix: carried in {} cost",
                    totals[0] / totals[1].max(1.0),
                    with.iter()
                        .map(|&c| drivers[c].name())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    if with.len() == 1 { "its" } else { "their" }
                ),
            ));
        }
    }
    let worst_error = found
        .fitted
        .iter()
        .zip(&cpu)
        .filter(|(_, measured)| **measured > 0.0)
        .map(|(fitted, measured)| (fitted - measured).abs() / measured)
        .fold(0.0, f64::max);
    Some(ComponentModel {
        component,
        costs,
        folded,
        r_squared: found.r_squared,
        worst_error,
        bytes_per_session: None,
    })
}

/// An operation's count in a mix, as its service counted it (the IdP's and the apps' counts are
/// of different operations; Redis's repeat them).
fn services_count(mix: &ProfileMix, operation: Operation) -> u64 {
    [Component::Idp, Component::Apps]
        .iter()
        .filter_map(|&component| mix.costs.component(component))
        .map(|cost| cost.count(operation))
        .sum()
}

/// Each coefficient's lowest and highest over the fits without one mix each — every row of
/// the group (`groups[row]`, the mix's flags) left out together (`None` with fewer than four
/// mixes: three pin too little to drop one).
fn leave_one_out(
    columns: &[Vec<f64>],
    y: &[f64],
    weights: &[f64],
    groups: &[&str],
) -> Vec<Option<(f64, f64)>> {
    let mut mixes: Vec<&str> = groups.to_vec();
    mixes.sort_unstable();
    mixes.dedup();
    if mixes.len() < 4 {
        return vec![None; columns.len()];
    }
    let mut ranges = vec![(f64::INFINITY, f64::NEG_INFINITY); columns.len()];
    for left in mixes {
        let keep = |values: &[f64]| -> Vec<f64> {
            values
                .iter()
                .zip(groups)
                .filter(|(_, group)| **group != left)
                .map(|(v, _)| *v)
                .collect()
        };
        let kept: Vec<Vec<f64>> = columns.iter().map(|column| keep(column)).collect();
        let found = fit::fit_weighted(&kept, &keep(y), &keep(weights));
        for (range, value) in ranges.iter_mut().zip(found.coefficients) {
            *range = (range.0.min(value), range.1.max(value));
        }
    }
    ranges.into_iter().map(Some).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use vocabulary::costs::{ComponentCost, Costs};

    fn mix(
        seconds: f64,
        idp: &[(Operation, u64)],
        cpu_per: &dyn Fn(&BTreeMap<Operation, u64>) -> f64,
    ) -> ProfileMix {
        let operations: BTreeMap<Operation, u64> = idp.iter().copied().collect();
        let cpu_seconds = 0.01 * seconds + cpu_per(&operations);
        ProfileMix {
            name: "mix".into(),
            // What makes a mix itself: runs of one mix in several rounds share it.
            flags: format!("{seconds} s of {idp:?}"),
            run_dir: String::new(),
            iterations_per_second: 1.0,
            per_iteration: BTreeMap::new(),
            costs: Costs {
                seconds,
                components: vec![ComponentCost {
                    component: Component::Idp,
                    processes: 1,
                    cpu_seconds,
                    resident_bytes: 0,
                    operations,
                }],
            },
        }
    }

    /// The CPU both tests plant: 2 ms per password login, 0.5 ms per SSO authorization.
    fn planted(ops: &BTreeMap<Operation, u64>) -> f64 {
        0.002 * ops[&Operation::PasswordLogin] as f64
            + 0.0005 * ops[&Operation::SsoAuthorization] as f64
    }

    /// Four mixes of planted costs (seconds, password logins, SSO authorizations), each with
    /// the operations `more` adds to its counts.
    fn planted_mixes(more: &dyn Fn(u64, u64) -> Vec<(Operation, u64)>) -> Vec<ProfileMix> {
        [
            (15.0, 300, 600),
            (15.0, 100, 0),
            (20.0, 50, 400),
            (10.0, 200, 50),
        ]
        .iter()
        .map(|&(seconds, pw, sso)| {
            let mut counts = vec![
                (Operation::PasswordLogin, pw),
                (Operation::SsoAuthorization, sso),
            ];
            counts.extend(more(pw, sso));
            mix(seconds, &counts, &planted)
        })
        .collect()
    }

    #[test]
    fn planted_idp_costs_are_found_and_the_token_exchange_is_said_to_come_with_the_logins() {
        let mixes = planted_mixes(&|pw, sso| {
            vec![
                (Operation::TokenExchange, pw + sso),
                (Operation::Request, 3 * pw + sso + 7),
            ]
        });
        let models = models(&mixes);
        assert_eq!(models.len(), 1, "only the IdP was in the mixes");
        let idp = &models[0];
        assert!((idp.idle() - 0.01).abs() < 1e-9);
        assert!((idp.cost(Operation::PasswordLogin) - 0.002).abs() < 1e-9);
        assert!((idp.cost(Operation::SsoAuthorization) - 0.0005).abs() < 1e-9);
        assert!(idp.worst_error < 1e-9);
        // Exact data: every fit without one mix finds the same costs.
        for cost in &idp.costs {
            let (low, high) = cost.leave_one_out.expect("four mixes");
            assert!((high - low).abs() < 1e-9, "{cost:?}");
        }
        let (operation, said) = &idp.folded[0];
        assert_eq!(*operation, Operation::TokenExchange);
        assert!(
            said.contains("1.00 per password_login or sso_authorization"),
            "{said}"
        );
    }

    #[test]
    fn leaving_out_an_outlying_mix_shows_in_its_costs_range() {
        let mut mixes = planted_mixes(&|_, _| Vec::new());
        // The last mix used 30% more CPU than the planted costs say.
        mixes[3].costs.components[0].cpu_seconds *= 1.3;
        let idp = &models(&mixes)[0];
        let fitted = idp.cost(Operation::PasswordLogin);
        let (low, high) = idp.costs[1].leave_one_out.expect("four mixes");
        assert!(
            high - low > 1e-5,
            "the outlier moves the cost: {low}..{high}"
        );
        assert!(
            low <= fitted && fitted <= high,
            "{low} <= {fitted} <= {high}"
        );
        // Without the outlier the three exact mixes give the planted cost back.
        assert!(
            (low - 0.002).abs() < 1e-9 || (high - 0.002).abs() < 1e-9,
            "{low}..{high} reaches the planted 0.002"
        );
    }

    #[test]
    fn a_mix_run_in_several_rounds_is_left_out_whole() {
        // Two rounds of the four mixes; the last mix used 30% more CPU in both.
        let mut mixes = planted_mixes(&|_, _| Vec::new());
        mixes[3].costs.components[0].cpu_seconds *= 1.3;
        let twice: Vec<ProfileMix> = mixes.iter().chain(&mixes).cloned().collect();
        let idp = &models(&twice)[0];
        let (low, high) = idp.costs[1].leave_one_out.expect("four mixes");
        // Only a fit without both its runs gets the planted cost back: one run left out, its
        // twin would still pull the cost off.
        assert!(
            (low - 0.002).abs() < 1e-9 || (high - 0.002).abs() < 1e-9,
            "{low}..{high} reaches the planted 0.002"
        );
        // Twins alone are not four mixes.
        let halves: Vec<ProfileMix> = mixes[..2].iter().chain(&mixes[..2]).cloned().collect();
        assert!(
            models(&halves)[0].costs[1].leave_one_out.is_none(),
            "two mixes twice pin too little to leave one out"
        );
    }
}
