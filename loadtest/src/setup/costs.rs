//! What the stack's work cost over a run, component by component: each service's own count of
//! its operations (asked at `OPERATIONS_ROUTE` before and after the attack) against the CPU and
//! memory of the processes that serve it, read from `/proc`. Only a stack whose services run in
//! processes of their own can be split this way; the redis-servers under it are a component of
//! their own. Read twice per run, outside the measured path.

use crate::http::Outgoing;
use crate::users::context::Targets;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use vocabulary::Service;
use vocabulary::costs::{
    Component, ComponentCost, Costs, OPERATIONS_ROUTE, Operation, ServiceOperations,
};

/// How long one service may take to tell its counts.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a run's costs are read: the services' counts and the process trees under `roots`.
#[derive(Debug, Clone)]
pub struct CostMeter {
    targets: Targets,
    roots: Vec<u32>,
}

/// The counts and the processes' CPU at one instant.
#[derive(Debug, Clone)]
pub struct CostReading {
    at: Instant,
    services: Vec<ServiceOperations>,
    /// CPU nanoseconds so far and resident bytes, by pid.
    processes: BTreeMap<u32, (u64, u64)>,
    /// The redis-servers among the processes.
    redis: BTreeSet<u32>,
}

impl CostMeter {
    /// A meter for the services of `targets`, served by the processes under `roots`.
    pub fn new(targets: Targets, roots: Vec<u32>) -> Self {
        CostMeter { targets, roots }
    }

    /// Asks every instance of every service for its counts, and reads every process's CPU.
    pub async fn read(&self) -> Result<CostReading, String> {
        let origins = &self.targets.origins;
        let mut client = self.targets.check_client(ASK_TIMEOUT);
        let request = Outgoing::get(OPERATIONS_ROUTE);
        let mut services = Vec::new();
        for (site, details) in origins.sites() {
            // The client takes a site's instances in turn: one request each.
            for _ in details.instances() {
                let reply = client
                    .send(origins, site, &request)
                    .await
                    .map_err(|error| format!("asking a service for its counts: {error}"))?;
                if reply.status != 200 {
                    return Err(format!(
                        "a service answered {} at {OPERATIONS_ROUTE}: it counts no operations \
                         (only ssobench's own services do)",
                        reply.status
                    ));
                }
                let told: ServiceOperations = serde_json::from_slice(&reply.body)
                    .map_err(|error| format!("a service's counts: {error}"))?;
                services.push(told);
            }
        }
        let mut processes = BTreeMap::new();
        let mut redis = BTreeSet::new();
        for &root in &self.roots {
            for pid in crate::setup::process_stack::process_tree(root) {
                let Some(cpu) = crate::measure::cpu::process_cpu_ns(pid) else {
                    continue;
                };
                let rss = crate::measure::memory::resident_bytes_of(pid).unwrap_or(0);
                processes.insert(pid, (cpu, rss));
                let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if name.starts_with("redis-server") {
                    redis.insert(pid);
                }
            }
        }
        Ok(CostReading {
            at: Instant::now(),
            services,
            processes,
            redis,
        })
    }
}

impl CostReading {
    /// What each process read is called on a report: the services it serves (`idp`, `store`;
    /// `store 2` for a service's second instance; `idp+store` for a process serving both), a
    /// Redis server by its port, anything else by its command.
    pub fn process_names(&self) -> BTreeMap<u32, String> {
        let mut served: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for service in [Service::Idp, Service::Store, Service::Forums] {
            let instances: Vec<u32> = self
                .services
                .iter()
                .filter(|told| told.service == service)
                .map(|told| told.pid)
                .collect();
            for (at, &pid) in instances.iter().enumerate() {
                let name = if instances.len() > 1 {
                    format!("{service} {}", at + 1)
                } else {
                    service.to_string()
                };
                served.entry(pid).or_default().push(name);
            }
        }
        self.processes
            .keys()
            .map(|&pid| {
                let name = match served.get(&pid) {
                    Some(services) => services.join("+"),
                    None => crate::measure::gauges::process_name(pid),
                };
                (pid, name)
            })
            .collect()
    }
}

