//! `serve --instances N`: one IdP in this process and N store and N forums instances, each a
//! process of its own (as app servers are deployed), all on one shared session backend — a
//! Redis or a Redis Cluster, started here when no URL is given. The IdP registers every
//! instance's callback as a redirect URI of its client.
//!
//! Every address is chosen before anything starts (instance i on the configured port + i, or
//! on a free port when the configured one is 0), so the IdP knows every redirect URI and every
//! instance knows the IdP. An instance is this same program run as `serve --role store` (or
//! `forums`) with the same app settings; it is ready once it prints its URL.

use crate::cli::ResolvedBackend;
use crate::serve::ServeArgs;
use crate::stack::{self, Role, RunningStack};
use anyhow::Context as _;
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long an instance may take to print its URL.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The running instances and their IdP.
#[derive(Debug)]
pub struct Instances {
    /// Taken by `shutdown`.
    idp: Option<RunningStack>,
    stores: Vec<(String, Child)>,
    forums: Vec<(String, Child)>,
    /// The local Redis or cluster every instance uses, if this process started it.
    _backend: ResolvedBackend,
}

impl Instances {
    /// Base URLs, one per line as `serve` prints them: the IdP, then every store, then every
    /// forums instance.
    pub fn urls(&self) -> Vec<(&'static str, &str)> {
        let mut urls: Vec<(&'static str, &str)> =
            self.idp.as_ref().map_or_else(Vec::new, RunningStack::urls);
        urls.extend(self.stores.iter().map(|(url, _)| ("store", url.as_str())));
        urls.extend(self.forums.iter().map(|(url, _)| ("forums", url.as_str())));
        urls
    }

    /// The process ids of the app instances.
    pub fn pids(&self) -> Vec<u32> {
        self.stores
            .iter()
            .chain(&self.forums)
            .map(|(_, child)| child.id())
            .collect()
    }

    /// Stops every instance (SIGTERM: each finishes its requests in flight) and the IdP.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        for (_, child) in self.stores.iter_mut().chain(self.forums.iter_mut()) {
            stop(child);
        }
        match self.idp.take() {
            Some(idp) => idp.shutdown().await,
            None => Ok(()),
        }
    }
}

