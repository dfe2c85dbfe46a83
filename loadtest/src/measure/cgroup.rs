//! The generator's CPU limit and how often it was throttled, from its cgroup (`cpu.max` and
//! `cpu.stat` in cgroup v2; `cpu.cfs_quota_us`, `cpu.cfs_period_us` and `cpu.stat` in v1): a
//! pod with a CPU limit runs at most its quota each period (100 ms by default) and is stopped
//! until the next once it is spent — every thread, so requests go out late. Read before and
//! after the attack; the difference goes to the results and the generator-bound verdict.

use reports::results::CpuThrottling;
use std::path::Path;

/// One reading of the cgroup's CPU figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CgroupCpu {
    /// The quota in cores (`None`: no limit).
    pub limit_cores: Option<f64>,
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_us: u64,
}

impl CgroupCpu {
    /// This process's cgroup's figures now (`None` where the system has no CPU controller for
    /// it, or it cannot be read).
    pub fn read() -> Option<CgroupCpu> {
        let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let root = Path::new("/sys/fs/cgroup");
        match own_cgroup(&membership)? {
            Membership::V2(path) => {
                // A container without a cgroup namespace sees its host's path, but has its
                // own cgroup mounted at the root: the path where it exists, else the root.
                let dir = [root.join(path.trim_start_matches('/')), root.to_owned()]
                    .into_iter()
                    .find(|dir| dir.join("cpu.stat").is_file())?;
                let stat = std::fs::read_to_string(dir.join("cpu.stat")).ok()?;
                let max = std::fs::read_to_string(dir.join("cpu.max")).ok();
                parse_v2(&stat, max.as_deref())
            }
            Membership::V1(path) => {
                let dir = ["cpu,cpuacct", "cpu"]
                    .iter()
                    .flat_map(|controller| {
                        let mount = root.join(controller);
                        [mount.join(path.trim_start_matches('/')), mount]
                    })
                    .find(|dir| dir.join("cpu.stat").is_file())?;
                let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
                parse_v1(
                    &read("cpu.stat")?,
                    read("cpu.cfs_quota_us").as_deref(),
                    read("cpu.cfs_period_us").as_deref(),
                )
            }
        }
    }

    /// What happened between `self` and a later reading (`None` when the counters went back,
    /// as a different cgroup's would).
    pub fn since(&self, before: &CgroupCpu) -> Option<CpuThrottling> {
        Some(CpuThrottling {
            limit_cores: self.limit_cores,
            periods: self.periods.checked_sub(before.periods)?,
            throttled_periods: self
                .throttled_periods
                .checked_sub(before.throttled_periods)?,
            throttled_seconds: self.throttled_us.checked_sub(before.throttled_us)? as f64 / 1e6,
        })
    }
}

enum Membership {
    V2(String),
    V1(String),
}

/// The process's cgroup path: the v1 line of the cpu controller where there is one (a hybrid
/// system also lists an empty v2 hierarchy, `0::/`), else the v2 line (`0::/path`).
fn own_cgroup(membership: &str) -> Option<Membership> {
    let mut v2 = None;
    for line in membership.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        if controllers.is_empty() {
            v2 = Some(Membership::V2(path.to_owned()));
        } else if controllers.split(',').any(|controller| controller == "cpu") {
            return Some(Membership::V1(path.to_owned()));
        }
    }
    v2
}

fn field(stat: &str, name: &str) -> Option<u64> {
    stat.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

/// cgroup v2: `cpu.stat` (`nr_periods`, `nr_throttled`, `throttled_usec`) and `cpu.max`
/// (`max 100000` or `<quota> <period>`).
fn parse_v2(stat: &str, max: Option<&str>) -> Option<CgroupCpu> {
    let limit_cores = max.and_then(|max| {
        let (quota, period) = max.trim().split_once(' ')?;
        let (quota, period) = (quota.parse::<f64>().ok()?, period.parse::<f64>().ok()?);
        (period > 0.0).then(|| quota / period)
    });
    Some(CgroupCpu {
        limit_cores,
        periods: field(stat, "nr_periods").unwrap_or(0),
        throttled_periods: field(stat, "nr_throttled").unwrap_or(0),
        throttled_us: field(stat, "throttled_usec")?,
    })
}

/// cgroup v1: `cpu.stat` (`nr_periods`, `nr_throttled`, `throttled_time` in ns) and the CFS
/// quota and period (a quota of -1: no limit).
fn parse_v1(stat: &str, quota: Option<&str>, period: Option<&str>) -> Option<CgroupCpu> {
    let quota = quota.and_then(|quota| quota.trim().parse::<f64>().ok());
    let period = period.and_then(|period| period.trim().parse::<f64>().ok());
    let limit_cores = match (quota, period) {
        (Some(quota), Some(period)) if quota > 0.0 && period > 0.0 => Some(quota / period),
        _ => None,
    };
    Some(CgroupCpu {
        limit_cores,
        periods: field(stat, "nr_periods").unwrap_or(0),
        throttled_periods: field(stat, "nr_throttled").unwrap_or(0),
        throttled_us: field(stat, "throttled_time")? / 1_000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v2_limit_and_its_throttling_are_read() {
        let membership = "0::/kubepods/burstable/pod1/abc\n";
        assert!(
            matches!(own_cgroup(membership), Some(Membership::V2(path)) if path == "/kubepods/burstable/pod1/abc")
        );
        let before = parse_v2(
            "usage_usec 100\nuser_usec 80\nsystem_usec 20\nnr_periods 100\nnr_throttled 10\nthrottled_usec 500000\n",
            Some("200000 100000\n"),
        )
        .expect("v2");
        assert_eq!(before.limit_cores, Some(2.0));
        let after = parse_v2(
            "usage_usec 900\nnr_periods 300\nnr_throttled 60\nthrottled_usec 2500000\n",
            Some("200000 100000\n"),
        )
        .expect("v2");
        let throttling = after.since(&before).expect("later");
        assert_eq!(throttling.periods, 200);
        assert_eq!(throttling.throttled_periods, 50);
        assert_eq!(throttling.throttled_seconds, 2.0);
        assert_eq!(throttling.share(), Some(0.25));
        // No limit: `max`; and counters that went back are not a difference.
        let unlimited = parse_v2(
            "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
            Some("max 100000"),
        )
        .expect("v2");
        assert_eq!(unlimited.limit_cores, None);
        assert_eq!(before.since(&after), None);
    }

    #[test]
    fn a_v1_limit_and_its_throttling_are_read() {
        // A hybrid system lists an empty v2 hierarchy too: the v1 cpu controller is read.
        let membership = "12:memory:/x\n4:cpu,cpuacct:/kubepods/pod2\n1:name=systemd:/y\n0::/\n";
        assert!(
            matches!(own_cgroup(membership), Some(Membership::V1(path)) if path == "/kubepods/pod2")
        );
        let read = parse_v1(
            "nr_periods 40\nnr_throttled 4\nthrottled_time 3000000000\n",
            Some("50000\n"),
            Some("100000\n"),
        )
        .expect("v1");
        assert_eq!(read.limit_cores, Some(0.5));
        assert_eq!(read.throttled_us, 3_000_000);
        let unlimited = parse_v1(
            "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
            Some("-1"),
            Some("100000"),
        )
        .expect("v1");
        assert_eq!(unlimited.limit_cores, None);
    }
}
