//! The store and forums apps with the IdP, over real sockets, on every backend: the SPEC's
//! journey, session fixation, stolen cookies under each policy, and broken logins.

use crate::stack_support::{Browser, Stack, replay, store_login};
use mock_services::session::SessionPolicy;
use reqwest::StatusCode;
use std::time::Duration;

fn no_form(hops: &[crate::stack_support::Hop]) -> bool {
    hops.iter().all(|hop| !hop.has_marker("login-form"))
}

/// SPEC steps 1–29 and logout.
pub async fn whole_journey(backend: &str) {
    let stack = Stack::start(backend, |c| {
        c.apps.policy.idle = Duration::from_millis(1500)
    })
    .await;
    let browser = Browser::new();
    // 1–2: home with a login link.
    let home = browser.get(&format!("{}/", stack.store())).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.has_marker("home") && home.has_marker("login-link"),
        "{home:?}"
    );
    // 3–4: /login → IdP form.
    let hops = browser.walk(&format!("{}/login", stack.store())).await;
    assert_eq!(hops[0].status, StatusCode::FOUND);
    assert!(
        hops[0]
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with(&format!("{}/oauth2/authorize?", stack.idp()))),
        "{hops:?}"
    );
    assert!(
        hops[0].cookie("ssobench_store_prelogin").is_some(),
        "pre-login cookie"
    );
    assert!(
        hops[0]
            .set_cookies
            .iter()
            .any(|c| c.contains("HttpOnly") && c.contains("SameSite=Lax"))
    );
    let form = hops.last().expect("hop");
    assert!(form.has_marker("login-form"));
    // 5–11: password → code → callback → new session → cart.
    let hops = browser
        .submit_login(form, "user7@example.com", "password")
        .await;
    let callback = hops
        .iter()
        .find(|hop| hop.url.contains("/oauth-callback"))
        .expect("callback hop");
    assert_eq!(callback.status, StatusCode::FOUND);
    assert_eq!(callback.location.as_deref(), Some("/shopping-cart"));
    let session_cookie = callback
        .set_cookies
        .iter()
        .find(|c| c.starts_with("ssobench_store_session="))
        .expect("session cookie");
    assert!(
        session_cookie.contains("HttpOnly")
            && session_cookie.contains("SameSite=Lax")
            && session_cookie.contains("Path=/"),
        "{session_cookie}"
    );
    let cart = hops.last().expect("hop");
    assert!(
        cart.has_marker("cart") && cart.body.contains("user7@example.com"),
        "{cart:?}"
    );
    // 12–14: cart read and write.
    let written = browser
        .post(
            &format!("{}/shopping-cart/items", stack.store()),
            &[("sku", "book-1"), ("quantity", "2")],
        )
        .await;
    assert_eq!(written.status, StatusCode::SEE_OTHER, "{written:?}");
    let cart = browser
        .get(&format!("{}/shopping-cart", stack.store()))
        .await;
    assert!(
        cart.body.contains("id=\"cart-count\">2 items"),
        "{}",
        cart.body
    );
    // 15–17: the store session expires; relogin through the SSO session, no password.
    stack.time.pass(2_200).await;
    let hops = browser
        .walk(&format!("{}/shopping-cart", stack.store()))
        .await;
    assert_eq!(hops[0].status, StatusCode::FOUND);
    assert_eq!(hops[0].location.as_deref(), Some("/login"));
    assert!(
        no_form(&hops),
        "relogin must not ask for a password: {hops:?}"
    );
    let landing = hops.last().expect("hop");
    assert!(landing.has_marker("cart"), "{hops:?}");
    assert!(
        landing.body.contains("id=\"cart-count\">0 items"),
        "a new session starts with a new cart"
    );
    // 18–29: forums by SSO, no form; posts.
    let hops = browser.walk(&format!("{}/", stack.forums())).await;
    assert!(hops[0].has_marker("login-link"));
    let hops = browser.walk(&format!("{}/login", stack.forums())).await;
    assert!(no_form(&hops), "forums login must be silent: {hops:?}");
    let posts = hops.last().expect("hop");
    assert!(
        posts.has_marker("posts") && posts.body.contains("user7@example.com"),
        "{hops:?}"
    );
    assert!(
        browser
            .get(&format!("{}/posts", stack.forums()))
            .await
            .has_marker("posts")
    );
    // Logout at each app: the session is gone at once.
    for (app, page) in [(stack.store(), "shopping-cart"), (stack.forums(), "posts")] {
        let out = browser.post(&format!("{app}/logout"), &[]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert!(out.set_cookies.iter().any(|c| c.contains("Max-Age=0")));
        let after = browser.get(&format!("{app}/{page}")).await;
        assert_eq!(after.location.as_deref(), Some("/login"), "{after:?}");
    }
    stack.running.shutdown().await.expect("shutdown");
}

