//! What the scenarios share: the password and SSO logins (each hop checked and timed, each flow
//! timed whole), cart view and write — following a bounce to `/login` as a browser does —, app
//! logout, and the start of an iteration.

use crate::http::OriginId;
use crate::names::{Flow, Hop, LoginOutcome, Problem};
use crate::users::context::RunContext;
use crate::users::hop::{Expect, To, Visit, failed, hop, send, settle, visit};
use crate::users::login::Account;
use crate::users::login::walk::{self, Back, Want};
use crate::users::user::{UserState, state};
use bytes::Bytes;
use goose::prelude::*;
use mock_services::web::routes::app as routes;
use std::time::{Duration, Instant};

/// How long a transaction that starts after the run's end waits before returning: goose only
/// notices the end between transactions, and an empty one returned at once would spin.
const AFTER_THE_END: Duration = Duration::from_millis(10);

/// Store home → `/login` → the provider's pages (the login form and whatever follows) →
/// callback → cart. SPEC steps 1–14.
pub async fn password_login(user: &mut GooseUser, account: &Account) -> TransactionResult {
    let run = std::sync::Arc::clone(&state(user)?.run);
    let store = run.targets.store;
    let started = Instant::now();
    hop(
        user,
        Hop::StoreHome,
        To::route(store, routes::HOME),
        None,
        Expect::page(&run.markers.login_link),
    )
    .await?;
    let to_idp = hop(
        user,
        Hop::StoreLogin,
        To::route(store, routes::LOGIN).submitted_from(store, &run),
        None,
        Expect::redirect(302, run.targets.idp, ""),
    )
    .await?;
    let want = Want::Password {
        username: &account.username,
        password: &account.password,
    };
    let back = walk::login(user, follow(to_idp.location)?, store, want).await?;
    land(user, App::Store, back, started, Flow::PasswordLogin).await?;
    state(user)?.live.login(true);
    Ok(())
}

/// The two apps.
#[derive(Debug, Clone, Copy)]
pub enum App {
    Store,
    Forums,
}

/// An app's hops in a login, its landing page and marker.
struct AppHops {
    login: Hop,
    callback: Hop,
    landing: Hop,
    landing_path: &'static str,
    logout: Hop,
}

impl App {
    fn origin(self, run: &RunContext) -> OriginId {
        match self {
            App::Store => run.targets.store,
            App::Forums => run.targets.forums,
        }
    }

    fn hops(self) -> AppHops {
        match self {
            App::Store => AppHops {
                login: Hop::StoreLogin,
                callback: Hop::StoreCallback,
                landing: Hop::StoreCart,
                landing_path: routes::CART,
                logout: Hop::StoreLogout,
            },
            App::Forums => AppHops {
                login: Hop::ForumsLogin,
                callback: Hop::ForumsCallback,
                landing: Hop::ForumsPosts,
                landing_path: routes::POSTS,
                logout: Hop::ForumsLogout,
            },
        }
    }
}

/// `/login` at the app → the provider, whose SSO session sends the user back without a
/// password (through a consent page, if the provider asks for one) → callback → landing page.
/// Used for the forums' first login.
pub async fn sso_login(user: &mut GooseUser, app: App, flow: Flow) -> TransactionResult {
    let run = std::sync::Arc::clone(&state(user)?.run);
    let origin = app.origin(&run);
    let started = Instant::now();
    let to_idp = hop(
        user,
        app.hops().login,
        To::route(origin, routes::LOGIN).submitted_from(origin, &run),
        None,
        Expect::redirect(302, run.targets.idp, ""),
    )
    .await?;
    let back = walk::login(user, follow(to_idp.location)?, origin, Want::Sso).await?;
    land(user, app, back, started, flow).await?;
    state(user)?.live.login(false);
    Ok(())
}

