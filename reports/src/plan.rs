//! Sizing a tier from a cost profile: a target (logins, SSO logins, cart operations per second,
//! live sessions, headroom) times the per-operation costs measured on this machine gives the
//! cores each component needs, the app instances, the Redis nodes (slots spread over the
//! primaries, replicas counted) and the memory; beside it, the same target sized by Keycloak's
//! published per-vCPU figures, so a reader sees where the measured costs differ. Every
//! assumption is written into the plan.

use crate::format::escape;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vocabulary::costs::{Component, Operation, Profile};

/// Redis Cluster's hash slots, spread over the primaries.
pub const CLUSTER_SLOTS: u32 = 16_384;

/// Copies of each session in the local Redis Cluster a profile runs on (a replica per
/// primary).
pub const PROFILED_CLUSTER_COPIES: f64 = 2.0;

/// What the tier must carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Password logins per second.
    pub logins: f64,
    /// SSO logins per second (an app login on the IdP's session, without a password).
    pub sso_logins: f64,
    /// Cart page reads per second.
    pub cart_reads: f64,
    /// Cart writes per second.
    pub cart_writes: f64,
    /// Live sessions at once.
    pub sessions: u64,
    /// Spare capacity above the need: 0.5 sizes for 150% of it.
    pub headroom: f64,
}

impl Target {
    /// The operation rates it puts on a component, by the operations the profile fits it by.
    pub fn rates(&self, component: Component) -> BTreeMap<Operation, f64> {
        match component {
            Component::Idp => BTreeMap::from([
                (Operation::PasswordLogin, self.logins),
                (Operation::SsoAuthorization, self.sso_logins),
            ]),
            // Every login, with a password or by SSO, completes at an app's callback.
            Component::Apps => BTreeMap::from([
                (Operation::AppLogin, self.logins + self.sso_logins),
                (Operation::CartRead, self.cart_reads),
                (Operation::CartWrite, self.cart_writes),
            ]),
            Component::Redis => BTreeMap::from([
                (Operation::PasswordLogin, self.logins),
                (Operation::SsoAuthorization, self.sso_logins),
                (Operation::CartRead, self.cart_reads),
                (Operation::CartWrite, self.cart_writes),
            ]),
        }
    }
}

/// How the need is cut into pieces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// Cores one IdP or app instance (a pod) gets.
    pub cores_per_instance: f64,
    /// Memory one Redis node may hold, bytes.
    pub redis_node_memory: u64,
    /// Replicas per Redis primary.
    pub redis_replicas: u32,
}

/// One component's share of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentPlan {
    pub component: Component,
    /// The cores the target needs by the profile, before headroom.
    pub cores: f64,
    /// With headroom.
    pub cores_with_headroom: f64,
    /// Instances (IdP and apps) or primaries (Redis).
    pub instances: u32,
    /// Memory for the sessions it keeps, with headroom, bytes (`None`: it keeps none, or the
    /// profile measured none).
    pub session_memory: Option<u64>,
    /// Its need, operation by operation, cores.
    pub by_operation: Vec<(Option<Operation>, f64)>,
}

/// The Redis layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisPlan {
    pub primaries: u32,
    pub replicas_per_primary: u32,
    pub nodes: u32,
    pub slots_per_primary: u32,
    /// What set the count of primaries: "cpu" or "memory".
    pub bound_by: String,
}

/// The same target sized by Keycloak's published figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub vcpu: f64,
    pub vcpu_with_headroom: f64,
    pub pods: u32,
    pub memory_mb: f64,
    pub database_vcpu: (f64, f64),
    pub database_write_iops: f64,
    pub figures: Vec<String>,
}

impl Reference {
    /// Its figures in one sentence.
    pub fn sentence(&self) -> String {
        format!(
            "{:.1} vCPU, {:.1} with its headroom, over {} pods, {:.0} MB of memory; a database \
             of {:.1}–{:.1} vCPU and {:.0} write IOPS",
            self.vcpu,
            self.vcpu_with_headroom,
            self.pods,
            self.memory_mb,
            self.database_vcpu.0,
            self.database_vcpu.1,
            self.database_write_iops
        )
    }
}

/// A sized tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub target: Target,
    pub shape: Shape,
    pub profile_file: String,
    pub profile_machine: String,
    pub profile_settings: BTreeMap<String, String>,
    pub components: Vec<ComponentPlan>,
    pub redis: Option<RedisPlan>,
    pub reference: Reference,
    /// Every assumption the plan rests on, one sentence each.
    pub assumptions: Vec<String>,
    /// Where the measured costs and the reference are not alike, one sentence each.
    pub differences: Vec<String>,
}

