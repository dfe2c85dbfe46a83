//! The stack as processes of its own (`--instances N`): this program run as `serve` in a child
//! process — the IdP there, each store and forums instance a process of that one's — on the
//! run's shared backend (the child starts a local Redis or cluster when no URL is given). The
//! child gets its `serve` arguments whole on its input; the run reads the services' URLs from
//! the child's announcements and counts the CPU of the child and
//! every process under it as the stack's.

use crate::error::While as _;
use crate::error::{RunResult, ensure};
use crate::setup::args::RunArgs;
use mock_services::children;
use mock_services::serve::ServeArgs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;
use vocabulary::Service;
use vocabulary::protocol::Announcement;

/// How long the stack may take to announce every service (a local cluster takes a few seconds).
const READY_WITHIN: Duration = Duration::from_secs(90);

/// The stack's processes and the URLs they printed.
#[derive(Debug)]
pub struct ProcessStack {
    child: Child,
    pub idp: String,
    pub stores: Vec<String>,
    pub forums: Vec<String>,
    /// The child and every process under it once the stack was ready (instances,
    /// redis-servers).
    pids: Vec<u32>,
}

/// The `serve` arguments of a run's stack: the run's app and IdP settings, every service on a
/// free loopback port.
pub fn serve_args(args: &RunArgs) -> ServeArgs {
    let mut serve = ServeArgs {
        backend: args.backend.clone(),
        instances: args.instances,
        separate_processes: args.stack_processes,
        prefill_sessions: args.prefill_sessions,
        ..ServeArgs::default()
    };
    let free = |ip: [u8; 4]| SocketAddr::from((ip, 0));
    serve.idp.idp_addr = free([127, 0, 0, 1]);
    serve.apps.store_addr = free([127, 0, 0, 2]);
    serve.apps.forums_addr = free([127, 0, 0, 3]);
    serve.apps.idle_timeout = args.store_idle_timeout;
    serve.apps.absolute_timeout = args.store_absolute_timeout;
    serve.apps.handicap = args.handicap;
    serve.idp.signing_alg = args.signing_alg;
    serve.idp.password_hash = args.password_hash;
    serve.idp.user_password = args.user_password.clone();
    serve.idp.users = args.accounts();
    if let Some(tls) = args.stack_tls() {
        serve.tls_cert = Some(tls.cert);
        serve.tls_key = Some(tls.key);
    }
    serve.ca_cert = args.ca_cert.clone();
    serve
}

/// The program that serves the stack: `--stack-program`, or this one (the `loadtest` binary,
/// whose hidden `serve` subcommand is mock-services' `serve`).
pub fn program(args: &RunArgs) -> RunResult<PathBuf> {
    match &args.stack_program {
        Some(program) => Ok(program.clone()),
        None => std::env::current_exe().doing("finding this program to start the stack"),
    }
}

impl ProcessStack {
    /// Starts `program serve …` and waits for its URLs.
    pub async fn start(serve: &ServeArgs, program: &Path) -> RunResult<ProcessStack> {
        let mut child = children::spawn(program, "serve", serve, false)
            .doing("starting the stack's processes")?;
        let expected = 1 + 2 * usize::try_from(serve.instances)?;
        let said = children::read_lines::<Announcement>(&mut child, expected, READY_WITHIN).await;
        let said = match said {
            Ok(lines) => lines,
            Err(error) => {
                // Stopping waits for the process: off the runtime's threads.
                let _ = tokio::task::spawn_blocking(move || children::stop(&mut child)).await;
                return Err(error).doing("the stack did not announce its services");
            }
        };
        let mut stack = ProcessStack {
            pids: Vec::new(),
            child,
            idp: String::new(),
            stores: Vec::new(),
            forums: Vec::new(),
        };
        for Announcement { service, url } in said {
            match service {
                Service::Idp => stack.idp = url,
                Service::Store => stack.stores.push(url),
                Service::Forums => stack.forums.push(url),
            }
        }
        ensure!(
            !stack.idp.is_empty() && !stack.stores.is_empty() && !stack.forums.is_empty(),
            "the stack printed no IdP, store or forums URL"
        );
        stack.pids = process_tree(stack.child.id());
        Ok(stack)
    }

    /// The child and every process under it (as of the stack's start).
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    /// The `serve` process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the stack: SIGTERM to the `serve` process, which stops its instances.
    pub async fn shutdown(mut self) -> RunResult<()> {
        tokio::task::spawn_blocking(move || children::stop(&mut self.child))
            .await
            .doing("stopping the stack's processes")
    }
}

impl Drop for ProcessStack {
    /// A stack dropped without `shutdown` (an error on the way) is killed at once: its
    /// instances die with it (`setpriv --pdeathsig`), and nothing here waits on a timer.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `root` and every process under it, from `/proc/<pid>/stat`'s parent field.
pub fn process_tree(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // The name (field 2) may hold spaces: fields after it follow its closing ')'.
            let after_name = &stat[stat.rfind(')')? + 2..];
            let parent = after_name.split(' ').nth(1)?.parse().ok()?;
            Some((pid, parent))
        })
        .collect();
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next];
        tree.extend(
            parents
                .iter()
                .filter(|(_, of)| *of == parent)
                .map(|(pid, _)| *pid),
        );
        next += 1;
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_tree_holds_the_root_and_its_descendants_only() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .expect("sh");
        let root = child.id();
        let mut tree = Vec::new();
        for _ in 0..100 {
            tree = process_tree(root);
            if tree.len() >= 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::process::Command::new("pkill")
            .args(["-P", &root.to_string()])
            .status();
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(tree[0], root);
        assert_eq!(tree.len(), 3, "sh and its two sleeps: {tree:?}");
        assert!(!tree.contains(&std::process::id()));
    }
}
