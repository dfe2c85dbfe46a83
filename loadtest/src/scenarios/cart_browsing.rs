//! `cart_browsing`: logged-in users on the session hot path — cart views (load and extend) with
//! some cart writes (save). A user logs in again before its cart fills up or its session would
//! idle out between paced requests.

use super::flows::{login_id, password_login};
use crate::browser::{self, Expect, hop, state};
use crate::recorder;
use goose::prelude::*;
use std::sync::atomic::Ordering;

/// Cart writes on one session before starting over (the store caps a cart at 50 lines).
const WRITES_PER_SESSION: u32 = 40;

/// On start: a browser, and a password login.
pub async fn start(user: &mut GooseUser) -> TransactionResult {
    browser::install(user).await?;
    let login = login_id(user, 0);
    password_login(user, &login).await
}

/// A cart page view.
pub async fn view(user: &mut GooseUser) -> TransactionResult {
    let run = recorder::current();
    state(user).pacer.wait_turn(&run).await;
    run.iterations.fetch_add(1, Ordering::Relaxed);
    fresh_session_if_needed(user).await?;
    let cart = format!("{}/shopping-cart", run.settings.store_url);
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

/// A cart write.
pub async fn add(user: &mut GooseUser) -> TransactionResult {
    let run = recorder::current();
    state(user).pacer.wait_turn(&run).await;
    run.iterations.fetch_add(1, Ordering::Relaxed);
    fresh_session_if_needed(user).await?;
    let cart = format!("{}/shopping-cart", run.settings.store_url);
    hop(
        user,
        "store: POST /shopping-cart/items",
        &format!("{cart}/items"),
        Some(&[("sku", "book-1"), ("quantity", "1")]),
        Expect::redirect(303, &cart),
    )
    .await?;
    state(user).cart_writes += 1;
    Ok(())
}

async fn fresh_session_if_needed(user: &mut GooseUser) -> TransactionResult {
    let run = recorder::current();
    let idle_gap = state(user)
        .pacer
        .interval()
        .is_some_and(|interval| interval >= run.settings.expiry_wait / 2);
    if state(user).cart_writes < WRITES_PER_SESSION && !idle_gap {
        return Ok(());
    }
    let store = run.settings.store_url.clone();
    if state(user).cart_writes >= WRITES_PER_SESSION {
        hop(
            user,
            "store: POST /logout",
            &format!("{store}/logout"),
            Some(&[]),
            Expect::redirect(303, &format!("{store}/")),
        )
        .await?;
    }
    state(user).jar.clear();
    state(user).cart_writes = 0;
    let iteration = run.iterations.load(Ordering::Relaxed);
    let login = login_id(user, iteration);
    password_login(user, &login).await
}
