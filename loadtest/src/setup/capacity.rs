//! What a run needs of this machine, checked before anything starts: descriptors for its users'
//! connections (both ends of each with an in-process stack) and memory for its users. A run the
//! process cannot hold is refused with the arithmetic, rather than failing late with "Too many
//! open files" after its users have started.

use crate::error::{RunError, RunResult};
use crate::http::SourceAddrs;
use crate::setup::args::{RunArgs, ScenarioName};
use mock_services::limits::OpenFiles;
use std::time::Duration;

/// Descriptors kept for what is not a user's connection: the interval logs, the run's files,
/// `/proc` reads, the runtime's own.
pub const RESERVED: u64 = 512;

/// Resident memory a user is counted at for the check: about three times the measured cost
/// (17.5 KiB per idle user of the cart scenario), so that busy users fit too.
pub const MEMORY_PER_USER: u64 = 64 * 1024;

/// What a run is expected to need.
#[derive(Debug, Clone, PartialEq)]
pub struct Needs {
    pub users: u64,
    /// Connections one user opens: one per instance of each site its scenarios visit.
    pub connections_per_user: u64,
    /// The share of a user's connections open at a time: 1, or less when the idle limit is
    /// shorter than the think time (connections are then closed while users think).
    pub held: f64,
    /// Each connection is two descriptors when the stack runs in this process.
    pub ends: u64,
    pub descriptors: u64,
    pub memory_bytes: u64,
}

impl Needs {
    /// What `args` needs, with an in-process stack or not.
    pub fn of(args: &RunArgs, in_process: bool) -> Needs {
        let instances = (args.instances as u64).max(args.target.len() as u64).max(1);
        let connections_per_user = args
            .scenarios()
            .iter()
            .map(|(name, _)| match name {
                // The IdP, and the store's instances.
                ScenarioName::Cart | ScenarioName::CartView => 1 + instances,
                // The IdP, the store's and the forums' instances.
                ScenarioName::Journey => 1 + 2 * instances,
                // The browser's IdP and store, and the attacker's store.
                ScenarioName::Stolen => 1 + 2 * instances,
            })
            .max()
            .unwrap_or(1);
        let held = held_share(args.keep_alive_idle(), args.wait);
        let users = args.users as u64;
        let ends = if in_process { 2 } else { 1 };
        let connections = (users * connections_per_user) as f64 * held;
        Needs {
            users,
            connections_per_user,
            held,
            ends,
            descriptors: connections.ceil() as u64 * ends + RESERVED,
            memory_bytes: users * MEMORY_PER_USER,
        }
    }

    /// Refuses what `limit` (descriptors) or `available` (memory, bytes) cannot hold.
    pub fn check(&self, limit: Option<OpenFiles>, available: Option<u64>) -> RunResult<()> {
        if let Some(limit) = limit
            && self.descriptors > limit.soft
        {
            return Err(RunError::refused(format!(
                "{} users need about {} descriptors ({} users × {} connections each{}{} + {} \
                 kept for files), more than this process may open ({}, its hard limit {}). \
                 Give the users an idle limit below their think time (--keep-alive-idle, with \
                 --wait), run fewer users, or spread them over --workers (each a process of \
                 its own){}",
                self.users,
                self.descriptors,
                self.users,
                self.connections_per_user,
                if self.held < 1.0 {
                    format!(" × {:.2} held at a time", self.held)
                } else {
                    String::new()
                },
                if self.ends == 2 {
                    " × 2 ends with the stack in this process"
                } else {
                    ""
                },
                RESERVED,
                limit.soft,
                limit.hard,
                if self.ends == 2 {
                    ", or run the stack apart (`mock-services serve` and --target)"
                } else {
                    ""
                },
            )));
        }
        if let Some(available) = available
            && self.memory_bytes > available
        {
            return Err(RunError::refused(format!(
                "{} users need about {} MiB ({} users × {} KiB each, counted generously), more \
                 than this machine has available ({} MiB). Run fewer users, or spread them over \
                 machines",
                self.users,
                self.memory_bytes >> 20,
                self.users,
                MEMORY_PER_USER >> 10,
                available >> 20,
            )));
        }
        Ok(())
    }
}

/// The share of its connections a user holds open: all of them, unless it closes them after
/// `idle` while it thinks for `think` — then about (idle + 1 s of visit) ÷ the mean think.
fn held_share(idle: Option<Duration>, think: Option<(Duration, Duration)>) -> f64 {
    match (idle, think) {
        (Some(idle), Some((low, high))) => {
            let mean = (low + high).as_secs_f64() / 2.0;
            if mean <= 0.0 {
                1.0
            } else {
                ((idle.as_secs_f64() + 1.0) / mean).min(1.0)
            }
        }
        _ => 1.0,
    }
}

/// Ports one source address has towards one destination: the ephemeral range's size (from
/// `/proc/sys/net/ipv4/ip_local_port_range`; 28,232 by Linux's default).
pub fn ephemeral_ports() -> u64 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut parts = text.split_whitespace().map(|n| n.parse::<u64>().ok());
            Some(parts.next()??..=parts.next()??)
        })
        .map_or(28_232, |range| range.end() + 1 - range.start())
}

/// Whether the kernel reuses a TIME_WAIT port for a new connection to loopback
/// (`tcp_tw_reuse` 1, or 2: loopback only, Linux's default): then closed connections do not
/// hold ports on loopback.
pub fn time_wait_reused_on_loopback() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_tw_reuse")
        .is_ok_and(|text| matches!(text.trim(), "1" | "2"))
}

/// How long a closed connection's port stays in TIME_WAIT on Linux.
pub const TIME_WAIT: Duration = Duration::from_secs(60);

