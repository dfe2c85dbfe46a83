//! What the stack's work costs: the operations each service counts itself ([`Operation`],
//! answered at [`OPERATIONS_ROUTE`] as [`ServiceOperations`]), the CPU and memory each component
//! of a process stack used over a run against those counts ([`Costs`], in `results.json`), and
//! the per-operation costs fitted over several runs ([`Profile`], `profile.json`), which
//! `loadtest plan` sizes a tier from.

use crate::service::Service;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Where each service answers its operation counts (`GET`, JSON [`ServiceOperations`]).
pub const OPERATIONS_ROUTE: &str = "/ssobench/operations";

/// What a service does that costs it something, counted by the service itself (the generator
/// never sees a token exchange or a JWKS fetch). One request is one operation; `Request` counts
/// every request, so "other requests" is `Request` less the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Every request the service answered.
    Request,
    /// IdP: a login form shown (`GET` authorize without an SSO session).
    LoginForm,
    /// IdP: a password checked and a code issued (`POST` authorize answered with a redirect).
    PasswordLogin,
    /// IdP: a code issued on an SSO session, without a password (`GET` authorize answered with
    /// a redirect).
    SsoAuthorization,
    /// IdP: a code (or refresh token) exchanged for tokens.
    TokenExchange,
    /// IdP: the signing keys fetched.
    Jwks,
    /// App: a login completed at its callback (the code exchanged, the ID token checked, a
    /// session created).
    AppLogin,
    /// Store: a cart page on a live session (a session load and extension).
    CartRead,
    /// Store: a line added to a cart (a session save).
    CartWrite,
}

impl Operation {
    pub const ALL: [Operation; 9] = [
        Operation::Request,
        Operation::LoginForm,
        Operation::PasswordLogin,
        Operation::SsoAuthorization,
        Operation::TokenExchange,
        Operation::Jwks,
        Operation::AppLogin,
        Operation::CartRead,
        Operation::CartWrite,
    ];

    /// Its name in files and on pages.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Request => "request",
            Operation::LoginForm => "login_form",
            Operation::PasswordLogin => "password_login",
            Operation::SsoAuthorization => "sso_authorization",
            Operation::TokenExchange => "token_exchange",
            Operation::Jwks => "jwks",
            Operation::AppLogin => "app_login",
            Operation::CartRead => "cart_read",
            Operation::CartWrite => "cart_write",
        }
    }

    /// Its place in [`Operation::ALL`] (a counter array's index).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a service answers at [`OPERATIONS_ROUTE`]: who it is, its process, and what it has
/// counted since it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceOperations {
    pub service: Service,
    /// The process serving it: whose CPU and memory its operations cost.
    pub pid: u32,
    pub counts: BTreeMap<Operation, u64>,
}

impl ServiceOperations {
    pub fn count(&self, operation: Operation) -> u64 {
        self.counts.get(&operation).copied().unwrap_or(0)
    }
}

/// A part of the stack that is sized on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    Idp,
    /// The store and forums instances together: one program, sized as one pool.
    Apps,
    /// The redis-servers of a Redis backend.
    Redis,
}

impl Component {
    pub const ALL: [Component; 3] = [Component::Idp, Component::Apps, Component::Redis];

    pub fn name(self) -> &'static str {
        match self {
            Component::Idp => "idp",
            Component::Apps => "apps",
            Component::Redis => "redis",
        }
    }

    /// The operations a tier is sized by, whose counts explain its CPU: the IdP's logins; the
    /// apps' logins and cart operations; for Redis, which holds the IdP's SSO sessions as well
    /// as the apps' sessions, the IdP's logins and the apps' cart operations (an app login is
    /// one of the IdP's logins completed: counting both would count it twice). What comes with
    /// them in a flow — the login form, the token exchange, the pages around them — is carried
    /// in their cost.
    pub fn drivers(self) -> &'static [Operation] {
        match self {
            Component::Idp => &[Operation::PasswordLogin, Operation::SsoAuthorization],
            Component::Apps => &[
                Operation::AppLogin,
                Operation::CartRead,
                Operation::CartWrite,
            ],
            Component::Redis => &[
                Operation::PasswordLogin,
                Operation::SsoAuthorization,
                Operation::CartRead,
                Operation::CartWrite,
            ],
        }
    }

    /// The services whose counts drive it.
    pub fn counted_by(self) -> &'static [Service] {
        match self {
            Component::Idp => &[Service::Idp],
            Component::Apps => &[Service::Store, Service::Forums],
            Component::Redis => &[Service::Idp, Service::Store, Service::Forums],
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one component used over a run, beside what its services counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentCost {
    pub component: Component,
    /// Its processes (app instances, redis-servers).
    pub processes: u32,
    /// User plus system CPU of its processes over the run, from `/proc/<pid>/stat` (the figure
    /// Redis's own `INFO cpu` reports as `used_cpu_user` + `used_cpu_sys`).
    pub cpu_seconds: f64,
    /// Resident memory of its processes at the end, summed.
    pub resident_bytes: u64,
    /// The operations of [`Component::counted_by`] over the run.
    pub operations: BTreeMap<Operation, u64>,
}

impl ComponentCost {
    pub fn count(&self, operation: Operation) -> u64 {
        self.operations.get(&operation).copied().unwrap_or(0)
    }
}

/// The stack's costs over a run: each component's CPU against its counted operations. Only a
/// stack whose services run in processes of their own has them (a shared process's CPU cannot
/// be split between its services).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Costs {
    /// From the attack's start to its end (the warm-up included: CPU and counts cover the same
    /// span).
    pub seconds: f64,
    pub components: Vec<ComponentCost>,
}

