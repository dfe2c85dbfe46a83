//! Building and running the services from command-line flags, in one process or one per role.

use crate::app::{self, AppKind, AppSettings, AppState, PRELOGIN_LIFETIME, RotationPolicy};
use crate::cli::{BackendArgs, ResolvedBackend};
use crate::idp::{
    self, Client, ClientRegistry, IdpSettings, IdpState, PasswordHashing, SigningAlgorithm,
    SigningKeys, UserDirectory,
};
use crate::session::{SessionPolicy, build_store};
use anyhow::Context as _;
use std::net::SocketAddr;
use std::time::Duration;

/// The IdP's flags.
#[derive(Debug, Clone, clap::Args)]
pub struct IdpArgs {
    /// Address the IdP listens on (loopback only; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:9010")]
    pub idp_addr: SocketAddr,
    /// Issuer URL in tokens and discovery [default: http://<bound address>].
    #[arg(long)]
    pub issuer: Option<String>,
    /// Base URL of the store app, for the pre-registered `store` client's redirect URIs.
    #[arg(long, default_value = "http://127.0.0.2:9011")]
    pub store_url: String,
    /// Base URL of the forums app, for the pre-registered `forums` client's redirect URIs.
    #[arg(long, default_value = "http://127.0.0.3:9012")]
    pub forums_url: String,
    /// Extra client `ID:SECRET:REDIRECT_URI`; repeat for more (or more URIs of one client).
    #[arg(long = "client", value_name = "ID:SECRET:REDIRECT_URI")]
    pub clients: Vec<String>,
    /// Require PKCE from this client id; repeatable. `store` and `forums` always require it.
    #[arg(long = "require-pkce", value_name = "CLIENT_ID")]
    pub require_pkce: Vec<String>,
    /// Seeded users `user1@example.com` … `user<N>@example.com`.
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Password of every seeded user.
    #[arg(long, default_value = "password")]
    pub user_password: String,
    /// How passwords are checked.
    #[arg(long, value_enum, default_value_t = PasswordHashing::Plain)]
    pub password_hash: PasswordHashing,
    /// Token signing algorithm.
    #[arg(long, value_enum, default_value_t = SigningAlgorithm::Rs256)]
    pub signing_alg: SigningAlgorithm,
    /// Authorization code lifetime, seconds.
    #[arg(long, default_value_t = 30)]
    pub code_lifetime: u64,
    /// Access and id token lifetime, seconds.
    #[arg(long, default_value_t = 900)]
    pub access_token_lifetime: u64,
    /// Refresh token lifetime, seconds.
    #[arg(long, default_value_t = 8 * 3600)]
    pub refresh_token_lifetime: u64,
    /// SSO session idle timeout, seconds.
    #[arg(long, default_value_t = 3600)]
    pub sso_idle_timeout: u64,
    /// SSO session absolute timeout, seconds.
    #[arg(long, default_value_t = 24 * 3600)]
    pub sso_absolute_timeout: u64,
    /// Mark cookies Secure (only behind HTTPS; plain-HTTP loopback runs must leave it off).
    #[arg(long)]
    pub secure_cookies: bool,
}

/// The two pre-registered clients for app base URLs.
pub fn default_clients(store_url: &str, forums_url: &str) -> Vec<Client> {
    let app = |id: &str, base: &str| {
        let base = base.trim_end_matches('/');
        Client {
            id: id.to_owned(),
            secret: format!("{id}-secret"),
            redirect_uris: vec![format!("{base}/oauth-callback")],
            post_logout_redirect_uris: vec![format!("{base}/")],
            require_pkce: true,
        }
    };
    vec![app("store", store_url), app("forums", forums_url)]
}

/// Refuses any address but loopback: ssobench's services are load-test targets.
pub fn require_loopback(address: SocketAddr, flag: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        address.ip().is_loopback(),
        "{flag} {address}: ssobench only listens on loopback (127.0.0.0/8 or [::1])"
    );
    Ok(())
}

