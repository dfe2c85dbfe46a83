//! The IdP through its router: the flow, and every kind of bad input answered with the right
//! status and error code (never a 500 or a panic).

use crate::idp_support::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mock_services::cli::Backend;
use mock_services::idp::{
    AccessClaims, CSRF_COOKIE, CSRF_FIELD, IdClaims, PasswordHashing, SSO_COOKIE, SigningAlgorithm,
};
use std::time::Duration;

/// What a bad input must get.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// 400 HTML page, no redirect.
    Page,
    /// 302 to the client's redirect URI with this `error` (and the request's `state`).
    Redirect(&'static str),
    /// 200 login form with an error, no redirect, no cookie.
    FormAgain,
    /// Token-endpoint JSON error with this status.
    Token(u16, &'static str),
    /// 401 with a Bearer challenge.
    Bearer,
}

/// Checks one reply; returns a description of what is wrong, if anything.
fn verdict(reply: &Reply, expect: Expect) -> Option<String> {
    let problem = |what: String| {
        Some(format!(
            "{what}; got {} {:?} {}",
            reply.status,
            reply.headers.get(header::LOCATION),
            reply.body.chars().take(200).collect::<String>()
        ))
    };
    match expect {
        Expect::Page => {
            if reply.status != StatusCode::BAD_REQUEST
                || reply.headers.contains_key(header::LOCATION)
                || !reply.body.contains("id=\"error\"")
            {
                return problem("expected a 400 error page without redirect".into());
            }
        }
        Expect::Redirect(error) => {
            let location = reply.location();
            let to_client = location.as_ref().is_some_and(|url| {
                let text = url.as_str();
                [STORE_CALLBACK, FORUMS_CALLBACK, LEGACY_CALLBACK]
                    .iter()
                    .any(|cb| text.starts_with(&format!("{cb}?")))
            });
            if reply.status != StatusCode::FOUND
                || !to_client
                || reply.location_param("error").as_deref() != Some(error)
            {
                return problem(format!("expected a 302 to the client with error={error}"));
            }
            if reply.location_param("state").as_deref() != Some("st-123") {
                return problem("expected the request's state echoed".into());
            }
        }
        Expect::FormAgain => {
            if reply.status != StatusCode::OK
                || !reply.body.contains("id=\"login-error\"")
                || reply.headers.contains_key(header::LOCATION)
                || reply.cookie(SSO_COOKIE).is_some()
            {
                return problem("expected the login form again with an error".into());
            }
        }
        Expect::Token(status, error) => {
            let json = reply.json();
            if reply.status.as_u16() != status
                || json["error"] != error
                || !json["error_description"].is_string()
            {
                return problem(format!("expected {status} {{error: {error}}}"));
            }
        }
        Expect::Bearer => {
            let challenge = reply
                .headers
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if reply.status != StatusCode::UNAUTHORIZED || !challenge.starts_with("Bearer") {
                return problem("expected 401 with a Bearer challenge".into());
            }
        }
    }
    None
}

fn raw_post(
    path: &str,
    content_type: &str,
    body: impl Into<Body>,
    authorization: Option<&str>,
) -> Request<Body> {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, content_type);
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    request.body(body.into()).expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_get_the_right_error_and_never_a_500() {
    let idp = Idp::new(Options::default()).await;
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut check = |name: &str, reply: Reply, expect: Expect| {
        cases += 1;
        assert_ne!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{name}: 500"
        );
        if let Some(problem) = verdict(&reply, expect) {
            failures.push(format!("{name}: {problem}"));
        }
    };

    // --- authorization request: client and redirect URI not trusted yet → 400 page.
    check(
        "unknown client_id",
        idp.authorize(&[("client_id", Some("nobody"))], None).await,
        Expect::Page,
    );
    check(
        "missing client_id",
        idp.authorize(&[("client_id", None)], None).await,
        Expect::Page,
    );
    check(
        "missing redirect_uri",
        idp.authorize(&[("redirect_uri", None)], None).await,
        Expect::Page,
    );
    for (name, uri) in [
        (
            "unregistered redirect_uri",
            "http://127.0.0.9:9999/oauth-callback",
        ),
        (
            "redirect_uri with trailing slash",
            "http://127.0.0.2:9011/oauth-callback/",
        ),
        (
            "redirect_uri on another port",
            "http://127.0.0.2:9012/oauth-callback",
        ),
        (
            "redirect_uri with extra query",
            "http://127.0.0.2:9011/oauth-callback?next=x",
        ),
        (
            "redirect_uri in other case",
            "http://127.0.0.2:9011/OAuth-Callback",
        ),
        ("redirect_uri of another client", FORUMS_CALLBACK),
    ] {
        check(
            name,
            idp.authorize(&[("redirect_uri", Some(uri))], None).await,
            Expect::Page,
        );
    }
    let query = form(&authorize_params(&[]));
    check(
        "repeated client_id",
        idp.get(&format!("/oauth2/authorize?{query}&client_id=forums"), None)
            .await,
        Expect::Page,
    );
    check(
        "repeated state",
        idp.get(&format!("/oauth2/authorize?{query}&state=again"), None)
            .await,
        Expect::Page,
    );
    check(
        "non-UTF-8 query",
        idp.get(&format!("/oauth2/authorize?{query}&x=%FF%FE"), None)
            .await,
        Expect::Page,
    );
    check(
        "oversized query",
        idp.get(
            &format!("/oauth2/authorize?{query}&pad={}", "a".repeat(20_000)),
            None,
        )
        .await,
        Expect::Page,
    );

    // --- trusted client and redirect URI: errors go back to the client.
    check(
        "missing response_type",
        idp.authorize(&[("response_type", None)], None).await,
        Expect::Redirect("invalid_request"),
    );
    check(
        "response_type=token",
        idp.authorize(&[("response_type", Some("token"))], None)
            .await,
        Expect::Redirect("unsupported_response_type"),
    );
    check(
        "scope without openid",
        idp.authorize(&[("scope", Some("email"))], None).await,
        Expect::Redirect("invalid_scope"),
    );
    check(
        "unknown scope",
        idp.authorize(&[("scope", Some("openid admin"))], None)
            .await,
        Expect::Redirect("invalid_scope"),
    );
    check(
        "PKCE absent for a client that requires it",
        idp.authorize(
            &[("code_challenge", None), ("code_challenge_method", None)],
            None,
        )
        .await,
        Expect::Redirect("invalid_request"),
    );
    check(
        "PKCE downgraded to plain",
        idp.authorize(
            &[
                ("code_challenge", Some(VERIFIER)),
                ("code_challenge_method", Some("plain")),
            ],
            None,
        )
        .await,
        Expect::Redirect("invalid_request"),
    );
    check(
        "PKCE challenge without method",
        idp.authorize(&[("code_challenge_method", None)], None)
            .await,
        Expect::Redirect("invalid_request"),
    );
    check(
        "PKCE method without challenge",
        idp.authorize(&[("code_challenge", None)], None).await,
        Expect::Redirect("invalid_request"),
    );
    check(
        "PKCE malformed challenge",
        idp.authorize(&[("code_challenge", Some("short"))], None)
            .await,
        Expect::Redirect("invalid_request"),
    );
    check(
        "PKCE unknown method",
        idp.authorize(&[("code_challenge_method", Some("S512"))], None)
            .await,
        Expect::Redirect("invalid_request"),
    );
    check(
        "prompt=none without SSO session",
        idp.authorize(&[("prompt", Some("none"))], None).await,
        Expect::Redirect("login_required"),
    );
    check(
        "unknown prompt",
        idp.authorize(&[("prompt", Some("consent"))], None).await,
        Expect::Redirect("invalid_request"),
    );
    check(
        "nonce too long",
        idp.authorize(&[("nonce", Some(&"n".repeat(2000)))], None)
            .await,
        Expect::Redirect("invalid_request"),
    );

    // --- password form.
    check(
        "wrong password",
        idp.login(&[], "user7@example.com", "guess").await,
        Expect::FormAgain,
    );
    check(
        "unknown user",
        idp.login(&[], "user100000@example.com", "password").await,
        Expect::FormAgain,
    );
    check(
        "empty credentials",
        idp.login(&[], "", "").await,
        Expect::FormAgain,
    );
    check(
        "login form posted as JSON",
        idp.send(raw_post(
            "/oauth2/authorize",
            "application/json",
            "{}",
            None,
        ))
        .await,
        Expect::Page,
    );
    check(
        "login form for an unknown client",
        idp.login(
            &[("client_id", Some("nobody"))],
            "user7@example.com",
            "password",
        )
        .await,
        Expect::Page,
    );

    // --- token endpoint: client authentication.
    let code = idp.code().await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", STORE_CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    check(
        "unknown client at token",
        idp.token(&exchange, Some(("nobody", "x"))).await,
        Expect::Token(401, "invalid_client"),
    );
    check(
        "wrong client secret",
        idp.token(&exchange, Some(("store", "wrong"))).await,
        Expect::Token(401, "invalid_client"),
    );
    check(
        "no client authentication",
        idp.token(&exchange, None).await,
        Expect::Token(401, "invalid_client"),
    );
    let body = mock_services::web::params::encode(exchange.iter().copied());
    check(
        "malformed Basic header",
        idp.send(raw_post(
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            body.clone(),
            Some("Basic !!!not-base64"),
        ))
        .await,
        Expect::Token(401, "invalid_client"),
    );
    check(
        "Bearer instead of Basic",
        idp.send(raw_post(
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            body.clone(),
            Some("Bearer abc"),
        ))
        .await,
        Expect::Token(401, "invalid_client"),
    );
    let with_secret: Vec<(&str, &str)> = exchange
        .iter()
        .copied()
        .chain([("client_secret", "store-secret")])
        .collect();
    check(
        "two client authentication methods",
        idp.token(&with_secret, Some(("store", "store-secret")))
            .await,
        Expect::Token(400, "invalid_request"),
    );
    let basic_header = idp
        .send(raw_post(
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            body.clone(),
            Some("Basic bm9ib2R5Ong="),
        ))
        .await;
    check(
        "invalid_client via Basic",
        basic_header,
        Expect::Token(401, "invalid_client"),
    );

    // --- token endpoint: the request itself.
    let store = Some(("store", "store-secret"));
    check(
        "missing grant_type",
        idp.token(&exchange[1..], store).await,
        Expect::Token(400, "invalid_request"),
    );
    check(
        "unsupported grant_type",
        idp.token(
            &[
                ("grant_type", "password"),
                ("username", "u"),
                ("password", "p"),
            ],
            store,
        )
        .await,
        Expect::Token(400, "unsupported_grant_type"),
    );
    check(
        "missing code",
        idp.token(&[exchange[0], exchange[2], exchange[3]], store)
            .await,
        Expect::Token(400, "invalid_request"),
    );
    check(
        "garbage code",
        idp.token(
            &[
                exchange[0],
                ("code", "not-a-code"),
                exchange[2],
                exchange[3],
            ],
            store,
        )
        .await,
        Expect::Token(400, "invalid_grant"),
    );
    check(
        "well-formed unknown code",
        idp.token(
            &[
                exchange[0],
                ("code", "AAAAAAAAAAAAAAAAAAAAAA"),
                exchange[2],
                exchange[3],
            ],
            store,
        )
        .await,
        Expect::Token(400, "invalid_grant"),
    );
    check(
        "code issued to another client",
        idp.token(
            &[
                exchange[0],
                exchange[1],
                ("redirect_uri", FORUMS_CALLBACK),
                exchange[3],
            ],
            Some(("forums", "forums-secret")),
        )
        .await,
        Expect::Token(400, "invalid_grant"),
    );
    check(
        "redirect_uri mismatch at token",
        idp.token(
            &[
                exchange[0],
                exchange[1],
                ("redirect_uri", "http://127.0.0.2:9011/oauth-callback/"),
                exchange[3],
            ],
            store,
        )
        .await,
        Expect::Token(400, "invalid_grant"),
    );
    check(
        "missing redirect_uri at token",
        idp.token(&[exchange[0], exchange[1], exchange[3]], store)
            .await,
        Expect::Token(400, "invalid_request"),
    );
    check(
        "PKCE verifier absent",
        idp.token(&exchange[..3], store).await,
        Expect::Token(400, "invalid_grant"),
    );
    let wrong_verifier = "x".repeat(43);
    check(
        "PKCE verifier wrong",
        idp.token(
            &[
                exchange[0],
                exchange[1],
                exchange[2],
                ("code_verifier", &wrong_verifier),
            ],
            store,
        )
        .await,
        Expect::Token(400, "invalid_grant"),
    );
    check(
        "PKCE verifier malformed",
        idp.token(
            &[
                exchange[0],
                exchange[1],
                exchange[2],
                ("code_verifier", "short"),
            ],
            store,
        )
        .await,
        Expect::Token(400, "invalid_request"),
    );
    let repeated = format!("{body}&code=again");
    check(
        "repeated code parameter",
        idp.send(raw_post(
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            repeated,
            Some("Basic c3RvcmU6c3RvcmUtc2VjcmV0"),
        ))
        .await,
        Expect::Token(400, "invalid_request"),
    );
    check(
        "non-UTF-8 body",
        idp.send(raw_post(
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            format!("{body}&x=%C3"),
            Some("Basic c3RvcmU6c3RvcmUtc2VjcmV0"),
        ))
        .await,
        Expect::Token(400, "invalid_request"),
    );
    check(
        "raw non-UTF-8 bytes",
        idp.send(raw_post(
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            vec![0xff, 0xfe, b'=', 0x80],
            Some("Basic c3RvcmU6c3RvcmUtc2VjcmV0"),
        ))
        .await,
        Expect::Token(400, "invalid_request"),
    );
    check(
        "oversized body",
        idp.send(raw_post(
            "/oauth2/token",
            "application/x-www-form-urlencoded",
            format!("{body}&pad={}", "a".repeat(40_000)),
            Some("Basic c3RvcmU6c3RvcmUtc2VjcmV0"),
        ))
        .await,
        Expect::Token(400, "invalid_request"),
    );
    check(
        "JSON body",
        idp.send(raw_post(
            "/oauth2/token",
            "application/json",
            r#"{"grant_type":"authorization_code"}"#,
            Some("Basic c3RvcmU6c3RvcmUtc2VjcmV0"),
        ))
        .await,
        Expect::Token(400, "invalid_request"),
    );
    // After all those failures the code is still good: failed attempts do not burn it.
    let good = idp.redeem(&code).await;
    assert_eq!(good.status, StatusCode::OK, "{good:?}");

    // PKCE verifier sent although no challenge was (downgrade at the token step).
    let legacy_code = idp
        .code_for(&[
            ("client_id", Some("legacy")),
            ("redirect_uri", Some(LEGACY_CALLBACK)),
            ("code_challenge", None),
            ("code_challenge_method", None),
        ])
        .await;
    check(
        "PKCE verifier without challenge",
        idp.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &legacy_code),
                ("redirect_uri", LEGACY_CALLBACK),
                ("code_verifier", VERIFIER),
            ],
            Some(("legacy", "legacy-secret")),
        )
        .await,
        Expect::Token(400, "invalid_grant"),
    );

    // --- refresh tokens.
    check(
        "garbage refresh token",
        idp.token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "garbage"),
            ],
            store,
        )
        .await,
        Expect::Token(400, "invalid_grant"),
    );
    let refresh = good.json()["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    check(
        "refresh token of another client",
        idp.token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            Some(("forums", "forums-secret")),
        )
        .await,
        Expect::Token(400, "invalid_grant"),
    );
    check(
        "missing refresh token",
        idp.token(&[("grant_type", "refresh_token")], store).await,
        Expect::Token(400, "invalid_request"),
    );

    // --- userinfo.
    check(
        "userinfo without token",
        idp.get("/oauth2/userinfo", None).await,
        Expect::Bearer,
    );
    check(
        "userinfo with garbage token",
        idp.userinfo("garbage").await,
        Expect::Bearer,
    );
    let foreign = Idp::new(Options {
        signing: SigningAlgorithm::Es256,
        ..Options::default()
    })
    .await;
    let foreign_token = foreign.redeem(&foreign.code().await).await.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    check(
        "userinfo with a token from another IdP",
        idp.userinfo(&foreign_token).await,
        Expect::Bearer,
    );

    // --- logout.
    check(
        "unregistered post_logout_redirect_uri",
        idp.get(
            "/oauth2/logout?post_logout_redirect_uri=http%3A%2F%2F127.0.0.9%2F",
            None,
        )
        .await,
        Expect::Page,
    );
    check("post_logout_redirect_uri of another client", idp.get("/oauth2/logout?client_id=store&post_logout_redirect_uri=http%3A%2F%2F127.0.0.3%3A9012%2F", None).await, Expect::Page);

    assert!(cases >= 30, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The flow with the SSO session in each backend.
macro_rules! on_every_backend {
    ($($name:ident: $backend:expr),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                password_login_then_tokens_then_silent_sso($backend).await;
            }
        )*
    };
}

