//! The IdP over a real loopback socket with a real HTTP client: discovery, the login form, the
//! code exchange, and the id_token checked against the JWKS that discovery points to.

use crate::idp_support::{self, Options, STORE_CALLBACK, VERIFIER, challenge};
use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};
use mock_services::idp::{self, IdClaims};
use mock_services::session::ManualClock;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_over_a_socket_verified_through_discovery() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    // The issuer must be the URL the IdP is really reached at.
    let (state, _redis) =
        idp_support::state_at(Options::default(), &base, &ManualClock::new()).await;
    let server = tokio::spawn(axum::serve(listener, idp::router(state)).into_future());

    let browser = reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .expect("client");
    let discovery: serde_json::Value = browser
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(discovery["issuer"], base);
    let authorize = discovery["authorization_endpoint"]
        .as_str()
        .expect("authorize endpoint");

    let challenge = challenge(VERIFIER);
    let params = [
        ("client_id", "store"),
        ("redirect_uri", STORE_CALLBACK),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s1"),
        ("nonce", "nonce-e2e"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let form_page = browser
        .get(authorize)
        .query(&params)
        .send()
        .await
        .expect("authorize");
    assert_eq!(form_page.status(), StatusCode::OK);
    let form_html = form_page.text().await.expect("body");
    assert!(form_html.contains("id=\"login-form\""));

    // The form's fields as served, its CSRF token among them (the browser's jar holds the
    // matching cookie).
    let fields = crate::stack_support::hidden_fields(&form_html);
    assert!(fields.iter().any(|(name, _)| name == "csrf_token"));
    let mut login: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    login.push(("loginId", "user42@example.com"));
    login.push(("password", "password"));
    let redirect = browser
        .post(authorize)
        .form(&login)
        .send()
        .await
        .expect("login");
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let location =
        url::Url::parse(redirect.headers()["location"].to_str().expect("location")).expect("url");
    assert!(location.as_str().starts_with(STORE_CALLBACK));
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");

    let tokens: serde_json::Value = browser
        .post(
            discovery["token_endpoint"]
                .as_str()
                .expect("token endpoint"),
        )
        .basic_auth("store", Some("store-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", STORE_CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let id_token = tokens["id_token"].as_str().expect("id_token");

    // Verify as a relying party: JWKS from discovery, key by kid, issuer, audience, nonce.
    let jwks: JwkSet = browser
        .get(discovery["jwks_uri"].as_str().expect("jwks_uri"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let header = jsonwebtoken::decode_header(id_token).expect("header");
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("key for kid");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[&base]);
    validation.set_audience(&["store"]);
    let claims = jsonwebtoken::decode::<IdClaims>(
        id_token,
        &DecodingKey::from_jwk(jwk).expect("key"),
        &validation,
    )
    .expect("id_token verifies against the published JWKS")
    .claims;
    assert_eq!(claims.nonce.as_deref(), Some("nonce-e2e"));
    assert_eq!(claims.sub, "user-42");

    // Silent SSO for the forums client: the cookie jar carries the SSO cookie.
    let silent = browser
        .get(authorize)
        .query(&[
            ("client_id", "forums"),
            ("redirect_uri", idp_support::FORUMS_CALLBACK),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s2"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("silent authorize");
    assert_eq!(silent.status(), StatusCode::FOUND);
    server.abort();
}
