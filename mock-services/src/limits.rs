//! The process's descriptor limit: raised to its hard limit at start (every connection is a
//! descriptor, and the usual soft limit of 1,024 holds a few hundred users), and read back so
//! that what a run needs can be checked against it before it starts.

/// This process's open-file limits after [`raise_open_files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// What the process may open now.
    pub soft: u64,
    /// What it could be raised to (`u64::MAX`: unlimited).
    pub hard: u64,
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (an unprivileged process may), and returns
/// both. Where the limit cannot be read, `None`; where it cannot be raised, the limits as they
/// are.
pub fn raise_open_files() -> Option<OpenFiles> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        // Refused (a container that forbids it): the limits stay as they were, and the
        // checks against them say what that means.
        let _ = setrlimit(Resource::Nofile, limit);
    }
    let limit = getrlimit(Resource::Nofile);
    Some(OpenFiles {
        soft: limit.current.unwrap_or(u64::MAX),
        hard: limit.maximum.unwrap_or(u64::MAX),
    })
}

/// Descriptors a server keeps for what is not a client connection: its files, its Redis
/// connections, the listeners.
pub const RESERVED: u64 = 256;

/// Connections each of `services` in this process may serve at once by default: the raised
/// descriptor limit less [`RESERVED`], shared evenly (20,000 here: 6,581 each for a process of
/// three services, 19,744 for one).
pub fn default_max_connections(services: usize) -> usize {
    let soft = raise_open_files().map_or(1024, |limits| limits.soft);
    let usable = soft.saturating_sub(RESERVED).max(1);
    usize::try_from(usable / services.max(1) as u64)
        .unwrap_or(usize::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut lowered = getrlimit(Resource::Nofile);
        let hard = lowered.maximum;
        lowered.current = Some(256.min(hard.unwrap_or(256)));
        setrlimit(Resource::Nofile, lowered).expect("lowering the soft limit is allowed");
        let raised = raise_open_files().expect("limits on Linux");
        assert_eq!(raised.soft, raised.hard);
        assert_eq!(Some(raised.hard), hard.or(Some(u64::MAX)));
        let one = default_max_connections(1) as u64;
        assert_eq!(one, raised.soft - RESERVED);
        assert_eq!(default_max_connections(3) as u64, one / 3);
    }
}
