//! `stolen_session`: a victim logs in; an attacker replays the victim's store cookie from its own
//! connection until it stops working or the observation window closes, and the scenario records
//! how long it stayed usable. Then the victim logs out, and a replay must be refused at once.

use super::flows::{App, account, app_logout, begin_iteration, iterations, password_login};
use crate::names::{Failure, Hop, Problem};
use crate::users::hop::{To, replay};
use crate::users::user::state;
use goose::prelude::*;
use http::HeaderValue;
use mock_services::app::AppKind;
use mock_services::web::routes::app as routes;
use std::time::Instant;

/// One theft.
pub async fn iteration(user: &mut GooseUser) -> TransactionResult {
    if !begin_iteration(user).await? {
        return Ok(());
    }
    let iteration = iterations(user)?;
    let run = std::sync::Arc::clone(&state(user)?.run);
    state(user)?.jar.clear();
    let account = account(user, iteration);
    password_login(user, &account).await?;
    let store = run.targets.store;
    let cookie = stolen_cookie(user)?;

    let stolen_at = Instant::now();
    let window = run.settings.stolen_window;
    let mut usable_for = None;
    while stolen_at.elapsed() < window {
        if state(user)?
            .sleep(run.settings.replay_interval)
            .await
            .is_err()
        {
            return Ok(());
        }
        if !replay(user, To::route(store, routes::CART), &cookie).await? {
            usable_for = Some(stolen_at.elapsed());
            break;
        }
    }
    let state = state(user)?;
    let usable = usable_for.unwrap_or_else(|| {
        state.recorder.stolen_outlived += 1;
        window
    });
    state.record_stolen(usable);

    // Logout must revoke the cookie at once.
    app_logout(user, App::Store).await?;
    let served = replay(user, To::route(store, routes::CART), &cookie).await?;
    let state = crate::users::user::state(user)?;
    if served {
        let failure = Failure {
            hop: Hop::AttackerReplay,
            problem: Problem::ServedAfterLogout,
        };
        state.recorder.stolen_served_after_logout += 1;
        state.recorder.failure(failure);
        state.live.error();
        return Err(Box::new(TransactionError::Custom(failure.to_string())));
    }
    state.recorder.stolen_refused_after_logout += 1;
    Ok(())
}

/// The victim's store session cookie, as an attacker would copy it: `name=value`.
fn stolen_cookie(user: &mut GooseUser) -> Result<HeaderValue, Box<TransactionError>> {
    let state = state(user)?;
    let store = state
        .run
        .targets
        .origins
        .site(state.run.targets.store)
        .first();
    let https = store.scheme == crate::http::Scheme::Https;
    let name = AppKind::Store.session_cookie();
    state
        .jar
        .get(&store.host, https, name)
        .and_then(|value| HeaderValue::from_str(&format!("{name}={value}")).ok())
        .ok_or_else(|| {
            Box::new(TransactionError::Custom(
                "no store session cookie after login".into(),
            ))
        })
}