/// Each component's CPU and memory between two readings, against its operations.
pub fn between(before: &CostReading, after: &CostReading) -> Result<Costs, String> {
    let mut owner: BTreeMap<u32, Component> = BTreeMap::new();
    for told in &after.services {
        let component = match told.service {
            Service::Idp => Component::Idp,
            Service::Store | Service::Forums => Component::Apps,
        };
        // Each instance's counts and CPU are taken apart between the two readings: one that
        // was not there at both (restarted, gone, or outside the processes read) would count
        // its operations without their CPU.
        let seen_before = before
            .services
            .iter()
            .any(|earlier| earlier.service == told.service && earlier.pid == told.pid);
        if !seen_before
            || !before.processes.contains_key(&told.pid)
            || !after.processes.contains_key(&told.pid)
        {
            return Err(format!(
                "the {} served by process {} was not read both before and after the run \
                 (restarted, gone, or not under the processes given): its operations would \
                 count without their CPU",
                told.service, told.pid
            ));
        }
        if let Some(other) = owner.insert(told.pid, component)
            && other != component
        {
            return Err(format!(
                "process {} serves the {other} and the {component}: its CPU cannot be split \
                 between them (start the stack with --stack-processes, or serve it with \
                 `serve --separate-processes`)",
                told.pid
            ));
        }
    }
    for &pid in &after.redis {
        owner.insert(pid, Component::Redis);
    }
    let mut components = Vec::new();
    for component in Component::ALL {
        let pids: Vec<u32> = owner
            .iter()
            .filter(|(_, owned)| **owned == component)
            .map(|(pid, _)| *pid)
            .collect();
        if pids.is_empty() {
            continue;
        }
        let mut cpu_ns = 0;
        let mut resident_bytes = 0;
        for pid in &pids {
            let Some(&(cpu_after, rss)) = after.processes.get(pid) else {
                continue;
            };
            // A process born in between used all of its time in between.
            let cpu_before = before.processes.get(pid).map_or(0, |(cpu, _)| *cpu);
            cpu_ns += cpu_after.saturating_sub(cpu_before);
            resident_bytes += rss;
        }
        let counted = |reading: &CostReading, operation: Operation| -> u64 {
            reading
                .services
                .iter()
                .filter(|told| component.counted_by().contains(&told.service))
                .map(|told| told.count(operation))
                .sum()
        };
        let operations = Operation::ALL
            .iter()
            .filter_map(|&operation| {
                // Every instance was read at both ends (checked above): the sums subtract.
                let done = counted(after, operation).saturating_sub(counted(before, operation));
                (done > 0).then_some((operation, done))
            })
            .collect();
        components.push(ComponentCost {
            component,
            processes: pids.len() as u32,
            cpu_seconds: cpu_ns as f64 / 1e9,
            resident_bytes,
            operations,
        });
    }
    Ok(Costs {
        seconds: after.at.duration_since(before.at).as_secs_f64(),
        components,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn told(service: Service, pid: u32, counts: &[(Operation, u64)]) -> ServiceOperations {
        ServiceOperations {
            service,
            pid,
            counts: counts.iter().copied().collect(),
        }
    }

    fn reading(
        seconds: u64,
        services: Vec<ServiceOperations>,
        cpu: &[(u32, u64)],
        redis: &[u32],
    ) -> CostReading {
        CostReading {
            at: Instant::now() + Duration::from_secs(seconds),
            services,
            processes: cpu.iter().map(|&(pid, ns)| (pid, (ns, 1 << 20))).collect(),
            redis: redis.iter().copied().collect(),
        }
    }

    #[test]
    fn each_component_gets_its_processes_cpu_and_its_services_counts() {
        let before = reading(
            0,
            vec![
                told(Service::Idp, 10, &[(Operation::PasswordLogin, 5)]),
                told(Service::Store, 11, &[(Operation::CartRead, 100)]),
                told(Service::Forums, 12, &[(Operation::AppLogin, 1)]),
            ],
            &[(10, 1_000_000_000), (11, 0), (12, 0), (13, 0)],
            &[13],
        );
        let after = reading(
            10,
            vec![
                told(Service::Idp, 10, &[(Operation::PasswordLogin, 25)]),
                told(Service::Store, 11, &[(Operation::CartRead, 400)]),
                told(Service::Forums, 12, &[(Operation::AppLogin, 31)]),
            ],
            // Process 14, a redis-server born in between, counts whole.
            &[
                (10, 3_000_000_000),
                (11, 500_000_000),
                (12, 250_000_000),
                (13, 100_000_000),
                (14, 50_000_000),
            ],
            &[13, 14],
        );
        let costs = between(&before, &after).expect("costs");
        let idp = costs.component(Component::Idp).expect("the IdP");
        assert_eq!(idp.processes, 1);
        assert!((idp.cpu_seconds - 2.0).abs() < 1e-9);
        assert_eq!(idp.count(Operation::PasswordLogin), 20);
        let apps = costs.component(Component::Apps).expect("the apps");
        assert_eq!(apps.processes, 2);
        assert!((apps.cpu_seconds - 0.75).abs() < 1e-9);
        assert_eq!(apps.count(Operation::CartRead), 300);
        assert_eq!(apps.count(Operation::AppLogin), 30);
        let redis = costs.component(Component::Redis).expect("Redis");
        assert_eq!(redis.processes, 2);
        assert!((redis.cpu_seconds - 0.15).abs() < 1e-9);
        // Redis holds the IdP's sessions and the apps': driven by both's operations.
        assert_eq!(redis.count(Operation::CartRead), 300);
        assert_eq!(redis.count(Operation::PasswordLogin), 20);
        assert_eq!(redis.resident_bytes, 2 << 20);
    }

    #[test]
    fn an_instance_not_read_at_both_ends_is_refused_with_why() {
        let before = reading(0, vec![told(Service::Store, 11, &[])], &[(11, 0)], &[]);
        // Restarted: another process serves the store now.
        let after = reading(1, vec![told(Service::Store, 12, &[])], &[(12, 5)], &[]);
        let error = between(&before, &after).expect_err("refused");
        assert!(error.contains("not read both before and after"), "{error}");
        // Its process could not be read at the end.
        let after = reading(1, vec![told(Service::Store, 11, &[])], &[], &[]);
        assert!(between(&before, &after).is_err());
    }

    #[test]
    fn services_sharing_a_process_are_refused_with_why() {
        let services = vec![told(Service::Idp, 10, &[]), told(Service::Store, 10, &[])];
        let before = reading(0, services.clone(), &[(10, 0)], &[]);
        let after = reading(1, services, &[(10, 5)], &[]);
        let error = between(&before, &after).expect_err("refused");
        assert!(error.contains("cannot be split"), "{error}");
    }
}
