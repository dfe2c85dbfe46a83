//! Building and running the services from command-line flags.

use crate::cli::BackendArgs;
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

/// Builds the IdP's state from flags; `issuer` is the URL it is reached at.
pub async fn build_idp(
    args: &IdpArgs,
    backend: &BackendArgs,
    issuer: &str,
) -> anyhow::Result<(IdpState, crate::cli::ChosenBackend)> {
    let mut clients = default_clients(&args.store_url, &args.forums_url);
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
    let chosen = backend.choose("ssobench:idp:sso:")?;
    let policy = SessionPolicy {
        idle: Duration::from_secs(args.sso_idle_timeout),
        absolute: Duration::from_secs(args.sso_absolute_timeout),
    };
    let sso = build_store(&chosen.config, policy)
        .await
        .context("building the SSO session store")?;
    let mut settings = IdpSettings::new(issuer);
    settings.code_lifetime = Duration::from_secs(args.code_lifetime);
    settings.access_token_lifetime = Duration::from_secs(args.access_token_lifetime);
    settings.refresh_token_lifetime = Duration::from_secs(args.refresh_token_lifetime);
    settings.secure_cookies = args.secure_cookies;
    Ok((
        IdpState::new(settings, ClientRegistry::new(clients), users, keys, sso),
        chosen,
    ))
}

/// Serves the IdP until Ctrl-C.
pub async fn run_idp(args: &IdpArgs, backend: &BackendArgs) -> anyhow::Result<()> {
    require_loopback(args.idp_addr, "--idp-addr")?;
    let listener = tokio::net::TcpListener::bind(args.idp_addr)
        .await
        .with_context(|| format!("binding {}", args.idp_addr))?;
    let bound = listener.local_addr()?;
    let issuer = args
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let (state, _backend) = build_idp(args, backend, &issuer).await?;
    println!("idp {issuer}");
    axum::serve(listener, idp::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
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
