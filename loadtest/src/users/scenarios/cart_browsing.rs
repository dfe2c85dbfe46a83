//! `cart_browsing`: logged-in users on the session hot path — cart views (load and extend) with
//! some cart writes (save). A user logs in again before its cart fills up or its session would
//! idle out between paced requests.

use super::flows::{
    App, account, add_to_cart, app_logout, begin_iteration, iterations, password_login, view_cart,
};
use crate::users::user::state;
use goose::prelude::*;

/// Cart writes on one session before starting over (the store caps a cart at 50 lines).
const WRITES_PER_SESSION: u32 = 40;

/// On start (after the user's state is installed): a password login.
pub async fn start(user: &mut GooseUser) -> TransactionResult {
    let account = account(user, 0);
    password_login(user, &account).await
}

/// A cart page view.
pub async fn view(user: &mut GooseUser) -> TransactionResult {
    if !begin_iteration(user).await? {
        return Ok(());
    }
    fresh_session_if_needed(user).await?;
    view_cart(user).await
}

/// A cart write.
pub async fn add(user: &mut GooseUser) -> TransactionResult {
    if !begin_iteration(user).await? {
        return Ok(());
    }
    fresh_session_if_needed(user).await?;
    add_to_cart(user).await
}

/// Logs in again when the cart is nearly full, or on every iteration when paced so slowly that
/// the session would idle out between two of them.
pub async fn fresh_session_if_needed(user: &mut GooseUser) -> TransactionResult {
    let state = state(user)?;
    let idle_gap = state
        .pacer
        .interval()
        .is_some_and(|interval| interval >= state.run.settings.expiry_wait / 2);
    let full = state.cart_writes >= WRITES_PER_SESSION;
    if !full && !idle_gap {
        return Ok(());
    }
    if full {
        app_logout(user, App::Store).await?;
    }
    let state = crate::users::user::state(user)?;
    state.jar.clear();
    state.cart_writes = 0;
    let iteration = iterations(user)?;
    let account = account(user, iteration);
    password_login(user, &account).await
}