impl Needs {
    /// Ports each destination needs from one source: the connections open to it at once
    /// (every user's, at most one each), plus — where TIME_WAIT ports are not reused — those a
    /// minute of closing leaves behind.
    pub fn ports_per_destination(&self, think: Option<(Duration, Duration)>, reused: bool) -> u64 {
        let open = (self.users as f64 * self.held).ceil() as u64;
        let churn = match think {
            Some((low, high)) if self.held < 1.0 && !reused => {
                let mean = ((low + high).as_secs_f64() / 2.0).max(1.0);
                (self.users as f64 / mean * TIME_WAIT.as_secs_f64()).ceil() as u64
            }
            _ => 0,
        };
        open + churn
    }
}

/// The source addresses a run uses: `--source-addrs`; or, against loopback IPv4 targets when
/// one address's ports would not do, as many loopback addresses as needed (with the figures
/// that chose them); or none (the kernel's choice).
pub fn source_addrs(
    args: &RunArgs,
    loopback_v4: bool,
    in_process: bool,
) -> (Option<SourceAddrs>, Option<String>) {
    if let Some(given) = &args.source_addrs {
        return (Some(given.clone()), None);
    }
    if !loopback_v4 {
        return (None, None);
    }
    let needs = Needs::of(args, in_process);
    let reused = time_wait_reused_on_loopback();
    let ports = needs.ports_per_destination(args.wait, reused);
    let usable = ephemeral_ports() * 9 / 10;
    if ports <= usable {
        return (None, None);
    }
    let count = ports.div_ceil(usable.max(1)) as usize;
    let sources = SourceAddrs::loopback(count);
    let why = format!(
        "source addresses {}: about {ports} ports to one destination ({} users{}), more than \
         one address's {usable} (90% of its ephemeral range)",
        sources.describe(),
        needs.users,
        if reused {
            String::new()
        } else {
            " and a minute of TIME_WAIT, which this kernel does not reuse".into()
        }
    );
    (Some(sources), Some(why))
}

/// Memory the machine has available (`MemAvailable`), bytes.
pub fn memory_available() -> Option<u64> {
    crate::measure::memory::kib_field(
        &std::fs::read_to_string("/proc/meminfo").ok()?,
        "MemAvailable",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(users: usize) -> RunArgs {
        RunArgs {
            users,
            scenarios: vec![(ScenarioName::Cart, 1)],
            ..RunArgs::default()
        }
    }

    const LIMIT: OpenFiles = OpenFiles {
        soft: 20_000,
        hard: 20_000,
    };

    #[test]
    fn users_that_keep_their_connections_are_refused_past_the_limit_with_the_arithmetic() {
        let needs = Needs::of(&args(9_000), false);
        assert_eq!(needs.connections_per_user, 2);
        assert_eq!(needs.descriptors, 9_000 * 2 + RESERVED);
        assert!(needs.check(Some(LIMIT), None).is_ok());
        let needs = Needs::of(&args(10_000), false);
        let refused = needs.check(Some(LIMIT), None).expect_err("20,512 > 20,000");
        let message = refused.to_string();
        assert!(
            message.contains("20512 descriptors") && message.contains("10000 users × 2"),
            "{message}"
        );
        // With the stack in this process both ends count.
        let needs = Needs::of(&args(5_000), true);
        assert_eq!(needs.descriptors, 5_000 * 2 * 2 + RESERVED);
        assert!(needs.check(Some(LIMIT), None).is_err());
    }

    #[test]
    fn an_idle_limit_below_the_think_time_holds_a_share() {
        let mut run = args(100_000);
        run.wait = Some((Duration::from_secs(20), Duration::from_secs(40)));
        run.keep_alive_idle = Some(crate::setup::args::IdleLimit(Some(Duration::from_secs(2))));
        let needs = Needs::of(&run, false);
        assert!((needs.held - 0.1).abs() < 1e-9, "{}", needs.held);
        assert_eq!(needs.descriptors, 20_000 + RESERVED);
        assert!(needs.check(Some(LIMIT), None).is_err());
        run.keep_alive_idle = Some(crate::setup::args::IdleLimit(Some(Duration::from_secs(1))));
        let needs = Needs::of(&run, false);
        assert!(needs.check(Some(LIMIT), None).is_ok(), "{needs:?}");
    }

    #[test]
    fn more_ports_than_one_address_has_take_more_loopback_sources() {
        let needs = Needs::of(&args(9_000), false);
        assert_eq!(needs.ports_per_destination(None, true), 9_000);
        let mut run = args(100_000);
        run.wait = Some((Duration::from_secs(20), Duration::from_secs(40)));
        run.keep_alive_idle = Some(crate::setup::args::IdleLimit(Some(Duration::from_secs(1))));
        let needs = Needs::of(&run, false);
        // 100,000 × 2/30 open, and 100,000/30 closed a second for 60 s where not reused.
        assert_eq!(needs.ports_per_destination(run.wait, true), 6_667);
        assert_eq!(
            needs.ports_per_destination(run.wait, false),
            6_667 + 200_000
        );
        let (chosen, _) = source_addrs(&run, false, false);
        assert_eq!(chosen, None, "never chosen for targets beyond loopback");
        run.source_addrs = Some(SourceAddrs::loopback(3));
        let (chosen, why) = source_addrs(&run, true, false);
        assert_eq!(chosen.map(|s| s.len()), Some(3));
        assert_eq!(why, None, "given, not chosen");
    }

    #[test]
    fn memory_is_checked_too() {
        let needs = Needs::of(&args(1_000), false);
        assert!(needs.check(None, Some(1 << 30)).is_ok());
        let message = needs
            .check(None, Some(16 << 20))
            .expect_err("64 MB > 16 MB")
            .to_string();
        assert!(message.contains("62 MiB"), "{message}");
    }
}
