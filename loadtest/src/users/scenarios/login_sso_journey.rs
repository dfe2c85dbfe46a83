//! `login_sso_journey`: SPEC steps 1–29 and logout, as one iteration per fresh browser —
//! password login at the store, cart pages and a cart write, the store session expiring, silent
//! SSO relogin, forums SSO login, posts, logout everywhere.

use super::flows::LoggedOut;
use super::flows::{
    App, account, add_to_cart, app_logout, begin_iteration, iterations, password_login, sso_login,
    view_cart,
};
use crate::names::{Flow, Hop};
use crate::users::hop::{Expect, To, hop};
use crate::users::user::state;
use goose::prelude::*;
use mock_services::web::routes::app as routes;

/// One journey.
pub async fn iteration(user: &mut GooseUser) -> TransactionResult {
    if !begin_iteration(user).await? {
        return Ok(());
    }
    let iteration = iterations(user)?;
    let run = std::sync::Arc::clone(&state(user)?.run);
    state(user)?.jar.clear();
    let account = account(user, iteration);
    password_login(user, &account).await?;
    for _ in 0..run.settings.cart_reads {
        view_cart(user).await?;
    }
    add_to_cart(user).await?;

    // 15–17: wait out the store's idle timeout; the next cart view bounces to /login and the
    // IdP's SSO session logs the user in again without a password. The run's end cuts the wait
    // short, and the journey stops there.
    if state(user)?.sleep(run.settings.expiry_wait).await.is_err() {
        return Ok(());
    }
    let (store, forums) = (run.targets.store, run.targets.forums);
    hop(
        user,
        Hop::StoreCartExpired,
        To::route(store, routes::CART),
        None,
        Expect::redirect(302, store, routes::LOGIN),
    )
    .await?;
    sso_login(user, App::Store, Flow::SsoRelogin).await?;

    // 18–29: the forums, logged in by SSO.
    hop(
        user,
        Hop::ForumsHome,
        To::route(forums, routes::HOME),
        None,
        Expect::page(&run.markers.login_link),
    )
    .await?;
    sso_login(user, App::Forums, Flow::ForumsSsoLogin).await?;
    hop(
        user,
        Hop::ForumsPosts,
        To::route(forums, routes::POSTS),
        None,
        Expect::page(&run.markers.posts),
    )
    .await?;

    // Logout at both apps. An app that logs out through the provider (an RP-initiated
    // logout, as the apps do as relying parties of any provider) ends the SSO session there;
    // the mock stack's apps log out locally, and the user then logs out at the provider itself,
    // at the end-session endpoint its discovery document names, which asks first (the apps keep
    // no id_token to vouch with): the user confirms on the page.
    let store_logout = app_logout(user, App::Store).await?;
    let forums_logout = app_logout(user, App::Forums).await?;
    if store_logout == LoggedOut::AtTheApp
        && forums_logout == LoggedOut::AtTheApp
        && let Some(path) = &run.settings.provider_logout
    {
        let start = crate::users::login::provider::logout_at(&run.targets, path);
        crate::users::login::walk::logout(user, start, store).await?;
    }
    Ok(())
}
