//! `serve`'s command-line flags, which build a [`StackConfig`], and [`run`], which serves it
//! until Ctrl-C.

use crate::app::RotationPolicy;
use crate::cli::BackendArgs;
use crate::error::StackError;
use crate::idp::{Client, PasswordHashing, SigningAlgorithm};
use crate::session::{Clock, SessionPolicy};
use crate::stack::{
    AppsConfig, ClientCredentials, IdpConfig, ProviderConfig, Role, StackConfig, start,
};
use crate::web::server::ServerLimits;
use crate::web::tls::TlsFiles;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use vocabulary::addresses;
use vocabulary::protocol::{self, Announcement};

/// The IdP's flags.
#[derive(Debug, Clone, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct IdpArgs {
    /// Address the IdP listens on (port 0 picks a free one; 0.0.0.0 needs --issuer).
    #[arg(long, default_value_t = addresses::IDP)]
    pub idp_addr: SocketAddr,
    /// Issuer URL in tokens and discovery [default: http://<bound address>].
    #[arg(long)]
    pub issuer: Option<String>,
    /// Base URL of the store app: the pre-registered `store` client's redirect URIs, and the
    /// URL browsers reach the store at when it listens on an unspecified address such as
    /// 0.0.0.0 [default: http://127.0.0.2:9011].
    #[arg(long)]
    pub store_url: Option<String>,
    /// Base URL of the forums app, as --store-url is the store's [default:
    /// http://127.0.0.3:9012].
    #[arg(long)]
    pub forums_url: Option<String>,
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
    /// Authorization code lifetime (e.g. 30s).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub code_lifetime: Duration,
    /// Access and id token lifetime (e.g. 15m).
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub access_token_lifetime: Duration,
    /// Refresh token lifetime (e.g. 8h).
    #[arg(long, default_value = "8h", value_parser = humantime::parse_duration)]
    pub refresh_token_lifetime: Duration,
    /// SSO session idle timeout (e.g. 1h).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub sso_idle_timeout: Duration,
    /// SSO session absolute timeout (e.g. 24h).
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    pub sso_absolute_timeout: Duration,
    /// Mark cookies Secure (behind an HTTPS proxy; with --tls-cert they always are).
    #[arg(long)]
    pub secure_cookies: bool,
}

/// The apps' flags.
#[derive(Debug, Clone, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct AppArgs {
    /// Address the store app listens on (port 0 picks a free one; 0.0.0.0 needs --store-url).
    #[arg(long, default_value_t = addresses::STORE)]
    pub store_addr: SocketAddr,
    /// Address the forums app listens on (port 0 picks a free one; 0.0.0.0 needs
    /// --forums-url).
    #[arg(long, default_value_t = addresses::FORUMS)]
    pub forums_addr: SocketAddr,
    /// The IdP's URL, for `--role store` or `--role forums` (with `--role all` it is the
    /// in-process IdP's).
    #[arg(long, default_value = addresses::IDP_URL)]
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
    /// Make the store and forums relying parties of this OpenID provider (its issuer URL;
    /// found by discovery) instead of the bundled IdP, which then does not run. Needs
    /// --store-client and --forums-client; register the apps' callbacks
    /// (`<app URL>/oauth-callback`) and post-logout URIs (`<app URL>/`) there.
    #[arg(long, value_name = "ISSUER_URL", requires_all = ["store_client", "forums_client"])]
    pub provider: Option<String>,
    /// The store's client at --provider.
    #[arg(long, value_name = "CLIENT_ID:SECRET", requires = "provider",
          value_parser = ClientCredentials::parse)]
    pub store_client: Option<ClientCredentials>,
    /// The forums' client at --provider.
    #[arg(long, value_name = "CLIENT_ID:SECRET", requires = "provider",
          value_parser = ClientCredentials::parse)]
    pub forums_client: Option<ClientCredentials>,
    /// A test device: when the apps' sessions are on BACKEND, every session lookup also
    /// spends DURATION of CPU (a busy wait), so a comparison has a known difference to find
    /// (e.g. dashmap:20us).
    #[arg(long, value_name = "BACKEND:DURATION", value_parser = crate::cli::Handicap::parse)]
    #[serde(default)]
    pub handicap: Option<crate::cli::Handicap>,
}

