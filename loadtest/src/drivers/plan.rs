//! `loadtest plan`: sizes an auth tier for a target from a cost profile (`reports::plan`),
//! prints it and writes it as `plan.json` and `plan.html`; with `--verify`, checks the model on
//! this machine: it turns the target into a mix it can hold (journeys with the target's cart
//! reads per login, at an iteration rate whose predicted stack CPU fits here), predicts each
//! component's CPU, runs the mix, and compares — exiting non-zero when a component is off by
//! more than the tolerance.

use crate::drivers::profile::{self, processes_for_costs, read_profile};
use crate::error::{RunError, RunResult, While as _};
use crate::setup::args::{RunArgs, ScenarioName};
use crate::setup::output;
use reports::plan::{Plan, Shape, Target};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use vocabulary::costs::{Component, Operation, Profile};

/// `loadtest plan`'s flags.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Password logins per second to carry (e.g. 500/s).
    #[arg(long, value_parser = per_second, default_value = "0/s")]
    pub logins: f64,
    /// SSO logins per second (a login at an app on the IdP's session, without a password).
    #[arg(long, value_parser = per_second, default_value = "0/s")]
    pub sso_logins: f64,
    /// Cart page reads per second.
    #[arg(long, value_parser = per_second, default_value = "0/s")]
    pub cart: f64,
    /// Cart writes per second.
    #[arg(long, value_parser = per_second, default_value = "0/s")]
    pub cart_writes: f64,
    /// Live sessions at once.
    #[arg(long, default_value_t = 0)]
    pub sessions: u64,
    /// Spare capacity above the need, a percentage (50%: sized for 150% of it).
    #[arg(long, value_parser = percent, default_value = "50%")]
    pub headroom: f64,
    /// Cores one IdP or app instance (a pod) gets.
    #[arg(long, default_value_t = 2.0, value_parser = super::profile::positive)]
    pub cores_per_instance: f64,
    /// Memory one Redis node may hold for sessions (e.g. 8GiB).
    #[arg(long, value_parser = bytes, default_value = "8GiB")]
    pub redis_node_memory: u64,
    /// Replicas per Redis primary.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=15))]
    pub redis_replicas: u32,
    /// The cost profile [default: this machine's for --backend, from `loadtest profile`].
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Where plan.json and plan.html go [default: <reports dir>/plan-<timestamp>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Check the model here: run a mix made from the target at a rate this machine holds, and
    /// compare each component's measured CPU with the prediction (non-zero exit when one is
    /// off by more than --tolerance).
    #[arg(long)]
    pub verify: bool,
    /// How long each --verify run lasts.
    #[arg(long, default_value = "40s", value_parser = humantime::parse_duration)]
    pub verify_time: Duration,
    /// How many times --verify runs its mix: measured is their pooled CPU (all their CPU over
    /// all their time), and each component's range over the runs shows the machine's own
    /// noise beside the model's error.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub verify_rounds: u32,
    /// The stack CPU the --verify mix is sized for, in cores: the load the profile's mixes ran
    /// at (a quarter to half a core on 2 cores), where its costs hold; a busier machine costs
    /// more CPU per operation.
    #[arg(long, default_value_t = 0.4, value_parser = super::profile::positive)]
    pub verify_cores: f64,
    /// How far measured may be from predicted, per component.
    #[arg(long, value_parser = percent, default_value = "25%")]
    pub tolerance: f64,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `500/s` or `500`.
fn per_second(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches("/s");
    match number.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate >= 0.0 => Ok(rate),
        _ => Err(format!("{text:?}: expected a rate such as 500/s")),
    }
}

/// `50%` → 0.5.
fn percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%');
    match number.parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value / 100.0),
        _ => Err(format!("{text:?}: expected a percentage such as 50%")),
    }
}

/// `8GiB`, `512MiB`, `1000000`.
fn bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return Err(format!("{text:?}: use B, KiB, MiB, GiB or TiB")),
    };
    match number.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok((value * scale as f64) as u64),
        _ => Err(format!("{text:?}: expected a size such as 8GiB")),
    }
}

