//! A real, certified relying party against the mock IdP: panva's openid-client (pinned in
//! `targets/openid-client/`, run by its `start.sh`, which installs what it needs) runs the code
//! flow with PKCE — discovery, the ID token validated, userinfo, a refresh whose access token
//! has an ID of its own, `prompt=none` with and without an SSO session, a replayed code refused.

use mock_services::idp::Client;
use mock_services::stack::{Role, StackConfig, start};
use std::path::PathBuf;
use std::time::Duration;

/// The checks `check.mjs` makes, each of which must print `ok <name>`.
const CHECKS: [&str; 8] = [
    "discovery",
    "code-flow",
    "id-token",
    "userinfo",
    "refresh",
    "prompt-none-sso",
    "prompt-none-no-session",
    "code-replay",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_runs_the_code_flow_against_the_mock_idp() {
    let mut config = StackConfig::ephemeral(StackConfig::default().backend);
    config.role = Role::Idp;
    config.idp.users = 100;
    config.idp.extra_clients =
        vec![Client::parse_flag("rp:rp-secret:http://127.0.0.9:1/cb").expect("client")];
    config.idp.require_pkce = vec!["rp".into()];
    let idp = start(&config).await.expect("the IdP starts");
    let issuer = idp.idp_url.clone().expect("issuer");

    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../targets/openid-client/start.sh");
    let run = tokio::process::Command::new(&script)
        .args(["--issuer", &issuer])
        .args(["--client-id", "rp", "--client-secret", "rp-secret"])
        .args(["--redirect-uri", "http://127.0.0.9:1/cb"])
        .args(["--login", "user7@example.com", "--password", "password"])
        .kill_on_drop(true)
        .output();
    // The first run installs its npm packages.
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("openid-client's checks finish within 5 minutes")
        .expect("targets/openid-client/start.sh runs (it needs bash)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for check in CHECKS {
        assert!(
            stdout.lines().any(|line| line == format!("ok {check}")),
            "{check} did not pass:\n{stdout}\n{stderr}"
        );
    }
    assert!(output.status.success(), "{stdout}\n{stderr}");
    idp.shutdown().await.expect("the IdP stops");
}