/// Everything `serve` takes.
#[derive(Debug, Clone, clap::Args, serde::Serialize, serde::Deserialize)]
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
    /// How long a client may take to send a request's head, and how long a keep-alive
    /// connection may idle, before every service closes it.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,
    /// Connections each service serves at once; more are answered 503 (a page naming the cap,
    /// `Retry-After: 1`) and closed, counted and said once in the log [default: the process's descriptor limit, raised to its hard limit at start,
    /// less 256 kept for files and Redis, shared by the services of this process].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Serve every service over HTTPS with this certificate chain (PEM, leaf first, as nginx
    /// takes it); its names must be the services' hosts. Cookies are then Secure.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A PEM file of CA certificates the apps trust, besides the platform's roots, when they
    /// reach their provider over HTTPS (a private CA; with --tls-cert and the bundled IdP,
    /// the CA of that certificate).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Store and forums instances, each in a process of its own, behind one IdP in this
    /// process, all on the shared backend (redis or redis-cluster; in-memory backends are
    /// refused: their sessions live in one process). Instance i listens on the configured
    /// port + i, or on a free port with port 0.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub instances: u32,
    /// Serve the IdP here and the store and forums each in a process of its own, even with one
    /// instance (then any backend will do): each service's CPU and memory are its own process's,
    /// as a run's costs by component need.
    #[arg(long)]
    pub separate_processes: bool,
    /// Live sessions created in the store's backend before the services are announced (by
    /// the first store instance only; a parent waits 30 s for an instance to announce itself).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=MAX_PREFILL))]
    pub prefill_sessions: u64,
}

/// The most sessions `serve --prefill-sessions` creates (a child's arguments, read from its
/// input, are held to it too).
pub const MAX_PREFILL: u64 = 10_000_000;

/// `serve` as a command: its flags, or — for the children this program starts — its arguments
/// whole on standard input.
#[derive(Debug, clap::Args)]
pub struct ServeCommand {
    #[command(flatten)]
    pub args: ServeArgs,
    /// Read the arguments, whole, from the first line of standard input instead of flags (how
    /// this program starts its own `serve` processes).
    #[arg(long, hide = true)]
    pub config_on_stdin: bool,
}

impl ServeCommand {
    /// Serves the arguments given on the command line or on standard input.
    pub async fn run(self) -> Result<(), StackError> {
        if self.config_on_stdin {
            let args: ServeArgs =
                crate::children::receive_config().map_err(|source| StackError::Protocol {
                    doing: "reading serve's arguments from standard input",
                    source,
                })?;
            return run(&args).await;
        }
        run(&self.args).await
    }
}

/// `serve`'s flags alone, to parse them where no other command wraps them.
#[derive(Debug, clap::Parser)]
struct ServeFlags {
    #[command(flatten)]
    args: ServeArgs,
}

impl Default for ServeArgs {
    /// Every flag at its default, as `serve` with no flag has them.
    fn default() -> Self {
        use clap::Parser as _;
        ServeFlags::try_parse_from(["serve"])
            .map(|flags| flags.args)
            .expect("serve's flags all have defaults")
    }
}

