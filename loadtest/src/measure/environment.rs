//! The machine and build facts recorded with every result, so numbers can be compared honestly.

use reports::results::{CoreSplit, Environment};

/// Reads what can be read about this machine and build; `cores` is the run's pinning.
pub fn capture(tokio_worker_threads: usize, cores: Option<CoreSplit>) -> Environment {
    let logical_cpus = logical_cpus(cores.as_ref());
    Environment {
        cpu_model: cpu_model().unwrap_or_else(|| "unknown".into()),
        logical_cpus,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or_else(
            |_| std::env::consts::OS.into(),
            |text| text.trim().to_owned(),
        ),
        build_profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .into(),
        target_features: target_features(),
        allocator: "system (glibc malloc)".into(),
        hasher: "std RandomState (SipHash-1-3), random keys".into(),
        // DashMap's own default: 4 × available parallelism, rounded up to a power of two.
        dashmap_shards: (logical_cpus * 4).next_power_of_two(),
        tokio_worker_threads,
        ssobench_version: env!("CARGO_PKG_VERSION").into(),
        cores,
    }
}

/// The logical CPUs the run may use: the split's when pinned (a pinned thread sees only its
/// own), else this thread's.
pub fn logical_cpus(split: Option<&CoreSplit>) -> usize {
    match split {
        Some(split) => split.generator.len() + split.stack.len(),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
}

/// The compile-time CPU features that matter for hashing and atomics.
fn target_features() -> Vec<String> {
    let mut features = Vec::new();
    macro_rules! feature {
        ($($name:literal),*) => {
            $(if cfg!(target_feature = $name) { features.push($name.to_owned()); })*
        };
    }
    feature!("sse2", "sse4.2", "avx", "avx2", "aes", "neon");
    features
}