/// A session cookie held before login is not the one used after it, and stops working.
pub async fn session_fixation(backend: &str) {
    let stack = Stack::start(backend, |_| {}).await;
    let attacker = Browser::new();
    let planted = store_login(&attacker, &stack, "user2@example.com").await;
    let victim = Browser::with_cookie(&format!("ssobench_store_session={planted}"), stack.store());
    let after = store_login(&victim, &stack, "user3@example.com").await;
    assert_ne!(after, planted, "login must mint a new session ID");
    let old = replay(
        &format!("{}/shopping-cart", stack.store()),
        &format!("ssobench_store_session={planted}"),
    )
    .await;
    assert_eq!(
        old.location.as_deref(),
        Some("/login"),
        "the pre-login session must end: {old:?}"
    );
    let cart = victim
        .get(&format!("{}/shopping-cart", stack.store()))
        .await;
    assert!(cart.body.contains("user3@example.com"));
    stack.running.shutdown().await.expect("shutdown");
}

/// Idle timeout alone: an attacker replaying the cookie keeps the session alive.
pub async fn stolen_cookie_lives_under_idle_only(backend: &str) {
    let stack = Stack::start(backend, |c| {
        c.apps.policy = SessionPolicy {
            idle: Duration::from_secs(1),
            absolute: Duration::from_secs(3600),
        }
    })
    .await;
    let cookie = format!(
        "ssobench_store_session={}",
        store_login(&Browser::new(), &stack, "user4@example.com").await
    );
    let cart = format!("{}/shopping-cart", stack.store());
    for _ in 0..8 {
        stack.time.pass(300).await;
        let hop = replay(&cart, &cookie).await;
        assert!(
            hop.has_marker("cart"),
            "the replayed cookie should still work: {hop:?}"
        );
    }
    // 2.4 s after login, well past one idle period: only the attacker's use kept it alive.
    stack.time.pass(1_500).await;
    assert_eq!(
        replay(&cart, &cookie).await.location.as_deref(),
        Some("/login")
    );
    stack.running.shutdown().await.expect("shutdown");
}

/// An absolute timeout ends the session however busy the attacker keeps it.
pub async fn stolen_cookie_stops_at_absolute_timeout(backend: &str) {
    let stack = Stack::start(backend, |c| {
        c.apps.policy = SessionPolicy {
            idle: Duration::from_secs(1),
            absolute: Duration::from_secs(2),
        }
    })
    .await;
    let cookie = format!(
        "ssobench_store_session={}",
        store_login(&Browser::new(), &stack, "user5@example.com").await
    );
    let cart = format!("{}/shopping-cart", stack.store());
    assert!(replay(&cart, &cookie).await.has_marker("cart"));
    // Used every 250 ms, well inside the idle timeout, for 2.5 s: past the absolute one.
    for _ in 0..10 {
        stack.time.pass(250).await;
        let _ = replay(&cart, &cookie).await;
    }
    assert_eq!(
        replay(&cart, &cookie).await.location.as_deref(),
        Some("/login"),
        "absolute timeout must end it"
    );
    stack.running.shutdown().await.expect("shutdown");
}

