//! The generator's own footprint, read from `/proc/self` once a second by the sampler: its
//! resident memory and the descriptors it holds open (its connections, mostly); the descriptors
//! of the stack's processes; and the host's TCP sockets in TIME_WAIT and their kernel memory,
//! from `/proc/net/sockstat`.
//!
//! Resident memory counts what the process touched and still maps; the kernel's socket buffers
//! are not in it (they are the kernel's, stated apart where they matter).

/// Resident memory of this process, bytes (`VmRSS`), or `None` where `/proc` has none.
pub fn resident_bytes() -> Option<u64> {
    kib_field(&std::fs::read_to_string("/proc/self/status").ok()?, "VmRSS")
}

/// Resident memory of another process, bytes, or `None` where it is gone or not ours to read.
pub fn resident_bytes_of(pid: u32) -> Option<u64> {
    kib_field(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmRSS",
    )
}

/// The `NAME: N kB` line of a `/proc` file such as `status` or `meminfo`, in bytes.
pub fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// Descriptors this process holds open, or `None` where `/proc` cannot list them.
pub fn open_files() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    // The listing itself holds one descriptor while it reads.
    Some((entries.count() as u64).saturating_sub(1))
}

/// Descriptors another process holds open (its connections, mostly, for a server), or `None`
/// where it is gone or not ours to read.
pub fn open_files_of(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// This host's TCP sockets as `/proc/net/sockstat` counts them: every process's, the stack's
/// too when it runs here. TIME_WAIT sockets belong to no process; on loopback both ends of a
/// connection are this host's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostTcp {
    /// Sockets in TIME_WAIT.
    pub time_wait: u64,
    /// Memory of every TCP socket's buffers, bytes (the kernel's, outside any process's RSS).
    pub memory_bytes: u64,
}

/// Reads `/proc/net/sockstat` (`None` where it is missing or unreadable).
pub fn host_tcp() -> Option<HostTcp> {
    parse_sockstat(&std::fs::read_to_string("/proc/net/sockstat").ok()?)
}

/// The `TCP:` line: `tw` sockets, `mem` in pages (of 4 KiB on the machines this reads).
fn parse_sockstat(text: &str) -> Option<HostTcp> {
    let line = text.lines().find_map(|line| line.strip_prefix("TCP:"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let value = |name: &str| {
        fields
            .iter()
            .position(|field| *field == name)
            .and_then(|at| fields.get(at + 1))
            .and_then(|n| n.parse::<u64>().ok())
    };
    Some(HostTcp {
        time_wait: value("tw")?,
        memory_bytes: value("mem")? * 4096,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockstat_is_read_by_name() {
        let text =
            "sockets: used 12\nTCP: inuse 1 orphan 0 tw 44 alloc 1 mem 36\nUDP: inuse 0 mem 0\n";
        assert_eq!(
            parse_sockstat(text),
            Some(HostTcp {
                time_wait: 44,
                memory_bytes: 36 * 4096
            })
        );
        assert_eq!(parse_sockstat("UDP: inuse 0 mem 0\n"), None);
        assert!(host_tcp().is_some(), "/proc/net/sockstat on Linux");
    }

    #[test]
    fn memory_grows_when_touched_and_files_count_when_opened() {
        let before = resident_bytes().expect("VmRSS on Linux");
        let block = std::hint::black_box(vec![1u8; 64 << 20]);
        let after = resident_bytes().expect("VmRSS on Linux");
        assert!(
            after >= before + (32 << 20),
            "64 MiB touched: {before} -> {after}"
        );
        assert_eq!(std::hint::black_box(&block)[12345], 1);
        drop(block);
        let open = open_files().expect("/proc/self/fd on Linux");
        let files: Vec<std::fs::File> = (0..10)
            .map(|_| std::fs::File::open("/proc/self/status").expect("open"))
            .collect();
        let more = open_files().expect("/proc/self/fd on Linux");
        // Other tests' threads may open files meanwhile: at least ours are counted.
        assert!(more >= open + 10, "{open} -> {more} with 10 more open");
        drop(files);
    }
}