on_every_backend!(
    flow_with_sso_on_dashmap: Backend::Dashmap,
    flow_with_sso_on_scc: Backend::Scc,
    flow_with_sso_on_redis: Backend::Redis
);

async fn password_login_then_tokens_then_silent_sso(backend: Backend) {
    let idp = Idp::new(Options {
        sso_backend: backend,
        ..Options::default()
    })
    .await;
    let form = idp.authorize(&[], None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("id=\"login-form\""));
    assert!(
        form.body
            .contains(&format!("value=\"{}\"", challenge(VERIFIER))),
        "PKCE rides in hidden fields"
    );

    let login = idp.login(&[], "user7@example.com", "password").await;
    assert_eq!(login.status, StatusCode::FOUND, "302, never 307: {login:?}");
    assert_eq!(login.location_param("state").as_deref(), Some("st-123"));
    assert_eq!(login.location_param("iss").as_deref(), Some(ISSUER));
    let code = login.location_param("code").expect("code");
    assert!(code.len() >= 22, "at least 128 bits");
    let set_cookie = login
        .headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("SSO cookie");
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax")
            && set_cookie.contains("Path=/"),
        "{set_cookie}"
    );
    let sso = login.cookie(SSO_COOKIE).expect("sso cookie");

    let tokens = idp.redeem(&code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{tokens:?}");
    assert_eq!(
        tokens
            .headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let json = tokens.json();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["userId"], "user-7");
    assert_eq!(json["scope"], "openid email");
    assert!(json["expires_in"].as_u64().is_some_and(|s| s > 0));
    let id: IdClaims = idp
        .state
        .keys()
        .verify(
            json["id_token"].as_str().expect("id_token"),
            ISSUER,
            Some("store"),
        )
        .expect("id_token verifies");
    assert_eq!(id.nonce.as_deref(), Some("n-456"));
    assert_eq!(id.sub, "user-7");
    assert_eq!(id.email.as_deref(), Some("user7@example.com"));
    let access: AccessClaims = idp
        .state
        .keys()
        .verify(
            json["access_token"].as_str().expect("access_token"),
            ISSUER,
            None,
        )
        .expect("access verifies");
    assert_eq!(access.client_id, "store");
    let info = idp
        .userinfo(json["access_token"].as_str().expect("token"))
        .await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.json()["email"], "user7@example.com");

    // The forums app: the SSO cookie gets a code at once, no form.
    let silent = idp
        .authorize(
            &[
                ("client_id", Some("forums")),
                ("redirect_uri", Some(FORUMS_CALLBACK)),
            ],
            Some(&sso),
        )
        .await;
    assert_eq!(silent.status, StatusCode::FOUND, "{silent:?}");
    assert!(
        silent
            .location()
            .is_some_and(|url| url.as_str().starts_with(FORUMS_CALLBACK))
    );
    assert!(silent.location_param("code").is_some());
    // prompt=none works with the session; prompt=login shows the form despite it.
    assert_eq!(
        idp.authorize(&[("prompt", Some("none"))], Some(&sso))
            .await
            .status,
        StatusCode::FOUND
    );
    let forced = idp
        .authorize(&[("prompt", Some("login"))], Some(&sso))
        .await;
    assert_eq!(forced.status, StatusCode::OK);
    assert!(forced.body.contains("id=\"login-form\""));

    // Logout without an id_token_hint asks first; the confirmation's POST ends the SSO
    // session, and the next authorize shows the form.
    let ask = idp.get("/oauth2/logout", Some(&sso)).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("id=\"logout-confirm\""), "{ask:?}");
    let csrf = ask.cookie(CSRF_COOKIE).expect("a CSRF cookie");
    let token = csrf_token(&ask.body).expect("a token");
    let logout = idp
        .post_form(
            "/oauth2/logout",
            format!("{CSRF_FIELD}={token}"),
            &[("cookie", &format!("{sso}; {csrf}"))],
        )
        .await;
    assert_eq!(logout.status, StatusCode::OK, "{logout:?}");
    assert!(logout.body.contains("id=\"logged-out\""));
    assert!(
        logout
            .headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("Max-Age=0"))
    );
    let after = idp.authorize(&[], Some(&sso)).await;
    assert_eq!(after.status, StatusCode::OK);
    assert!(after.body.contains("id=\"login-form\""));
}

