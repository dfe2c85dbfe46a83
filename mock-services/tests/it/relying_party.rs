//! The apps as relying parties of a provider that is not theirs (`serve --provider`): learnt by
//! discovery, a whole login and an RP-initiated logout through the bundled IdP run as a
//! separate provider, and every bad answer a provider can give — unreachable, `error` on the
//! callback, another issuer, a missing `iss`, a forged signature, a token of another issuer —
//! answered with a page saying so, never a panic or a 500.

use crate::stack_support::Browser;
use crate::support::free_port;
use axum::routing::{get, post};
use mock_services::idp::{IdClaims, SigningAlgorithm, SigningKeys};
use mock_services::stack::{ClientCredentials, ProviderConfig, Role, RunningStack, StackConfig};
use reqwest::StatusCode;
use std::sync::{Arc, Mutex};

/// Two free ports for the apps, known before the provider that must register them starts.
fn app_ports() -> (u16, u16) {
    (free_port("127.0.0.2"), free_port("127.0.0.3"))
}

/// The bundled IdP alone, its `store` and `forums` clients registered for apps on `ports`.
async fn idp_for((store, forums): (u16, u16)) -> RunningStack {
    let mut config = StackConfig::ephemeral(StackConfig::default().backend);
    config.role = Role::Idp;
    config.idp.users = 100;
    config.idp.store_url = format!("http://127.0.0.2:{store}");
    config.idp.forums_url = format!("http://127.0.0.3:{forums}");
    mock_services::stack::start(&config)
        .await
        .expect("the IdP starts")
}

/// The store and forums alone on `ports`, relying parties of the provider at `issuer`.
async fn apps_of(issuer: &str, (store, forums): (u16, u16)) -> RunningStack {
    let mut config = StackConfig::ephemeral(StackConfig::default().backend);
    config.apps.store_addr.set_port(store);
    config.apps.forums_addr.set_port(forums);
    let client = |id: &str| ClientCredentials {
        id: id.to_owned(),
        secret: format!("{id}-secret"),
    };
    config.apps.provider = Some(ProviderConfig {
        issuer: issuer.to_owned(),
        store: client("store"),
        forums: client("forums"),
    });
    mock_services::stack::start(&config)
        .await
        .expect("the apps start")
}

#[tokio::test]
async fn the_apps_log_in_and_out_through_a_provider_learnt_by_discovery() {
    let ports = app_ports();
    let idp = idp_for(ports).await;
    let issuer = idp.idp_url.clone().expect("issuer");
    let apps = apps_of(&issuer, ports).await;
    assert!(
        apps.idp_url.is_none(),
        "the bundled IdP does not run with --provider"
    );
    let store = apps.store_url.clone().expect("store");
    let forums = apps.forums_url.clone().expect("forums");

    // Password login at the store, through the provider's authorization endpoint as its
    // discovery document names it.
    let browser = Browser::new();
    let hops = browser.walk(&format!("{store}/login")).await;
    assert!(
        hops[0]
            .location
            .as_deref()
            .is_some_and(|to| to.starts_with(&format!("{issuer}/oauth2/authorize?"))),
        "{hops:?}"
    );
    let form = hops.last().expect("hops");
    assert!(form.has_marker("login-form"), "{hops:?}");
    let hops = browser
        .submit_login(form, "user7@example.com", "password")
        .await;
    assert!(hops.last().expect("hops").has_marker("cart"), "{hops:?}");

    // SSO at the forums: no form.
    let hops = browser.walk(&format!("{forums}/login")).await;
    assert!(hops.last().expect("hops").has_marker("posts"), "{hops:?}");

    // Logout at the store goes through the provider's end-session endpoint and comes back.
    let out = browser.post(&format!("{store}/logout"), &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let to_provider = out.location.clone().expect("location");
    assert!(
        to_provider.starts_with(&format!("{issuer}/oauth2/logout?")),
        "{to_provider}"
    );
    let confirm = browser.get(&to_provider).await;
    assert!(confirm.has_marker("logout-confirm"), "{confirm:?}");
    let fields = crate::stack_support::hidden_fields(&confirm.body);
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let back = browser
        .post(&format!("{issuer}/oauth2/logout"), &pairs)
        .await;
    assert_eq!(back.status, StatusCode::FOUND, "{back:?}");
    assert_eq!(back.location.as_deref(), Some(format!("{store}/").as_str()));
    // The provider's session is gone: the forums' next login asks for a password.
    let hops = browser.walk(&format!("{forums}/login")).await;
    assert!(
        hops.last().expect("hops").has_marker("login-form"),
        "{hops:?}"
    );
}

/// What the fake provider's token endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Good,
    /// An ID token whose header names the published key but whose signature is another's.
    ForgedSignature,
    /// An ID token of another issuer.
    OtherIssuer,
}

