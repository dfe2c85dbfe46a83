//! The OpenID Foundation's Basic OP test plan, as it applies to a code-flow OP: one test per
//! behaviour, through the IdP's router.

use crate::idp_support::*;
use axum::http::StatusCode;
use mock_services::idp::{IdClaims, SSO_COOKIE};
use std::time::Duration;

/// A password login's SSO cookie, and the tokens of its code.
async fn signed_in(idp: &Idp, scope: &str) -> (String, serde_json::Value) {
    let reply = idp
        .login(&[("scope", Some(scope))], "user5@example.com", "password")
        .await;
    assert_eq!(reply.status, StatusCode::FOUND, "{reply:?}");
    let sso = reply.cookie(SSO_COOKIE).expect("SSO cookie");
    let tokens = idp
        .redeem(&reply.location_param("code").expect("code"))
        .await
        .json();
    (sso, tokens)
}

fn id_claims(idp: &Idp, tokens: &serde_json::Value) -> IdClaims {
    idp.state
        .keys()
        .verify(
            tokens["id_token"].as_str().expect("id_token"),
            ISSUER,
            Some("store"),
        )
        .expect("id_token verifies")
}

#[tokio::test]
async fn prompt_none_with_a_session_gets_a_code() {
    let idp = Idp::new(Options::default()).await;
    let (sso, _) = signed_in(&idp, "openid").await;
    let reply = idp.authorize(&[("prompt", Some("none"))], Some(&sso)).await;
    assert!(reply.location_param("code").is_some(), "{reply:?}");
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let idp = Idp::new(Options::default()).await;
    let reply = idp.authorize(&[("prompt", Some("none"))], None).await;
    assert_eq!(
        reply.location_param("error").as_deref(),
        Some("login_required")
    );
    assert_eq!(reply.location_param("state").as_deref(), Some("st-123"));
}

#[tokio::test]
async fn prompt_login_shows_the_form_despite_a_session() {
    let idp = Idp::new(Options::default()).await;
    let (sso, _) = signed_in(&idp, "openid").await;
    let reply = idp
        .authorize(&[("prompt", Some("login"))], Some(&sso))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("id=\"login-form\""));
}

