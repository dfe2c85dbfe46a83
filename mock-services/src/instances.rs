//! `serve --instances N`: one IdP in this process and N store and N forums instances, each a
//! process of its own (as app servers are deployed), all on one shared session backend — a
//! Redis or a Redis Cluster, started here when no URL is given. The IdP registers every
//! instance's callback as a redirect URI of its client.
//!
//! Every address is chosen before anything starts (instance i on the configured port + i, or
//! on a free port when the configured one is 0), so the IdP knows every redirect URI and every
//! instance knows the IdP. An instance is this same program run as `serve --role store` (or
//! `forums`) with the same app settings, given whole on its input; it is ready once it announces its URL.

use crate::children;
use crate::cli::ResolvedBackend;
use crate::error::StackError;
use crate::serve::ServeArgs;
use crate::stack::{self, Role, RunningStack};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Child;
use std::time::Duration;
use vocabulary::Service;
use vocabulary::protocol::Announcement;

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
    /// What `serve` announces: the IdP, then every store, then every forums instance.
    pub fn announcements(&self) -> Vec<Announcement> {
        let mut said = self
            .idp
            .as_ref()
            .map_or_else(Vec::new, RunningStack::announcements);
        for (service, instances) in [
            (Service::Store, &self.stores),
            (Service::Forums, &self.forums),
        ] {
            said.extend(instances.iter().map(|(url, _)| Announcement {
                service,
                url: url.clone(),
            }));
        }
        said
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
    pub async fn shutdown(mut self) -> Result<(), StackError> {
        for (_, child) in self.stores.iter_mut().chain(self.forums.iter_mut()) {
            children::stop(child);
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
            children::stop(child);
        }
    }
}

/// Starts the IdP here and `args.instances` store and forums instances as processes of
/// `program` (this program).
pub async fn start(args: &ServeArgs, program: &Path) -> Result<Instances, StackError> {
    if args.role != Role::All {
        return Err(StackError::refused(
            "--instances runs the whole stack (one IdP, several apps); leave --role at all",
        ));
    }
    // One instance of each app keeps its sessions in its own process: any backend will do.
    if args.instances > 1 && args.backend.backend.is_in_memory() {
        return Err(StackError::refused(format!(
            "--instances {} needs a shared session backend (--backend redis or redis-cluster): \
             each instance is its own process, and {} keeps its sessions in one process's memory",
            args.instances,
            args.backend.backend.name()
        )));
    }
    if args.apps.provider.is_some() {
        return Err(StackError::refused(
            "--instances starts the bundled IdP with the apps; with --provider, start each app \
             instance with serve --role store or --role forums",
        ));
    }
    // At most 64 (clap holds --instances to 1..=64).
    let count = args.instances as usize;
    let backend = args.backend.resolve()?;
    let shared = backend.shared_flags();
    let idp_addr = address(args.idp.idp_addr, 0)?;
    let stores = (0..count)
        .map(|i| address(args.apps.store_addr, i))
        .collect::<Result<Vec<_>, _>>()?;
    let forums = (0..count)
        .map(|i| address(args.apps.forums_addr, i))
        .collect::<Result<Vec<_>, _>>()?;
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
    let idp = stack::start(&config).await?;

    let mut instances = Instances {
        idp: Some(idp),
        stores: Vec::new(),
        forums: Vec::new(),
        _backend: backend,
    };
    for (service, addresses) in [(Service::Store, &stores), (Service::Forums, &forums)] {
        for (index, address) in addresses.iter().enumerate() {
            let role = Role::of(service);
            // The store's backend is prefilled once, by the first store instance.
            let mut args = args.clone();
            if role != Role::Store || index > 0 {
                args.prefill_sessions = 0;
            }
            let mut child = spawn(program, &args, role, *address, &idp_url, &shared)?;
            let expected = url(address);
            let ready = wait_ready(&mut child, service, &expected).await;
            let slot = match service {
                Service::Store => &mut instances.stores,
                _ => &mut instances.forums,
            };
            slot.push((expected, child));
            ready?;
        }
    }
    Ok(instances)
}

/// Instance `i`'s address: the configured port + i, or a free port when it is 0.
fn address(base: SocketAddr, i: usize) -> Result<SocketAddr, StackError> {
    if base.ip().is_unspecified() {
        return Err(StackError::refused(format!(
            "{base}: --instances needs an address of this host's (each instance's URL is its own)"
        )));
    }
    if base.port() == 0 {
        let free = |source| StackError::Listen {
            what: "a free port for an instance on",
            address: base,
            source,
        };
        let listener = TcpListener::bind((base.ip(), 0)).map_err(free)?;
        return listener.local_addr().map_err(free);
    }
    let port = u16::try_from(usize::from(base.port()) + i)
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| StackError::refused(format!("instance {i} would listen past port 65535")))?;
    Ok(SocketAddr::new(base.ip(), port))
}

fn spawn(
    program: &Path,
    args: &ServeArgs,
    role: Role,
    address: SocketAddr,
    idp_url: &str,
    backend: &crate::cli::BackendArgs,
) -> Result<Child, StackError> {
    let mut instance = args.clone();
    instance.role = role;
    instance.instances = 1;
    instance.separate_processes = false;
    instance.backend = backend.clone();
    instance.apps.idp_url = idp_url.to_owned();
    match role {
        Role::Store => instance.apps.store_addr = address,
        _ => instance.apps.forums_addr = address,
    }
    children::spawn(program, "serve", &instance, false).map_err(|source| StackError::Child {
        what: format!("starting a {role:?} instance"),
        source,
    })
}

/// Waits until the instance announces `service` at `expected` (it listens by then).
async fn wait_ready(child: &mut Child, service: Service, expected: &str) -> Result<(), StackError> {
    let wanted = Announcement {
        service,
        url: expected.to_owned(),
    };
    let not_ready = |source| StackError::Child {
        what: format!("the instance to announce `{wanted}`"),
        source,
    };
    let said = children::read_lines::<Announcement>(child, 1, READY_WITHIN)
        .await
        .map_err(not_ready)?;
    match said.first() {
        Some(first) if *first == wanted => Ok(()),
        other => Err(not_ready(children::ChildError::Wrong {
            expected: format!("`{wanted}`"),
            said: other.map_or_else(String::new, |line| format!("`{line}`")),
        })),
    }
}