/// A provider that is not the bundled IdP: its discovery document, its keys, and a token
/// endpoint that answers as told.
struct Fake {
    issuer: String,
    /// The published keys (replaced to rotate them).
    keys: Mutex<Arc<SigningKeys>>,
    other_keys: SigningKeys,
    answer: Mutex<Answer>,
    nonce: Mutex<String>,
    /// How the last token request authenticated: its Authorization header and its body.
    authorization: Mutex<Option<String>>,
    body: Mutex<String>,
    /// JWKS fetches so far.
    jwks_fetches: std::sync::atomic::AtomicU64,
}

impl Fake {
    fn id_token(&self) -> String {
        let answer = *self.answer.lock().expect("lock");
        let now = jiff::Timestamp::now().as_second().unsigned_abs();
        let claims = IdClaims {
            iss: if answer == Answer::OtherIssuer {
                "https://other.test".into()
            } else {
                self.issuer.clone()
            },
            sub: "fake-user".into(),
            aud: "store".into(),
            exp: now + 300,
            iat: now,
            auth_time: now,
            nonce: Some(self.nonce.lock().expect("lock").clone()),
            email: Some("fake@example.com".into()),
            email_verified: Some(true),
            name: None,
            preferred_username: None,
        };
        let keys = Arc::clone(&self.keys.lock().expect("lock"));
        let good = keys.sign(&claims).expect("sign");
        if answer != Answer::ForgedSignature {
            return good;
        }
        // The published key's header and these claims, signed by a key nobody published.
        let forged = self.other_keys.sign(&claims).expect("sign");
        let header = good.split('.').next().expect("header");
        let rest = forged.split_once('.').expect("claims").1;
        format!("{header}.{rest}")
    }
}

/// A fake provider; its discovery document lists `auth_methods` (none: the field is absent).
async fn start_fake(auth_methods: Option<&[&str]>) -> Arc<Fake> {
    let listener = tokio::net::TcpListener::bind("127.0.0.4:0")
        .await
        .expect("bind");
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    let fake = Arc::new(Fake {
        issuer: issuer.clone(),
        keys: Mutex::new(Arc::new(
            SigningKeys::generate(SigningAlgorithm::Es256).expect("keys"),
        )),
        other_keys: SigningKeys::generate(SigningAlgorithm::Es256).expect("keys"),
        answer: Mutex::new(Answer::Good),
        nonce: Mutex::new(String::new()),
        authorization: Mutex::new(None),
        body: Mutex::new(String::new()),
        jwks_fetches: std::sync::atomic::AtomicU64::new(0),
    });
    let mut discovery = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "authorization_response_iss_parameter_supported": true,
    });
    if let Some(methods) = auth_methods {
        discovery["token_endpoint_auth_methods_supported"] = serde_json::json!(methods);
    }
    let (on_jwks, on_token) = (Arc::clone(&fake), Arc::clone(&fake));
    let router = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(discovery) }),
        )
        .route(
            "/jwks",
            get(move || async move {
                on_jwks
                    .jwks_fetches
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let keys = Arc::clone(&on_jwks.keys.lock().expect("lock"));
                axum::Json(keys.jwks())
            }),
        )
        .route(
            "/token",
            post(
                move |headers: axum::http::HeaderMap, body: String| async move {
                    *on_token.authorization.lock().expect("lock") = headers
                        .get(axum::http::header::AUTHORIZATION)
                        .and_then(|value| value.to_str().ok())
                        .map(str::to_owned);
                    *on_token.body.lock().expect("lock") = body;
                    axum::Json(serde_json::json!({
                        "access_token": "opaque",
                        "token_type": "Bearer",
                        "id_token": on_token.id_token(),
                    }))
                },
            ),
        );
    tokio::spawn(async move { axum::serve(listener, router).await });
    fake
}

/// Starts a login at the store and gives its `state`, having told the fake its `nonce`.
async fn begin(browser: &Browser, store: &str, fake: &Fake) -> String {
    let start = browser.get(&format!("{store}/login")).await;
    assert_eq!(start.status, StatusCode::FOUND, "{start:?}");
    let location = reqwest::Url::parse(&start.location.expect("location")).expect("url");
    assert!(
        location
            .as_str()
            .starts_with(&format!("{}/authorize?", fake.issuer))
    );
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .expect(name)
    };
    *fake.nonce.lock().expect("lock") = param("nonce");
    assert_eq!(param("code_challenge_method"), "S256");
    param("state")
}

