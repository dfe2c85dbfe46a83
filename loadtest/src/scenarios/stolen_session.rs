//! `stolen_session`: a victim logs in; an attacker replays the victim's store cookie from another
//! client until it stops working or the observation window closes, and the scenario records how
//! long it stayed usable. Then the victim logs out, and a replay must be refused at once.

use super::flows::{App, app_logout, begin_iteration, login_id, password_login};
use crate::browser::state;
use crate::recorder;
use goose::prelude::*;
use reqwest::cookie::CookieStore as _;
use reqwest::header::{COOKIE, LOCATION};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// One theft.
pub async fn iteration(user: &mut GooseUser) -> TransactionResult {
    let iteration = begin_iteration(user).await;
    let run = recorder::current();
    state(user).jar.clear();
    let login = login_id(user, iteration);
    password_login(user, &login).await?;
    let store = run.settings.store_url.clone();
    let cart = format!("{store}/shopping-cart");
    let cookie = stolen_cookie(user, &store)?;
    let attacker = state(user).attacker.clone();

    let stolen_at = Instant::now();
    let window = run.settings.stolen_window;
    let mut usable_for = None;
    while stolen_at.elapsed() < window {
        tokio::time::sleep(run.settings.replay_interval).await;
        if !replay(user, &attacker, &cart, &cookie).await? {
            usable_for = Some(stolen_at.elapsed());
            break;
        }
    }
    let usable = usable_for.unwrap_or_else(|| {
        run.stolen_outlived.fetch_add(1, Ordering::Relaxed);
        window
    });
    state(user).recorder.stolen().record(usable, None);

    // Logout must revoke the cookie at once.
    app_logout(user, App::Store).await?;
    if replay(user, &attacker, &cart, &cookie).await? {
        run.stolen_served_after_logout
            .fetch_add(1, Ordering::Relaxed);
        run.error("attacker: cookie still served after logout");
        return Err(Box::new(TransactionError::Custom(
            "a stolen cookie was served after logout".into(),
        )));
    }
    run.stolen_refused_after_logout
        .fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The victim's store session cookie, as an attacker would copy it.
fn stolen_cookie(user: &mut GooseUser, store: &str) -> Result<String, Box<TransactionError>> {
    let url = reqwest::Url::parse(store).map_err(|error| Box::new(TransactionError::Url(error)))?;
    let header = state(user).jar.cookies(&url);
    header
        .as_ref()
        .and_then(|value| value.to_str().ok())
        .and_then(|text| {
            text.split("; ")
                .find(|pair| pair.starts_with("ssobench_store_session="))
        })
        .map(str::to_owned)
        .ok_or_else(|| {
            Box::new(TransactionError::Custom(
                "no store session cookie after login".into(),
            ))
        })
}

/// The attacker's replay: `true` when served the cart, `false` when sent to log in.
async fn replay(
    user: &mut GooseUser,
    attacker: &reqwest::Client,
    cart: &str,
    cookie: &str,
) -> Result<bool, Box<TransactionError>> {
    let run = recorder::current();
    let started = Instant::now();
    let response = attacker.get(cart).header(COOKIE, cookie).send().await;
    let elapsed = started.elapsed();
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            run.error("attacker: no answer");
            return Err(Box::new(TransactionError::Reqwest(error)));
        }
    };
    let status = response.status().as_u16();
    run.request(status, elapsed);
    // Replays follow the attacker's own rhythm, not the pacing schedule: recorded uncorrected.
    state(user)
        .recorder
        .hop("attacker: GET /shopping-cart (replay)")
        .record(elapsed, None);
    match status {
        200 => Ok(true),
        302 if response
            .headers()
            .get(LOCATION)
            .is_some_and(|l| l == "/login") =>
        {
            Ok(false)
        }
        _ => {
            run.error("attacker: unexpected answer");
            Err(Box::new(TransactionError::Custom(format!(
                "replay answered {status}"
            ))))
        }
    }
}
