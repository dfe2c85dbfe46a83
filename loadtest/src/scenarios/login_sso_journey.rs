//! `login_sso_journey`: SPEC steps 1–29 and logout, as one iteration per fresh browser —
//! password login at the store, cart pages and a cart write, the store session expiring, silent
//! SSO relogin, forums SSO login, posts, logout everywhere.

use super::flows::{
    App, add_to_cart, app_logout, begin_iteration, login_id, password_login, sso_login, view_cart,
};
use crate::browser::{Expect, hop, state};
use crate::recorder;
use goose::prelude::*;

/// One journey.
pub async fn iteration(user: &mut GooseUser) -> TransactionResult {
    let iteration = begin_iteration(user).await;
    state(user).jar.clear();
    let run = recorder::current();
    let settings = &run.settings;
    let login = login_id(user, iteration);
    password_login(user, &login).await?;
    for _ in 0..settings.cart_reads {
        view_cart(user).await?;
    }
    add_to_cart(user).await?;

    // 15–17: wait out the store's idle timeout; the next cart view bounces to /login and the
    // IdP's SSO session logs the user in again without a password.
    tokio::time::sleep(settings.expiry_wait).await;
    let store = &settings.store_url;
    hop(
        user,
        "store: GET /shopping-cart (expired)",
        &format!("{store}/shopping-cart"),
        None,
        Expect::redirect(302, &format!("{store}/login")),
    )
    .await?;
    sso_login(user, App::Store, "sso relogin (store)").await?;

    // 18–29: the forums, logged in by SSO.
    let forums = &settings.forums_url;
    hop(
        user,
        "forums: GET /",
        &format!("{forums}/"),
        None,
        Expect::page("login-link"),
    )
    .await?;
    sso_login(user, App::Forums, "sso login (forums)").await?;
    hop(
        user,
        "forums: GET /posts",
        &format!("{forums}/posts"),
        None,
        Expect::page("posts"),
    )
    .await?;

    // Logout at both apps and at the IdP.
    app_logout(user, App::Store).await?;
    app_logout(user, App::Forums).await?;
    let idp = &settings.idp_url;
    hop(
        user,
        "idp: GET /oauth2/logout",
        &format!("{idp}/oauth2/logout"),
        None,
        Expect::page("logged-out"),
    )
    .await?;
    Ok(())
}
