//! Login pages as a browser meets them, against a provider whose pages are not the mock IdP's:
//! an identifier-first login with a consent page, a relative form action, a `form_post` page,
//! and the outcomes that are never a login — the form served again (wrong password), 429 with
//! its Retry-After, an error page, too many steps — each named in the results.

mod support;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use loadtest::drivers::run::execute;
use reports::results::LoadRunResults;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Goose keeps process-wide state: runs in one process go one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How the fake provider's login goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pages {
    /// A login form (relative action) → back to the app.
    Classic,
    /// The username on one page, the password on the next, then a consent page.
    IdentifierFirst,
    /// The login form, then an auto-submitting page that posts the code to the app.
    FormPost,
    /// 429 with `Retry-After: 1` at once.
    RateLimited,
    /// 500 at once.
    Broken,
    /// "Continue" pages, one after another, forever.
    Endless,
    /// The login form posts to an address that answers 307 to another, which takes the same
    /// post.
    Moved,
    /// The authorization endpoint redirects to itself, forever.
    Loop,
    /// The login form is multipart, which the generator does not encode.
    Multipart,
}

/// The fake provider and app of one run.
struct Fake {
    pages: Pages,
    store: String,
    /// Callbacks the app got by POST (a form_post page's).
    posted_callbacks: AtomicU64,
    /// Login forms posted with the provider's own cookie (set on its first page, Path=/).
    posts_with_cookie: AtomicU64,
}

const PASSWORD: &str = "right";

fn page(body: &str) -> Response {
    Html(format!("<!doctype html><html><body>{body}</body></html>")).into_response()
}

fn redirect(status: StatusCode, to: &str) -> Response {
    (status, [(header::LOCATION, to.to_owned())]).into_response()
}

fn login_form() -> Response {
    let mut response = page(
        r#"<h1>Sign in</h1><FORM action="login" METHOD='post'>
           <input type=hidden name=flow value="a&amp;b"><label>User <input name=user></label>
           <input type=password name=pass><input type=checkbox name=remember checked>
           <button name=go value=1>Sign in</button></FORM>"#,
    );
    response.headers_mut().insert(
        header::SET_COOKIE,
        "op_session=s1; Path=/; HttpOnly; SameSite=Lax"
            .parse()
            .expect("header"),
    );
    response
}

fn continue_form(action: &str) -> Response {
    page(&format!(
        r#"<p>Almost there</p><form method="post" action="{action}"><input type="hidden" name="step" value="x"><button type="submit">Continue</button></form>"#
    ))
}

async fn authorize(State(fake): State<Arc<Fake>>) -> Response {
    match fake.pages {
        Pages::Classic | Pages::FormPost => login_form(),
        Pages::IdentifierFirst => redirect(StatusCode::SEE_OTHER, "/u/identifier"),
        Pages::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "slow down",
        )
            .into_response(),
        Pages::Broken => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Pages::Endless => continue_form("/continue"),
        Pages::Moved => page(
            r#"<form method="post" action="/login-old"><input name="user"><input type="password" name="pass"></form>"#,
        ),
        Pages::Loop => redirect(StatusCode::FOUND, "/authorize"),
        Pages::Multipart => page(
            r#"<form method="post" action="/login" enctype="multipart/form-data"><input name="user"><input type="password" name="pass"></form>"#,
        ),
    }
}

/// The moved login: 307 keeps the method and the body.
async fn moved() -> Response {
    redirect(StatusCode::TEMPORARY_REDIRECT, "/login-new")
}

async fn moved_to(State(fake): State<Arc<Fake>>, body: String) -> Response {
    if body.starts_with("user=user") && body.ends_with(&format!("&pass={PASSWORD}")) {
        redirect(
            StatusCode::FOUND,
            &format!("{}/oauth-callback?code=ok", fake.store),
        )
    } else {
        (StatusCode::BAD_REQUEST, "the post did not arrive whole").into_response()
    }
}

async fn login(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if cookie.contains("op_session=s1") {
        fake.posts_with_cookie.fetch_add(1, Ordering::Relaxed);
    }
    let filled = form.get("flow").map(String::as_str) == Some("a&b")
        && form.get("remember").map(String::as_str) == Some("on")
        && form.get("go").map(String::as_str) == Some("1")
        && form
            .get("user")
            .is_some_and(|user| user.starts_with("user"));
    if !filled || form.get("pass").map(String::as_str) != Some(PASSWORD) {
        return login_form();
    }
    let callback = format!("{}/oauth-callback", fake.store);
    if fake.pages == Pages::FormPost {
        return page(&format!(
            r#"<form method="post" action="{callback}"><input type="hidden" name="code" value="ok"><noscript><button>Go on</button></noscript></form><script>document.forms[0].submit()</script>"#
        ));
    }
    redirect(StatusCode::FOUND, &format!("{callback}?code=ok"))
}

async fn identifier() -> Response {
    page(
        r#"<form method="post" action="/u/identifier"><input type="email" name="identifier"><button type="submit" name="action" value="default">Continue</button></form>"#,
    )
}