/// Sizes `target` by `profile`.
pub fn plan(target: &Target, shape: &Shape, profile: &Profile, profile_file: &str) -> Plan {
    let factor = 1.0 + target.headroom;
    let backend = profile.settings.get("backend").cloned().unwrap_or_default();
    let on_redis = backend.starts_with("redis");
    let profiled_copies = if backend == "redis-cluster" {
        PROFILED_CLUSTER_COPIES
    } else {
        1.0
    };
    let mut components = Vec::new();
    let mut redis = None;
    for model in &profile.models {
        let rates = target.rates(model.component);
        let mut by_operation = vec![(None, model.idle())];
        by_operation.extend(
            rates
                .iter()
                .map(|(operation, rate)| (Some(*operation), model.cost(*operation) * rate)),
        );
        let cores = model.cores(&rates);
        let cores_with_headroom = cores * factor;
        let keeps_sessions = match model.component {
            Component::Idp => false,
            Component::Apps => !on_redis,
            Component::Redis => true,
        };
        // A profile on the local Redis Cluster measured every copy of a session (a replica
        // per primary): one copy's bytes are half.
        let copies = if model.component == Component::Redis {
            profiled_copies
        } else {
            1.0
        };
        let session_memory = model
            .bytes_per_session
            .filter(|_| keeps_sessions)
            .map(|bytes| (bytes / copies * target.sessions as f64 * factor).ceil() as u64);
        let instances = match model.component {
            Component::Redis => {
                // Command execution is one thread: a node gives one core.
                let by_cpu = cores_with_headroom.ceil().max(1.0) as u32;
                let by_memory = session_memory.map_or(1, |bytes| {
                    bytes.div_ceil(shape.redis_node_memory.max(1)).max(1) as u32
                });
                let primaries = by_cpu.max(by_memory);
                redis = Some(RedisPlan {
                    primaries,
                    replicas_per_primary: shape.redis_replicas,
                    nodes: primaries.saturating_mul(shape.redis_replicas.saturating_add(1)),
                    slots_per_primary: CLUSTER_SLOTS.div_ceil(primaries),
                    bound_by: if by_memory > by_cpu { "memory" } else { "cpu" }.into(),
                });
                primaries
            }
            _ => (cores_with_headroom / shape.cores_per_instance)
                .ceil()
                .max(1.0) as u32,
        };
        components.push(ComponentPlan {
            component: model.component,
            cores,
            cores_with_headroom,
            instances,
            session_memory,
            by_operation,
        });
    }
    let reference = keycloak(target);
    let mut assumptions = vec![
        format!(
            "Costs measured on {} with {} ({}).",
            profile.machine,
            profile_file,
            profile
                .settings
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "Headroom {:.0}%: every component is sized for {:.0}% of its need.",
            target.headroom * 100.0,
            factor * 100.0
        ),
        "Every login, with a password or by SSO, completes at an app's callback: app logins = \
         logins + SSO logins."
            .into(),
        "A login's cost carries what came with it in every profiled mix: the login form, the \
         code's exchange for tokens, and (for an SSO login) the journey's pages around it and its \
         logout at the provider. Redis's holds the IdP's SSO session work as well as the apps'."
            .into(),
        format!(
            "An IdP or app instance gets {} cores; instances = cores with headroom ÷ that, \
             rounded up.",
            shape.cores_per_instance
        ),
        "Idle cost (tickers, sweepers) is the profiled processes' own, not scaled by instance \
         count."
            .into(),
    ];
    if profiled_copies > 1.0 {
        assumptions.push(
            "The profile ran on the local Redis Cluster, 3 primaries with a replica each: its \
             bytes per session count both copies (halved here to one), and its CPU is all six \
             nodes' (replication included), taken as the primaries' need: on the safe side."
                .into(),
        );
    }
    if on_redis {
        assumptions.push(format!(
            "Redis runs commands on one thread: a primary gives one core. Primaries are the \
             larger of cores with headroom and session memory ÷ {} per node; each has {} \
             replica(s); {} hash slots are spread over the primaries.",
            bytes(shape.redis_node_memory),
            shape.redis_replicas,
            CLUSTER_SLOTS
        ));
    } else {
        assumptions.push(format!(
            "The {backend} backend keeps each session in one app process: the apps' session \
             memory is the whole tier's, split over instances only behind a balancer that keeps \
             a user on its instance."
        ));
    }
    assumptions.push(
        "Bytes per session are resident memory growth with prefilled sessions (their payload as \
         the prefill makes it), with headroom."
            .into(),
    );
    assumptions.extend(
        profile
            .notes
            .iter()
            .map(|note| format!("The profile noted: {note}")),
    );
    let differences = differences(profile, &reference, &components);
    Plan {
        target: target.clone(),
        shape: shape.clone(),
        profile_file: profile_file.to_owned(),
        profile_machine: profile.machine.clone(),
        profile_settings: profile.settings.clone(),
        components,
        redis,
        reference,
        assumptions,
        differences,
    }
}

