//! `loadtest profile`: what each operation costs each component of the stack on this machine.
//! It runs several short mixes against the stack as processes (the IdP, the apps and Redis
//! each in processes of their own), reads each run's costs (every component's CPU against the
//! operations its services counted), fits per-operation costs over the mixes
//! (`reports::profile`: one mix cannot separate them), measures bytes per live session from two
//! short runs with and without a prefilled store, and writes `profile.json` beside the
//! calibration. `loadtest plan` sizes a tier from it.

use crate::error::{RunError, RunResult, While as _};
use crate::setup::args::{RunArgs, ScenarioName};
use crate::setup::output;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vocabulary::costs::{Component, Costs, Operation, Profile, ProfileMix};

/// `loadtest profile`'s flags: the stack's (backend, hashing, signing, TLS, instances) as a
/// run's, and how long each mix runs.
#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// How long each mix runs once its users have started.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub mix_time: Duration,
    /// Sessions prefilled into the store to measure the bytes each live session takes (0: not
    /// measured).
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(0..=2_000_000))]
    pub memory_sessions: u64,
    /// Where to write the profile [default: <reports dir>/calibration/<machine>-profile-<backend>.json].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Slows the mixes' logins: the mixes that log in on every iteration run at this share of
    /// their rate (and users), the others start this share of their users (each logs in once).
    /// A stack whose logins cost more (e.g. 0.1 with --password-hash argon2 on 2 cores) needs
    /// it, or the IdP saturates and the profile says so.
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub login_mixes_scale: f64,
    /// Runs every mix this many times, round after round (every mix once, then every mix
    /// again), and fits over all the runs: a machine whose costs wander from one minute to the
    /// next (a shared VM) is averaged over more of its minutes, and each cost's range is over
    /// the fits without one run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=5))]
    pub rounds: u32,
    #[command(flatten)]
    pub run: RunArgs,
}

/// A number above 0 (a flag's value).
pub fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("{text:?}: expected a number above 0")),
    }
}

/// The fewest users a scaled mix keeps.
pub const MIN_SCALED_USERS: usize = 4;

/// A mix whose generator completed fewer iterations than this share of its rate fell behind:
/// the stack (or the generator) could not keep up, and its costs are those of a saturated
/// process.
const FELL_BEHIND: f64 = 0.9;

/// One mix: which scenarios, how many cart reads per journey, how many users at what rate.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    pub name: &'static str,
    pub scenario: ScenarioName,
    pub cart_reads: u32,
    pub users: usize,
    /// Iterations per second.
    pub rate: f64,
    /// Every iteration begins with a password login (`--login-mixes-scale` slows these).
    pub logs_in: bool,
}

/// The mixes: logins and cart operations in different proportions, so the fit can tell each
/// operation's cost from the others' and from the idle cost (a journey brings one password
/// login and two SSO logins, always: only a mix of password logins alone separates them). Each
/// keeps this 2-core machine's stack at about a quarter to half a core: an operation costs more
/// CPU when requests arrive seldom (each pays its own wake-up) than under load, so mixes at
/// like loads fit one line better, and `plan --verify` checks at such a load. The cart mixes
/// spread their rate over hundreds of users, each on its own connections, as real traffic
/// comes (32 users at 4,000/s batch their requests and cost the apps half as much per read as
/// journeys do). A journey user
/// spends about 2.5 s per iteration (it waits out the store's idle timeout): a journey mix has
/// 3.5 users per iteration per second.
pub const MIXES: [Mix; 7] = [
    Mix {
        name: "journeys without cart reads",
        scenario: ScenarioName::Journey,
        cart_reads: 0,
        users: 210,
        rate: 60.0,
        logs_in: true,
    },
    Mix {
        name: "journeys with 10 cart reads",
        scenario: ScenarioName::Journey,
        cart_reads: 10,
        users: 175,
        rate: 50.0,
        logs_in: true,
    },
    Mix {
        name: "journeys with 30 cart reads",
        scenario: ScenarioName::Journey,
        cart_reads: 30,
        users: 140,
        rate: 40.0,
        logs_in: true,
    },
    Mix {
        name: "cart views",
        scenario: ScenarioName::CartView,
        cart_reads: 3,
        users: 400,
        rate: 3000.0,
        logs_in: false,
    },
    Mix {
        name: "fewer cart views",
        scenario: ScenarioName::CartView,
        cart_reads: 3,
        users: 200,
        rate: 1000.0,
        logs_in: false,
    },
    Mix {
        // Paced slower than half the store's idle timeout, a cart user logs in afresh on every
        // visit: password logins without SSO, the one mix that tells their cost apart.
        name: "cart visits, each after a password login",
        scenario: ScenarioName::Cart,
        cart_reads: 3,
        users: 150,
        rate: 100.0,
        logs_in: true,
    },
    Mix {
        name: "cart browsing (views and writes)",
        scenario: ScenarioName::Cart,
        cart_reads: 3,
        users: 300,
        rate: 2000.0,
        logs_in: false,
    },
];