impl PlanArgs {
    fn target(&self) -> Target {
        Target {
            logins: self.logins,
            sso_logins: self.sso_logins,
            cart_reads: self.cart,
            cart_writes: self.cart_writes,
            sessions: self.sessions,
            headroom: self.headroom,
        }
    }

    fn shape(&self) -> Shape {
        Shape {
            cores_per_instance: self.cores_per_instance,
            redis_node_memory: self.redis_node_memory,
            redis_replicas: self.redis_replicas,
        }
    }
}

/// The --verify check: one component's predicted and measured CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub component: Component,
    /// From the profile and the rates the mix was made to produce, before the run.
    pub predicted_cores: f64,
    /// Pooled over the runs: all their CPU over all their time.
    pub measured_cores: f64,
    /// The lowest and highest of the runs' own measured cores (the same with one run).
    pub measured_range: (f64, f64),
    /// From the profile and the operations the services counted in the runs: the model alone,
    /// without the mix's own shortfall.
    pub predicted_from_counted: f64,
    /// (measured − predicted) ÷ predicted.
    pub error: f64,
    pub within: bool,
    /// Why it is off, when it is.
    pub why: Option<String>,
}

/// The --verify run and its checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// The mix's flags, as a person would type them.
    pub flags: String,
    /// Each run's directory.
    pub run_dirs: Vec<String>,
    /// The operation rates the mix was made to produce.
    pub planned_rates: BTreeMap<Operation, f64>,
    /// The rates the services counted.
    pub counted_rates: BTreeMap<Operation, f64>,
    pub tolerance: f64,
    pub checks: Vec<Check>,
}

impl Verification {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.within)
    }
}

/// What `plan` produced.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub verification: Option<Verification>,
    pub dir: PathBuf,
}

/// Sizes the target, writes the plan, and verifies the model when asked.
pub async fn execute(args: &PlanArgs) -> RunResult<Planned> {
    let reports_dir = args
        .run
        .reports_dir
        .clone()
        .unwrap_or_else(output::default_reports_dir);
    let profile_file = args
        .profile
        .clone()
        .unwrap_or_else(|| profile::profile_file(&reports_dir, args.run.backend.backend));
    let profile = read_profile(&profile_file)?;
    let target = args.target();
    let plan = reports::plan::plan(
        &target,
        &args.shape(),
        &profile,
        &profile_file.display().to_string(),
    );
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| reports_dir.join(format!("plan-{}", output::timestamp())));
    std::fs::create_dir_all(&dir).doing_with(|| format!("creating {}", dir.display()))?;
    let verification = if args.verify {
        Some(verify(args, &profile, &target, &dir).await?)
    } else {
        None
    };
    #[derive(Serialize)]
    struct Written<'a> {
        plan: &'a Plan,
        verification: &'a Option<Verification>,
    }
    std::fs::write(
        dir.join("plan.json"),
        serde_json::to_string_pretty(&Written {
            plan: &plan,
            verification: &verification,
        })?,
    )
    .doing_with(|| format!("writing plan.json in {}", dir.display()))?;
    let mut page = reports::plan::html(&plan);
    if let Some(verification) = &verification {
        page = page.replace(
            "</body>\n</html>\n",
            &format!("{}</body>\n</html>\n", verification_html(verification)),
        );
    }
    std::fs::write(dir.join("plan.html"), page)
        .doing_with(|| format!("writing plan.html in {}", dir.display()))?;
    Ok(Planned {
        plan,
        verification,
        dir,
    })
}

/// Journeys per second and cart reads per journey that this machine can hold, from the target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerifyMix {
    pub cart_reads: u32,
    pub rate: f64,
    pub users: usize,
}

/// A journey's operations per iteration (SPEC steps 1–29): one password login, two SSO logins
/// (the store's silent relogin, the forums), three app logins, `cart_reads` cart reads and one
/// cart write.
pub fn journey_operations(cart_reads: u32) -> BTreeMap<Operation, f64> {
    BTreeMap::from([
        (Operation::PasswordLogin, 1.0),
        (Operation::SsoAuthorization, 2.0),
        (Operation::AppLogin, 3.0),
        (Operation::CartRead, f64::from(cart_reads)),
        (Operation::CartWrite, 1.0),
    ])
}

