//! The stack as typed configuration: which services run, where, on which session backend and with
//! which settings ([`StackConfig`]), and [`start`], which binds and serves them in this process.
//!
//! `serve`'s flags build a `StackConfig`; the load runner and the tests build one directly, so no
//! caller writes flags as strings to parse them back.

use crate::app::{self, AppKind, AppSettings, AppState, PRELOGIN_LIFETIME, RotationPolicy};
use crate::cli::{Backend, BackendArgs, ResolvedBackend, SharedRedis};
use crate::error::StackError;
use crate::idp::{
    self, Client, ClientRegistry, IdpSettings, IdpState, PasswordHashing, SigningAlgorithm,
    SigningKeys, UserDirectory,
};
use crate::session::{Clock, SessionPolicy, build_store};
use crate::web::pause::PauseGate;
use crate::web::server::{self, ServerLimits};
use crate::web::tls::TlsFiles;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use vocabulary::Service;
use vocabulary::addresses;
use vocabulary::protocol::Announcement;

pub use vocabulary::Role;

/// Everything a stack needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackConfig {
    pub role: Role,
    pub backend: BackendArgs,
    pub idp: IdpConfig,
    pub apps: AppsConfig,
    /// Mark every cookie `Secure` (behind an HTTPS proxy; served over TLS they always are).
    pub secure_cookies: bool,
    /// Serve every service over HTTPS with this certificate chain and key.
    pub tls: Option<TlsFiles>,
    /// CA certificates the apps trust, besides the platform's roots, for their provider's
    /// HTTPS endpoints (a private CA, or the stack's own certificate's).
    pub ca_cert: Option<PathBuf>,
    /// Header read timeout and connection cap of every service.
    pub server: ServerLimits,
    /// Where the in-memory session stores read the time: the system clock, except in tests
    /// that move a manual one to expire sessions without waiting. Redis keeps its own time.
    pub clock: Clock,
}

/// The IdP's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpConfig {
    /// Where the IdP listens (port 0 picks a free one; an unspecified address such as 0.0.0.0
    /// needs `issuer`, the URL browsers reach it at).
    pub addr: SocketAddr,
    /// Issuer URL in tokens and discovery; `None`: `http://<bound address>`.
    pub issuer: Option<String>,
    /// Base URLs of the apps, for the pre-registered clients' redirect URIs (when the apps run
    /// in this process, their bound addresses are used instead, unless they listen on an
    /// unspecified address: then these are their public URLs).
    pub store_url: String,
    pub forums_url: String,
    /// Base URLs of further store and forums instances (`serve --instances`): each is one
    /// more registered redirect URI (and post-logout URI) of the `store` or `forums` client.
    pub more_store_urls: Vec<String>,
    pub more_forums_urls: Vec<String>,
    /// Clients besides `store` and `forums`.
    pub extra_clients: Vec<Client>,
    /// Client ids that must use PKCE (`store` and `forums` always do).
    pub require_pkce: Vec<String>,
    /// Seeded users `user1@example.com` … `user<N>@example.com`.
    pub users: u64,
    pub user_password: String,
    pub password_hash: PasswordHashing,
    pub signing_alg: SigningAlgorithm,
    pub code_lifetime: Duration,
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    /// The SSO session's idle and absolute timeouts.
    pub sso_policy: SessionPolicy,
}

/// The apps' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppsConfig {
    pub store_addr: SocketAddr,
    pub forums_addr: SocketAddr,
    /// The IdP, for a process that runs an app without the IdP.
    pub idp_url: String,
    /// App session idle (sliding) and absolute timeouts.
    pub policy: SessionPolicy,
    pub rotation: RotationPolicy,
    /// The apps as relying parties of another OpenID provider: the bundled IdP does not run.
    pub provider: Option<ProviderConfig>,
    /// The URLs browsers reach the apps at, given (`--store-url`, `--forums-url`): needed when
    /// an app listens on an unspecified address such as 0.0.0.0.
    pub public_store_url: Option<String>,
    pub public_forums_url: Option<String>,
    /// A test device (`--handicap`): CPU spent on every session lookup of the apps when their
    /// backend is the one it names.
    pub handicap: Option<crate::cli::Handicap>,
}

/// The provider the apps log users in through, and their clients there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// The provider's issuer (its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    pub store: ClientCredentials,
    pub forums: ClientCredentials,
}