/// Keycloak's sizing guide: 15 password logins/s per vCPU (Argon2), 120 token requests
/// (client-credential grants, refreshes) per vCPU, +150% headroom, 1,250 MB base memory per
/// pod; per 100 logins/logouts/refreshes per second, 0.35–0.7 vCPU and 1,400 write IOPS of
/// database.
pub fn keycloak(target: &Target) -> Reference {
    let vcpu = target.logins / 15.0 + target.sso_logins / 120.0;
    let vcpu_with_headroom = vcpu * 2.5;
    // The guide's worked example spreads 9 vCPU over 3 pods; 3 pods at least, for availability.
    let pods = ((vcpu_with_headroom / 3.0).ceil() as u32).max(3);
    let per_hundred = (target.logins + target.sso_logins) / 100.0;
    Reference {
        vcpu,
        vcpu_with_headroom,
        pods,
        memory_mb: pods as f64 * 1_250.0,
        database_vcpu: (0.35 * per_hundred, 0.7 * per_hundred),
        database_write_iops: 1_400.0 * per_hundred,
        figures: vec![
            "15 password logins/s per vCPU (Argon2 hashing)".into(),
            "120 token requests/s per vCPU (client-credential grants, refreshes); an SSO login \
             is counted as one of these here — the guide gives no figure for it"
                .into(),
            "+150% CPU headroom".into(),
            "1,250 MB base memory per pod; 3 vCPU per pod as in its worked example, 3 pods at \
             least"
                .into(),
            "per 100 logins, logouts or refreshes per second: 0.35–0.7 vCPU and 1,400 write IOPS \
             of database"
                .into(),
            "cart reads and writes are the apps' and have no Keycloak figure".into(),
        ],
    }
}

fn differences(
    profile: &Profile,
    reference: &Reference,
    components: &[ComponentPlan],
) -> Vec<String> {
    let mut said = Vec::new();
    if let Some(idp) = profile.model(Component::Idp) {
        let per_login = idp.cost(Operation::PasswordLogin);
        let per_sso = idp.cost(Operation::SsoAuthorization);
        let hashing = profile
            .settings
            .get("password_hash")
            .map_or("unknown", String::as_str);
        if per_login > 0.0 {
            said.push(format!(
                "A password login measured {:.2} ms of IdP CPU ({:.0} logins/s per core) with \
                 password hashing {hashing}; Keycloak's 15/s per vCPU is 66.7 ms each with \
                 Argon2.{}",
                per_login * 1e3,
                1.0 / per_login,
                if hashing == "argon2" {
                    ""
                } else {
                    " The plain hash costs almost nothing: profile with --password-hash \
                     argon2 to compare like with like."
                }
            ));
        }
        if per_sso > 0.0 {
            said.push(format!(
                "An SSO login measured {:.2} ms of IdP CPU ({:.0}/s per core), against \
                 Keycloak's 120 token requests/s per vCPU (8.3 ms).",
                per_sso * 1e3,
                1.0 / per_sso
            ));
        }
        if let Some(plan) = components.iter().find(|c| c.component == Component::Idp) {
            said.push(format!(
                "The IdP here needs {:.2} cores with headroom; Keycloak's figures give {:.1} vCPU \
                 ({:.1}× as many).",
                plan.cores_with_headroom,
                reference.vcpu_with_headroom,
                reference.vcpu_with_headroom / plan.cores_with_headroom.max(1e-9)
            ));
        }
    }
    if profile.settings.get("tls").map(String::as_str) != Some("https") {
        said.push(
            "The profile ran over plain HTTP on loopback; Keycloak's figures include TLS.".into(),
        );
    }
    said.push(
        "Keycloak's figures include a database (sessions and users persisted); the mock IdP \
         keeps its users, codes and tokens in memory and writes nothing."
            .into(),
    );
    said
}

fn bytes(value: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = value as f64 / MIB;
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.1} MiB")
    }
}