/// A verify mix whose counted operations predict more than this share away from its planned
/// ones did not run as planned.
const MIX_SHORTFALL: f64 = 0.1;
/// The most cart reads per journey a verify mix makes.
const MAX_VERIFY_CART_READS: u32 = 40;
/// A journey takes about 2.5 s (it waits out the store's idle timeout): users per iteration
/// per second, so each keeps its pace.
const USERS_PER_RATE: f64 = 3.5;
/// The most users a verify run starts.
const MAX_VERIFY_USERS: usize = 600;

/// The target's shape as journeys: cart reads per login as the target's, at the rate whose
/// predicted stack CPU is `cores`.
pub fn verify_mix(profile: &Profile, target: &Target, cores: f64) -> VerifyMix {
    let cart_reads = if target.logins > 0.0 {
        (target.cart_reads / target.logins)
            .round()
            .clamp(0.0, f64::from(MAX_VERIFY_CART_READS)) as u32
    } else {
        3
    };
    let per_iteration = journey_operations(cart_reads);
    let (idle, per_rate) = profile
        .models
        .iter()
        .fold((0.0, 0.0), |(idle, per), model| {
            let one = model.cores(&per_iteration) - model.idle();
            (idle + model.idle(), per + one)
        });
    let max_rate = MAX_VERIFY_USERS as f64 / USERS_PER_RATE;
    let rate = ((cores - idle).max(0.05) / per_rate.max(1e-9)).clamp(1.0, max_rate);
    // Down to a tenth (a figure a person types), not below by a floating-point hair.
    let rate = (rate * 10.0 + 1e-9).floor() / 10.0;
    VerifyMix {
        cart_reads,
        rate,
        users: ((rate * USERS_PER_RATE).ceil() as usize).max(4),
    }
}