#[tokio::test]
async fn bad_answers_from_a_provider_are_pages_that_say_what_was_wrong() {
    let browser = Browser::new();

    // Nothing listens at the provider's address: the login page is a 502, and the app runs on.
    let nowhere = format!("http://127.0.0.4:{}", free_port("127.0.0.4"));
    let apps = apps_of(&nowhere, app_ports()).await;
    let store = apps.store_url.clone().expect("store");
    let unreachable = browser.get(&format!("{store}/login")).await;
    assert_eq!(
        unreachable.status,
        StatusCode::BAD_GATEWAY,
        "{unreachable:?}"
    );
    assert!(unreachable.has_marker("error"));
    assert_eq!(
        browser.get(&format!("{store}/")).await.status,
        StatusCode::OK
    );

    let fake = start_fake(None).await;
    let apps = apps_of(&fake.issuer, app_ports()).await;
    let store = apps.store_url.clone().expect("store");
    let issuer = utf8_encode(&fake.issuer);

    // A good answer logs in: no `userId` needed, the client authenticated by HTTP Basic.
    let state = begin(&browser, &store, &fake).await;
    let good = browser
        .get(&format!(
            "{store}/oauth-callback?code=c&state={state}&iss={issuer}"
        ))
        .await;
    assert_eq!(good.status, StatusCode::FOUND, "{good:?}");
    assert_eq!(good.location.as_deref(), Some("/shopping-cart"));
    assert_eq!(
        fake.authorization.lock().expect("lock").as_deref(),
        Some("Basic c3RvcmU6c3RvcmUtc2VjcmV0"),
        "client_secret_basic (store:store-secret) when discovery lists no method"
    );
    assert!(!fake.body.lock().expect("lock").contains("client_secret"));

    let cases: [(&str, Answer, &str); 5] = [
        (
            "error=access_denied&iss={iss}",
            Answer::Good,
            "access_denied",
        ),
        (
            "code=c&iss=https%3A%2F%2Fevil.test",
            Answer::Good,
            "evil.test",
        ),
        ("code=c", Answer::Good, "no iss"),
        ("code=c&iss={iss}", Answer::ForgedSignature, "id_token"),
        ("code=c&iss={iss}", Answer::OtherIssuer, "id_token"),
    ];
    for (query, answer, says) in cases {
        *fake.answer.lock().expect("lock") = answer;
        let state = begin(&browser, &store, &fake).await;
        let query = query.replace("{iss}", &issuer);
        let page = browser
            .get(&format!("{store}/oauth-callback?{query}&state={state}"))
            .await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{query} {answer:?}: {page:?}"
        );
        assert!(page.has_marker("error"), "{page:?}");
        assert!(
            page.body.contains(says),
            "{query} {answer:?}: {}",
            page.body
        );
    }
}

/// A URL as a query parameter's value.
fn utf8_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Logs in at the store of `apps` through `fake`, answering its callback well.
async fn log_in(browser: &Browser, store: &str, fake: &Fake) -> crate::stack_support::Hop {
    let state = begin(browser, store, fake).await;
    let issuer = utf8_encode(&fake.issuer);
    browser
        .get(&format!(
            "{store}/oauth-callback?code=c&state={state}&iss={issuer}"
        ))
        .await
}

#[tokio::test]
async fn keys_are_fetched_again_for_an_unknown_kid_and_the_form_body_used_when_listed() {
    let browser = Browser::new();
    let fake = start_fake(Some(&["client_secret_post", "private_key_jwt"])).await;
    let apps = apps_of(&fake.issuer, app_ports()).await;
    let store = apps.store_url.clone().expect("store");
    let first = log_in(&browser, &store, &fake).await;
    assert_eq!(first.status, StatusCode::FOUND, "{first:?}");
    // client_secret_post: the secret in the body, no Authorization header.
    assert_eq!(*fake.authorization.lock().expect("lock"), None);
    let body = fake.body.lock().expect("lock").clone();
    assert!(
        body.contains("client_id=store") && body.contains("client_secret=store-secret"),
        "{body}"
    );
    assert_eq!(
        fake.jwks_fetches.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // The provider rotates its keys: a token of the new key names a kid the app has not seen,
    // and once the last fetch is old enough (5 s, against forged kids) the keys are fetched
    // again and the login goes through.
    *fake.keys.lock().expect("lock") =
        Arc::new(SigningKeys::generate(SigningAlgorithm::Es256).expect("keys"));
    tokio::time::sleep(std::time::Duration::from_millis(5_100)).await;
    let rotated = log_in(&browser, &store, &fake).await;
    assert_eq!(rotated.status, StatusCode::FOUND, "{rotated:?}");
    assert_eq!(
        fake.jwks_fetches.load(std::sync::atomic::Ordering::Relaxed),
        2
    );
}

#[tokio::test]
async fn an_app_on_every_address_needs_the_url_browsers_reach_it_at() {
    let mut config = StackConfig::ephemeral(StackConfig::default().backend);
    config.apps.store_addr = "0.0.0.0:0".parse().expect("address");
    let error = mock_services::stack::start(&config)
        .await
        .expect_err("no public URL");
    assert!(format!("{error:#}").contains("--store-url"), "{error:#}");
    config.apps.public_store_url = Some("https://store.example.test".into());
    let error = mock_services::stack::start(&config)
        .await
        .expect_err("served over plain HTTP");
    assert!(format!("{error:#}").contains("not http://"), "{error:#}");
    config.apps.public_store_url = Some("http://store.example.test".into());
    let stack = mock_services::stack::start(&config)
        .await
        .expect("starts with its public URL");
    assert_eq!(
        stack.store_url.as_deref(),
        Some("http://store.example.test")
    );
    stack.shutdown().await.expect("stops");
}