/// The target in one sentence, as the terminal and the page say it.
fn target_sentence(t: &Target) -> String {
    format!(
        "{} password logins/s, {} SSO logins/s, {} cart reads/s, {} cart writes/s, {} live \
         sessions, headroom {:.0}%",
        t.logins,
        t.sso_logins,
        t.cart_reads,
        t.cart_writes,
        t.sessions,
        t.headroom * 100.0
    )
}

/// The columns of the components' table, named once for the terminal and the page.
const COMPONENT_COLUMNS: [&str; 5] = [
    "component",
    "cores",
    "with headroom",
    "instances",
    "session memory",
];

/// A component's row of that table, formatted once.
fn component_cells(c: &ComponentPlan) -> [String; 5] {
    [
        c.component.name().to_owned(),
        format!("{:.2}", c.cores),
        format!("{:.2}", c.cores_with_headroom),
        c.instances.to_string(),
        c.session_memory.map_or_else(|| "–".to_owned(), bytes),
    ]
}

/// The Redis tier in one sentence.
fn redis_sentence(redis: &RedisPlan) -> String {
    format!(
        "Redis: {} primaries, {} replica(s) each, {} nodes; {} hash slots per primary; the \
         count is bound by {}",
        redis.primaries,
        redis.replicas_per_primary,
        redis.nodes,
        redis.slots_per_primary,
        redis.bound_by
    )
}

/// The plan as text, for the terminal.
pub fn text(plan: &Plan) -> String {
    let mut out = format!("target: {}\n", target_sentence(&plan.target));
    let widths = [10, 7, 14, 10, 15];
    let line = |cells: &[String]| -> String {
        let mut line = String::new();
        for (at, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if at == 0 {
                line.push_str(&format!("{cell:<width$}"));
            } else {
                line.push_str(&format!(" {cell:>width$}"));
            }
        }
        line + "\n"
    };
    out.push_str(&line(&COMPONENT_COLUMNS.map(str::to_owned)));
    for c in &plan.components {
        out.push_str(&line(&component_cells(c)));
    }
    if let Some(redis) = &plan.redis {
        out.push_str(&redis_sentence(redis));
        out.push('\n');
    }
    out.push_str(&format!(
        "Keycloak's figures: {}\n",
        plan.reference.sentence()
    ));
    for line in &plan.differences {
        out.push_str(&format!("- {line}\n"));
    }
    out
}

