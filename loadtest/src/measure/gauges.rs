//! What the sampler reads of the stack's state besides its CPU and connections: the store's
//! gauges (live sessions, the backend's memory), kept current beside the sampler by whoever can
//! ask the store, and each stack process's resident memory, read from `/proc` under the name it
//! is known by.

use crate::measure::memory;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A gauge not read yet (or whose reading failed).
const UNKNOWN: u64 = u64::MAX;

/// The store's gauges as last read; the sampler takes them each second without waiting.
#[derive(Debug)]
pub struct StoreGauges {
    sessions_alive: AtomicU64,
    backend_memory_bytes: AtomicU64,
}

impl StoreGauges {
    /// Gauges nothing has read yet.
    pub fn unknown() -> Arc<StoreGauges> {
        Arc::new(StoreGauges {
            sessions_alive: AtomicU64::new(UNKNOWN),
            backend_memory_bytes: AtomicU64::new(UNKNOWN),
        })
    }

    /// Keeps a reading (`None`: not known, or the reading failed).
    pub fn set(&self, sessions_alive: Option<u64>, backend_memory_bytes: Option<u64>) {
        self.sessions_alive
            .store(sessions_alive.unwrap_or(UNKNOWN), Ordering::Relaxed);
        self.backend_memory_bytes
            .store(backend_memory_bytes.unwrap_or(UNKNOWN), Ordering::Relaxed);
    }

    pub fn sessions_alive(&self) -> Option<u64> {
        known(self.sessions_alive.load(Ordering::Relaxed))
    }

    pub fn backend_memory_bytes(&self) -> Option<u64> {
        known(self.backend_memory_bytes.load(Ordering::Relaxed))
    }
}

fn known(value: u64) -> Option<u64> {
    (value != UNKNOWN).then_some(value)
}

/// The stack's processes whose memory the sampler reads, each by its name.
#[derive(Debug, Clone, Default)]
pub struct StackMemory(Vec<(u32, String)>);

impl StackMemory {
    /// Nothing to read: the stack is in this process (its memory is the generator's) or its
    /// processes are not known.
    pub fn none() -> StackMemory {
        StackMemory(Vec::new())
    }

    /// These processes, by these names.
    pub fn named(processes: Vec<(u32, String)>) -> StackMemory {
        StackMemory(processes)
    }

    /// Each process's resident memory now, bytes; a process gone (restarted, ended) is left out.
    pub fn read(&self) -> BTreeMap<String, u64> {
        self.0
            .iter()
            .filter_map(|(pid, name)| Some((name.clone(), memory::resident_bytes_of(*pid)?)))
            .collect()
    }
}

/// What a process of the stack is called on a report when nothing better is known: its command
/// name and id (`redis-server 6379` for a Redis server, by its port).
pub fn process_name(pid: u32) -> String {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let comm = comm.trim();
    if comm.starts_with("redis-server") {
        // Redis sets its title to `redis-server host:port`.
        let title = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if let Some(port) = title
            .split(['\0', ' '])
            .find_map(|word| word.rsplit_once(':').map(|(_, port)| port.to_owned()))
            .filter(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        {
            return format!("redis-server {port}");
        }
    }
    if comm.is_empty() {
        format!("process {pid}")
    } else {
        format!("{comm} {pid}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_tell_what_was_read_and_nothing_else() {
        let gauges = StoreGauges::unknown();
        assert_eq!(gauges.sessions_alive(), None);
        assert_eq!(gauges.backend_memory_bytes(), None);
        gauges.set(Some(12), None);
        assert_eq!(gauges.sessions_alive(), Some(12));
        assert_eq!(gauges.backend_memory_bytes(), None);
        gauges.set(None, Some(1 << 20));
        assert_eq!(gauges.sessions_alive(), None, "a failed count is not kept");
        assert_eq!(gauges.backend_memory_bytes(), Some(1 << 20));
    }

    #[test]
    fn memory_is_read_by_name_and_a_gone_process_left_out() {
        let own = std::process::id();
        let memory = StackMemory::named(vec![(own, "me".into()), (u32::MAX - 1, "gone".into())]);
        let read = memory.read();
        assert!(read.get("me").is_some_and(|&bytes| bytes > 0), "{read:?}");
        assert!(!read.contains_key("gone"), "{read:?}");
        assert!(StackMemory::none().read().is_empty());
        assert!(
            process_name(own).ends_with(&format!(" {own}")),
            "{}",
            process_name(own)
        );
    }
}
