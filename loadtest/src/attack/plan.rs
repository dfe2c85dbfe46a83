//! The goose attack of a run: users, scenarios, weights, ramp-up and run time stay goose's; each
//! scenario's first transaction installs the user's state for this run (its closure holds the
//! run's context), and its last merges the user's measurements into it.

use crate::error::RunResult;
use crate::setup::args::ScenarioName;
use crate::users::context::RunContext;
use crate::users::scenarios::{
    calibration, cart_browsing, cart_view, login_sso_journey, stolen_session,
};
use crate::users::user;
use goose::config::GooseConfiguration;
use goose::prelude::*;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// How a run uses goose.
#[derive(Debug, Clone)]
pub struct AttackPlan<'a> {
    pub users: usize,
    /// How long starting every user takes (goose's increase rate is users ÷ this).
    pub ramp_up: Duration,
    pub run_time: Duration,
    /// Goose's own HTML and JSON reports, written into this directory; `None`: goose keeps no
    /// metrics at all.
    pub goose_reports: Option<&'a Path>,
}

/// The scenarios goose runs, and what a scenario's iterations are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Load(ScenarioName),
    /// `loadtest calibrate`'s trivial request.
    Calibration,
}

type Step =
    for<'r> fn(&'r mut GooseUser) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + 'r>>;

/// A transaction from a plain `async fn(&mut GooseUser)`, followed by the user's think time.
/// The page's own future is boxed apart and freed before the think: held inside the
/// transaction's future, its state (the largest of its hops', 2.5 KiB on average by heaptrack
/// at 10,000 cart users) stayed allocated through every user's 20–40 s of thinking.
macro_rules! tx {
    ($function:path) => {
        Transaction::new(Arc::new(move |user| {
            Box::pin(async move {
                let result = Box::pin($function(user)).await;
                user::think(user).await;
                result
            })
        }))
    };
}

/// The on-start transaction: installs this user's state for `run`, then runs `then` (a login)
/// when the scenario starts logged in, then thinks.
fn install(run: &Arc<RunContext>, then: Option<Step>) -> Transaction {
    let run = Arc::clone(run);
    Transaction::new(Arc::new(move |user: &mut GooseUser| {
        user::install(user, &run);
        Box::pin(async move {
            let result = match then {
                Some(step) => step(user).await,
                None => Ok(()),
            };
            user::think(user).await;
            result
        })
    }))
    .set_name("start")
    .set_on_start()
}

fn login_at_start(
    user: &mut GooseUser,
) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + '_>> {
    Box::pin(cart_browsing::start(user))
}

/// Builds the attack against `host` (goose wants a base URL, though every request goes through
/// the run's own connections).
pub fn build(
    plan: &AttackPlan<'_>,
    scenarios: &[(Kind, usize)],
    run: &Arc<RunContext>,
    host: &str,
) -> RunResult<GooseAttack> {
    let mut config = GooseConfiguration::default();
    config.host = Some(host.to_owned());
    config.users = Some(plan.users);
    let per_second = plan.users as f64 / plan.ramp_up.as_secs_f64().max(1e-3);
    config.increase_rate = Some(per_second.to_string());
    config.run_time = Some(format!("{}s", plan.run_time.as_secs().max(1)));
    config.no_reset_metrics = true;
    config.no_print_metrics = true;
    config.no_telnet = true;
    config.quiet = 1;
    match plan.goose_reports {
        Some(dir) => {
            config.report_file = vec![
                dir.join("goose-report.html").display().to_string(),
                dir.join("goose-report.json").display().to_string(),
            ];
        }
        // Without its reports goose keeps no metrics: it only runs the users.
        None => config.no_metrics = true,
    }
    let mut attack = GooseAttack::initialize_with_config(config)?
        // One client shared by every user: goose would otherwise build a reqwest client (and
        // its pool) per user, which no request of this run goes through.
        .set_client_builder_without_cookies(
            goose::client::GooseClientBuilder::new().without_cookies(),
        )?;
    for (kind, weight) in scenarios {
        let name = match kind {
            Kind::Load(name) => name.goose_name(),
            Kind::Calibration => "calibration",
        };
        // No goose wait time: users think by themselves (see `ScenarioSettings::think`).
        let scenario = Scenario::new(name).set_weight(*weight)?;
        let scenario = match kind {
            Kind::Load(ScenarioName::Journey) => scenario
                .register_transaction(install(run, None))
                .register_transaction(tx!(login_sso_journey::iteration).set_name("journey")),
            Kind::Load(ScenarioName::Cart) => scenario
                .register_transaction(install(run, Some(login_at_start)))
                .register_transaction(
                    tx!(cart_browsing::view)
                        .set_name("view cart")
                        .set_weight(19)?,
                )
                .register_transaction(tx!(cart_browsing::add).set_name("add to cart")),
            Kind::Load(ScenarioName::CartView) => scenario
                .register_transaction(install(run, Some(login_at_start)))
                .register_transaction(tx!(cart_view::view).set_name("view cart")),
            Kind::Load(ScenarioName::Stolen) => scenario
                .register_transaction(install(run, None))
                .register_transaction(tx!(stolen_session::iteration).set_name("theft")),
            Kind::Calibration => scenario
                .register_transaction(install(run, None))
                .register_transaction(tx!(calibration::request).set_name("request")),
        };
        attack = attack.register_scenario(
            scenario.register_transaction(tx!(user::flush).set_name("stop").set_on_stop()),
        );
    }
    Ok(attack)
}