/// Logout revokes the stolen cookie at once.
pub async fn stolen_cookie_stops_at_logout(backend: &str) {
    let stack = Stack::start(backend, |_| {}).await;
    let victim = Browser::new();
    let cookie = format!(
        "ssobench_store_session={}",
        store_login(&victim, &stack, "user6@example.com").await
    );
    let cart = format!("{}/shopping-cart", stack.store());
    assert!(replay(&cart, &cookie).await.has_marker("cart"));
    assert_eq!(
        victim
            .post(&format!("{}/logout", stack.store()), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        replay(&cart, &cookie).await.location.as_deref(),
        Some("/login")
    );
    stack.running.shutdown().await.expect("shutdown");
}

/// ID rotation: once the victim's session moves to a new ID, the stolen one is dead.
pub async fn stolen_cookie_stops_at_rotation(backend: &str) {
    let stack = Stack::start(backend, |c| c.apps.rotation.every_requests = Some(2)).await;
    let victim = Browser::new();
    let stolen = store_login(&victim, &stack, "user8@example.com").await;
    let cart = format!("{}/shopping-cart", stack.store());
    let mut rotated_to = None;
    for _ in 0..3 {
        let hop = victim.get(&cart).await;
        assert!(
            hop.has_marker("cart"),
            "the victim keeps working across rotations: {hop:?}"
        );
        rotated_to = rotated_to.or(hop.cookie("ssobench_store_session"));
    }
    let rotated_to = rotated_to.expect("a rotation within three requests");
    assert_ne!(rotated_to, stolen);
    let hop = replay(&cart, &format!("ssobench_store_session={stolen}")).await;
    assert_eq!(hop.location.as_deref(), Some("/login"), "{hop:?}");
    stack.running.shutdown().await.expect("shutdown");
}

/// State mismatch, no pre-login cookie, an IdP error and a replayed callback: clear 400s.
pub async fn broken_logins_get_clear_4xx(backend: &str) {
    let stack = Stack::start(backend, |_| {}).await;
    let browser = Browser::new();
    let hops = browser.walk(&format!("{}/login", stack.store())).await;
    let form = hops.last().expect("form");
    let mut fields = vec![("loginId", "user9@example.com"), ("password", "password")];
    let hidden = crate::stack_support::hidden_fields(&form.body);
    fields.extend(hidden.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let posted = browser
        .post(&format!("{}/oauth2/authorize", stack.idp()), &fields)
        .await;
    let callback = posted.location.expect("callback URL");
    let mut url = reqwest::Url::parse(&callback).expect("url");
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");

    let tampered = callback.replace(&format!("state={state}"), "state=forged");
    let hop = browser.get(&tampered).await;
    assert_eq!(
        hop.status,
        StatusCode::BAD_REQUEST,
        "state mismatch: {hop:?}"
    );
    assert!(hop.has_marker("error"));

    let stranger = Browser::new();
    let hop = stranger.get(&callback).await;
    assert_eq!(
        hop.status,
        StatusCode::BAD_REQUEST,
        "no pre-login cookie: {hop:?}"
    );

    url.set_query(Some(&format!("error=access_denied&state={state}")));
    let hop = browser.get(url.as_str()).await;
    assert_eq!(hop.status, StatusCode::BAD_REQUEST, "IdP error: {hop:?}");
    assert!(hop.body.contains("access_denied"));

    // The forged and failed callbacks did not spoil the genuine one.
    let hop = browser.get(&callback).await;
    assert_eq!(hop.status, StatusCode::FOUND, "{hop:?}");
    assert_eq!(hop.location.as_deref(), Some("/shopping-cart"));
    let hop = browser.get(&callback).await;
    assert_eq!(
        hop.status,
        StatusCode::BAD_REQUEST,
        "replayed callback: {hop:?}"
    );

    let hop = browser
        .post(
            &format!("{}/shopping-cart/items", stack.store()),
            &[("sku", "<script>"), ("quantity", "1")],
        )
        .await;
    assert_eq!(hop.status, StatusCode::BAD_REQUEST, "bad sku: {hop:?}");
    let hop = browser
        .post(
            &format!("{}/shopping-cart/items", stack.store()),
            &[("sku", "ok"), ("quantity", "1000")],
        )
        .await;
    assert_eq!(hop.status, StatusCode::BAD_REQUEST, "bad quantity: {hop:?}");
    let hop = replay(
        &format!("{}/shopping-cart", stack.store()),
        "ssobench_store_session=%%%garbage",
    )
    .await;
    assert_eq!(
        hop.location.as_deref(),
        Some("/login"),
        "garbage cookie: {hop:?}"
    );
    stack.running.shutdown().await.expect("shutdown");
}

/// The store's gauges (`/ssobench/sessions`) count a login's session and, on Redis only, the
/// backend's memory; asking is not counted as the app's work.
pub async fn gauges_count_the_sessions(backend: &str) {
    let stack = Stack::start(backend, |_| {}).await;
    let ask = |browser: Browser| {
        let url = format!("{}{}", stack.store(), vocabulary::gauges::SESSIONS_ROUTE);
        async move {
            let hop = browser.get(&url).await;
            assert_eq!(hop.status, StatusCode::OK, "{hop:?}");
            serde_json::from_str::<vocabulary::gauges::SessionGauges>(&hop.body)
                .expect("the gauges")
        }
    };
    let before = ask(Browser::new()).await;
    assert_eq!(before.sessions_alive, 0, "{before:?}");
    for user in ["user1@example.com", "user2@example.com"] {
        store_login(&Browser::new(), &stack, user).await;
    }
    let after = ask(Browser::new()).await;
    assert_eq!(
        after.sessions_alive, 2,
        "two logins, two sessions: {after:?}"
    );
    let on_redis = backend == "redis";
    assert_eq!(after.shared, on_redis);
    match after.backend_memory_bytes {
        Some(bytes) => assert!(on_redis && bytes > 0, "{after:?}"),
        None => assert!(!on_redis, "Redis tells its memory: {after:?}"),
    }
    let requests = || {
        let url = format!("{}{}", stack.store(), vocabulary::costs::OPERATIONS_ROUTE);
        async move {
            let hop = Browser::new().get(&url).await;
            serde_json::from_str::<vocabulary::costs::ServiceOperations>(&hop.body)
                .expect("the counts")
                .count(vocabulary::costs::Operation::Request)
        }
    };
    let counted = requests().await;
    ask(Browser::new()).await;
    assert_eq!(
        requests().await,
        counted,
        "asking for the gauges is not a request of the app's"
    );
    stack.running.shutdown().await.expect("shutdown");
}

macro_rules! app_suite {
    ($($backend:ident),*) => {
        $(
            mod $backend {
                macro_rules! case {
                    ($name:ident) => {
                        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                        async fn $name() {
                            super::$name(stringify!($backend)).await;
                        }
                    };
                }
                case!(whole_journey);
                case!(session_fixation);
                case!(stolen_cookie_lives_under_idle_only);
                case!(stolen_cookie_stops_at_absolute_timeout);
                case!(stolen_cookie_stops_at_logout);
                case!(cross_site_posts_are_refused);
                case!(stolen_cookie_stops_at_rotation);
                case!(broken_logins_get_clear_4xx);
                case!(gauges_count_the_sessions);
            }
        )*
    };
}

app_suite!(dashmap, scc, papaya, redis);

/// The apps' form posts (logout, cart write) refuse what the browser says came from another
/// site; the same posts from the app's own pages work.
pub async fn cross_site_posts_are_refused(backend: &str) {
    let stack = Stack::start(backend, |_| {}).await;
    let cookie = format!(
        "ssobench_store_session={}",
        store_login(&Browser::new(), &stack, "user6@example.com").await
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let post = |path: &str, headers: &[(&str, &str)]| {
        let mut request = client
            .post(format!("{}{path}", stack.store()))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("sku=evil&quantity=9");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for path in ["/shopping-cart/items", "/logout"] {
        for headers in [
            &[("sec-fetch-site", "cross-site")][..],
            &[("origin", "http://evil.example")][..],
        ] {
            let refused = post(path, headers).await.expect("answer");
            assert_eq!(
                refused.status(),
                StatusCode::FORBIDDEN,
                "{path} {headers:?}"
            );
        }
    }
    let cart = replay(&format!("{}/shopping-cart", stack.store()), &cookie).await;
    assert!(cart.has_marker("cart"), "the session survived: {cart:?}");
    assert!(!cart.body.contains("evil"), "nothing was written");
    let own = post("/shopping-cart/items", &[("origin", stack.store())])
        .await
        .expect("answer");
    assert_eq!(own.status(), StatusCode::SEE_OTHER);
    let same = post("/logout", &[("sec-fetch-site", "same-origin")])
        .await
        .expect("answer");
    assert_eq!(same.status(), StatusCode::SEE_OTHER);
    stack.running.shutdown().await.expect("shutdown");
}
