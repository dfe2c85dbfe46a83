//! What the scenarios share: the password and SSO logins (each hop checked and timed, each flow
//! timed whole), cart view and write — following a bounce to `/login` as a browser does —, app
//! logout, and the start of an iteration.

use crate::context::RunContext;
use crate::hop::{Authorized, Expect, Redirect, To, Visit, authorize, failed, hop, visit};
use crate::http::OriginId;
use crate::http::ServedForm;
use crate::names::{Flow, Hop, Problem};
use crate::user::{UserState, state};
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
    submit_password(user, login_id, &page.body, started).await
}

/// From the IdP's login form on: the form's fields as served with the password → callback →
/// cart; then the password-login flow is timed from `started` and the new session noted.
async fn submit_password(
    user: &mut GooseUser,
    login_id: &str,
    page: &Bytes,
    started: Instant,
) -> TransactionResult {
    let run = std::sync::Arc::clone(&state(user)?.run);
    let (store, idp_origin) = (run.targets.store, run.targets.idp);
    // The form's fields as served (the OAuth parameters and this browser's CSRF token), and
    // what the user types: as a browser submits it.
    let Some(form) = ServedForm::find(page) else {
        return Err(failed(
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
    land(
        user,
        App::Store,
        back.location,
        started,
        Flow::PasswordLogin,
    )
    .await?;
    state(user)?.live.login(true);
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
    fn origin(self, run: &RunContext) -> OriginId {
        match self {
            App::Store => run.targets.store,
            App::Forums => run.targets.forums,
        }
    }

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
    let origin = app.origin(&run);
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
    land(user, app, back.location, started, flow).await?;
    state(user)?.live.login(false);
    Ok(())
}

/// The callback the IdP sent the browser to → the app's landing page; then `flow` is timed
/// from `started`. At the store, a new session with an empty cart.
async fn land(
    user: &mut GooseUser,
    app: App,
    callback: Option<To>,
    started: Instant,
    flow: Flow,
) -> TransactionResult {
    let run = std::sync::Arc::clone(&state(user)?.run);
    let origin = app.origin(&run);
    let marker = match app {
        App::Store => &run.markers.cart,
        App::Forums => &run.markers.posts,
    };
    let hops = app.sso_hops();
    hop(
        user,
        hops.callback,
        follow(callback)?,
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
    state.record_flow(flow, started.elapsed());
    if matches!(app, App::Store) {
        state.cart_writes = 0;
        state.lost_to = None;
        state.session_alive();
        state.faults_checked = state.run.faults.ended_by(Instant::now());
    }
    Ok(())
}

/// How a user whose session was gone logged in again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relogin {
    /// The IdP's SSO session sent it straight back: no password.
    Sso,
    /// The IdP showed its form: the SSO session was gone too.
    Password,
}

/// Follows a bounce to the store's `/login` as a browser does: to the IdP, which either sends
/// the user straight back (its SSO session lives) or shows its form (a password login).
pub async fn relogin(user: &mut GooseUser) -> Result<Relogin, Box<TransactionError>> {
    let run = std::sync::Arc::clone(&state(user)?.run);
    let store = run.targets.store;
    let started = Instant::now();
    let to_idp = hop(
        user,
        Hop::StoreLogin,
        To::route(store, routes::LOGIN),
        None,
        Expect::redirect(302, run.targets.idp, idp::AUTHORIZE),
    )
    .await?;
    let back = Redirect {
        origin: store,
        path_prefix: routes::CALLBACK,
    };
    match authorize(
        user,
        follow(to_idp.location)?,
        &run.markers.login_form,
        back,
    )
    .await?
    {
        Authorized::Sso(answer) => {
            land(user, App::Store, answer.location, started, Flow::SsoRelogin).await?;
            state(user)?.live.login(false);
            Ok(Relogin::Sso)
        }
        Authorized::Form(page) => {
            let iteration = iterations(user)?;
            let login = login_id(user, iteration);
            submit_password(user, &login, &page.body, started).await?;
            Ok(Relogin::Password)
        }
    }
}

/// A store page answered 302 to `/login`: the session is gone. Within a fault's reach that is
/// the fault's doing — a lost session (and cart) of that fault, not a failure of the page;
/// outside any it is a failure (a session that ended early). Either way the user logs in again,
/// as a browser following the redirect would.
async fn follow_bounce(user: &mut GooseUser, hop: Hop) -> TransactionResult {
    let user_state = state(user)?;
    let already_lost = user_state.lost_to;
    let explained = already_lost.or_else(|| {
        user_state
            .alive_at
            .and_then(|alive| user_state.run.faults.explains(alive, Instant::now()))
    });
    match (explained, already_lost) {
        (Some(index), None) => {
            user_state.recorder.bounces_expected += 1;
            let lines = u64::from(user_state.cart_writes);
            let losses = user_state.recorder.fault(index);
            losses.sessions_lost += 1;
            if lines > 0 {
                losses.carts_lost += 1;
                losses.cart_lines_lost += lines;
            }
            user_state.lost_to = Some(index);
            user_state.cart_writes = 0;
        }
        // Bounced again before a relogin went through: the same lost session.
        (Some(_), Some(_)) => user_state.recorder.bounces_expected += 1,
        (None, _) => {
            user_state.recorder.bounces_unexpected += 1;
            let _ = failed(user, hop, Problem::Bounce)?;
        }
    }
    let how = relogin(user).await?;
    if let Some(index) = explained {
        let losses = state(user)?.recorder.fault(index);
        match how {
            Relogin::Sso => losses.relogins_sso += 1,
            Relogin::Password => losses.relogins_password += 1,
        }
    }
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

/// A login id for this user: users spread over the seeded directory (a worker's users
/// continue where the previous worker's end).
pub fn login_id(user: &GooseUser, iteration: u64) -> String {
    let first_user = user
        .get_session_data::<UserState>()
        .map_or(0, |state| state.run.settings.first_user);
    let index = (user.weighted_users_index + first_user) as u64;
    let n = (index * 7919 + iteration) % 10_000 + 1;
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

/// `GET /shopping-cart`: the cart page (a session load and extension). A bounce to `/login`
/// is followed (see [`follow_bounce`]); after a fault the cart's line count is checked against
/// what this user put in it.
pub async fn view_cart(user: &mut GooseUser) -> TransactionResult {
    let run = std::sync::Arc::clone(&state(user)?.run);
    let visited = visit(
        user,
        Hop::StoreCart,
        To::route(run.targets.store, routes::CART),
        None,
        Expect::page(&run.markers.cart),
    )
    .await?;
    match visited {
        Visit::Bounced => follow_bounce(user, Hop::StoreCart).await,
        Visit::Page(page) => {
            let state = state(user)?;
            state.session_alive();
            if !run.faults.is_empty() {
                count_cart_after_faults(state, &page.body);
            }
            Ok(())
        }
    }
}

/// Once per ended fault a session lived through: lines missing from its cart (a store that
/// kept the session but lost its last writes) are lines that fault lost.
fn count_cart_after_faults(state: &mut UserState, page: &Bytes) {
    let ended = state.run.faults.ended_by(Instant::now());
    if ended <= state.faults_checked {
        return;
    }
    state.faults_checked = ended;
    let Some(seen) = cart_count(page) else {
        return;
    };
    let expected = u64::from(state.cart_writes);
    if seen < expected {
        let losses = state.recorder.fault(ended - 1);
        losses.cart_lines_lost += expected - seen;
        if seen == 0 {
            losses.carts_lost += 1;
        }
    }
    state.cart_writes = u32::try_from(seen).unwrap_or(u32::MAX);
}

/// The line count the cart page shows (`<p id="cart-count">N items</p>`; each of the
/// scenarios' writes adds one item).
pub fn cart_count(page: &[u8]) -> Option<u64> {
    const BEFORE: &[u8] = b"id=\"cart-count\">";
    let at = page
        .windows(BEFORE.len())
        .position(|window| window == BEFORE)?
        + BEFORE.len();
    let digits = page[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&page[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// `POST /shopping-cart/items`: a cart write (a session save), answered 303 to the cart. A
/// bounce to `/login` is followed; the write is then not retried.
pub async fn add_to_cart(user: &mut GooseUser) -> TransactionResult {
    let store = state(user)?.run.targets.store;
    let visited = visit(
        user,
        Hop::StoreCartWrite,
        To::route(store, routes::CART_ITEMS),
        Some(Bytes::from_static(b"sku=book-1&quantity=1")),
        Expect::redirect(303, store, routes::CART),
    )
    .await?;
    match visited {
        Visit::Bounced => follow_bounce(user, Hop::StoreCartWrite).await,
        Visit::Page(_) => {
            let state = state(user)?;
            state.cart_writes += 1;
            state.session_alive();
            Ok(())
        }
    }
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