#[tokio::test]
async fn each_login_gets_a_new_sso_session_id() {
    let idp = Idp::new(Options::default()).await;
    let first = idp
        .login(&[], "user1@example.com", "password")
        .await
        .cookie(SSO_COOKIE)
        .expect("cookie");
    let second = idp
        .login_holding(&[], "user2@example.com", "password", Some(&first))
        .await;
    let second = second.cookie(SSO_COOKIE).expect("cookie");
    assert_ne!(first, second);
    // The session named by the old cookie is over.
    let old = idp
        .authorize(&[("prompt", Some("none"))], Some(&first))
        .await;
    assert_eq!(
        old.location_param("error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn garbage_and_expired_sso_cookies_show_the_form() {
    let idp = Idp::new(Options {
        sso_idle: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    for garbage in [
        format!("{SSO_COOKIE}=garbage"),
        format!("{SSO_COOKIE}=AAAAAAAAAAAAAAAAAAAAAA"),
        SSO_COOKIE.to_string(),
        "=;=;;".to_owned(),
    ] {
        let reply = idp.authorize(&[], Some(&garbage)).await;
        assert_eq!(reply.status, StatusCode::OK, "{garbage}: {reply:?}");
        assert!(reply.body.contains("id=\"login-form\""), "{garbage}");
    }
    let sso = idp
        .login(&[], "user3@example.com", "password")
        .await
        .cookie(SSO_COOKIE)
        .expect("cookie");
    assert_eq!(
        idp.authorize(&[], Some(&sso)).await.status,
        StatusCode::FOUND
    );
    idp.clock.advance(Duration::from_millis(600));
    let expired = idp.authorize(&[], Some(&sso)).await;
    assert_eq!(
        expired.status,
        StatusCode::OK,
        "an expired SSO session must not log in: {expired:?}"
    );
}

#[tokio::test]
async fn replayed_code_is_refused_and_revokes_its_tokens() {
    let idp = Idp::new(Options::default()).await;
    let code = idp.code().await;
    let first = idp.redeem(&code).await;
    assert_eq!(first.status, StatusCode::OK);
    let access = first.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let refresh = first.json()["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_eq!(idp.userinfo(&access).await.status, StatusCode::OK);

    let replay = idp.redeem(&code).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(replay.json()["error"], "invalid_grant");
    assert_eq!(
        idp.userinfo(&access).await.status,
        StatusCode::UNAUTHORIZED,
        "replay must revoke the access token"
    );
    let refreshed = idp
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            Some(("store", "store-secret")),
        )
        .await;
    assert_eq!(
        refreshed.json()["error"],
        "invalid_grant",
        "replay must revoke the refresh token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_of_one_code_exactly_one_wins() {
    let idp = std::sync::Arc::new(Idp::new(Options::default()).await);
    for _ in 0..20 {
        let code = idp.code().await;
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let idp = std::sync::Arc::clone(&idp);
                let code = code.clone();
                tokio::spawn(async move { idp.redeem(&code).await.status })
            })
            .collect();
        let mut wins = 0;
        for racer in racers {
            match racer.await.expect("racer") {
                StatusCode::OK => wins += 1,
                StatusCode::BAD_REQUEST => {}
                other => panic!("unexpected status {other}"),
            }
        }
        assert_eq!(wins, 1, "exactly one redemption must win");
    }
}

#[tokio::test]
async fn expired_code_is_refused() {
    let idp = Idp::new(Options {
        code_lifetime: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let code = idp.code().await;
    idp.clock.advance(Duration::from_millis(600));
    let reply = idp.redeem(&code).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_are_single_use() {
    let idp = Idp::new(Options::default()).await;
    let tokens = idp.redeem(&idp.code().await).await.json();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let store = Some(("store", "store-secret"));
    let renewed = idp
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            store,
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{renewed:?}");
    let next = renewed.json()["refresh_token"]
        .as_str()
        .expect("new refresh")
        .to_owned();
    assert_ne!(next, refresh);
    assert_eq!(
        idp.userinfo(renewed.json()["access_token"].as_str().expect("access"))
            .await
            .status,
        StatusCode::OK
    );
    // Every access token has an ID of its own (RFC 7519 §4.1.7), even one issued within the
    // same second for the same grant.
    let jti = |tokens: &serde_json::Value| {
        let token = tokens["access_token"].as_str().expect("access token");
        let payload = token.split('.').nth(1).expect("a JWS");
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .expect("base64url"),
        )
        .expect("claims");
        claims["jti"].as_str().expect("jti").to_owned()
    };
    assert_ne!(jti(&tokens), jti(&renewed.json()));
    assert_ne!(tokens["access_token"], renewed.json()["access_token"]);
    let reused = idp
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            store,
        )
        .await;
    assert_eq!(reused.json()["error"], "invalid_grant");
    // client_secret_post works as well as Basic.
    let by_post = idp
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &next),
                ("client_id", "store"),
                ("client_secret", "store-secret"),
            ],
            None,
        )
        .await;
    assert_eq!(by_post.status, StatusCode::OK, "{by_post:?}");
}

#[tokio::test]
async fn registered_post_logout_redirect_is_followed() {
    let idp = Idp::new(Options::default()).await;
    let reply = idp
        .get("/oauth2/logout?client_id=store&post_logout_redirect_uri=http%3A%2F%2F127.0.0.2%3A9011%2F&state=bye", None)
        .await;
    assert_eq!(reply.status, StatusCode::FOUND);
    assert_eq!(
        reply.location().map(|u| u.to_string()).as_deref(),
        Some("http://127.0.0.2:9011/?state=bye")
    );
    let post = idp
        .post_form(
            "/oauth2/logout",
            "post_logout_redirect_uri=http%3A%2F%2F127.0.0.3%3A9012%2F",
            &[],
        )
        .await;
    assert_eq!(post.status, StatusCode::FOUND);
}

#[tokio::test]
async fn argon2_and_es256_run_the_same_flow() {
    let idp = Idp::new(Options {
        hashing: PasswordHashing::Argon2,
        signing: SigningAlgorithm::Es256,
        ..Options::default()
    })
    .await;
    assert_eq!(
        idp.login(&[], "user7@example.com", "nope").await.status,
        StatusCode::OK
    );
    let tokens = idp.redeem(&idp.code().await).await;
    assert_eq!(tokens.status, StatusCode::OK);
    let header = jsonwebtoken::decode_header(tokens.json()["id_token"].as_str().expect("id_token"))
        .expect("header");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
}

#[tokio::test]
async fn discovery_describes_the_issuer() {
    let idp = Idp::new(Options::default()).await;
    let json = idp
        .get("/.well-known/openid-configuration", None)
        .await
        .json();
    assert_eq!(json["issuer"], ISSUER);
    assert_eq!(json["token_endpoint"], format!("{ISSUER}/oauth2/token"));
    assert_eq!(
        json["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        json["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    let jwks = idp.get("/.well-known/jwks.json", None).await.json();
    assert_eq!(jwks["keys"][0]["kid"], idp.state.keys().kid());
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
}

/// An error description never quotes markup a client chose, and quotes names briefly.
#[tokio::test]
async fn error_descriptions_quote_client_names_without_markup() {
    let idp = Idp::new(Options::default()).await;
    let script = "%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E";
    let reply = idp
        .post_form(
            "/oauth2/token",
            format!("grant_type=authorization_code&{script}=1&{script}=2"),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    let description = reply.json()["error_description"]
        .as_str()
        .expect("description")
        .to_owned();
    assert!(!description.contains(['<', '>', '(', ')']), "{description}");
    assert!(description.chars().count() < 80, "{description}");
    let long = "x".repeat(500);
    let reply = idp
        .authorize(&[("scope", Some(&format!("openid {long}")))], None)
        .await;
    let location = reply.location().expect("redirect");
    let description = location
        .query_pairs()
        .find(|(name, _)| name == "error_description")
        .map(|(_, value)| value.into_owned())
        .expect("error_description");
    assert!(description.chars().count() < 80, "{description}");
}

/// Login CSRF: a password login posted from another site, or without the token of the form this
/// browser was served, signs nobody in (no code, no SSO cookie).
#[tokio::test]
async fn a_login_from_another_site_or_without_this_browsers_token_is_refused() {
    let idp = Idp::new(Options::default()).await;
    let page = idp.authorize(&[], None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok()),
        Some("frame-ancestors 'none'")
    );
    assert_eq!(
        page.headers
            .get(header::X_FRAME_OPTIONS)
            .and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    let cookie = page.cookie(CSRF_COOKIE).expect("a CSRF cookie");
    let token = csrf_token(&page.body).expect("a token in the form");
    let idp = &idp;
    let post = |token: Option<&str>, headers: Vec<(&'static str, String)>| {
        let mut params = authorize_params(&[]);
        if let Some(token) = token {
            params.push((CSRF_FIELD.into(), token.to_owned()));
        }
        // The attacker's own account.
        params.push(("loginId".into(), "user9@example.com".into()));
        params.push(("password".into(), "password".into()));
        let body = form(&params);
        async move {
            let extra: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            idp.post_form("/oauth2/authorize", body, &extra).await
        }
    };
    let refused = |reply: &Reply, why: &str| {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{why}: {reply:?}");
        assert!(
            reply.cookie(SSO_COOKIE).is_none(),
            "{why}: an SSO cookie was set"
        );
        assert!(!reply.headers.contains_key(header::LOCATION), "{why}");
    };
    // The finding, as reproduced: another site posts the attacker's credentials.
    refused(
        &post(
            Some(&token),
            vec![
                ("cookie", cookie.clone()),
                ("origin", "http://evil.example".into()),
                ("sec-fetch-site", "cross-site".into()),
            ],
        )
        .await,
        "cross-site by Fetch Metadata",
    );
    refused(
        &post(
            Some(&token),
            vec![
                ("cookie", cookie.clone()),
                ("origin", "http://evil.example".into()),
            ],
        )
        .await,
        "cross-site by Origin",
    );
    refused(
        &post(None, vec![("cookie", cookie.clone())]).await,
        "no token",
    );
    refused(&post(Some(&token), Vec::new()).await, "no cookie");
    let other = idp.authorize(&[], None).await;
    refused(
        &post(
            csrf_token(&other.body).as_deref(),
            vec![("cookie", cookie.clone())],
        )
        .await,
        "another browser's token",
    );
    // The same form, posted by its own browser (same origin), logs in.
    let ok = post(
        Some(&token),
        vec![
            ("cookie", cookie.clone()),
            ("origin", ISSUER.into()),
            ("sec-fetch-site", "same-origin".into()),
        ],
    )
    .await;
    assert_eq!(ok.status, StatusCode::FOUND, "{ok:?}");
    assert!(ok.cookie(SSO_COOKIE).is_some());
}

/// A user's SSO session, from a password login: (cookie, id_token).
async fn signed_in(idp: &Idp, login_id: &str) -> (String, String) {
    let reply = idp.login(&[], login_id, "password").await;
    let sso = reply.cookie(SSO_COOKIE).expect("SSO cookie");
    let code = reply.location_param("code").expect("code");
    let tokens = idp.redeem(&code).await.json();
    let id_token = tokens["id_token"].as_str().expect("id_token").to_owned();
    (sso, id_token)
}

/// Whether the SSO session behind `sso` is still alive (prompt=none gets a code).
async fn alive(idp: &Idp, sso: &str) -> bool {
    idp.authorize(&[("prompt", Some("none"))], Some(sso))
        .await
        .location_param("code")
        .is_some()
}

/// Logout CSRF: a plain link from another site, or a post without this browser's token, ends
/// nothing; an id_token_hint for the signed-in user ends the session at once.
#[tokio::test]
async fn logout_asks_unless_the_relying_party_vouches_with_an_id_token_hint() {
    let idp = Idp::new(Options::default()).await;
    let (sso, id_token) = signed_in(&idp, "user3@example.com").await;
    // The finding: a cross-site link used to end the session.
    let link = idp.get("/oauth2/logout", Some(&sso)).await;
    assert_eq!(link.status, StatusCode::OK);
    assert!(link.body.contains("id=\"logout-confirm\""));
    assert!(link.cookie(SSO_COOKIE).is_none(), "nothing expired");
    assert!(alive(&idp, &sso).await);
    // The confirmation posted from elsewhere, or without its token: refused.
    let csrf = link.cookie(CSRF_COOKIE).expect("cookie");
    let token = csrf_token(&link.body).expect("token");
    let cookies = format!("{sso}; {csrf}");
    let cross = idp
        .post_form(
            "/oauth2/logout",
            format!("{CSRF_FIELD}={token}"),
            &[("cookie", &cookies), ("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let tokenless = idp
        .post_form("/oauth2/logout", "", &[("cookie", &cookies)])
        .await;
    assert_eq!(tokenless.status, StatusCode::FORBIDDEN);
    assert!(alive(&idp, &sso).await);
    // A hint for another user does not end this one's session: it asks.
    let (_, other_token) = signed_in(&idp, "user4@example.com").await;
    let other = idp
        .get(
            &format!("/oauth2/logout?id_token_hint={other_token}"),
            Some(&sso),
        )
        .await;
    assert!(other.body.contains("id=\"logout-confirm\""), "{other:?}");
    assert!(alive(&idp, &sso).await);
    // Bad hints are refused outright.
    let garbage = idp
        .get("/oauth2/logout?id_token_hint=not.a.token", Some(&sso))
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    let mismatch = idp
        .get(
            &format!("/oauth2/logout?id_token_hint={id_token}&client_id=forums"),
            Some(&sso),
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    // The relying party's own hint: the session ends at once, and the registered
    // post-logout URI is followed with its state.
    let vouched = idp
        .get(
            &format!(
                "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.2%3A9011%2F&state=bye"
            ),
            Some(&sso),
        )
        .await;
    assert_eq!(vouched.status, StatusCode::FOUND, "{vouched:?}");
    assert_eq!(
        vouched.location().map(|u| u.to_string()).as_deref(),
        Some("http://127.0.0.2:9011/?state=bye")
    );
    assert!(!alive(&idp, &sso).await);
}

/// Ending an SSO session ends what it granted: every code redeemed under it (a password login
/// and a silent one) loses its refresh token, rotated or not, and its access token at userinfo,
/// and the IdP frees those records at once; a code issued before the logout and redeemed after
/// it gets no tokens; another user's session keeps its own. A new login that replaces a session
/// ends it the same way.
#[tokio::test]
async fn ending_an_sso_session_revokes_what_it_granted() {
    let idp = Idp::new(Options::default()).await;
    let store = Some(("store", "store-secret"));
    let refresh = async |refresh_token: &str| {
        idp.token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            store,
        )
        .await
    };
    let field =
        |tokens: &serde_json::Value, name: &str| tokens[name].as_str().expect("a token").to_owned();
    let before = idp.state.held_records().await.expect("counted");

    let login = idp.login(&[], "user5@example.com", "password").await;
    let sso = login.cookie(SSO_COOKIE).expect("SSO cookie");
    let first = idp
        .redeem(&login.location_param("code").expect("code"))
        .await
        .json();
    let silent = idp.authorize(&[("prompt", Some("none"))], Some(&sso)).await;
    let second = idp
        .redeem(&silent.location_param("code").expect("a silent code"))
        .await
        .json();
    // The second grant's token rotated once: the live one is what must go.
    let rotated = refresh(&field(&second, "refresh_token")).await;
    assert_eq!(rotated.status, StatusCode::OK, "{rotated:?}");
    let rotated = rotated.json();
    let pending = idp
        .authorize(&[("prompt", Some("none"))], Some(&sso))
        .await
        .location_param("code")
        .expect("a code for later");
    let (other_sso, _) = signed_in(&idp, "user6@example.com").await;
    let other = idp
        .redeem(
            &idp.authorize(&[("prompt", Some("none"))], Some(&other_sso))
                .await
                .location_param("code")
                .expect("the other user's code"),
        )
        .await
        .json();
    for tokens in [&first, &rotated, &other] {
        let info = idp.userinfo(&field(tokens, "access_token")).await;
        assert_eq!(info.status, StatusCode::OK, "{info:?}");
    }
    let held = idp.state.held_records().await.expect("counted");
    assert_eq!(held.grants - before.grants, 4, "two grants each");
    assert_eq!(held.refresh_tokens - before.refresh_tokens, 4);

    let hint = field(&first, "id_token");
    let out = idp
        .get(&format!("/oauth2/logout?id_token_hint={hint}"), Some(&sso))
        .await;
    assert_eq!(out.status, StatusCode::OK, "{out:?}");
    assert!(!alive(&idp, &sso).await);
    for tokens in [&first, &rotated] {
        let info = idp.userinfo(&field(tokens, "access_token")).await;
        assert_eq!(info.status, StatusCode::UNAUTHORIZED, "{info:?}");
        let refused = refresh(&field(tokens, "refresh_token")).await;
        assert_eq!(refused.json()["error"], "invalid_grant", "{refused:?}");
    }
    let late = idp.redeem(&pending).await;
    assert_eq!(late.json()["error"], "invalid_grant", "{late:?}");
    let held = idp.state.held_records().await.expect("counted");
    assert_eq!(held.grants - before.grants, 2, "only the other user's");
    assert_eq!(held.refresh_tokens - before.refresh_tokens, 2);
    let info = idp.userinfo(&field(&other, "access_token")).await;
    assert_eq!(info.status, StatusCode::OK, "{info:?}");
    let kept = refresh(&field(&other, "refresh_token")).await;
    assert_eq!(kept.status, StatusCode::OK, "{kept:?}");

    // The other user logs in again in the same browser: the old session ends with its grants.
    let again = idp
        .login_holding(&[], "user6@example.com", "password", Some(&other_sso))
        .await;
    assert_eq!(again.status, StatusCode::FOUND, "{again:?}");
    let info = idp.userinfo(&field(&kept.json(), "access_token")).await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED, "{info:?}");
    let held = idp.state.held_records().await.expect("counted");
    assert_eq!(held.grants, before.grants, "every grant revoked and freed");
    assert_eq!(held.refresh_tokens, before.refresh_tokens);
}

/// An end cut off half-way (the session marked ended, its record not deleted: the request
/// dropped, a store error) leaves no usable session: the next request naming it is treated as
/// signed out, and finishes the end, revoking what the session granted.
#[tokio::test]
async fn a_session_whose_end_was_cut_off_is_signed_out() {
    use mock_services::session::{SaveOutcome, SessionId, SessionStore};
    let idp = Idp::new(Options::default()).await;
    let (sso, _) = signed_in(&idp, "user8@example.com").await;
    let login = idp.login(&[], "user9@example.com", "password").await;
    let cookie = login.cookie(SSO_COOKIE).expect("SSO cookie");
    let tokens = idp
        .redeem(&login.location_param("code").expect("code"))
        .await
        .json();
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    // What `end_session` writes first (the attribute `ended`), as if the rest never ran.
    let id = cookie
        .split_once('=')
        .and_then(|(_, value)| SessionId::parse(value))
        .expect("an SSO session ID");
    let store = idp.state.sso_store();
    let mut session = store.load(&id).await.expect("load").expect("live");
    std::sync::Arc::make_mut(&mut session.data)
        .attributes
        .insert("ended".into(), "1".into());
    assert_eq!(
        store.save(&mut session).await.expect("save"),
        SaveOutcome::Saved
    );
    assert_eq!(idp.userinfo(&access).await.status, StatusCode::OK);

    let form = idp.authorize(&[], Some(&cookie)).await;
    assert_eq!(form.status, StatusCode::OK, "{form:?}");
    assert!(form.body.contains("id=\"login-form\""), "signed out");
    assert!(
        store.load(&id).await.expect("load").is_none(),
        "the end finished"
    );
    assert_eq!(idp.userinfo(&access).await.status, StatusCode::UNAUTHORIZED);
    assert!(alive(&idp, &sso).await, "another user's session untouched");
}