impl ServeArgs {
    /// The typed configuration these flags describe.
    pub fn config(&self) -> Result<StackConfig, StackError> {
        let idp = &self.idp;
        let defaults = StackConfig::default();
        let extra_clients = idp
            .clients
            .iter()
            .map(|flag| Client::parse_flag(flag).map_err(StackError::Refused))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StackConfig {
            role: self.role,
            backend: self.backend.clone(),
            idp: IdpConfig {
                addr: idp.idp_addr,
                issuer: idp.issuer.clone(),
                store_url: idp.store_url.clone().unwrap_or(defaults.idp.store_url),
                forums_url: idp.forums_url.clone().unwrap_or(defaults.idp.forums_url),
                more_store_urls: Vec::new(),
                more_forums_urls: Vec::new(),
                extra_clients,
                require_pkce: idp.require_pkce.clone(),
                users: idp.users,
                user_password: idp.user_password.clone(),
                password_hash: idp.password_hash,
                signing_alg: idp.signing_alg,
                code_lifetime: idp.code_lifetime,
                access_token_lifetime: idp.access_token_lifetime,
                refresh_token_lifetime: idp.refresh_token_lifetime,
                sso_policy: SessionPolicy {
                    idle: idp.sso_idle_timeout,
                    absolute: idp.sso_absolute_timeout,
                },
            },
            apps: AppsConfig {
                store_addr: self.apps.store_addr,
                forums_addr: self.apps.forums_addr,
                idp_url: self.apps.idp_url.clone(),
                policy: SessionPolicy {
                    idle: self.apps.idle_timeout,
                    absolute: self.apps.absolute_timeout,
                },
                rotation: RotationPolicy {
                    every_requests: self.apps.rotate_every_requests,
                    every: self.apps.rotate_every,
                },
                public_store_url: idp.store_url.clone(),
                public_forums_url: idp.forums_url.clone(),
                handicap: self.apps.handicap,
                provider: match (
                    &self.apps.provider,
                    &self.apps.store_client,
                    &self.apps.forums_client,
                ) {
                    (Some(issuer), Some(store), Some(forums)) => Some(ProviderConfig {
                        issuer: issuer.clone(),
                        store: store.clone(),
                        forums: forums.clone(),
                    }),
                    (None, None, None) => None,
                    _ => {
                        return Err(StackError::refused(
                            "--provider needs --store-client and --forums-client, and they need it",
                        ));
                    }
                },
            },
            secure_cookies: idp.secure_cookies,
            tls: match (&self.tls_cert, &self.tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                }),
                (None, None) => None,
                _ => return Err(StackError::refused("--tls-cert and --tls-key go together")),
            },
            ca_cert: self.ca_cert.clone(),
            server: ServerLimits {
                header_read_timeout: self.header_read_timeout,
                max_connections: self.max_connections.unwrap_or_else(|| {
                    crate::limits::default_max_connections(match self.role {
                        Role::All => 3,
                        _ => 1,
                    })
                }),
            },
            clock: Clock::System,
        })
    }
}

/// Serves until Ctrl-C, announcing each service's base URL on a line of its own
/// (`vocabulary::protocol::Announcement`: people and parent processes read the same lines).
pub async fn run(args: &ServeArgs) -> Result<(), StackError> {
    if args.instances > 1 || args.separate_processes {
        let exe = std::env::current_exe().map_err(|source| StackError::Io {
            doing: "finding this program to start instances",
            source,
        })?;
        let instances = crate::instances::start(args, &exe).await?;
        announce(&instances.announcements())?;
        shutdown_signal().await;
        return instances.shutdown().await;
    }
    let config = args.config()?;
    let stack = start(&config).await?;
    if args.prefill_sessions > MAX_PREFILL {
        return Err(StackError::refused(format!(
            "--prefill-sessions is at most {MAX_PREFILL}"
        )));
    }
    if let (Some(store), count @ 1..) = (&stack.store, args.prefill_sessions) {
        let started = std::time::Instant::now();
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        crate::session::prefill(store.sessions(), count, 64)
            .await
            .map_err(|source| StackError::Store {
                what: "prefilled".into(),
                source,
            })?;
        eprintln!("prefilled {count} sessions in {:.2?}", started.elapsed());
    }
    // Said on standard error: standard output carries only the announcements.
    eprintln!(
        "each service serves at most {} connections at once (--max-connections); idle ones close after {:?} (--header-read-timeout)",
        config.server.max_connections, config.server.header_read_timeout
    );
    announce(&stack.announcements())?;
    shutdown_signal().await;
    for (service, refused) in stack.refused_over_cap() {
        if refused > 0 {
            eprintln!(
                "{}: {refused} connections answered 503 and closed, over --max-connections ({})",
                service.name(),
                config.server.max_connections
            );
        }
    }
    stack.shutdown().await
}