#[tokio::test]
async fn max_age_older_than_the_login_asks_again_and_auth_time_is_in_the_id_token() {
    let idp = Idp::new(Options::default()).await;
    // The IdP's clock stands still until the test moves it: the login happens at its second.
    let login_second = idp.clock.now_millis() / 1000;
    let (sso, tokens) = signed_in(&idp, "openid").await;
    let auth_time = id_claims(&idp, &tokens).auth_time;
    assert_eq!(auth_time, login_second);
    // A second later by the IdP's clock, without waiting for one.
    idp.clock.advance(Duration::from_millis(1_100));
    // A login older than max_age: the form again, or login_required with prompt=none.
    let stale = idp.authorize(&[("max_age", Some("0"))], Some(&sso)).await;
    assert!(stale.body.contains("id=\"login-form\""), "{stale:?}");
    let none = idp
        .authorize(
            &[("max_age", Some("0")), ("prompt", Some("none"))],
            Some(&sso),
        )
        .await;
    assert_eq!(
        none.location_param("error").as_deref(),
        Some("login_required")
    );
    // Within max_age: a code, and its id_token keeps the original auth_time.
    let fresh = idp
        .authorize(&[("max_age", Some("3600"))], Some(&sso))
        .await;
    let code = fresh.location_param("code").expect("code");
    assert_eq!(
        id_claims(&idp, &idp.redeem(&code).await.json()).auth_time,
        auth_time
    );
    let bad = idp.authorize(&[("max_age", Some("soon"))], None).await;
    assert_eq!(
        bad.location_param("error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn login_hint_prefills_the_form() {
    let idp = Idp::new(Options::default()).await;
    let reply = idp
        .authorize(&[("login_hint", Some("user9@example.com\"><b>"))], None)
        .await;
    assert!(
        reply
            .body
            .contains("value=\"user9@example.com&quot;&gt;&lt;b&gt;\" required"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn id_token_hint_uses_the_session_only_for_the_user_it_names() {
    let idp = Idp::new(Options::default()).await;
    let (sso, tokens) = signed_in(&idp, "openid").await;
    let hint = tokens["id_token"].as_str().expect("id_token");
    let same = idp
        .authorize(
            &[("id_token_hint", Some(hint)), ("prompt", Some("none"))],
            Some(&sso),
        )
        .await;
    assert!(same.location_param("code").is_some(), "{same:?}");
    // Another user's hint, against this session: login_required.
    let other = idp.login(&[], "user8@example.com", "password").await;
    let other_tokens = idp
        .redeem(&other.location_param("code").expect("code"))
        .await
        .json();
    let other_hint = other_tokens["id_token"].as_str().expect("id_token");
    let mismatch = idp
        .authorize(
            &[
                ("id_token_hint", Some(other_hint)),
                ("prompt", Some("none")),
            ],
            Some(&sso),
        )
        .await;
    assert_eq!(
        mismatch.location_param("error").as_deref(),
        Some("login_required")
    );
    let garbage = idp
        .authorize(&[("id_token_hint", Some("a.b.c"))], Some(&sso))
        .await;
    assert_eq!(
        garbage.location_param("error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let idp = Idp::new(Options::default()).await;
    let reply = idp
        .authorize(
            &[("ui_locales", Some("fr")), ("x_extension", Some("1"))],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("id=\"login-form\""));
}

#[tokio::test]
async fn a_request_without_nonce_is_accepted() {
    let idp = Idp::new(Options::default()).await;
    let code = idp.code_for(&[("nonce", None)]).await;
    let claims = id_claims(&idp, &idp.redeem(&code).await.json());
    assert_eq!(claims.nonce, None);
}

#[tokio::test]
async fn scopes_profile_and_email_map_to_claims_in_the_id_token_and_userinfo() {
    let idp = Idp::new(Options::default()).await;
    for (scope, email, name) in [
        ("openid", false, false),
        ("openid email", true, false),
        ("openid profile", false, true),
        ("openid profile email", true, true),
    ] {
        let (_, tokens) = signed_in(&idp, scope).await;
        let claims = id_claims(&idp, &tokens);
        assert_eq!(claims.email.is_some(), email, "{scope}: {claims:?}");
        assert_eq!(claims.email_verified, email.then_some(true), "{scope}");
        assert_eq!(claims.name.is_some(), name, "{scope}: {claims:?}");
        assert_eq!(claims.preferred_username.is_some(), name, "{scope}");
        let info = idp
            .userinfo(tokens["access_token"].as_str().expect("access token"))
            .await
            .json();
        assert_eq!(info["sub"], "user-5", "{scope}: {info}");
        assert_eq!(info.get("email").is_some(), email, "{scope}: {info}");
        assert_eq!(info.get("name").is_some(), name, "{scope}: {info}");
        if name {
            assert_eq!(info["name"], "User 5");
        }
    }
}

#[tokio::test]
async fn userinfo_by_get_or_post_with_a_header_and_by_post_with_a_body() {
    let idp = Idp::new(Options::default()).await;
    let (_, tokens) = signed_in(&idp, "openid email").await;
    let token = tokens["access_token"].as_str().expect("access token");
    let bearer = format!("Bearer {token}");
    let by_get = idp.userinfo(token).await;
    let by_post_header = idp
        .post_form(
            "/oauth2/userinfo",
            "",
            &[("authorization", bearer.as_str())],
        )
        .await;
    let by_post_body = idp
        .post_form("/oauth2/userinfo", format!("access_token={token}"), &[])
        .await;
    for (how, reply) in [
        ("GET with a header", &by_get),
        ("POST with a header", &by_post_header),
        ("POST with a body", &by_post_body),
    ] {
        assert_eq!(reply.status, StatusCode::OK, "{how}: {reply:?}");
        assert_eq!(reply.json()["email"], "user5@example.com", "{how}");
    }
    let both = idp
        .post_form(
            "/oauth2/userinfo",
            format!("access_token={token}"),
            &[("authorization", bearer.as_str())],
        )
        .await;
    assert_eq!(both.status, StatusCode::UNAUTHORIZED, "{both:?}");
}

#[tokio::test]
async fn client_secret_basic_and_client_secret_post_both_authenticate() {
    let idp = Idp::new(Options::default()).await;
    let basic = idp.redeem(&idp.code().await).await;
    assert_eq!(basic.status, StatusCode::OK, "{basic:?}");
    let code = idp.code().await;
    let post = idp
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", STORE_CALLBACK),
                ("code_verifier", VERIFIER),
                ("client_id", "store"),
                ("client_secret", "store-secret"),
            ],
            None,
        )
        .await;
    assert_eq!(post.status, StatusCode::OK, "{post:?}");
    assert!(post.json()["id_token"].is_string());
}
