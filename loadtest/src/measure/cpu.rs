//! CPU time by side, read from `/proc`: this process's threads split into the stack's (the
//! in-process stack runtime's named threads) and the generator's (every other thread: the
//! generator's runtime, goose's control loop, the sampler), plus whole other processes counted
//! as the stack (a `redis-server` the run started, the process of `--target-pid`).
//!
//! Per thread, `/proc/<pid>/task/<tid>/schedstat` gives nanoseconds on CPU; where a kernel
//! lacks it, `stat`'s user and system ticks are used instead. A thread that exits between two
//! readings loses at most that interval's time.
//!
//! Beside the sides, the host's steal time (`/proc/stat`): CPU the hypervisor gave to other
//! guests while this one had work. Neither side sees it, and no pinning removes it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// Nanoseconds per clock tick of `/proc/*/stat` (USER_HZ, 100 on Linux).
const NANOS_PER_TICK: u64 = 10_000_000;

/// What a CPU reading covers.
#[derive(Debug, Clone)]
pub struct CpuSides {
    /// Threads of this process whose name is this are the stack's; `None`: no stack in-process.
    pub stack_thread_name: Option<&'static str>,
    /// Other processes whose CPU is the stack's.
    pub stack_pids: Vec<u32>,
    /// A process of the stack whose id can change during the run (the redis-server a fault
    /// restarts), read at every reading; 0 while none runs.
    pub moving_pid: Option<Arc<AtomicU32>>,
}

impl CpuSides {
    /// Processes besides this one whose CPU is the stack's.
    pub fn processes(&self) -> usize {
        let moving = self
            .moving_pid
            .as_ref()
            .is_some_and(|pid| pid.load(Ordering::Relaxed) != 0);
        self.stack_pids.len() + usize::from(moving)
    }
}

/// CPU used by each side since the previous reading, nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuDelta {
    pub generator_ns: u64,
    /// `None` when nothing is known of the stack's CPU (`--target` without `--target-pid`).
    pub stack_ns: Option<u64>,
}

/// Reads CPU by side, keeping each thread's last reading to report deltas.
#[derive(Debug)]
pub struct CpuMeter {
    sides: CpuSides,
    /// (pid, tid) → nanoseconds at the last reading.
    last: HashMap<(u32, u32), u64>,
}

impl CpuMeter {
    /// A meter whose first [`CpuMeter::read`] reports the time since this call.
    pub fn new(sides: CpuSides) -> Self {
        let mut meter = CpuMeter {
            sides,
            last: HashMap::new(),
        };
        let _ = meter.read();
        meter
    }

    /// CPU used by each side since the last reading.
    pub fn read(&mut self) -> CpuDelta {
        let own = std::process::id();
        let mut seen = HashMap::with_capacity(self.last.len());
        let mut delta = CpuDelta {
            generator_ns: 0,
            stack_ns: (self.sides.stack_thread_name.is_some()
                || !self.sides.stack_pids.is_empty()
                || self.sides.moving_pid.is_some())
            .then_some(0),
        };
        for thread in threads(own) {
            let used = self.used_since(&thread, &mut seen);
            let stack = self
                .sides
                .stack_thread_name
                .is_some_and(|name| thread.name == name);
            match (stack, &mut delta.stack_ns) {
                (true, Some(stack_ns)) => *stack_ns += used,
                _ => delta.generator_ns += used,
            }
        }
        let moving = self
            .sides
            .moving_pid
            .as_ref()
            .map(|pid| pid.load(Ordering::Relaxed))
            .filter(|pid| *pid != 0);
        for pid in self.sides.stack_pids.clone().into_iter().chain(moving) {
            for thread in threads(pid) {
                let used = self.used_since(&thread, &mut seen);
                if let Some(stack_ns) = &mut delta.stack_ns {
                    *stack_ns += used;
                }
            }
        }
        self.last = seen;
        delta
    }

    fn used_since(&self, thread: &Thread, seen: &mut HashMap<(u32, u32), u64>) -> u64 {
        let key = (thread.pid, thread.tid);
        seen.insert(key, thread.cpu_ns);
        // A thread born since the last reading used all of its time in between.
        thread
            .cpu_ns
            .saturating_sub(self.last.get(&key).copied().unwrap_or(0))
    }
}