impl Mix {
    /// The run's flags that make this mix, as a person would type them.
    pub fn flags(&self) -> String {
        format!(
            "--scenario {} --cart-reads {} --users {} --rate {}",
            self.scenario.flag_name(),
            self.cart_reads,
            self.users,
            self.rate
        )
    }

    /// This mix with its logins slowed by `scale`: a mix that logs in on every iteration has
    /// its rate and users scaled (each user's pace kept); the others log each user in once, at
    /// the start, so their users are scaled (at least [`MIN_SCALED_USERS`]) and their rate kept.
    pub fn scaled(&self, scale: f64) -> Mix {
        if scale == 1.0 {
            return *self;
        }
        let users = ((self.users as f64 * scale).ceil() as usize).max(MIN_SCALED_USERS);
        if !self.logs_in {
            return Mix {
                users: users.min(self.users),
                ..*self
            };
        }
        Mix {
            users,
            rate: (self.rate * scale * 100.0).round() / 100.0,
            ..*self
        }
    }

    /// The base run's arguments with this mix's load, the stack as processes.
    pub fn args(&self, base: &RunArgs, run_time: Duration) -> RunArgs {
        let mut args = base.clone();
        args.scenarios = vec![(self.scenario, 1)];
        args.cart_reads = self.cart_reads;
        args.users = self.users;
        args.rate = Some(self.rate);
        processes_for_costs(&mut args, run_time);
        args
    }
}

/// A run whose costs are read: the stack as processes, no warm-up (costs cover the whole
/// attack), no prefill, no report of its own to look at.
pub fn processes_for_costs(args: &mut RunArgs, run_time: Duration) {
    args.stack_processes = true;
    args.run_time = Some(run_time);
    args.warm_up = Some(Duration::ZERO);
    args.prefill_sessions = 0;
    args.quiet = true;
}

/// Where this machine's profile of `backend` is kept.
pub fn profile_file(reports_dir: &Path, backend: vocabulary::Backend) -> PathBuf {
    reports_dir.join("calibration").join(format!(
        "{}-profile-{}.json",
        super::calibrate::machine_key(),
        backend.name()
    ))
}

/// What a profile produced.
#[derive(Debug)]
pub struct Profiled {
    pub profile: Profile,
    pub file: PathBuf,
}

