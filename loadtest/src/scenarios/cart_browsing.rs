//! `cart_browsing`: logged-in users on the session hot path — cart views (load and extend) with
//! some cart writes (save). A user logs in again before its cart fills up or its session would
//! idle out between paced requests.

use super::flows::{
    App, add_to_cart, app_logout, begin_iteration, login_id, password_login, view_cart,
};
use crate::browser::{self, state};
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
    begin_iteration(user).await;
    fresh_session_if_needed(user).await?;
    view_cart(user).await
}

/// A cart write.
pub async fn add(user: &mut GooseUser) -> TransactionResult {
    begin_iteration(user).await;
    fresh_session_if_needed(user).await?;
    add_to_cart(user).await?;
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
    if state(user).cart_writes >= WRITES_PER_SESSION {
        app_logout(user, App::Store).await?;
    }
    state(user).jar.clear();
    state(user).cart_writes = 0;
    let iteration = run.iterations.load(Ordering::Relaxed);
    let login = login_id(user, iteration);
    password_login(user, &login).await
}
