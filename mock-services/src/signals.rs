//! Stopping and continuing a process by its id (SIGSTOP / SIGCONT): how a run stalls a
//! `redis-server` it started, or the stack process it was told about with `--target-pid`, to
//! measure a hung dependency. Never used on a process found by name.

use std::io;

/// Freezes process `pid` (SIGSTOP): it keeps its sockets open but runs no code until
/// [`resume`].
pub fn pause(pid: u32) -> io::Result<()> {
    send(pid, rustix::process::Signal::STOP)
}

/// Lets a process frozen by [`pause`] run again (SIGCONT).
pub fn resume(pid: u32) -> io::Result<()> {
    send(pid, rustix::process::Signal::CONT)
}

fn send(pid: u32, signal: rustix::process::Signal) -> io::Result<()> {
    refuse_self(pid)?;
    let raw = i32::try_from(pid).map_err(|_| invalid(pid))?;
    let pid = rustix::process::Pid::from_raw(raw).ok_or_else(|| invalid(pid))?;
    rustix::process::kill_process(pid, signal).map_err(io::Error::from)
}

/// Refuses this process itself: stopping it would stop the run that must continue it.
fn refuse_self(pid: u32) -> io::Result<()> {
    if pid == std::process::id() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("process {pid} is this process; it cannot stop itself and continue"),
        ));
    }
    Ok(())
}

fn invalid(pid: u32) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{pid} is not a process id"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    /// The kernel's view of a process's state: `T` while stopped.
    fn state(pid: u32) -> char {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
        let after_name = stat.rsplit_once(')').expect("comm").1;
        after_name.trim_start().chars().next().expect("state")
    }

    #[test]
    fn a_paused_process_is_stopped_until_resumed() {
        let mut child = Command::new("sleep")
            .arg("30")
            .stdout(Stdio::null())
            .spawn()
            .expect("sleep");
        let pid = child.id();
        pause(pid).expect("pause");
        let mut seen = state(pid);
        for _ in 0..100 {
            if seen == 'T' {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            seen = state(pid);
        }
        assert_eq!(seen, 'T', "stopped");
        resume(pid).expect("resume");
        let mut seen = state(pid);
        for _ in 0..100 {
            if seen != 'T' {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            seen = state(pid);
        }
        assert_ne!(seen, 'T', "running again");
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn this_process_and_nonsense_ids_are_refused() {
        assert!(pause(std::process::id()).is_err());
        assert!(pause(0).is_err(), "0 would signal the whole process group");
        assert!(pause(u32::MAX).is_err());
    }
}