/// Runs the mixes, fits the costs and writes the profile.
pub async fn execute(args: &ProfileArgs) -> RunResult<Profiled> {
    ensure_stack_of_our_own(&args.run)?;
    let reports_dir = args
        .run
        .reports_dir
        .clone()
        .unwrap_or_else(output::default_reports_dir);
    let dir = reports_dir.join(format!("profile-{}", output::timestamp()));
    let progress = indicatif::ProgressBar::hidden();
    let mut mixes = Vec::new();
    let mut notes = Vec::new();
    // Round after round rather than each mix twice in a row: a slow change in the machine
    // then falls on every mix alike, not on one.
    let runs =
        (1..=args.rounds).flat_map(|round| (0..MIXES.len()).map(move |index| (round, index)));
    for (round, index) in runs {
        let mix = MIXES[index].scaled(args.login_mixes_scale);
        let of_rounds = if args.rounds > 1 {
            format!(", round {round}/{}", args.rounds)
        } else {
            String::new()
        };
        eprintln!(
            "mix {}/{}{of_rounds}: {} ({})",
            index + 1,
            MIXES.len(),
            mix.name,
            mix.flags()
        );
        let run_dir = if args.rounds > 1 {
            dir.join(format!("mix-{}-round-{round}", index + 1))
        } else {
            dir.join(format!("mix-{}", index + 1))
        };
        let outcome =
            super::run::execute_in(&mix.args(&args.run, args.mix_time), &run_dir, &progress)
                .await?;
        let costs = costs_of(&outcome)?;
        let iterations = outcome.results.pacing.iterations.max(1) as f64;
        let achieved = outcome.results.pacing.achieved_rate;
        if achieved < FELL_BEHIND * mix.rate {
            let note = format!(
                "mix {}{of_rounds} ({}) made {achieved:.1} iterations/s of its {}: the stack could not keep \
                 up, and its costs are a saturated process's (profile again with a lower \
                 --login-mixes-scale, or fewer cart views)",
                index + 1,
                mix.name,
                mix.rate
            );
            eprintln!("{note}");
            notes.push(note);
        }
        mixes.push(ProfileMix {
            name: format!("{}{of_rounds}", mix.name),
            flags: mix.flags(),
            run_dir: run_dir.display().to_string(),
            iterations_per_second: outcome.results.pacing.achieved_rate,
            per_iteration: per_iteration(&costs, iterations),
            costs,
        });
    }
    let mut models = reports::profile::models(&mixes);
    if args.memory_sessions > 0 {
        let grown = memory_per_session(args, &dir, &progress).await?;
        for model in &mut models {
            model.bytes_per_session = grown.get(&model.component).copied();
        }
    }
    let profile = Profile {
        schema_version: Profile::SCHEMA_VERSION,
        created_at: jiff::Timestamp::now().to_string(),
        machine: machine(),
        settings: settings(&args.run),
        models,
        mixes,
        notes,
    };
    let file = args
        .out
        .clone()
        .unwrap_or_else(|| profile_file(&reports_dir, args.run.backend.backend));
    write_profile(&file, &profile)?;
    Ok(Profiled { profile, file })
}

/// The profile measures the stack ssobench starts: only its services count their operations.
fn ensure_stack_of_our_own(run: &RunArgs) -> RunResult<()> {
    if !run.target.is_empty() || run.workers > 1 {
        return Err(RunError::refused(
            "profile starts the stack itself, as processes, and drives it from this process: \
             leave out --target and --workers",
        ));
    }
    Ok(())
}

fn costs_of(outcome: &super::run::RunOutcome) -> RunResult<Costs> {
    outcome.results.costs.clone().ok_or_else(|| {
        RunError::refused(format!(
            "the run in {} recorded no costs by component (its messages are above)",
            outcome.run_dir.display()
        ))
    })
}

/// Each service's operations per iteration of the mix, the IdP's and the apps' together.
fn per_iteration(costs: &Costs, iterations: f64) -> BTreeMap<Operation, f64> {
    let mut per = BTreeMap::new();
    for component in [Component::Idp, Component::Apps] {
        if let Some(cost) = costs.component(component) {
            for (operation, count) in &cost.operations {
                if *operation != Operation::Request {
                    *per.entry(*operation).or_insert(0.0) += *count as f64 / iterations;
                }
            }
        }
    }
    per
}

/// Bytes per live session in each component: the resident memory of two short runs, one with
/// the store prefilled, apart, divided by the sessions prefilled.
async fn memory_per_session(
    args: &ProfileArgs,
    dir: &Path,
    progress: &indicatif::ProgressBar,
) -> RunResult<BTreeMap<Component, f64>> {
    let mut resident = Vec::new();
    for (name, prefill) in [("memory-empty", 0), ("memory-full", args.memory_sessions)] {
        eprintln!("memory: a store with {prefill} sessions prefilled");
        let mut run = args.run.clone();
        run.scenarios = vec![(ScenarioName::CartView, 1)];
        run.users = 4;
        run.rate = Some(50.0);
        processes_for_costs(&mut run, Duration::from_secs(3));
        run.prefill_sessions = prefill;
        // The prefilled sessions must outlive the run.
        run.store_idle_timeout = run.store_idle_timeout.max(Duration::from_secs(600));
        let outcome = super::run::execute_in(&run, &dir.join(name), progress).await?;
        resident.push(costs_of(&outcome)?);
    }
    let sessions = args.memory_sessions as f64;
    Ok(Component::ALL
        .iter()
        .filter(|&&component| component != Component::Idp)
        .filter_map(|&component| {
            let empty = resident[0].component(component)?.resident_bytes as f64;
            let full = resident[1].component(component)?.resident_bytes as f64;
            Some((component, ((full - empty) / sessions).max(0.0)))
        })
        .collect())
}