async fn identified(body: String) -> Response {
    if body.starts_with("identifier=user") && body.ends_with("&action=default") {
        redirect(StatusCode::FOUND, "/u/password")
    } else {
        (StatusCode::BAD_REQUEST, "no identifier").into_response()
    }
}

async fn password_page() -> Response {
    page(
        r#"<form method="post" action="/u/password"><input type="text" name="identifier" value="user" readonly><input type="password" name="password"><button type="submit">Log in</button></form>"#,
    )
}

async fn password_posted(body: String) -> Response {
    if body.contains(&format!("password={PASSWORD}")) {
        redirect(StatusCode::SEE_OTHER, "/consent")
    } else {
        password_page().await
    }
}

async fn consent() -> Response {
    page(
        r#"<form method="post" action="/consent"><input type="hidden" name="scope" value="openid"><button name="decision" value="accept">Allow</button><button name="decision" value="deny">Deny</button></form>"#,
    )
}

async fn consented(State(fake): State<Arc<Fake>>, body: String) -> Response {
    if body == "scope=openid&decision=accept" {
        redirect(
            StatusCode::FOUND,
            &format!("{}/oauth-callback?code=ok", fake.store),
        )
    } else {
        (StatusCode::BAD_REQUEST, "no decision").into_response()
    }
}

/// The app's callback: a code by query (GET) or by form (POST, from a form_post page).
async fn callback(
    State(fake): State<Arc<Fake>>,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let posted = body.as_str();
    if !posted.is_empty() {
        fake.posted_callbacks.fetch_add(1, Ordering::Relaxed);
    }
    if query.get("code").map(String::as_str) != Some("ok") && posted != "code=ok" {
        return (StatusCode::BAD_REQUEST, "no code").into_response();
    }
    let mut response = redirect(StatusCode::FOUND, "/shopping-cart");
    response.headers_mut().insert(
        header::SET_COOKIE,
        "ssobench_store_session=valid; Path=/; HttpOnly; SameSite=Lax"
            .parse()
            .expect("header"),
    );
    response
}