impl Drop for Instances {
    fn drop(&mut self) {
        for (_, child) in self.stores.iter_mut().chain(self.forums.iter_mut()) {
            stop(child);
        }
    }
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

/// Starts the IdP here and `args.instances` store and forums instances as processes of
/// `program` (this program).
pub async fn start(args: &ServeArgs, program: &Path) -> anyhow::Result<Instances> {
    anyhow::ensure!(
        args.role == Role::All,
        "--instances runs the whole stack (one IdP, several apps); leave --role at all"
    );
    anyhow::ensure!(
        !args.backend.backend.is_in_memory(),
        "--instances {} needs a shared session backend (--backend redis or redis-cluster): each \
         instance is its own process, and {} keeps its sessions in one process's memory",
        args.instances,
        args.backend.backend.name()
    );
    anyhow::ensure!(
        args.apps.provider.is_none(),
        "--instances starts the bundled IdP with the apps; with --provider, start each app \
         instance with serve --role store or --role forums"
    );
    let count = usize::try_from(args.instances).context("--instances")?;
    let backend = args.backend.resolve()?;
    let shared = backend.shared_flags();
    let idp_addr = address(args.idp.idp_addr, 0)?;
    let stores = (0..count)
        .map(|i| address(args.apps.store_addr, i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let forums = (0..count)
        .map(|i| address(args.apps.forums_addr, i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scheme = if args.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let url = |address: &SocketAddr| format!("{scheme}://{address}");
    let idp_url = args.idp.issuer.clone().unwrap_or_else(|| url(&idp_addr));

    let mut config = args.config()?;
    config.role = Role::Idp;
    config.backend = shared.clone();
    config.idp.addr = idp_addr;
    config.idp.store_url = url(&stores[0]);
    config.idp.forums_url = url(&forums[0]);
    config.idp.more_store_urls = stores[1..].iter().map(url).collect();
    config.idp.more_forums_urls = forums[1..].iter().map(url).collect();
    let idp = stack::start(&config).await.context("starting the IdP")?;

    let mut instances = Instances {
        idp: Some(idp),
        stores: Vec::new(),
        forums: Vec::new(),
        _backend: backend,
    };
    for (role, addresses) in [(Role::Store, &stores), (Role::Forums, &forums)] {
        for address in addresses {
            let mut child = spawn(program, args, role, *address, &idp_url, &shared)?;
            let expected = url(address);
            let ready = wait_ready(&mut child, role, &expected).await;
            let slot = match role {
                Role::Store => &mut instances.stores,
                _ => &mut instances.forums,
            };
            slot.push((expected, child));
            ready?;
        }
    }
    Ok(instances)
}

/// Instance `i`'s address: the configured port + i, or a free port when it is 0.
fn address(base: SocketAddr, i: usize) -> anyhow::Result<SocketAddr> {
    anyhow::ensure!(
        !base.ip().is_unspecified(),
        "{base}: --instances needs an address of this host's (each instance's URL is its own)"
    );
    if base.port() == 0 {
        let listener = TcpListener::bind((base.ip(), 0))
            .with_context(|| format!("no free port on {}", base.ip()))?;
        return Ok(listener.local_addr()?);
    }
    let port = u16::try_from(usize::from(base.port()) + i)
        .ok()
        .filter(|port| *port != 0)
        .with_context(|| format!("instance {i} would listen past port 65535"))?;
    Ok(SocketAddr::new(base.ip(), port))
}

fn spawn(
    program: &Path,
    args: &ServeArgs,
    role: Role,
    address: SocketAddr,
    idp_url: &str,
    backend: &crate::cli::BackendArgs,
) -> anyhow::Result<Child> {
    let mut instance = args.clone();
    instance.role = role;
    instance.instances = 1;
    instance.backend = backend.clone();
    instance.apps.idp_url = idp_url.to_owned();
    match role {
        Role::Store => instance.apps.store_addr = address,
        _ => instance.apps.forums_addr = address,
    }
    child_command(program)
        .arg("serve")
        .args(instance.to_flags())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting a {role:?} instance ({})", program.display()))
}

/// A command running `program` as a child that, where util-linux is installed, dies with this
/// process whatever happens to it (SIGTERM when the parent dies: `setpriv --pdeathsig`).
pub fn child_command(program: &Path) -> Command {
    if crate::local_cluster::on_path("setpriv") {
        let mut command = Command::new("setpriv");
        command.args(["--pdeathsig", "TERM"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Waits until the instance prints `<role> <url>` (it listens by then).
async fn wait_ready(child: &mut Child, role: Role, expected: &str) -> anyhow::Result<()> {
    let expected_line = format!(
        "{} {expected}",
        match role {
            Role::Store => "store",
            _ => "forums",
        }
    );
    let lines = first_lines(child, 1, READY_WITHIN)
        .await
        .with_context(|| format!("{expected_line}: not ready"))?;
    let line = lines.first().map_or("", |line| line.trim_end());
    anyhow::ensure!(
        line == expected_line,
        "an instance printed {line:?} where {expected_line:?} was expected (it may have failed \
         to start: see its messages above)"
    );
    Ok(())
}

/// The first `count` lines a child prints (fewer if it closes its output first), within
/// `within`; later lines are drained on a thread of their own so the child never blocks on a
/// full pipe. How this program's children say they are ready (instances, stacks, workers).
pub async fn first_lines(
    child: &mut Child,
    count: usize,
    within: Duration,
) -> anyhow::Result<Vec<String>> {
    let stdout = child.stdout.take().context("the child's output")?;
    let reading = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::with_capacity(count);
        for _ in 0..count {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                break;
            }
            lines.push(line);
        }
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        Ok::<_, std::io::Error>(lines)
    });
    tokio::time::timeout(within, reading)
        .await
        .with_context(|| format!("nothing printed within {} s", within.as_secs()))?
        .context("reading the child's output")?
        .context("reading the child's output")
}
