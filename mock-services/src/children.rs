//! This program's child processes — a run's stack, `serve`'s app instances, a run's workers:
//! each started as this program with its typed arguments whole on its input (never as flags
//! written out by hand), read for its typed lines (announcements, `ready`), and stopped. The
//! lines themselves are `vocabulary::protocol`'s.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::Duration;
use vocabulary::protocol::{self, Expected, ProtocolError};

/// The hidden flag that tells a subcommand to read its arguments from its input, sent by
/// [`spawn`] (what a child's command line holds besides its subcommand).
pub const CONFIG_ON_STDIN: &str = "--config-on-stdin";

/// A child that could not be started, did not say what it should, or said it too late.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("starting {program}: {source}")]
    Start {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("its {what} is not available")]
    NoPipe { what: &'static str },
    #[error("nothing said within {} s", .0.as_secs())]
    Silent(Duration),
    #[error("{0} (its messages, if any, are above)")]
    Protocol(#[from] ProtocolError),
    #[error("it said {said} where {expected} was expected")]
    Wrong { expected: String, said: String },
    #[error("waiting for its lines: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Starts `program subcommand` with `config` — that subcommand's arguments, whole — as the
/// first line of its input. Its output is piped (for its lines); its input stays open when
/// `keep_input` (a worker reads `go` there later) and is closed otherwise.
pub fn spawn<T: Serialize>(
    program: &Path,
    subcommand: &str,
    config: &T,
    keep_input: bool,
) -> Result<Child, ChildError> {
    let mut child = command(program)
        .arg(subcommand)
        .arg(CONFIG_ON_STDIN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| ChildError::Start {
            program: program.to_owned(),
            source,
        })?;
    let sent = match child.stdin.as_mut() {
        Some(input) => protocol::send_config(input, config).map_err(ChildError::from),
        None => Err(ChildError::NoPipe { what: "input" }),
    };
    if let Err(error) = sent {
        let _ = child.kill();
        let _ = child.wait();
        return Err(error);
    }
    if !keep_input {
        drop(child.stdin.take());
    }
    Ok(child)
}

/// The arguments this process's parent sent on its input (see [`spawn`]).
pub fn receive_config<T: DeserializeOwned>() -> Result<T, ProtocolError> {
    protocol::receive_config(&mut std::io::stdin().lock())
}

/// A command running `program` as a child that, where util-linux is installed, dies with this
/// process whatever happens to it (SIGTERM when the parent dies: `setpriv --pdeathsig`).
pub fn command(program: &Path) -> Command {
    if crate::local_cluster::on_path("setpriv") {
        let mut command = Command::new("setpriv");
        command.args(["--pdeathsig", "TERM"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// The first `count` lines a child prints, each read as an `L`, within `within`; later lines are
/// drained on a thread of their own so the child never blocks on a full pipe. A child that
/// stops first, or prints something else, is an error naming what was expected.
pub async fn read_lines<L>(
    child: &mut Child,
    count: usize,
    within: Duration,
) -> Result<Vec<L>, ChildError>
where
    L: FromStr<Err = ProtocolError> + Expected + Send + 'static,
{
    let stdout = child
        .stdout
        .take()
        .ok_or(ChildError::NoPipe { what: "output" })?;
    let reading = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let lines = (0..count)
            .map(|_| protocol::read_line::<L>(&mut reader))
            .collect::<Result<Vec<L>, ProtocolError>>();
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).is_ok_and(|read| read > 0) {
                sink.clear();
            }
        });
        lines
    });
    Ok(tokio::time::timeout(within, reading)
        .await
        .map_err(|_| ChildError::Silent(within))???)
}

/// SIGTERM, then up to five seconds for a graceful exit, then SIGKILL.
pub fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let terminated = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .is_some_and(|pid| {
            rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok()
        });
    if terminated {
        for _ in 0..100 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;
    use vocabulary::protocol::Announcement;

    /// A child that prints what the shell script says.
    fn shell(script: &str) -> Child {
        Command::new("sh")
            .args(["-c", script])
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh")
    }

    #[tokio::test]
    async fn a_childs_lines_are_read_typed_and_a_wrong_or_missing_one_is_named() {
        let mut child = shell("echo 'idp http://127.0.0.1:1'; echo 'store http://127.0.0.2:2'");
        let lines: Vec<Announcement> = read_lines(&mut child, 2, Duration::from_secs(10))
            .await
            .expect("two announcements");
        assert_eq!(lines[1].service, vocabulary::Service::Store);
        assert_eq!(lines[1].url, "http://127.0.0.2:2");
        let _ = child.wait();

        let mut child = shell("echo steady");
        let error = read_lines::<Announcement>(&mut child, 1, Duration::from_secs(10))
            .await
            .expect_err("not an announcement");
        assert!(error.to_string().contains("steady"), "{error}");
        let _ = child.wait();

        let mut child = shell("exit 3");
        let error = read_lines::<Announcement>(&mut child, 1, Duration::from_secs(10))
            .await
            .expect_err("stopped");
        assert!(matches!(
            error,
            ChildError::Protocol(ProtocolError::Closed { .. })
        ));
        let _ = child.wait();

        let mut child = shell("sleep 5");
        let error = read_lines::<Announcement>(&mut child, 1, Duration::from_millis(200))
            .await
            .expect_err("silent");
        assert!(matches!(error, ChildError::Silent(_)));
        stop(&mut child);
    }
}