async fn cart(headers: HeaderMap) -> Response {
    let logged_in = headers
        .get(header::COOKIE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|cookie| cookie.contains("ssobench_store_session=valid"));
    if !logged_in {
        return redirect(StatusCode::FOUND, "/login");
    }
    page(r#"<main id="cart"><p id="cart-count">0 items</p></main>"#)
}

/// Starts the fake provider (127.0.0.4) and app (127.0.0.5); their base URLs.
async fn start(pages: Pages) -> (String, String, Arc<Fake>) {
    let idp_listener = tokio::net::TcpListener::bind("127.0.0.4:0")
        .await
        .expect("bind");
    let app_listener = tokio::net::TcpListener::bind("127.0.0.5:0")
        .await
        .expect("bind");
    let idp = format!("http://{}", idp_listener.local_addr().expect("address"));
    let store = format!("http://{}", app_listener.local_addr().expect("address"));
    let fake = Arc::new(Fake {
        pages,
        store: store.clone(),
        posted_callbacks: AtomicU64::new(0),
        posts_with_cookie: AtomicU64::new(0),
    });
    let to_authorize = format!("{idp}/authorize?client_id=store");
    let provider = axum::Router::new()
        .route("/authorize", get(authorize))
        .route("/login", post(login))
        .route("/u/identifier", get(identifier).post(identified))
        .route("/u/password", get(password_page).post(password_posted))
        .route("/consent", get(consent).post(consented))
        .route("/continue", post(|| async { continue_form("/continue") }))
        .route("/login-old", post(moved))
        .route("/login-new", post(moved_to))
        .with_state(Arc::clone(&fake));
    let app = axum::Router::new()
        .route(
            "/",
            get(|| async { page(r#"<a id="login-link" href="/login">Log in</a>"#) }),
        )
        .route(
            "/login",
            get(move || async move { redirect(StatusCode::FOUND, &to_authorize) }),
        )
        .route("/oauth-callback", get(callback).post(callback))
        .route("/shopping-cart", get(cart))
        .route(
            "/shopping-cart/items",
            post(|| async { redirect(StatusCode::SEE_OTHER, "/shopping-cart") }),
        )
        .route(
            "/logout",
            post(|| async { redirect(StatusCode::SEE_OTHER, "/") }),
        )
        .with_state(Arc::clone(&fake));
    tokio::spawn(async move { axum::serve(idp_listener, provider).await });
    tokio::spawn(async move { axum::serve(app_listener, app).await });
    (idp, store, fake)
}

/// A short cart run of two users against the fake, logging in with `password`.
async fn run(pages: Pages, password: &str) -> (LoadRunResults, Arc<Fake>) {
    let _serial = SERIAL.lock().await;
    let (idp, store, fake) = start(pages).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = support::flags(
        dir.path(),
        &[
            "--target",
            &store,
            "--target-forums",
            &store,
            "--target-idp",
            &idp,
            "--scenario",
            "cart",
            "--user-password",
            password,
        ],
    );
    args.users = 2;
    args.run_time = Some(std::time::Duration::from_secs(2));
    let outcome = execute(&args).await.expect("the run");
    (outcome.results, fake)
}

fn hop<'a>(results: &'a LoadRunResults, name: &str) -> &'a reports::results::LatencyRow {
    results
        .hops
        .iter()
        .find(|row| row.name == name)
        .unwrap_or_else(|| panic!("no hop {name}: {:?}", results.hops))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_form_with_relative_action_other_markup_and_cookies_logs_in() {
    let (results, fake) = run(Pages::Classic, PASSWORD).await;
    assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
    assert!(
        results.login_outcomes.completed >= 2,
        "{:?}",
        results.login_outcomes
    );
    assert_eq!(results.login_outcomes.failed(), 0);
    assert!(hop(&results, "idp: GET authorize (form)").count >= 2);
    assert!(hop(&results, "idp: POST form 1").count >= 2);
    assert!(
        fake.posts_with_cookie.load(Ordering::Relaxed) >= 2,
        "the provider's cookie went back with its form"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identifier_first_login_with_consent_is_walked_page_by_page() {
    let (results, _) = run(Pages::IdentifierFirst, PASSWORD).await;
    assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
    assert!(results.login_outcomes.completed >= 2);
    for name in [
        "idp: GET authorize (to its pages)",
        "idp: GET page 1",
        "idp: POST form 1",
        "idp: GET page 2",
        "idp: POST form 2",
        "idp: GET page 3",
        "idp: POST form 3",
    ] {
        assert!(hop(&results, name).count >= 2, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_post_page_posts_the_code_to_the_app() {
    let (results, fake) = run(Pages::FormPost, PASSWORD).await;
    assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
    assert!(results.login_outcomes.completed >= 2);
    assert!(fake.posted_callbacks.load(Ordering::Relaxed) >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_307_repeats_the_login_post_at_its_new_address() {
    let (results, _) = run(Pages::Moved, PASSWORD).await;
    assert_eq!(results.errors_total, 0, "{:?}", results.error_kinds);
    assert!(results.login_outcomes.completed >= 2);
    assert!(
        hop(&results, "idp: GET (a redirect)").count >= 2,
        "the post to the new address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_a_login_is_named_and_never_counted_as_one() {
    let (wrong, _) = run(Pages::Classic, "wrong").await;
    assert_eq!(
        wrong.login_outcomes.completed, 0,
        "{:?}",
        wrong.login_outcomes
    );
    assert!(
        wrong.login_outcomes.form_again >= 2,
        "{:?}",
        wrong.login_outcomes
    );
    assert_eq!(wrong.logins_per_second, 0.0);
    assert!(
        wrong
            .error_kinds
            .keys()
            .any(|kind| kind.contains("the login form again")),
        "{:?}",
        wrong.error_kinds
    );

    let (limited, _) = run(Pages::RateLimited, PASSWORD).await;
    assert!(
        limited.login_outcomes.rate_limited >= 2,
        "{:?}",
        limited.login_outcomes
    );
    assert!(
        limited.retry_waits.count >= 2,
        "the Retry-After was waited out"
    );
    assert_eq!(limited.login_outcomes.completed, 0);

    let (broken, _) = run(Pages::Broken, PASSWORD).await;
    assert!(
        broken.login_outcomes.error_page >= 2,
        "{:?}",
        broken.login_outcomes
    );
    assert!(broken.status_codes.contains_key("500"));

    let (endless, _) = run(Pages::Endless, PASSWORD).await;
    assert!(
        endless.login_outcomes.too_many_steps >= 2,
        "{:?}",
        endless.login_outcomes
    );
    assert_eq!(endless.login_outcomes.completed, 0);
    // Five pages were submitted; the sixth, which the fifth post answered, was one too many.
    assert!(hop(&endless, "idp: POST form 4").count >= 2);
    let fifth = hop(&endless, "idp: POST form 5");
    assert_eq!(
        fifth.count, 0,
        "an answer that ends the login is no latency sample"
    );
    assert!(fifth.errors >= 2);
    assert!(
        endless
            .hops
            .iter()
            .all(|row| row.name != "idp: POST form 6")
    );

    let (looping, _) = run(Pages::Loop, PASSWORD).await;
    assert!(
        looping.login_outcomes.too_many_steps >= 2,
        "{:?}",
        looping.login_outcomes
    );
    assert!(
        looping
            .error_kinds
            .keys()
            .any(|kind| kind.contains("too many redirects in a row")),
        "{:?}",
        looping.error_kinds
    );

    let (multipart, _) = run(Pages::Multipart, PASSWORD).await;
    assert!(
        multipart.login_outcomes.error_page >= 2,
        "{:?}",
        multipart.login_outcomes
    );
    assert!(
        multipart
            .error_kinds
            .keys()
            .any(|kind| kind.contains("not sent as urlencoded")),
        "{:?}",
        multipart.error_kinds
    );
}
