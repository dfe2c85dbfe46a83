//! Coordination faults on purpose, a test device: `--worker-fault K:KIND` makes worker K (1-based)
//! of a coordinated run misbehave, so tests (and anyone trying the coordinator) can check that
//! the run ends naming it: never ready, gone mid-run (as an evicted pod), results never sent,
//! or a wall clock set off.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How a worker misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Misbehaviour {
    /// Sets up, then never says it is ready.
    NeverReady,
    /// Released, it makes load for a second and then vanishes without a word (exit code 3),
    /// as a pod that is evicted or killed.
    ExitMidRun,
    /// Runs to the end and exits without sending its results.
    WithholdResults,
    /// Its wall clock reads this much ahead of the true time (at the coordinator exchanges).
    ClockOff(Duration),
}

/// `K:KIND`: worker K's misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerFault {
    /// 1-based, as the run's messages and folders name workers.
    pub worker: usize,
    pub misbehaviour: Misbehaviour,
}

impl FromStr for WorkerFault {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = "K:never-ready, K:exit-mid-run, K:withhold-results or K:clock-off=DURATION";
        let (worker, kind) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}`: expected {usage}"))?;
        let worker: usize = worker
            .parse()
            .ok()
            .filter(|worker| *worker >= 1)
            .ok_or_else(|| format!("`{text}`: workers are numbered from 1"))?;
        let misbehaviour = match kind {
            "never-ready" => Misbehaviour::NeverReady,
            "exit-mid-run" => Misbehaviour::ExitMidRun,
            "withhold-results" => Misbehaviour::WithholdResults,
            _ => match kind.strip_prefix("clock-off=") {
                Some(by) => Misbehaviour::ClockOff(
                    humantime::parse_duration(by).map_err(|error| format!("`{text}`: {error}"))?,
                ),
                None => return Err(format!("`{text}`: expected {usage}")),
            },
        };
        Ok(WorkerFault {
            worker,
            misbehaviour,
        })
    }
}

impl fmt::Display for WorkerFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.worker)?;
        match self.misbehaviour {
            Misbehaviour::NeverReady => f.write_str("never-ready"),
            Misbehaviour::ExitMidRun => f.write_str("exit-mid-run"),
            Misbehaviour::WithholdResults => f.write_str("withhold-results"),
            Misbehaviour::ClockOff(by) => {
                write!(f, "clock-off={}", humantime::format_duration(by))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_read_and_print_alike() {
        for text in [
            "1:never-ready",
            "2:exit-mid-run",
            "3:withhold-results",
            "2:clock-off=2s",
        ] {
            let fault: WorkerFault = text.parse().expect(text);
            assert_eq!(fault.to_string(), text);
        }
        assert_eq!(
            "2:clock-off=1500ms".parse::<WorkerFault>(),
            Ok(WorkerFault {
                worker: 2,
                misbehaviour: Misbehaviour::ClockOff(Duration::from_millis(1500)),
            })
        );
        for wrong in [
            "0:never-ready",
            "never-ready",
            "1:sleep",
            "1:clock-off=soon",
        ] {
            assert!(wrong.parse::<WorkerFault>().is_err(), "{wrong}");
        }
    }
}