/// A confidential client registered at a provider.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientCredentials {
    pub id: String,
    pub secret: String,
}

impl ClientCredentials {
    /// `ID:SECRET` (the secret may hold colons).
    pub fn parse(text: &str) -> Result<ClientCredentials, String> {
        match text.split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok(ClientCredentials {
                id: id.to_owned(),
                secret: secret.to_owned(),
            }),
            _ => Err(format!("{text:?}: expected CLIENT_ID:SECRET")),
        }
    }
}

impl Default for StackConfig {
    /// `serve`'s defaults: all three services on their fixed ports, DashMap sessions.
    fn default() -> Self {
        StackConfig {
            role: Role::All,
            backend: BackendArgs {
                backend: Backend::Dashmap,
                redis_url: None,
                redis_persistence: Default::default(),
                redis_cluster_urls: Vec::new(),
            },
            idp: IdpConfig {
                addr: addresses::IDP,
                issuer: None,
                store_url: addresses::STORE_URL.into(),
                forums_url: addresses::FORUMS_URL.into(),
                more_store_urls: Vec::new(),
                more_forums_urls: Vec::new(),
                extra_clients: Vec::new(),
                require_pkce: Vec::new(),
                users: 10_000,
                user_password: "password".into(),
                password_hash: PasswordHashing::Plain,
                signing_alg: SigningAlgorithm::Rs256,
                code_lifetime: Duration::from_secs(30),
                access_token_lifetime: Duration::from_secs(900),
                refresh_token_lifetime: Duration::from_secs(8 * 3600),
                sso_policy: SessionPolicy {
                    idle: Duration::from_secs(3600),
                    absolute: Duration::from_secs(24 * 3600),
                },
            },
            apps: AppsConfig {
                store_addr: addresses::STORE,
                forums_addr: addresses::FORUMS,
                idp_url: addresses::IDP_URL.into(),
                policy: SessionPolicy::default(),
                rotation: RotationPolicy::default(),
                provider: None,
                public_store_url: None,
                public_forums_url: None,
                handicap: None,
            },
            secure_cookies: false,
            tls: None,
            ca_cert: None,
            server: ServerLimits::default(),
            clock: Clock::System,
        }
    }
}

impl StackConfig {
    /// The whole stack on free ports of the three loopback addresses (for load runs and tests).
    pub fn ephemeral(backend: BackendArgs) -> Self {
        let mut config = StackConfig {
            backend,
            ..StackConfig::default()
        };
        config.idp.addr.set_port(0);
        config.apps.store_addr.set_port(0);
        config.apps.forums_addr.set_port(0);
        config
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
    /// In front of every service's handlers: closed, it stalls the whole stack.
    pub gate: PauseGate,
    shutdown: tokio::sync::watch::Sender<bool>,
    servers: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Each service's connections: open now, and refused over `--max-connections`.
    connections: Vec<(Service, server::Connections)>,
    backend: ResolvedBackend,
}

impl RunningStack {
    /// What this process announces: each service it runs and its base URL, IdP first.
    pub fn announcements(&self) -> Vec<Announcement> {
        [
            (Service::Idp, &self.idp_url),
            (Service::Store, &self.store_url),
            (Service::Forums, &self.forums_url),
        ]
        .into_iter()
        .filter_map(|(service, url)| url.clone().map(|url| Announcement { service, url }))
        .collect()
    }

    /// Connections each service answered 503 and closed for being over its
    /// `--max-connections`.
    pub fn refused_over_cap(&self) -> Vec<(Service, u64)> {
        self.connections
            .iter()
            .map(|(service, connections)| (*service, connections.refused()))
            .collect()
    }

    /// Each service's connection counts, live: what a sampler reads while the stack runs.
    pub fn connections(&self) -> Vec<(Service, server::Connections)> {
        self.connections.clone()
    }

    /// The process id of the `redis-server` this stack started, if it started one.
    pub fn local_redis_pid(&self) -> Option<u32> {
        self.backend.local_redis_pid()
    }

    /// The process ids of the local Redis Cluster this stack started, if it started one.
    pub fn local_cluster_pids(&self) -> Vec<u32> {
        self.backend.local_cluster_pids()
    }