fn machine() -> String {
    let environment = crate::measure::environment::capture(1, None);
    format!(
        "{}, {} logical CPUs, Linux {} (host {})",
        environment.cpu_model,
        environment.logical_cpus,
        environment.kernel,
        reports::hlog::host_name()
    )
}

/// The stack's settings that change what an operation costs.
fn settings(run: &RunArgs) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("backend".into(), run.backend.backend.name().into()),
        ("password_hash".into(), run.password_hash.name().into()),
        ("signing_alg".into(), run.signing_alg.jws_name().into()),
        (
            "tls".into(),
            if run.tls_cert.is_some() {
                "https"
            } else {
                "http"
            }
            .into(),
        ),
        ("instances".into(), run.instances.to_string()),
    ])
}

fn write_profile(file: &Path, profile: &Profile) -> RunResult<()> {
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).doing_with(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(file, serde_json::to_string_pretty(profile)?)
        .doing_with(|| format!("writing {}", file.display()))?;
    Ok(())
}

/// Reads a profile written by `loadtest profile`.
pub fn read_profile(file: &Path) -> RunResult<Profile> {
    let text = std::fs::read_to_string(file).doing_with(|| {
        format!(
            "reading the profile {} (run `loadtest profile` first)",
            file.display()
        )
    })?;
    let profile: Profile = serde_json::from_str(&text)?;
    if profile.schema_version != Profile::SCHEMA_VERSION {
        return Err(RunError::refused(format!(
            "{} is a profile of schema {}; this program reads {}: run `loadtest profile` again",
            file.display(),
            profile.schema_version,
            Profile::SCHEMA_VERSION
        )));
    }
    Ok(profile)
}

impl Profiled {
    /// The fitted costs as a table, for the terminal.
    pub fn print(&self) {
        print!("{}", describe(&self.profile));
        println!("profile: {}", self.file.display());
    }
}

/// A profile in words: each component's costs, fit and memory.
pub fn describe(profile: &Profile) -> String {
    let mut text = format!("cost profile on {}\n", profile.machine);
    for note in &profile.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    for model in &profile.models {
        text.push_str(&format!(
            "{}: idle {:.3} cores; R² {:.3}, worst mix off by {:.0}%\n",
            model.component,
            model.idle(),
            model.r_squared,
            model.worst_error * 100.0
        ));
        for cost in model.costs.iter().filter(|cost| cost.operation.is_some()) {
            if let Some(operation) = cost.operation {
                let range = cost.leave_one_out.map_or_else(String::new, |(low, high)| {
                    format!(" (without one mix: {:.1}–{:.1})", low * 1e6, high * 1e6)
                });
                text.push_str(&format!(
                    "  {:<18} {:>9.1} µs CPU{range}\n",
                    operation.name(),
                    cost.cpu_seconds * 1e6
                ));
            }
        }
        for (operation, why) in &model.folded {
            text.push_str(&format!("  {operation}: {why}\n"));
        }
        if let Some(bytes) = model.bytes_per_session {
            text.push_str(&format!("  {bytes:.0} bytes per live session\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mix_reads_back_from_its_flags_and_a_scale_slows_only_the_login_mixes() {
        for mix in MIXES {
            let flags = mix.flags();
            let words: Vec<&str> = flags.split(' ').collect();
            let scenario = crate::setup::args::parse_scenario(words[1]).expect("scenario");
            assert_eq!(scenario, (mix.scenario, 1), "{flags}");
            let scaled = mix.scaled(0.1);
            if mix.logs_in {
                assert!((scaled.rate - mix.rate * 0.1).abs() < 0.01, "{flags}");
                // Each user keeps its pace (a journey user needs about 2.5 s per iteration).
                let pace = |m: &Mix| m.users as f64 / m.rate;
                assert!(pace(&scaled) >= pace(&mix) * 0.99, "{flags}");
            } else {
                // Fewer users log in at the start; the cart load stays.
                assert_eq!(scaled.rate, mix.rate);
                assert!(scaled.users < mix.users && scaled.users >= MIN_SCALED_USERS);
            }
            assert_eq!(mix.scaled(1.0).users, mix.users);
        }
        assert!(
            MIXES
                .iter()
                .any(|mix| mix.logs_in && mix.scenario != ScenarioName::Journey),
            "a mix of password logins without SSO separates their costs"
        );
    }
}