/// The apps' flags.
#[derive(Debug, Clone, clap::Args)]
pub struct AppArgs {
    /// Address the store app listens on (loopback only; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.2:9011")]
    pub store_addr: SocketAddr,
    /// Address the forums app listens on (loopback only; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.3:9012")]
    pub forums_addr: SocketAddr,
    /// The IdP's URL, for `--role store` or `--role forums` (with `--role all` it is the
    /// in-process IdP's).
    #[arg(long, default_value = "http://127.0.0.1:9010")]
    pub idp_url: String,
    /// App session idle (sliding) timeout, e.g. `30m`, `90s`, `500ms`.
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,
    /// App session absolute timeout.
    #[arg(long, default_value = "8h", value_parser = humantime::parse_duration)]
    pub absolute_timeout: Duration,
    /// Move a session to a fresh ID after this many requests (off by default; costs a session
    /// write per request).
    #[arg(long)]
    pub rotate_every_requests: Option<u32>,
    /// Move a session to a fresh ID once its ID is this old (off by default).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub rotate_every: Option<Duration>,
}

/// Which services one process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// IdP, store and forums together.
    All,
    Idp,
    Store,
    Forums,
}

/// Everything `serve` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Which services this process runs.
    #[arg(long, value_enum, default_value_t = Role::All)]
    pub role: Role,
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub idp: IdpArgs,
    #[command(flatten)]
    pub apps: AppArgs,
}

impl ServeArgs {
    /// Parses flags as the command line would (for tests and the load runner).
    pub fn from_flags<'a>(flags: impl IntoIterator<Item = &'a str>) -> anyhow::Result<Self> {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: ServeArgs,
        }
        let flags = std::iter::once("serve").chain(flags);
        Ok(<Wrapper as clap::Parser>::try_parse_from(flags)?.args)
    }
}

/// Services running in this process.
#[derive(Debug)]
pub struct RunningStack {
    pub idp_url: Option<String>,
    pub store_url: Option<String>,
    pub forums_url: Option<String>,
    pub idp: Option<IdpState>,
    pub store: Option<AppState>,
    pub forums: Option<AppState>,
    shutdown: tokio::sync::watch::Sender<bool>,
    servers: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    _backend: ResolvedBackend,
}

impl RunningStack {
    /// The base URLs, one per line, IdP first.
    pub fn urls(&self) -> Vec<(&'static str, &str)> {
        [
            ("idp", &self.idp_url),
            ("store", &self.store_url),
            ("forums", &self.forums_url),
        ]
        .into_iter()
        .filter_map(|(name, url)| url.as_deref().map(|url| (name, url)))
        .collect()
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the servers.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        for server in self.servers {
            server.await??;
        }
        Ok(())
    }
}

/// Builds the IdP's state from flags; `issuer` is the URL it is reached at and the apps' base
/// URLs are where the pre-registered clients redirect.
pub async fn build_idp(
    args: &IdpArgs,
    backend: &ResolvedBackend,
    issuer: &str,
    store_url: &str,
    forums_url: &str,
) -> anyhow::Result<IdpState> {
    let mut clients = default_clients(store_url, forums_url);
    for flag in &args.clients {
        clients.push(Client::parse_flag(flag).map_err(anyhow::Error::msg)?);
    }
    for id in &args.require_pkce {
        let client = clients
            .iter_mut()
            .find(|client| &client.id == id)
            .with_context(|| format!("--require-pkce {id}: no such client"))?;
        client.require_pkce = true;
    }
    let users = UserDirectory::new(args.users, &args.user_password, args.password_hash)
        .map_err(anyhow::Error::msg)?;
    let keys = SigningKeys::generate(args.signing_alg)?;
    let policy = SessionPolicy {
        idle: Duration::from_secs(args.sso_idle_timeout),
        absolute: Duration::from_secs(args.sso_absolute_timeout),
    };
    let sso = build_store(&backend.store_config("ssobench:idp:sso:"), policy)
        .await
        .context("building the SSO session store")?;
    let mut settings = IdpSettings::new(issuer);
    settings.code_lifetime = Duration::from_secs(args.code_lifetime);
    settings.access_token_lifetime = Duration::from_secs(args.access_token_lifetime);
    settings.refresh_token_lifetime = Duration::from_secs(args.refresh_token_lifetime);
    settings.secure_cookies = args.secure_cookies;
    Ok(IdpState::new(
        settings,
        ClientRegistry::new(clients),
        users,
        keys,
        sso,
    ))
}

