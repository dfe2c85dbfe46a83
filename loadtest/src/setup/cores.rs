//! Cores of their own for the generator and the in-process stack: when the process may use two
//! CPUs or more, the generator's runtime threads are pinned to the first share of them and the
//! stack's to the rest, in proportion to their thread counts, so neither steals the other's
//! core mid-run and a comparison's runs see the same placement. Recorded in the results'
//! environment (`CoreSplit`). A Redis server the stack starts inherits the stack's CPUs.

use reports::results::CoreSplit;

/// Whether a run pins its runtimes (`--pin`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Pin {
    /// Pin when the stack runs in this process and the process may use two CPUs or more.
    #[default]
    Auto,
    /// Leave placement to the kernel.
    Off,
}

/// The CPUs this process may run on (its affinity mask, which a container's cpuset narrows),
/// in order; empty when they cannot be read.
pub fn usable() -> Vec<usize> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..rustix::thread::CpuSet::MAX_CPU)
            .filter(|&cpu| set.is_set(cpu))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Splits `cpus` between the generator and the stack in proportion to their threads, each
/// side at least one CPU; `None` with fewer than two.
pub fn split(cpus: &[usize], generator_threads: usize, stack_threads: usize) -> Option<CoreSplit> {
    if cpus.len() < 2 {
        return None;
    }
    let total = (generator_threads + stack_threads).max(1);
    let generator = (cpus.len() * generator_threads)
        .div_ceil(total)
        .clamp(1, cpus.len() - 1);
    Some(CoreSplit {
        generator: cpus[..generator].to_vec(),
        stack: cpus[generator..].to_vec(),
    })
}

/// The split a run uses, from its flags and this machine: `None` when it does not pin (`--pin
/// off`, a stack that is not in this process, fewer than two usable CPUs). Asked once
/// (`RunArgs::core_split`), where the generator's runtime is built, before any thread is
/// pinned; the answer travels in `RunArgs::cores` to the stack's runtime and the results.
pub fn for_run(
    pin: Pin,
    in_process_stack: bool,
    generator_threads: usize,
    stack_threads: usize,
) -> Option<CoreSplit> {
    if pin == Pin::Off || !in_process_stack {
        return None;
    }
    split(&usable(), generator_threads, stack_threads)
}

/// Pins the calling thread to `cpus`. A failure (a kernel or sandbox that refuses) is said
/// once per thread on stderr and the thread runs unpinned: placement is an aid to steadier
/// figures, not a condition of the run.
pub fn pin_current_thread(cpus: &[usize]) {
    let mut set = rustix::thread::CpuSet::new();
    for &cpu in cpus {
        set.set(cpu);
    }
    if let Err(error) = rustix::thread::sched_setaffinity(None, &set) {
        eprintln!("warning: could not pin a thread to CPUs {cpus:?}: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpus_are_split_in_proportion_and_each_side_keeps_one() {
        let split_of = |cpus: &[usize], g, s| split(cpus, g, s).map(|c| (c.generator, c.stack));
        assert_eq!(split_of(&[0, 1], 1, 1), Some((vec![0], vec![1])));
        assert_eq!(
            split_of(&[0, 1, 2, 3], 2, 2),
            Some((vec![0, 1], vec![2, 3]))
        );
        assert_eq!(
            split_of(&[0, 1, 2, 3], 1, 3),
            Some((vec![0], vec![1, 2, 3]))
        );
        // However lopsided the threads, the stack keeps a CPU.
        assert_eq!(split_of(&[4, 5], 8, 1), Some((vec![4], vec![5])));
        assert_eq!(split_of(&[0], 1, 1), None);
    }

    #[test]
    fn this_process_can_read_its_cpus_and_pin_a_thread_to_one() {
        let cpus = usable();
        assert!(!cpus.is_empty(), "the affinity mask reads");
        std::thread::spawn(move || {
            pin_current_thread(&cpus[..1]);
            assert_eq!(
                usable(),
                cpus[..1],
                "the thread runs on the one CPU it was given"
            );
        })
        .join()
        .expect("the pinned thread");
    }
}
