//! A real, independent provider in the tests: panva's oidc-provider (OpenID Certified; pinned
//! in `targets/oidc-provider/`, started by its `start.sh`, which installs what it needs) with
//! its own login and consent pages, the mock store and forums as its relying parties
//! (`--provider`), and the journey — password login through its login form and consent page,
//! cart, silent SSO relogin after the store session expires, forums SSO through its consent
//! page, logout through its end-session page — with no failure, over HTTP and over HTTPS.

mod support;

use loadtest::drivers::run::execute;
use mock_services::dev_cert::{self, DevCert};
use mock_services::stack::{ClientCredentials, ProviderConfig, RunningStack, StackConfig};
use mock_services::web::tls::TlsFiles;
use reports::results::LoadRunResults;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Goose keeps process-wide state: runs in one process go one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long the provider may take to start: the first start installs its npm packages.
const START_TIMEOUT: Duration = Duration::from_secs(300);

/// oidc-provider, running; stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        mock_services::children::stop(&mut self.child);
    }
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

/// Starts oidc-provider on 127.0.0.4 with the store and forums registered at `apps` (their
/// base URLs), signing ID tokens with `alg`, over HTTPS with `tls`.
fn start_provider(apps: &[(&str, &str)], alg: &str, tls: Option<&DevCert>) -> Provider {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut command =
        mock_services::children::command(&repository().join("targets/oidc-provider/start.sh"));
    command.args(["--issuer", &format!("{scheme}://127.0.0.4:0")]);
    command.args(["--id-token-alg", alg]);
    for (id, base) in apps {
        command.args([
            "--client",
            &format!("{id}:{id}-secret:{base}/oauth-callback"),
        ]);
        command.args(["--post-logout", &format!("{id}:{base}/")]);
    }
    if let Some(files) = tls {
        command.arg("--tls-cert").arg(&files.cert);
        command.arg("--tls-key").arg(&files.key);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("targets/oidc-provider/start.sh runs (it needs bash)");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    loop {
        match ready.recv_timeout(Duration::from_millis(500)) {
            Ok(Ok(line)) => {
                if let Some(issuer) = line.strip_prefix("ready ") {
                    return Provider {
                        child,
                        issuer: issuer.trim().to_owned(),
                    };
                }
            }
            Ok(Err(error)) => panic!("reading oidc-provider's output: {error}"),
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "oidc-provider exited ({status}) before it was ready: its messages are \
                         above (node and npm are needed; start.sh says what is missing)"
                    );
                }
                assert!(
                    started.elapsed() < START_TIMEOUT,
                    "oidc-provider not ready within {START_TIMEOUT:?}"
                );
            }
        }
    }
}

/// The store and forums on `ports`, relying parties of `issuer`, over HTTPS with `tls`.
async fn start_apps(issuer: &str, ports: (u16, u16), tls: Option<&DevCert>) -> RunningStack {
    let mut config = StackConfig::ephemeral(StackConfig::default().backend);
    config.apps.store_addr.set_port(ports.0);
    config.apps.forums_addr.set_port(ports.1);
    // The journey waits this out to reach its silent SSO relogin.
    config.apps.policy.idle = Duration::from_secs(1);
    let client = |id: &str| ClientCredentials {
        id: id.to_owned(),
        secret: format!("{id}-secret"),
    };
    config.apps.provider = Some(ProviderConfig {
        issuer: issuer.to_owned(),
        store: client("store"),
        forums: client("forums"),
    });
    if let Some(files) = tls {
        config.tls = Some(TlsFiles {
            cert: files.cert.clone(),
            key: files.key.clone(),
        });
        config.ca_cert = Some(files.ca.clone());
    }
    mock_services::stack::start(&config)
        .await
        .expect("the apps start")
}

fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// The journey of three users for six seconds against oidc-provider, its ID tokens signed with
/// `alg`, over HTTPS when `https`.
async fn journey(alg: &str, https: bool) -> LoadRunResults {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let names: Vec<String> = dev_cert::DEFAULT_NAMES.map(String::from).to_vec();
    let files =
        https.then(|| dev_cert::write(&dir.path().join("tls"), &names).expect("certificates"));
    let scheme = if https { "https" } else { "http" };
    let ports = (free_port("127.0.0.2"), free_port("127.0.0.3"));
    let store = format!("{scheme}://127.0.0.2:{}", ports.0);
    let forums = format!("{scheme}://127.0.0.3:{}", ports.1);
    let provider = start_provider(
        &[("store", &store), ("forums", &forums)],
        alg,
        files.as_ref(),
    );
    let apps = start_apps(&provider.issuer, ports, files.as_ref()).await;
    assert_eq!(apps.store_url.as_deref(), Some(store.as_str()));

    let mut args = support::flags(
        dir.path(),
        &[
            "--target",
            &store,
            "--target-forums",
            &forums,
            "--target-idp",
            &provider.issuer,
            "--scenario",
            "journey",
            "--max-error-rate",
            "0",
        ],
    );
    args.users = 3;
    args.run_time = Some(Duration::from_secs(6));
    args.ca_cert = files.as_ref().map(|files| files.ca.clone());
    let outcome = execute(&args).await.expect("the run");
    apps.shutdown().await.expect("the apps stop");
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    outcome.results
}

/// What every journey against oidc-provider shows.
fn check(results: &LoadRunResults) {
    assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
    for flow in [
        "password login (store)",
        "sso relogin (store)",
        "sso login (forums)",
    ] {
        let row = results
            .flows
            .iter()
            .find(|row| row.name == flow)
            .unwrap_or_else(|| panic!("no {flow}: {:?}", results.flows));
        assert!(row.count >= 1, "{flow}");
    }
    let count = |name: &str| {
        results
            .hops
            .iter()
            .find(|row| row.name == name)
            .map_or(0, |row| row.count)
    };
    // Its login page and consent page, each reached by a redirect from the authorization
    // request and submitted; the store's relogin straight back; its logout page confirmed.
    for name in [
        "idp: GET authorize (to its pages)",
        "idp: GET page 1",
        "idp: POST form 1",
        "idp: GET page 2",
        "idp: POST form 2",
        "idp: GET authorize (sso)",
        "idp: GET logout",
        "idp: POST logout form",
    ] {
        assert!(count(name) >= 1, "{name}: {:?}", results.hops);
    }
    let outcomes = &results.login_outcomes;
    assert_eq!(outcomes.failed(), 0, "{outcomes:?}");
    assert!(outcomes.completed >= 3, "{outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_runs_through_oidc_providers_own_pages() {
    let results = journey("RS256", false).await;
    check(&results);
    assert!(results.transport.tls.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_runs_through_oidc_provider_over_https_with_eddsa_tokens() {
    let results = journey("EdDSA", true).await;
    check(&results);
    let tls = results.transport.tls.as_ref().expect("TLS figures");
    assert!(tls.handshakes_full >= 3, "{tls:?}");
    assert!(tls.handshake_full_us.is_some());
    let with_handshake = results
        .hops
        .iter()
        .filter_map(|row| row.phases.as_ref())
        .filter(|phases| phases.handshakes > 0)
        .count();
    assert!(
        with_handshake >= 1,
        "hops that opened a connection show its handshake"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_tokens_of_oidc_provider_verify_too() {
    let results = journey("ES256", false).await;
    check(&results);
}