async fn verify(
    args: &PlanArgs,
    profile: &Profile,
    target: &Target,
    dir: &std::path::Path,
) -> RunResult<Verification> {
    let mix = verify_mix(profile, target, args.verify_cores);
    let mut run = args.run.clone();
    run.scenarios = vec![(ScenarioName::Journey, 1)];
    run.cart_reads = mix.cart_reads;
    run.users = mix.users;
    run.rate = Some(mix.rate);
    processes_for_costs(&mut run, args.verify_time);
    let flags = format!(
        "--scenario journey --cart-reads {} --users {} --rate {} --run-time {}",
        mix.cart_reads,
        mix.users,
        mix.rate,
        humantime::format_duration(args.verify_time)
    );
    eprintln!("verify: {flags}, {} run(s)", args.verify_rounds);
    let progress = indicatif::ProgressBar::hidden();
    let mut runs = Vec::new();
    let mut run_dirs = Vec::new();
    for round in 1..=args.verify_rounds {
        let run_dir = if args.verify_rounds > 1 {
            dir.join(format!("verify-{round}"))
        } else {
            dir.join("verify")
        };
        let outcome = super::run::execute_in(&run, &run_dir, &progress).await?;
        let costs = outcome.results.costs.clone().ok_or_else(|| {
            RunError::refused("a verify run recorded no costs by component (see above)")
        })?;
        run_dirs.push(outcome.run_dir.display().to_string());
        runs.push(costs);
    }
    let seconds: f64 = runs.iter().map(|costs| costs.seconds).sum();
    let planned_rates: BTreeMap<Operation, f64> = journey_operations(mix.cart_reads)
        .into_iter()
        .map(|(operation, per)| (operation, per * mix.rate))
        .collect();
    let mut counted_rates = BTreeMap::new();
    for costs in &runs {
        for component in [Component::Idp, Component::Apps] {
            if let Some(cost) = costs.component(component) {
                for (operation, count) in &cost.operations {
                    if *operation != Operation::Request {
                        *counted_rates.entry(*operation).or_insert(0.0) += *count as f64 / seconds;
                    }
                }
            }
        }
    }
    let checks = profile
        .models
        .iter()
        .filter_map(|model| {
            let each: Vec<f64> = runs
                .iter()
                .map(|costs| {
                    costs
                        .component(model.component)
                        .map(|measured| measured.cpu_seconds / costs.seconds)
                })
                .collect::<Option<_>>()?;
            let measured_cores = runs
                .iter()
                .filter_map(|costs| costs.component(model.component))
                .map(|measured| measured.cpu_seconds)
                .sum::<f64>()
                / seconds;
            let measured_range = each
                .iter()
                .fold((f64::INFINITY, 0.0_f64), |(low, high), &c| {
                    (low.min(c), high.max(c))
                });
            let predicted_cores = model.cores(&planned_rates);
            let predicted_from_counted = model.cores(&counted_rates);
            let error = (measured_cores - predicted_cores) / predicted_cores.max(1e-9);
            let within = error.abs() <= args.tolerance;
            let why = (!within).then(|| {
                let model_error =
                    (measured_cores - predicted_from_counted) / predicted_from_counted.max(1e-9);
                let shortfall =
                    (predicted_from_counted - predicted_cores) / predicted_cores.max(1e-9);
                let (low, high) = measured_range;
                let noise = if runs.len() > 1 {
                    format!(
                        "; its {} runs measured {low:.3} to {high:.3} cores ({:.0}% apart)",
                        runs.len(),
                        (high - low) / measured_cores.max(1e-9) * 100.0
                    )
                } else {
                    String::new()
                };
                format!(
                    "from the operations the services counted the model predicts \
                     {predicted_from_counted:.3} cores, {:+.0}% from measured{}; the profile's \
                     worst mix was off by {:.0}%{noise}",
                    model_error * 100.0,
                    if shortfall.abs() > MIX_SHORTFALL {
                        format!(
                            ", and the mix made {:+.0}% of the planned load: it did not run as \
                             planned",
                            shortfall * 100.0
                        )
                    } else {
                        ": the mix ran as planned, the model is off for it".to_owned()
                    },
                    model.worst_error * 100.0
                )
            });
            Some(Check {
                component: model.component,
                predicted_cores,
                measured_cores,
                measured_range,
                predicted_from_counted,
                error,
                within,
                why,
            })
        })
        .collect();
    Ok(Verification {
        flags,
        run_dirs,
        planned_rates,
        counted_rates,
        tolerance: args.tolerance,
        checks,
    })
}

/// The verification as a table.
pub fn verification_text(verification: &Verification) -> String {
    let mut out = format!(
        "verify ({}): predicted vs measured stack CPU, tolerance ±{:.0}%\n",
        verification.flags,
        verification.tolerance * 100.0
    );
    let widths = [10, 15, 8, 12, 6, 25];
    let line = |cells: &[String]| -> String {
        let mut line = format!("{:<width$}", cells[0], width = widths[0]);
        for (cell, width) in cells.iter().zip(widths).skip(1) {
            line.push_str(&format!(" {cell:>width$}"));
        }
        line
    };
    out.push_str(&line(&CHECK_COLUMNS.map(str::to_owned)));
    out.push('\n');
    for check in &verification.checks {
        out.push_str(&line(&check_cells(check)));
        out.push_str(if check.within { "  ok\n" } else { "  OFF\n" });
        if let Some(why) = &check.why {
            out.push_str(&format!("  {why}\n"));
        }
    }
    out
}

/// The columns of the verify table, named once for the terminal and the page.
const CHECK_COLUMNS: [&str; 6] = [
    "component",
    "predicted cores",
    "measured",
    "runs' range",
    "error",
    "from counted operations",
];

/// A check's row of that table, formatted once.
fn check_cells(check: &Check) -> [String; 6] {
    [
        check.component.name().to_owned(),
        format!("{:.3}", check.predicted_cores),
        format!("{:.3}", check.measured_cores),
        format!(
            "{:.3}–{:.3}",
            check.measured_range.0, check.measured_range.1
        ),
        format!("{:+.0}%", check.error * 100.0),
        format!("{:.3}", check.predicted_from_counted),
    ]
}

