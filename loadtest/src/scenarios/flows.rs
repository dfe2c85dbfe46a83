//! What the scenarios share: the password and SSO logins (each hop checked and timed, each flow
//! timed whole), cart view and write, app logout, and the start of an iteration.

use crate::hop::{Expect, To, hop};
use crate::http::ServedForm;
use crate::names::{Flow, Hop, Problem};
use crate::user::state;
use bytes::Bytes;
use goose::prelude::*;
use mock_services::web::routes::{app as routes, idp};
use std::time::{Duration, Instant};

/// How long a transaction that starts after the run's end waits before returning: goose only
/// notices the end between transactions, and an empty one returned at once would spin.
const AFTER_THE_END: Duration = Duration::from_millis(10);

/// Store home → `/login` → IdP form → password → callback → cart. SPEC steps 1–14.
pub async fn password_login(user: &mut GooseUser, login_id: &str) -> TransactionResult {
    let run = std::sync::Arc::clone(&state(user)?.run);
    let (store, idp_origin) = (run.targets.store, run.targets.idp);
    let markers = &run.markers;
    let started = Instant::now();
    hop(
        user,
        Hop::StoreHome,
        To::route(store, routes::HOME),
        None,
        Expect::page(&markers.login_link),
    )
    .await?;
    let to_idp = hop(
        user,
        Hop::StoreLogin,
        To::route(store, routes::LOGIN),
        None,
        Expect::redirect(302, idp_origin, idp::AUTHORIZE),
    )
    .await?;
    let authorize = follow(to_idp.location)?;
    let page = hop(
        user,
        Hop::IdpAuthorizeForm,
        authorize,
        None,
        Expect::page(&markers.login_form),
    )
    .await?;
    // The form's fields as served (the OAuth parameters and this browser's CSRF token), and
    // what the user types: as a browser submits it.
    let Some(form) = ServedForm::find(&page.body) else {
        return Err(crate::hop::failed(
            user,
            Hop::IdpAuthorizeForm,
            Problem::Marker("form"),
        )?);
    };
    let body = form.body(&[("loginId", login_id), ("password", &run.settings.password)]);
    let back = hop(
        user,
        Hop::IdpAuthorizePost,
        To {
            origin: idp_origin,
            path: Bytes::from(form.action.into_bytes()),
        },
        Some(Bytes::from(body)),
        Expect::redirect(302, store, routes::CALLBACK),
    )
    .await?;
    hop(
        user,
        Hop::StoreCallback,
        follow(back.location)?,
        None,
        Expect::redirect(302, store, routes::CART),
    )
    .await?;
    hop(
        user,
        Hop::StoreCart,
        To::route(store, routes::CART),
        None,
        Expect::page(&markers.cart),
    )
    .await?;
    let state = state(user)?;
    state
        .recorder
        .flow(Flow::PasswordLogin)
        .record(started.elapsed(), state.pacer.interval());
    state.live.login(true);
    Ok(())
}

/// The two apps.
#[derive(Debug, Clone, Copy)]
pub enum App {
    Store,
    Forums,
}

/// An app's hops in an SSO login, its landing page and marker.
struct SsoHops {
    login: Hop,
    callback: Hop,
    landing: Hop,
    landing_path: &'static str,
}

impl App {
    fn sso_hops(self) -> SsoHops {
        match self {
            App::Store => SsoHops {
                login: Hop::StoreLogin,
                callback: Hop::StoreCallback,
                landing: Hop::StoreCart,
                landing_path: routes::CART,
            },
            App::Forums => SsoHops {
                login: Hop::ForumsLogin,
                callback: Hop::ForumsCallback,
                landing: Hop::ForumsPosts,
                landing_path: routes::POSTS,
            },
        }
    }
}