/// The request back at the app (the callback) → the app's landing page; then `flow` is timed
/// from `started` and the login counted as completed. At the store, a new session with an empty
/// cart.
async fn land(
    user: &mut GooseUser,
    app: App,
    back: Back,
    started: Instant,
    flow: Flow,
) -> TransactionResult {
    let run = std::sync::Arc::clone(&state(user)?.run);
    let origin = app.origin(&run);
    let marker = match app {
        App::Store => &run.markers.cart,
        App::Forums => &run.markers.posts,
    };
    let hops = app.hops();
    hop(
        user,
        hops.callback,
        back.to,
        back.form,
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
    state.recorder.login_outcome(LoginOutcome::Completed);
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
    /// The provider's SSO session sent it straight back: no password.
    Sso,
    /// The provider asked for the password: its SSO session was gone too.
    Password,
}

/// Follows a bounce to the store's `/login` as a browser does: to the provider, which either
/// sends the user back (its SSO session lives) or shows its login form (a password login).
pub async fn relogin(user: &mut GooseUser) -> Result<Relogin, Box<TransactionError>> {
    let run = std::sync::Arc::clone(&state(user)?.run);
    let store = run.targets.store;
    let started = Instant::now();
    let to_idp = hop(
        user,
        Hop::StoreLogin,
        To::route(store, routes::LOGIN),
        None,
        Expect::redirect(302, run.targets.idp, ""),
    )
    .await?;
    let iteration = iterations(user)?;
    let account = account(user, iteration);
    let want = Want::SsoOrPassword {
        username: &account.username,
        password: &account.password,
    };
    let back = walk::login(user, follow(to_idp.location)?, store, want).await?;
    let how = if back.password_typed {
        Relogin::Password
    } else {
        Relogin::Sso
    };
    let flow = match how {
        Relogin::Sso => Flow::SsoRelogin,
        Relogin::Password => Flow::PasswordLogin,
    };
    land(user, App::Store, back, started, flow).await?;
    state(user)?.live.login(how == Relogin::Password);
    Ok(how)
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

/// The account this user logs in as on its `iteration`-th login (a worker's users continue
/// where the previous worker's end).
pub fn account(user: &GooseUser, iteration: u64) -> Account {
    let index = user.weighted_users_index;
    match user.get_session_data::<UserState>() {
        Some(state) => state
            .run
            .settings
            .login
            .accounts
            .account(index + state.run.settings.first_user, iteration),
        None => Account {
            username: String::new(),
            password: String::new(),
        },
    }
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
    let run = std::sync::Arc::clone(&state(user)?.run);
    let store = run.targets.store;
    let visited = visit(
        user,
        Hop::StoreCartWrite,
        To::route(store, routes::CART_ITEMS).submitted_from(store, &run),
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

/// How an app's logout went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedOut {
    /// At the app only (the mock stack's apps: the journey logs out at the IdP itself).
    AtTheApp,
    /// Through the provider too: the app sent the browser to its end-session endpoint (an
    /// RP-initiated logout), whose pages were walked back to the app.
    AtTheProvider,
}

/// `POST /logout` at an app: answered 303 to its home, or to the provider's end-session
/// endpoint, whose pages (a confirmation) are then walked until the provider sends the browser
/// back.
pub async fn app_logout(
    user: &mut GooseUser,
    app: App,
) -> Result<LoggedOut, Box<TransactionError>> {
    let run = std::sync::Arc::clone(&state(user)?.run);
    let origin = app.origin(&run);
    let name = app.hops().logout;
    let sent = send(
        user,
        To::route(origin, routes::LOGOUT).submitted_from(origin, &run),
        Some(Bytes::new()),
    )
    .await?;
    let to_provider = match (sent.status(), sent.location()) {
        (Some(303), Some(Ok(to))) if to.origin == run.targets.idp => Some(to),
        _ => None,
    };
    let Some(to_provider) = to_provider else {
        settle(
            user,
            name,
            sent.check(&Expect::redirect(303, origin, routes::HOME)),
        )
        .await?;
        return Ok(LoggedOut::AtTheApp);
    };
    settle(user, name, sent.accept()).await?;
    walk::logout(user, to_provider, origin).await?;
    Ok(LoggedOut::AtTheProvider)
}
