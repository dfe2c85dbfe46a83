//! The generator's own footprint, read from `/proc/self` once a second by the sampler: its
//! resident memory and the descriptors it holds open (its connections, mostly).
//!
//! Resident memory counts what the process touched and still maps; the kernel's socket buffers
//! are not in it (they are the kernel's, stated apart where they matter).

/// Resident memory of this process, bytes (`VmRSS`), or `None` where `/proc` has none.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
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

#[cfg(test)]
mod tests {
    use super::*;

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