/// `/login` at the app → IdP (SSO cookie: straight back, no form) → callback → landing page.
/// Used for the store's relogin after expiry and the forums' first login.
pub async fn sso_login(user: &mut GooseUser, app: App, flow: Flow) -> TransactionResult {
    let run = std::sync::Arc::clone(&state(user)?.run);
    let origin = match app {
        App::Store => run.targets.store,
        App::Forums => run.targets.forums,
    };
    let marker = match app {
        App::Store => &run.markers.cart,
        App::Forums => &run.markers.posts,
    };
    let hops = app.sso_hops();
    let started = Instant::now();
    let to_idp = hop(
        user,
        hops.login,
        To::route(origin, routes::LOGIN),
        None,
        Expect::redirect(302, run.targets.idp, idp::AUTHORIZE),
    )
    .await?;
    let back = hop(
        user,
        Hop::IdpAuthorizeSso,
        follow(to_idp.location)?,
        None,
        Expect::redirect(302, origin, routes::CALLBACK),
    )
    .await?;
    hop(
        user,
        hops.callback,
        follow(back.location)?,
        None,
        Expect::redirect(302, origin, hops.landing_path),
    )
    .await?;
    hop(
        user,
        hops.landing,
        To::route(origin, hops.landing_path),
        None,
        Expect::page(marker),
    )
    .await?;
    let state = state(user)?;
    state
        .recorder
        .flow(flow)
        .record(started.elapsed(), state.pacer.interval());
    state.live.login(false);
    Ok(())
}

/// A checked redirect's target (a hop that expected a `Location` always has one).
fn follow(location: Option<To>) -> Result<To, Box<TransactionError>> {
    location.ok_or_else(|| {
        Box::new(TransactionError::Custom(
            "a checked redirect had no Location".into(),
        ))
    })
}

/// A login id for this user: users spread over the seeded directory.
pub fn login_id(user: &GooseUser, iteration: u64) -> String {
    let n = (user.weighted_users_index as u64 * 7919 + iteration) % 10_000 + 1;
    format!("user{n}@example.com")
}

/// Starts an iteration: waits for the user's turn (open model) and counts it. `false` when the
/// run has ended: the transaction should do nothing.
pub async fn begin_iteration(user: &mut GooseUser) -> Result<bool, Box<TransactionError>> {
    let state = state(user)?;
    if state.run.end.has_come() || state.wait_turn().await.is_err() {
        tokio::time::sleep(AFTER_THE_END).await;
        return Ok(false);
    }
    state.live.iteration();
    Ok(true)
}

/// The number of iterations this user has begun.
pub fn iterations(user: &mut GooseUser) -> Result<u64, Box<TransactionError>> {
    Ok(state(user)?
        .live
        .iterations
        .load(std::sync::atomic::Ordering::Relaxed))
}

/// `GET /shopping-cart`: the cart page (a session load and extension).
pub async fn view_cart(user: &mut GooseUser) -> TransactionResult {
    let run = std::sync::Arc::clone(&state(user)?.run);
    hop(
        user,
        Hop::StoreCart,
        To::route(run.targets.store, routes::CART),
        None,
        Expect::page(&run.markers.cart),
    )
    .await?;
    Ok(())
}

/// `POST /shopping-cart/items`: a cart write (a session save), answered 303 to the cart.
pub async fn add_to_cart(user: &mut GooseUser) -> TransactionResult {
    let store = state(user)?.run.targets.store;
    hop(
        user,
        Hop::StoreCartWrite,
        To::route(store, routes::CART_ITEMS),
        Some(Bytes::from_static(b"sku=book-1&quantity=1")),
        Expect::redirect(303, store, routes::CART),
    )
    .await?;
    Ok(())
}

/// `POST /logout` at an app, answered 303 to its home.
pub async fn app_logout(user: &mut GooseUser, app: App) -> TransactionResult {
    let targets = &state(user)?.run.targets;
    let (origin, name) = match app {
        App::Store => (targets.store, Hop::StoreLogout),
        App::Forums => (targets.forums, Hop::ForumsLogout),
    };
    hop(
        user,
        name,
        To::route(origin, routes::LOGOUT),
        Some(Bytes::new()),
        Expect::redirect(303, origin, routes::HOME),
    )
    .await?;
    Ok(())
}