fn verification_html(verification: &Verification) -> String {
    use reports::format::escape;
    let mut html = format!(
        "<h2>Checked on this machine</h2>\n<p>{}; tolerance ±{:.0}%.</p>\n<table>\n<tr>",
        escape(&verification.flags),
        verification.tolerance * 100.0
    );
    for column in CHECK_COLUMNS {
        html.push_str(&format!("<th>{column}</th>"));
    }
    html.push_str("<th></th></tr>\n");
    for check in &verification.checks {
        html.push_str("<tr>");
        for cell in check_cells(check) {
            html.push_str(&format!("<td>{}</td>", escape(&cell)));
        }
        html.push_str(&format!(
            "<td>{}</td></tr>\n",
            escape(check.why.as_deref().unwrap_or("within"))
        ));
    }
    html.push_str("</table>\n");
    html
}

impl Planned {
    pub fn print(&self) {
        print!("{}", reports::plan::text(&self.plan));
        if let Some(verification) = &self.verification {
            print!("{}", verification_text(verification));
        }
        println!("plan: {}", self.dir.join("plan.html").display());
    }

    /// Components off by more than the tolerance, one sentence each.
    pub fn failures(&self) -> Vec<String> {
        self.verification
            .iter()
            .flat_map(|verification| {
                verification
                    .checks
                    .iter()
                    .filter(|check| !check.within)
                    .map(|check| {
                        format!(
                            "{}: measured {:.3} cores against {:.3} predicted ({:+.0}%): {}",
                            check.component,
                            check.measured_cores,
                            check.predicted_cores,
                            check.error * 100.0,
                            check.why.as_deref().unwrap_or("")
                        )
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_percentages_and_sizes_read_as_written_and_refuse_the_rest() {
        assert_eq!(per_second("500/s"), Ok(500.0));
        assert_eq!(per_second("20000"), Ok(20_000.0));
        assert!(per_second("fast").is_err());
        assert!(per_second("-1/s").is_err());
        assert_eq!(percent("50%"), Ok(0.5));
        assert_eq!(percent("150"), Ok(1.5));
        assert!(percent("x%").is_err());
        assert_eq!(bytes("8GiB"), Ok(8 << 30));
        assert_eq!(bytes("512MiB"), Ok(512 << 20));
        assert_eq!(bytes("1000"), Ok(1000));
        assert!(bytes("8GB").is_err());
    }

    #[test]
    fn a_verify_mix_keeps_the_targets_cart_reads_per_login_and_fits_the_cores() {
        use vocabulary::costs::ComponentModel;
        let model = ComponentModel::of_costs;
        let profile = Profile {
            schema_version: Profile::SCHEMA_VERSION,
            created_at: String::new(),
            machine: String::new(),
            settings: BTreeMap::new(),
            models: vec![
                model(
                    Component::Idp,
                    vec![(None, 0.1), (Some(Operation::PasswordLogin), 0.002)],
                ),
                model(Component::Apps, vec![(Some(Operation::CartRead), 0.0001)]),
            ],
            mixes: Vec::new(),
            notes: Vec::new(),
        };
        let target = Target {
            logins: 500.0,
            sso_logins: 2000.0,
            cart_reads: 20_000.0,
            cart_writes: 0.0,
            sessions: 0,
            headroom: 0.5,
        };
        let mix = verify_mix(&profile, &target, 0.6);
        assert_eq!(mix.cart_reads, 40);
        // Per journey: 2 ms + 40 × 0.1 ms = 6 ms; (0.6 − 0.1 idle) / 6 ms = 83.3/s.
        assert!((mix.rate - 83.3).abs() < 1e-9, "{}", mix.rate);
        let slower = verify_mix(&profile, &target, 0.4);
        assert!((slower.rate - 50.0).abs() < 1e-9, "{}", slower.rate);
        assert!(mix.users as f64 >= mix.rate * USERS_PER_RATE);
    }
}
