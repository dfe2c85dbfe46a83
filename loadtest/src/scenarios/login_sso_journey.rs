//! `login_sso_journey`: SPEC steps 1–29 and logout, as one iteration per fresh browser —
//! password login at the store, cart pages and a cart write, the store session expiring, silent
//! SSO relogin, forums SSO login, posts, logout everywhere.

use super::flows::{App, login_id, password_login, sso_login};
use crate::browser::{Expect, hop, state};
use crate::recorder;
use goose::prelude::*;
use std::sync::atomic::Ordering;

/// One journey.
pub async fn iteration(user: &mut GooseUser) -> TransactionResult {
    let run = recorder::current();
    state(user).pacer.wait_turn(&run).await;
    let iteration = run.iterations.fetch_add(1, Ordering::Relaxed);
    state(user).jar.clear();
    let (store, forums, idp) = (
        run.settings.store_url.clone(),
        run.settings.forums_url.clone(),
        run.settings.idp_url.clone(),
    );
    let login = login_id(user, iteration);
    password_login(user, &login).await?;
    let cart = format!("{store}/shopping-cart");
    for _ in 0..run.settings.cart_reads {
        hop(
            user,
            "store: GET /shopping-cart",
            &cart,
            None,
            Expect::page("cart"),
        )
        .await?;
    }
    hop(
        user,
        "store: POST /shopping-cart/items",
        &format!("{cart}/items"),
        Some(&[("sku", "book-1"), ("quantity", "1")]),
        Expect::redirect(303, &cart),
    )
    .await?;

    // 15–17: wait out the store's idle timeout; the next cart view bounces to /login and the
    // IdP's SSO session logs the user in again without a password.
    tokio::time::sleep(run.settings.expiry_wait).await;
    hop(
        user,
        "store: GET /shopping-cart (expired)",
        &cart,
        None,
        Expect::redirect(302, &format!("{store}/login")),
    )
    .await?;
    sso_login(user, App::Store, "sso relogin (store)").await?;

    // 18–29: the forums, logged in by SSO.
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
    hop(
        user,
        "store: POST /logout",
        &format!("{store}/logout"),
        Some(&[]),
        Expect::redirect(303, &format!("{store}/")),
    )
    .await?;
    hop(
        user,
        "forums: POST /logout",
        &format!("{forums}/logout"),
        Some(&[]),
        Expect::redirect(303, &format!("{forums}/")),
    )
    .await?;
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
