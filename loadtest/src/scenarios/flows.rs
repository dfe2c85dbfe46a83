//! The logins every scenario needs: a password login and an SSO login, each hop checked and
//! timed, each flow timed whole.

use crate::browser::{Expect, hop, record_flow};
use crate::recorder;
use goose::prelude::*;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Store home → `/login` → IdP form → password → callback → cart. SPEC steps 1–14.
pub async fn password_login(user: &mut GooseUser, login_id: &str) -> TransactionResult {
    let run = recorder::current();
    let (store, idp) = (run.settings.store_url.clone(), run.settings.idp_url.clone());
    let started = Instant::now();
    hop(
        user,
        "store: GET /",
        &format!("{store}/"),
        None,
        Expect::page("login-link"),
    )
    .await?;
    let authorize_prefix = format!("{idp}/oauth2/authorize?");
    let to_idp = hop(
        user,
        "store: GET /login",
        &format!("{store}/login"),
        None,
        Expect::redirect(302, &authorize_prefix),
    )
    .await?;
    let authorize = to_idp.location.unwrap_or_default();
    hop(
        user,
        "idp: GET /oauth2/authorize (form)",
        &authorize,
        None,
        Expect::page("login-form"),
    )
    .await?;
    // The form's hidden fields are exactly the authorization request's parameters.
    let query = authorize
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    let mut fields: Vec<(String, String)> = url_pairs(query);
    fields.push(("loginId".into(), login_id.into()));
    fields.push(("password".into(), "password".into()));
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let callback_prefix = format!("{store}/oauth-callback?");
    let back = hop(
        user,
        "idp: POST /oauth2/authorize",
        &format!("{idp}/oauth2/authorize"),
        Some(&form),
        Expect::redirect(302, &callback_prefix),
    )
    .await?;
    let callback = back.location.unwrap_or_default();
    let landing = format!("{store}/shopping-cart");
    hop(
        user,
        "store: GET /oauth-callback",
        &callback,
        None,
        Expect::redirect(302, &landing),
    )
    .await?;
    hop(
        user,
        "store: GET /shopping-cart",
        &landing,
        None,
        Expect::page("cart"),
    )
    .await?;
    record_flow(user, "password login (store)", started);
    run.logins.fetch_add(1, Ordering::Relaxed);
    run.password_logins.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// `app_url/login` → IdP (SSO cookie: straight back, no form) → callback → landing page.
/// Used for the store's relogin after expiry and the forums' first login.
pub async fn sso_login(user: &mut GooseUser, app: App, flow: &'static str) -> TransactionResult {
    let run = recorder::current();
    let idp = run.settings.idp_url.clone();
    let (base, landing_path, marker) = match app {
        App::Store => (run.settings.store_url.clone(), "/shopping-cart", "cart"),
        App::Forums => (run.settings.forums_url.clone(), "/posts", "posts"),
    };
    let names = app.hop_names();
    let started = Instant::now();
    let authorize_prefix = format!("{idp}/oauth2/authorize?");
    let to_idp = hop(
        user,
        names.login,
        &format!("{base}/login"),
        None,
        Expect::redirect(302, &authorize_prefix),
    )
    .await?;
    let callback_prefix = format!("{base}/oauth-callback?");
    let back = hop(
        user,
        "idp: GET /oauth2/authorize (sso)",
        &to_idp.location.unwrap_or_default(),
        None,
        Expect::redirect(302, &callback_prefix),
    )
    .await?;
    let landing = format!("{base}{landing_path}");
    hop(
        user,
        names.callback,
        &back.location.unwrap_or_default(),
        None,
        Expect::redirect(302, &landing),
    )
    .await?;
    hop(user, names.landing, &landing, None, Expect::page(marker)).await?;
    record_flow(user, flow, started);
    run.logins.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The two apps.
#[derive(Debug, Clone, Copy)]
pub enum App {
    Store,
    Forums,
}

struct HopNames {
    login: &'static str,
    callback: &'static str,
    landing: &'static str,
}

impl App {
    fn hop_names(self) -> HopNames {
        match self {
            App::Store => HopNames {
                login: "store: GET /login",
                callback: "store: GET /oauth-callback",
                landing: "store: GET /shopping-cart",
            },
            App::Forums => HopNames {
                login: "forums: GET /login",
                callback: "forums: GET /oauth-callback",
                landing: "forums: GET /posts",
            },
        }
    }
}

/// Decoded `a=1&b=2` pairs.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|url| {
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A login id for this user: users spread over the seeded directory.
pub fn login_id(user: &GooseUser, iteration: u64) -> String {
    let n = (user.weighted_users_index as u64 * 7919 + iteration) % 10_000 + 1;
    format!("user{n}@example.com")
}

/// Starts an iteration: waits for the user's turn (open model) and counts it; returns its number.
pub async fn begin_iteration(user: &mut GooseUser) -> u64 {
    let run = recorder::current();
    crate::browser::state(user).pacer.wait_turn(&run).await;
    run.iterations.fetch_add(1, Ordering::Relaxed)
}

/// `GET /shopping-cart`: the cart page (a session load and extension).
pub async fn view_cart(user: &mut GooseUser) -> TransactionResult {
    let cart = format!("{}/shopping-cart", recorder::current().settings.store_url);
    hop(
        user,
        "store: GET /shopping-cart",
        &cart,
        None,
        Expect::page("cart"),
    )
    .await?;
    Ok(())
}

/// `POST /shopping-cart/items`: a cart write (a session save), answered 303 to the cart.
pub async fn add_to_cart(user: &mut GooseUser) -> TransactionResult {
    let cart = format!("{}/shopping-cart", recorder::current().settings.store_url);
    let form = [("sku", "book-1"), ("quantity", "1")];
    hop(
        user,
        "store: POST /shopping-cart/items",
        &format!("{cart}/items"),
        Some(&form),
        Expect::redirect(303, &cart),
    )
    .await?;
    Ok(())
}

/// `POST /logout` at an app, answered 303 to its home.
pub async fn app_logout(user: &mut GooseUser, app: App) -> TransactionResult {
    let settings = &recorder::current().settings;
    let (base, name) = match app {
        App::Store => (settings.store_url.clone(), "store: POST /logout"),
        App::Forums => (settings.forums_url.clone(), "forums: POST /logout"),
    };
    hop(
        user,
        name,
        &format!("{base}/logout"),
        Some(&[]),
        Expect::redirect(303, &format!("{base}/")),
    )
    .await?;
    Ok(())
}
