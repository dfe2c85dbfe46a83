//! `--fault KIND@AT+DOWN`: parsed, printed back, and checked against what the run owns.

use std::fmt;
use std::time::Duration;

/// What a fault does.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// SIGKILL to the `redis-server` the run started; the same server (port, directory,
    /// persistence) started again after DOWN.
    RedisRestart,
    /// SIGSTOP to that `redis-server`, SIGCONT after DOWN: a hung store, not a dead one.
    RedisPause,
    /// The stack stalled: the in-process stack's pause gate closed (requests wait, connections
    /// stay open), or SIGSTOP/SIGCONT to the process of `--target-pid`.
    StackPause,
}

impl FaultKind {
    pub const ALL: [FaultKind; 3] = [
        FaultKind::RedisRestart,
        FaultKind::RedisPause,
        FaultKind::StackPause,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::RedisRestart => "redis-restart",
            FaultKind::RedisPause => "redis-pause",
            FaultKind::StackPause => "stack-pause",
        }
    }

    /// The fault in words, for verdicts ("Redis restart").
    pub fn title(self) -> &'static str {
        match self {
            FaultKind::RedisRestart => "Redis restart",
            FaultKind::RedisPause => "Redis pause",
            FaultKind::StackPause => "Stack pause",
        }
    }

    /// What ends the fault, in words ("the restart").
    pub fn end_word(self) -> &'static str {
        match self {
            FaultKind::RedisRestart => "the restart",
            FaultKind::RedisPause | FaultKind::StackPause => "the continue",
        }
    }
}

/// One fault of a run: `kind` at `at` after the start of the measured run, for `down`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FaultSpec {
    pub kind: FaultKind,
    pub at: Duration,
    pub down: Duration,
}

impl FaultSpec {
    /// When the fault is planned to end, from the start of the measured run.
    pub fn until(&self) -> Duration {
        self.at + self.down
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{}+{}",
            self.kind.name(),
            humantime::format_duration(self.at),
            humantime::format_duration(self.down)
        )
    }
}

/// `KIND@AT+DOWN`, e.g. `redis-restart@10s+3s`.
pub fn parse_fault(text: &str) -> Result<FaultSpec, String> {
    let usage = || {
        format!(
            "{text:?}: expected KIND@AT+DOWN, e.g. redis-restart@10s+3s (KIND: {})",
            FaultKind::ALL.map(FaultKind::name).join(", ")
        )
    };
    let (kind, times) = text.split_once('@').ok_or_else(usage)?;
    let (at, down) = times.split_once('+').ok_or_else(usage)?;
    let kind = FaultKind::ALL
        .into_iter()
        .find(|k| k.name() == kind.trim())
        .ok_or_else(usage)?;
    let parse = |part: &str| {
        humantime::parse_duration(part.trim())
            .map_err(|error| format!("{text:?}: {part:?}: {error}"))
    };
    let (at, down) = (parse(at)?, parse(down)?);
    if down.is_zero() {
        return Err(format!("{text:?}: DOWN must be longer than zero"));
    }
    Ok(FaultSpec { kind, at, down })
}

/// What a run owns, for deciding which faults it may inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership {
    /// The run started the `redis-server` its stack uses (`--backend redis` without
    /// `--redis-url`, in-process stack).
    pub redis: bool,
    /// The stack runs in this process.
    pub in_process_stack: bool,
    /// `--target-pid` names the stack's process.
    pub target_pid: bool,
}

/// Refuses faults the run does not own what to fault for, faults that do not fit in the run,
/// and faults that overlap (each fault's figures need a window of its own).
pub fn validate(faults: &[FaultSpec], run_time: Duration, owns: Ownership) -> Result<(), String> {
    for fault in faults {
        match fault.kind {
            FaultKind::RedisRestart | FaultKind::RedisPause if !owns.redis => {
                return Err(format!(
                    "--fault {fault}: the run can only fault a redis-server it started itself \
                     (--backend redis without --redis-url, and no --target)"
                ));
            }
            FaultKind::StackPause if !owns.in_process_stack && !owns.target_pid => {
                return Err(format!(
                    "--fault {fault}: with --target the run pauses the stack's process only when \
                     --target-pid names it"
                ));
            }
            _ => {}
        }
        if fault.until() > run_time {
            return Err(format!(
                "--fault {fault}: ends at {} but the run lasts {}",
                humantime::format_duration(fault.until()),
                humantime::format_duration(run_time)
            ));
        }
    }
    let mut sorted: Vec<&FaultSpec> = faults.iter().collect();
    sorted.sort_by_key(|fault| fault.at);
    for pair in sorted.windows(2) {
        if pair[1].at < pair[0].until() {
            return Err(format!(
                "--fault {} begins before --fault {} ends: faults must not overlap",
                pair[1], pair[0]
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNS_ALL: Ownership = Ownership {
        redis: true,
        in_process_stack: true,
        target_pid: false,
    };

    #[test]
    fn parses_and_prints_back() {
        let fault = parse_fault("redis-restart@10s+3s").expect("parses");
        assert_eq!(fault.kind, FaultKind::RedisRestart);
        assert_eq!(fault.at, Duration::from_secs(10));
        assert_eq!(fault.down, Duration::from_secs(3));
        assert_eq!(fault.to_string(), "redis-restart@10s+3s");
        let fault = parse_fault("stack-pause@1500ms+250ms").expect("parses");
        assert_eq!(fault.until(), Duration::from_millis(1750));
        assert_eq!(parse_fault(&fault.to_string()), Ok(fault));
    }

    #[test]
    fn bad_specs_say_what_is_expected() {
        for bad in [
            "redis-restart",
            "redis-restart@10s",
            "disk-full@1s+1s",
            "redis-pause@ten+1s",
            "redis-pause@1s+0s",
        ] {
            let error = parse_fault(bad).expect_err(bad);
            assert!(error.contains(bad), "{error}");
        }
        assert!(
            parse_fault("x@1s+1s")
                .expect_err("kind")
                .contains("redis-restart, redis-pause, stack-pause")
        );
    }

    #[test]
    fn faults_must_be_owned_fit_and_not_overlap() {
        let run = Duration::from_secs(16);
        let restart = parse_fault("redis-restart@6s+3s").expect("spec");
        let pause = parse_fault("stack-pause@2s+1s").expect("spec");
        assert_eq!(validate(&[restart, pause], run, OWNS_ALL), Ok(()));

        let not_ours = Ownership {
            redis: false,
            ..OWNS_ALL
        };
        assert!(
            validate(&[restart], run, not_ours)
                .expect_err("external redis")
                .contains("a redis-server it started itself")
        );
        let target_without_pid = Ownership {
            redis: false,
            in_process_stack: false,
            target_pid: false,
        };
        assert!(
            validate(&[pause], run, target_without_pid)
                .expect_err("target without pid")
                .contains("--target-pid")
        );
        let target_with_pid = Ownership {
            target_pid: true,
            ..target_without_pid
        };
        assert_eq!(validate(&[pause], run, target_with_pid), Ok(()));

        let late = parse_fault("redis-pause@15s+2s").expect("spec");
        assert!(
            validate(&[late], run, OWNS_ALL)
                .expect_err("too late")
                .contains("ends at 17s but the run lasts 16s")
        );
        let overlapping = parse_fault("stack-pause@8s+1s").expect("spec");
        assert!(
            validate(&[restart, overlapping], run, OWNS_ALL)
                .expect_err("overlap")
                .contains("must not overlap")
        );
    }
}