/// The plan as an offline HTML page.
pub fn html(plan: &Plan) -> String {
    let mut html = crate::html::document_start(
        "ssobench: sizing plan",
        &format!(
            "From the profile {} ({}).",
            plan.profile_file, plan.profile_machine
        ),
    );
    html.push_str(&format!(
        "<h2>Target</h2>\n<p>{}.</p>\n",
        escape(&target_sentence(&plan.target))
    ));
    html.push_str("<h2>By this machine's measured costs</h2>\n<table>\n<tr>");
    for column in COMPONENT_COLUMNS {
        html.push_str(&format!("<th>{column}</th>"));
    }
    html.push_str("<th>need by operation (cores)</th></tr>\n");
    for c in &plan.components {
        let parts: Vec<String> = c
            .by_operation
            .iter()
            .map(|(operation, cores)| {
                format!(
                    "{} {cores:.3}",
                    operation.map_or("idle", |operation| operation.name())
                )
            })
            .collect();
        html.push_str("<tr>");
        for cell in component_cells(c) {
            html.push_str(&format!("<td>{}</td>", escape(&cell)));
        }
        html.push_str(&format!("<td>{}</td></tr>\n", escape(&parts.join(", "))));
    }
    html.push_str("</table>\n");
    if let Some(redis) = &plan.redis {
        html.push_str(&format!("<p>{}.</p>\n", escape(&redis_sentence(redis))));
    }
    html.push_str(&format!(
        "<h2>By Keycloak's published figures</h2>\n<p>{}.</p>\n<ul>\n",
        escape(&plan.reference.sentence())
    ));
    for figure in &plan.reference.figures {
        html.push_str(&format!("<li>{}</li>\n", escape(figure)));
    }
    for (heading, lines) in [
        ("Where they differ", &plan.differences),
        ("Assumptions", &plan.assumptions),
    ] {
        html.push_str(&format!("</ul>\n<h2>{heading}</h2>\n<ul>\n"));
        for line in lines {
            html.push_str(&format!("<li>{}</li>\n", escape(line)));
        }
    }
    html.push_str("</ul>\n</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use vocabulary::costs::ComponentModel;

    fn model(
        component: Component,
        costs: &[(Option<Operation>, f64)],
        bytes: f64,
    ) -> ComponentModel {
        ComponentModel {
            bytes_per_session: Some(bytes),
            ..ComponentModel::of_costs(component, costs.iter().copied())
        }
    }

    fn profile(backend: &str) -> Profile {
        Profile {
            schema_version: Profile::SCHEMA_VERSION,
            created_at: String::new(),
            machine: "test machine".into(),
            settings: BTreeMap::from([
                ("backend".into(), backend.into()),
                ("password_hash".into(), "plain".into()),
            ]),
            models: vec![
                model(
                    Component::Idp,
                    &[
                        (None, 0.0),
                        (Some(Operation::PasswordLogin), 0.001),
                        (Some(Operation::SsoAuthorization), 0.0005),
                    ],
                    0.0,
                ),
                model(
                    Component::Apps,
                    &[
                        (None, 0.05),
                        (Some(Operation::AppLogin), 0.0004),
                        (Some(Operation::CartRead), 0.00002),
                        (Some(Operation::CartWrite), 0.00003),
                    ],
                    200.0,
                ),
                model(
                    Component::Redis,
                    &[(None, 0.0), (Some(Operation::CartRead), 0.00001)],
                    100.0,
                ),
            ],
            mixes: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn target() -> Target {
        Target {
            logins: 500.0,
            sso_logins: 2000.0,
            cart_reads: 20_000.0,
            cart_writes: 1_000.0,
            sessions: 2_000_000,
            headroom: 0.5,
        }
    }

    fn shape() -> Shape {
        Shape {
            cores_per_instance: 2.0,
            redis_node_memory: 100_000_000,
            redis_replicas: 1,
        }
    }

    #[test]
    fn cores_are_each_rate_times_its_cost_with_headroom_and_instances_round_up() {
        let plan = plan(&target(), &shape(), &profile("redis"), "p.json");
        let idp = &plan.components[0];
        // 500 × 1 ms + 2000 × 0.5 ms = 1.5 cores; × 1.5 = 2.25; 2 cores each → 2 instances.
        assert!((idp.cores - 1.5).abs() < 1e-9);
        assert!((idp.cores_with_headroom - 2.25).abs() < 1e-9);
        assert_eq!(idp.instances, 2);
        assert_eq!(idp.session_memory, None);
        let apps = &plan.components[1];
        // 0.05 + 2500 × 0.4 ms + 20000 × 20 µs + 1000 × 30 µs = 1.48 cores.
        assert!((apps.cores - 1.48).abs() < 1e-9);
        assert_eq!(apps.session_memory, None, "sessions are in Redis");
        // Redis: 0.2 cores, but 2M × 100 B × 1.5 = 300 MB over 100 MB nodes: 3 primaries.
        let redis = plan.redis.as_ref().expect("a Redis plan");
        assert_eq!(redis.primaries, 3);
        assert_eq!(redis.bound_by, "memory");
        assert_eq!(redis.nodes, 6);
        assert_eq!(redis.slots_per_primary, 5462);
    }

    #[test]
    fn an_in_memory_backend_puts_the_sessions_in_the_apps_memory() {
        let mut profile = profile("dashmap");
        profile.models.retain(|m| m.component != Component::Redis);
        let plan = plan(&target(), &shape(), &profile, "p.json");
        assert!(plan.redis.is_none());
        // 2M × 200 B × 1.5.
        assert_eq!(plan.components[1].session_memory, Some(600_000_000));
        assert!(
            plan.assumptions
                .iter()
                .any(|a| a.contains("one app process"))
        );
    }

    #[test]
    fn keycloaks_figures_size_the_same_target_for_reference() {
        let reference = keycloak(&target());
        // 500 / 15 + 2000 / 120 = 50 vCPU; × 2.5 = 125; 3 per pod → 42 pods.
        assert!((reference.vcpu - 50.0).abs() < 1e-9);
        assert!((reference.vcpu_with_headroom - 125.0).abs() < 1e-9);
        assert_eq!(reference.pods, 42);
        assert!((reference.database_write_iops - 35_000.0).abs() < 1e-9);
        let plan = plan(&target(), &shape(), &profile("redis"), "p.json");
        assert!(
            plan.differences
                .iter()
                .any(|d| d.contains("--password-hash argon2")),
            "a plain-hash profile says what Keycloak's figure assumes"
        );
        let page = html(&plan);
        assert!(page.contains("By Keycloak's published figures"));
        assert!(page.contains("<td>redis</td>"));
        let text = text(&plan);
        assert!(text.contains("Redis: 3 primaries"), "{text}");
        assert!(
            page.contains("Redis: 3 primaries"),
            "the page says it in the same words"
        );
        assert!(text.contains("target: 500 password logins/s"), "{text}");
    }
}