/// Builds one app's state.
pub async fn build_app(
    kind: AppKind,
    args: &ServeArgs,
    backend: &ResolvedBackend,
    base_url: &str,
    idp_url: &str,
) -> anyhow::Result<AppState> {
    let mut settings = AppSettings::new(kind, base_url, idp_url);
    settings.policy = SessionPolicy {
        idle: args.apps.idle_timeout,
        absolute: args.apps.absolute_timeout,
    };
    settings.rotation = RotationPolicy {
        every_requests: args.apps.rotate_every_requests,
        every: args.apps.rotate_every,
    };
    settings.secure_cookies = args.idp.secure_cookies;
    let name = kind.name();
    let sessions = build_store(
        &backend.store_config(&format!("ssobench:{name}:session:")),
        settings.policy,
    )
    .await
    .with_context(|| format!("building the {name} session store"))?;
    let prelogin_policy = SessionPolicy {
        idle: PRELOGIN_LIFETIME,
        absolute: PRELOGIN_LIFETIME,
    };
    let prelogins = build_store(
        &backend.store_config(&format!("ssobench:{name}:prelogin:")),
        prelogin_policy,
    )
    .await
    .with_context(|| format!("building the {name} pre-login store"))?;
    Ok(AppState::new(settings, sessions, prelogins)?)
}

async fn bind(
    address: SocketAddr,
    flag: &str,
) -> anyhow::Result<(tokio::net::TcpListener, String)> {
    require_loopback(address, flag)?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("{flag} {address}: cannot listen there"))?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok((listener, url))
}

/// Starts the services `args.role` names, in this process, and returns once they listen.
pub async fn start(args: &ServeArgs) -> anyhow::Result<RunningStack> {
    let backend = args.backend.resolve()?;
    let runs = |role: Role| args.role == Role::All || args.role == role;
    let idp_bound = if runs(Role::Idp) {
        Some(bind(args.idp.idp_addr, "--idp-addr").await?)
    } else {
        None
    };
    let store_bound = if runs(Role::Store) {
        Some(bind(args.apps.store_addr, "--store-addr").await?)
    } else {
        None
    };
    let forums_bound = if runs(Role::Forums) {
        Some(bind(args.apps.forums_addr, "--forums-addr").await?)
    } else {
        None
    };

    // With everything in one process the services point at each other's real addresses.
    let idp_url = match &idp_bound {
        Some((_, url)) => args.idp.issuer.clone().unwrap_or_else(|| url.clone()),
        None => args.apps.idp_url.trim_end_matches('/').to_owned(),
    };
    let store_url = store_bound
        .as_ref()
        .map_or(args.idp.store_url.clone(), |(_, url)| url.clone());
    let forums_url = forums_bound
        .as_ref()
        .map_or(args.idp.forums_url.clone(), |(_, url)| url.clone());

    let (shutdown, watcher) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    let mut serve = |listener: tokio::net::TcpListener, router: axum::Router| {
        let mut watcher = watcher.clone();
        servers.push(tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = watcher.wait_for(|stop| *stop).await;
                })
                .await
        }));
    };
    let mut idp_state = None;
    if let Some((listener, _)) = idp_bound {
        let state = build_idp(&args.idp, &backend, &idp_url, &store_url, &forums_url).await?;
        serve(listener, idp::router(state.clone()));
        idp_state = Some(state);
    }
    let mut store_state = None;
    if let Some((_, url)) = &store_bound {
        store_state = Some(build_app(AppKind::Store, args, &backend, url, &idp_url).await?);
    }
    let mut forums_state = None;
    if let Some((_, url)) = &forums_bound {
        forums_state = Some(build_app(AppKind::Forums, args, &backend, url, &idp_url).await?);
    }
    if let (Some((listener, _)), Some(state)) = (store_bound, &store_state) {
        serve(listener, app::router(state.clone()));
    }
    if let (Some((listener, _)), Some(state)) = (forums_bound, &forums_state) {
        serve(listener, app::router(state.clone()));
    }
    Ok(RunningStack {
        idp_url: idp_state.as_ref().map(|_| idp_url.clone()),
        store_url: store_state
            .as_ref()
            .map(|state| state.settings().base_url.clone()),
        forums_url: forums_state
            .as_ref()
            .map(|state| state.settings().base_url.clone()),
        idp: idp_state,
        store: store_state,
        forums: forums_state,
        shutdown,
        servers,
        _backend: backend,
    })
}

/// Serves until Ctrl-C, printing the base URLs one per line.
pub async fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let stack = start(args).await?;
    for (name, url) in stack.urls() {
        println!("{name} {url}");
    }
    shutdown_signal().await;
    stack.shutdown().await
}

/// Resolves on Ctrl-C (or SIGTERM on Unix).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