    /// The `redis-server` this stack started, if it started one (to fault it).
    pub fn local_redis(&self) -> Option<SharedRedis> {
        self.backend.local_redis.clone()
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the servers.
    pub async fn shutdown(self) -> Result<(), StackError> {
        let _ = self.shutdown.send(true);
        for server in self.servers {
            server.await?.map_err(StackError::Serving)?;
        }
        Ok(())
    }
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

/// Builds the IdP's state; `issuer` is the URL it is reached at and the apps' base URLs are
/// where the pre-registered clients redirect.
pub async fn build_idp(
    config: &StackConfig,
    backend: &ResolvedBackend,
    issuer: &str,
    store_url: &str,
    forums_url: &str,
) -> Result<IdpState, StackError> {
    let idp = &config.idp;
    let mut clients = default_clients(store_url, forums_url);
    for client in &mut clients {
        let more = match client.id.as_str() {
            "store" => &idp.more_store_urls,
            "forums" => &idp.more_forums_urls,
            _ => continue,
        };
        for base in more {
            let base = base.trim_end_matches('/');
            client.redirect_uris.push(format!("{base}/oauth-callback"));
            client.post_logout_redirect_uris.push(format!("{base}/"));
        }
    }
    clients.extend(idp.extra_clients.iter().cloned());
    for id in &idp.require_pkce {
        let client = clients
            .iter_mut()
            .find(|client| &client.id == id)
            .ok_or_else(|| StackError::refused(format!("--require-pkce {id}: no such client")))?;
        client.require_pkce = true;
    }
    let users = UserDirectory::new(idp.users, &idp.user_password, idp.password_hash)
        .map_err(StackError::Refused)?;
    let keys = SigningKeys::generate(idp.signing_alg)?;
    let sso = build_store(
        &backend.store_config("ssobench:idp:sso:", &config.clock),
        idp.sso_policy,
    )
    .await
    .map_err(|source| StackError::Store {
        what: "IdP's SSO session".into(),
        source,
    })?;
    let mut settings = IdpSettings::new(issuer);
    settings.code_lifetime = idp.code_lifetime;
    settings.access_token_lifetime = idp.access_token_lifetime;
    settings.refresh_token_lifetime = idp.refresh_token_lifetime;
    settings.secure_cookies = config.secure_cookies || config.tls.is_some();
    settings.clock = config.clock.clone();
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
    config: &StackConfig,
    backend: &ResolvedBackend,
    base_url: &str,
    idp_url: &str,
) -> Result<AppState, StackError> {
    let mut settings = AppSettings::new(kind, base_url, idp_url);
    settings.policy = config.apps.policy;
    settings.rotation = config.apps.rotation;
    settings.lookup_handicap =
        crate::cli::Handicap::cost_on(config.apps.handicap, config.backend.backend);
    settings.secure_cookies = config.secure_cookies || config.tls.is_some();
    settings.ca_cert = config.ca_cert.clone();
    if let Some(provider) = &config.apps.provider {
        let client = match kind {
            AppKind::Store => &provider.store,
            AppKind::Forums => &provider.forums,
        };
        settings.client_id = client.id.clone();
        settings.client_secret = client.secret.clone();
        settings.discover = true;
    }
    let name = kind.name();
    let sessions = build_store(
        &backend.store_config(&format!("ssobench:{name}:session:"), &config.clock),
        settings.policy,
    )
    .await
    .map_err(|source| StackError::Store {
        what: format!("{name} session"),
        source,
    })?;
    let prelogin_policy = SessionPolicy {
        idle: PRELOGIN_LIFETIME,
        absolute: PRELOGIN_LIFETIME,
    };
    let prelogins = build_store(
        &backend.store_config(&format!("ssobench:{name}:prelogin:"), &config.clock),
        prelogin_policy,
    )
    .await
    .map_err(|source| StackError::Store {
        what: format!("{name} pre-login"),
        source,
    })?;
    Ok(AppState::new(settings, sessions, prelogins)?)
}

/// Listens on `address` (any address its user names: a container needs 0.0.0.0) and gives
/// the service's URL: the bound address's, or `public` for an unspecified address, which no
/// browser can reach by that name.
async fn bind(
    address: SocketAddr,
    what: &'static str,
    scheme: &str,
    public: Option<&str>,
) -> Result<(tokio::net::TcpListener, String), StackError> {
    let listen = |source| StackError::Listen {
        what,
        address,
        source,
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(listen)?;
    let bound = listener.local_addr().map_err(listen)?;
    let url = if bound.ip().is_unspecified() {
        let url = public
            .map(|url| url.trim_end_matches('/').to_owned())
            .ok_or_else(|| {
                StackError::refused(format!(
                    "{what} {address} is every address of this host: give the URL browsers \
                     reach it at (--issuer for the IdP, --store-url and --forums-url for the apps)"
                ))
            })?;
        if !url.starts_with(&format!("{scheme}://")) {
            return Err(StackError::refused(format!(
                "{what} {address}: {url} is not {scheme}:// as the service is served"
            )));
        }
        url
    } else {
        format!("{scheme}://{bound}")
    };
    Ok((listener, url))
}

/// Starts the services `config.role` names, in this process (on the runtime this is called
/// from), and returns once they listen.
pub async fn start(config: &StackConfig) -> Result<RunningStack, StackError> {
    let provider = config.apps.provider.as_ref();
    if provider.is_some() && config.role == Role::Idp {
        return Err(StackError::refused(
            "--provider makes the apps relying parties of another provider: --role idp has \
             nothing to run",
        ));
    }
    let backend = config.backend.resolve()?;
    let tls = config.tls.as_ref().map(TlsFiles::acceptor).transpose()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // With --provider the bundled IdP does not run.
    let runs = |service: Service| {
        config.role.runs(service) && !(service == Service::Idp && provider.is_some())
    };
    let idp_bound = if runs(Service::Idp) {
        Some(
            bind(
                config.idp.addr,
                "the IdP's address",
                scheme,
                config.idp.issuer.as_deref(),
            )
            .await?,
        )
    } else {
        None
    };
    let store_bound = if runs(Service::Store) {
        Some(
            bind(
                config.apps.store_addr,
                "the store's address",
                scheme,
                config.apps.public_store_url.as_deref(),
            )
            .await?,
        )
    } else {
        None
    };
    let forums_bound = if runs(Service::Forums) {
        Some(
            bind(
                config.apps.forums_addr,
                "the forums' address",
                scheme,
                config.apps.public_forums_url.as_deref(),
            )
            .await?,
        )
    } else {
        None
    };

    // With everything in one process the services point at each other's real addresses.
    let idp_url = match (&idp_bound, provider) {
        (Some((_, url)), _) => config.idp.issuer.clone().unwrap_or_else(|| url.clone()),
        (None, Some(provider)) => provider.issuer.trim_end_matches('/').to_owned(),
        (None, None) => config.apps.idp_url.trim_end_matches('/').to_owned(),
    };
    let store_url = store_bound
        .as_ref()
        .map_or(config.idp.store_url.clone(), |(_, url)| url.clone());
    let forums_url = forums_bound
        .as_ref()
        .map_or(config.idp.forums_url.clone(), |(_, url)| url.clone());

    let (shutdown, watcher) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    let limits = config.server;
    let gate = PauseGate::default();
    let mut connections = Vec::new();
    let mut serve = |service: Service, listener: tokio::net::TcpListener, router: axum::Router| {
        let watcher = watcher.clone();
        let counter = server::Connections::new(service.name());
        connections.push((service, counter.clone()));
        servers.push(tokio::spawn(server::serve(
            listener,
            router,
            limits,
            gate.clone(),
            tls.clone(),
            counter,
            watcher,
        )));
    };
    let mut idp_state = None;
    if let Some((listener, _)) = idp_bound {
        let state = build_idp(config, &backend, &idp_url, &store_url, &forums_url).await?;
        serve(Service::Idp, listener, idp::router(state.clone()));
        idp_state = Some(state);
    }
    let mut store_state = None;
    if let Some((_, url)) = &store_bound {
        store_state = Some(build_app(AppKind::Store, config, &backend, url, &idp_url).await?);
    }
    let mut forums_state = None;
    if let Some((_, url)) = &forums_bound {
        forums_state = Some(build_app(AppKind::Forums, config, &backend, url, &idp_url).await?);
    }
    if let (Some((listener, _)), Some(state)) = (store_bound, &store_state) {
        serve(Service::Store, listener, app::router(state.clone()));
    }
    if let (Some((listener, _)), Some(state)) = (forums_bound, &forums_state) {
        serve(Service::Forums, listener, app::router(state.clone()));
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
        gate,
        shutdown,
        servers,
        connections,
        backend,
    })
}