/// One thread's name and CPU time.
#[derive(Debug)]
struct Thread {
    pid: u32,
    tid: u32,
    name: String,
    cpu_ns: u64,
}

/// The threads of process `pid` (none if it is gone).
fn threads(pid: u32) -> Vec<Thread> {
    let dir = format!("/proc/{pid}/task");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let tid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let path = entry.path();
            let name = std::fs::read_to_string(path.join("comm"))
                .map(|name| name.trim_end().to_owned())
                .unwrap_or_default();
            let cpu_ns = cpu_ns(&path)?;
            Some(Thread {
                pid,
                tid,
                name,
                cpu_ns,
            })
        })
        .collect()
}

/// A task's CPU time: `schedstat`'s first field, or `stat`'s utime + stime.
fn cpu_ns(task: &Path) -> Option<u64> {
    if let Ok(text) = std::fs::read_to_string(task.join("schedstat"))
        && let Some(ns) = text.split_whitespace().next().and_then(|n| n.parse().ok())
    {
        return Some(ns);
    }
    let stat = std::fs::read_to_string(task.join("stat")).ok()?;
    ticks_from_stat(&stat).map(|ticks| ticks * NANOS_PER_TICK)
}

/// A whole process's CPU time so far (its threads, living and ended), nanoseconds at the
/// kernel's tick's resolution; `None` where it is gone.
pub fn process_cpu_ns(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    ticks_from_stat(&stat).map(|ticks| ticks * NANOS_PER_TICK)
}

/// CPU time the hypervisor stole from this host so far, every CPU's together, nanoseconds
/// (`None` where `/proc/stat` has no steal column).
pub fn host_steal_ns() -> Option<u64> {
    steal_from_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)
        .map(|ticks| ticks * NANOS_PER_TICK)
}

/// The steal column (the 8th number) of `/proc/stat`'s `cpu` line, in ticks.
fn steal_from_proc_stat(text: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with("cpu "))?;
    line.split_whitespace().nth(8)?.parse().ok()
}

/// utime + stime from a `stat` line; the name field may hold spaces and parentheses, so
/// fields are counted after its last `)`.
fn ticks_from_stat(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name: state (3), ppid (4), ... utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_the_eighth_number_of_the_cpu_line() {
        let stat = "cpu  4705 356 584 3699176 23 0 7 1214 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
        assert_eq!(steal_from_proc_stat(stat), Some(1214));
        assert_eq!(steal_from_proc_stat("cpu  1 2 3\n"), None);
        assert!(host_steal_ns().is_some(), "/proc/stat on Linux has steal");
    }
    use std::time::{Duration, Instant};

    fn spin(for_how_long: Duration) {
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < for_how_long {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }

    #[test]
    fn a_named_thread_counts_as_the_stack_and_the_rest_as_the_generator() {
        let mut meter = CpuMeter::new(CpuSides {
            stack_thread_name: Some("cpu-test-stack"),
            stack_pids: Vec::new(),
            moving_pid: None,
        });
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let stack = std::thread::Builder::new()
            .name("cpu-test-stack".into())
            .spawn(move || {
                spin(Duration::from_millis(300));
                // Still alive at the reading: an exited thread's last interval is not counted.
                let _ = wait.recv();
            })
            .expect("spawn");
        spin(Duration::from_millis(100));
        std::thread::sleep(Duration::from_millis(400));
        let delta = meter.read();
        let _ = done.send(());
        stack.join().expect("join");
        let stack_ns = delta.stack_ns.expect("a stack side");
        assert!(stack_ns >= 150_000_000, "{delta:?}");
        assert!(delta.generator_ns >= 50_000_000, "{delta:?}");
    }

    #[test]
    fn without_a_stack_side_everything_is_the_generator() {
        let mut meter = CpuMeter::new(CpuSides {
            stack_thread_name: None,
            stack_pids: Vec::new(),
            moving_pid: None,
        });
        spin(Duration::from_millis(50));
        let delta = meter.read();
        assert_eq!(delta.stack_ns, None);
        assert!(delta.generator_ns >= 20_000_000, "{delta:?}");
    }

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let stat = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 1 0";
        assert_eq!(ticks_from_stat(stat), Some(280));
    }
}