fn announce(said: &[Announcement]) -> Result<(), StackError> {
    let mut stdout = std::io::stdout().lock();
    for announcement in said {
        protocol::write_line(&mut stdout, announcement).map_err(|source| StackError::Protocol {
            doing: "announcing the services",
            source,
        })?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(Debug, clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn parse(flags: &[&str]) -> StackConfig {
        let flags = std::iter::once("serve").chain(flags.iter().copied());
        Wrapper::try_parse_from(flags)
            .expect("flags parse")
            .args
            .config()
            .expect("config")
    }

    #[test]
    fn flag_defaults_are_the_typed_defaults() {
        assert_eq!(parse(&[]), StackConfig::default());
        assert_eq!(
            ServeArgs::default().config().expect("config"),
            StackConfig::default()
        );
    }

    #[test]
    fn arguments_sent_to_a_child_read_back_the_same() {
        let mut args = ServeArgs {
            role: Role::Store,
            instances: 3,
            separate_processes: true,
            prefill_sessions: 1234,
            ..ServeArgs::default()
        };
        args.backend.backend = crate::session::Backend::RedisCluster;
        args.backend.redis_cluster_urls = vec!["redis://127.0.0.1:7000".into()];
        args.backend.redis_persistence = crate::local_redis::Persistence::AofAlways;
        args.idp.issuer = Some("http://127.0.0.1:1".into());
        args.idp.clients = vec!["extra:s3cret:http://127.0.0.9:1/cb".into()];
        args.idp.require_pkce = vec!["extra".into()];
        args.idp.signing_alg = SigningAlgorithm::Es256;
        args.idp.password_hash = PasswordHashing::Argon2;
        args.idp.user_password = "pass word\n".into();
        args.idp.secure_cookies = true;
        args.apps.idle_timeout = Duration::from_millis(1500);
        args.apps.rotate_every_requests = Some(7);
        args.apps.rotate_every = Some(Duration::from_secs(90));
        args.header_read_timeout = Duration::from_secs(3);
        args.apps.provider = Some("https://op.test:8443".into());
        args.apps.store_client = Some(ClientCredentials::parse("shop:s:ec:ret").expect("client"));
        args.apps.forums_client = Some(ClientCredentials::parse("board:x").expect("client"));
        args.tls_cert = Some("/etc/ssl/chain.pem".into());
        args.tls_key = Some("/etc/ssl/key.pem".into());
        args.ca_cert = Some("/etc/ssl/ca.pem".into());
        for sent in [args, ServeArgs::default()] {
            let mut wire = Vec::new();
            protocol::send_config(&mut wire, &sent).expect("send");
            let back: ServeArgs =
                protocol::receive_config(&mut std::io::Cursor::new(wire)).expect("receive");
            assert_eq!(
                back.config().expect("config"),
                sent.config().expect("config")
            );
            assert_eq!(back.instances, sent.instances);
            assert_eq!(back.separate_processes, sent.separate_processes);
            assert_eq!(back.prefill_sessions, sent.prefill_sessions);
            assert_eq!(back.backend, sent.backend);
        }
    }

    #[test]
    fn every_duration_flag_takes_a_unit_and_refuses_a_bare_number() {
        for flag in [
            "--code-lifetime",
            "--access-token-lifetime",
            "--refresh-token-lifetime",
            "--sso-idle-timeout",
            "--sso-absolute-timeout",
            "--idle-timeout",
            "--absolute-timeout",
        ] {
            let error = Wrapper::try_parse_from(["serve", flag, "60"])
                .expect_err("a bare number is refused")
                .to_string();
            assert!(error.contains(flag), "{flag}: {error}");
            assert!(
                Wrapper::try_parse_from(["serve", flag, "2m"]).is_ok(),
                "{flag}"
            );
        }
        let config = parse(&["--code-lifetime", "45s", "--sso-absolute-timeout", "2h"]);
        assert_eq!(config.idp.code_lifetime, Duration::from_secs(45));
        assert_eq!(config.idp.sso_policy.absolute, Duration::from_secs(7200));
    }

    #[test]
    fn flags_set_the_typed_fields() {
        let config = parse(&[
            "--role",
            "store",
            "--idle-timeout",
            "90s",
            "--signing-alg",
            "es256",
            "--client",
            "extra:s3cret:http://127.0.0.9:1/cb",
            "--sso-idle-timeout",
            "60s",
        ]);
        assert_eq!(config.role, Role::Store);
        assert_eq!(config.apps.policy.idle, Duration::from_secs(90));
        assert_eq!(config.idp.signing_alg, SigningAlgorithm::Es256);
        assert_eq!(config.idp.extra_clients[0].id, "extra");
        assert_eq!(config.idp.sso_policy.idle, Duration::from_secs(60));
    }
}
