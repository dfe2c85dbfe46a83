//! Every service over HTTPS (`--tls-cert`, `--tls-key`): a login through the stack with a
//! browser that trusts the certificate's CA (the apps reach the IdP over HTTPS too, trusting
//! `--ca-cert`), Secure cookies, and what a client that does not trust it, or speaks plain
//! HTTP, gets.

use crate::stack_support::{Browser, Stack};
use mock_services::dev_cert;
use mock_services::web::tls::TlsFiles;
use reqwest::StatusCode;

/// A CA and a certificate for the stack's loopback addresses, in `dir`.
fn certificate(dir: &std::path::Path) -> dev_cert::DevCert {
    let names: Vec<String> = dev_cert::DEFAULT_NAMES.map(String::from).to_vec();
    dev_cert::write(dir, &names).expect("certificates")
}

#[tokio::test]
async fn a_login_runs_over_https_end_to_end_with_secure_cookies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = certificate(dir.path());
    let stack = Stack::start("dashmap", |config| {
        config.tls = Some(TlsFiles {
            cert: files.cert.clone(),
            key: files.key.clone(),
        });
        config.ca_cert = Some(files.ca.clone());
    })
    .await;
    assert!(
        stack.idp().starts_with("https://127.0.0.1:"),
        "{}",
        stack.idp()
    );
    assert!(
        stack.store().starts_with("https://127.0.0.2:"),
        "{}",
        stack.store()
    );

    let browser = Browser::trusting(&files.ca);
    let hops = browser.walk(&format!("{}/login", stack.store())).await;
    let form = hops.last().expect("hops");
    assert!(form.has_marker("login-form"), "{hops:?}");
    assert!(form.url.starts_with("https://127.0.0.1:"), "{}", form.url);
    let hops = browser
        .submit_login(form, "user7@example.com", "password")
        .await;
    let cart = hops.last().expect("hops");
    assert!(
        cart.has_marker("cart"),
        "the callback's code exchange went over HTTPS: {hops:?}"
    );
    let cookies: Vec<&String> = hops.iter().flat_map(|hop| &hop.set_cookies).collect();
    assert!(!cookies.is_empty());
    for cookie in cookies {
        assert!(cookie.ends_with("; Secure"), "{cookie}");
    }

    // A client that does not trust the CA gets no connection; plain HTTP gets no page.
    let untrusting = Browser::new();
    let refused = untrusting
        .client
        .get(format!("{}/", stack.store()))
        .send()
        .await
        .expect_err("an unknown CA");
    assert!(refused.is_connect(), "{refused:?}");
    let plain = stack.store().replacen("https://", "http://", 1);
    let answer = untrusting.client.get(format!("{plain}/")).send().await;
    assert!(
        answer.is_err() || answer.is_ok_and(|reply| reply.status() != StatusCode::OK),
        "plain HTTP to a TLS port must not be served"
    );
}

#[tokio::test]
async fn a_certificate_or_key_that_cannot_be_read_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = certificate(dir.path());
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").expect("write");
    for (cert, key, named) in [
        (garbage.clone(), files.key.clone(), "--tls-cert"),
        (files.cert.clone(), garbage.clone(), "--tls-key"),
        (
            files.cert.clone(),
            dir.path().join("missing.pem"),
            "--tls-key",
        ),
    ] {
        let mut config = mock_services::stack::StackConfig::ephemeral(
            mock_services::stack::StackConfig::default().backend,
        );
        config.tls = Some(TlsFiles { cert, key });
        let error = mock_services::stack::start(&config)
            .await
            .expect_err("refused");
        let text = format!("{error:#}");
        assert!(text.contains(named), "{text}");
    }
}