impl Costs {
    pub fn component(&self, component: Component) -> Option<&ComponentCost> {
        self.components.iter().find(|c| c.component == component)
    }
}

/// One per-operation cost of a component, fitted over a profile's mixes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedCost {
    /// `None`: the component's CPU while idle, CPU seconds per second.
    pub operation: Option<Operation>,
    /// CPU seconds per operation (or per second, idle).
    pub cpu_seconds: f64,
    /// The lowest and highest it came out when the fit was made again without each mix in
    /// turn: how firmly the mixes pin it (a wide range: it moved with others in most mixes).
    #[serde(default)]
    pub leave_one_out: Option<(f64, f64)>,
}

/// A component's fitted model: CPU = idle × seconds + Σ cost × count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentModel {
    pub component: Component,
    pub costs: Vec<FittedCost>,
    /// Operations the mixes could not tell apart from others (each moved with them in every
    /// mix), with the operation their cost is folded into.
    pub folded: Vec<(Operation, String)>,
    /// Share of the CPU's variation over the mixes the fit explains.
    pub r_squared: f64,
    /// The worst |predicted − measured| ÷ measured over the mixes.
    pub worst_error: f64,
    /// Resident bytes per live session in this component, where measured.
    #[serde(default)]
    pub bytes_per_session: Option<f64>,
}

impl ComponentModel {
    /// A model of these costs (`None`: idle), written by hand rather than fitted: no fit
    /// figures, no memory.
    pub fn of_costs(
        component: Component,
        costs: impl IntoIterator<Item = (Option<Operation>, f64)>,
    ) -> Self {
        ComponentModel {
            component,
            costs: costs
                .into_iter()
                .map(|(operation, cpu_seconds)| FittedCost {
                    operation,
                    cpu_seconds,
                    leave_one_out: None,
                })
                .collect(),
            folded: Vec::new(),
            r_squared: 1.0,
            worst_error: 0.0,
            bytes_per_session: None,
        }
    }

    /// CPU seconds per second when idle.
    pub fn idle(&self) -> f64 {
        self.costs
            .iter()
            .find(|cost| cost.operation.is_none())
            .map_or(0.0, |cost| cost.cpu_seconds)
    }

    /// CPU seconds per operation (0 when the fit gave it none or folded it).
    pub fn cost(&self, operation: Operation) -> f64 {
        self.costs
            .iter()
            .find(|cost| cost.operation == Some(operation))
            .map_or(0.0, |cost| cost.cpu_seconds)
    }

    /// The CPU (cores) these operation rates need, by the model.
    pub fn cores(&self, rates: &BTreeMap<Operation, f64>) -> f64 {
        self.idle()
            + rates
                .iter()
                .map(|(operation, rate)| self.cost(*operation) * rate)
                .sum::<f64>()
    }
}

/// A mix of a profile as it ran: its description and what it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileMix {
    pub name: String,
    /// The run's flags that made it this mix, as a person would type them.
    pub flags: String,
    pub run_dir: String,
    /// Iterations of the mix per second the generator completed.
    pub iterations_per_second: f64,
    pub costs: Costs,
    /// The operations one iteration of this mix brought about, by service (the counts over the
    /// run ÷ its iterations).
    pub per_iteration: BTreeMap<Operation, f64>,
}

/// Per-operation costs of a stack on a machine, fitted over several mixes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub schema_version: u32,
    pub created_at: String,
    /// The machine, in words (CPU model, cores, kernel).
    pub machine: String,
    /// The stack's settings that change costs: backend, password hashing, signing, TLS,
    /// instances.
    pub settings: BTreeMap<String, String>,
    pub models: Vec<ComponentModel>,
    pub mixes: Vec<ProfileMix>,
    /// What makes these costs less sure, one sentence each (a mix that fell behind its rate).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Profile {
    pub const SCHEMA_VERSION: u32 = 1;
    pub const FILE: &'static str = "profile.json";

    pub fn model(&self, component: Component) -> Option<&ComponentModel> {
        self.models.iter().find(|m| m.component == component)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_sits_at_its_index_and_reads_back_by_its_name() {
        for (index, operation) in Operation::ALL.iter().enumerate() {
            assert_eq!(operation.index(), index);
            let json = serde_json::to_string(operation).expect("an operation serializes");
            assert_eq!(json, format!("\"{}\"", operation.name()));
            assert_eq!(
                serde_json::from_str::<Operation>(&json).expect("and reads back"),
                *operation
            );
        }
    }

    #[test]
    fn a_model_predicts_idle_plus_each_rate_times_its_cost() {
        let model = ComponentModel::of_costs(
            Component::Idp,
            [(None, 0.01), (Some(Operation::PasswordLogin), 0.002)],
        );
        let rates = BTreeMap::from([
            (Operation::PasswordLogin, 100.0),
            (Operation::TokenExchange, 50.0),
        ]);
        assert!((model.cores(&rates) - 0.21).abs() < 1e-12);
    }
}
