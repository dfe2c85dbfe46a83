//! One simulated browser per goose user: its own cookie jar (cleared for a fresh browser), no
//! automatic redirects, and [`hop`], which sends one request, checks the answer (status,
//! `Location`, page marker) and times it.

use crate::pacing::Pacer;
use crate::recorder::{self, UserRecorder};
use goose::prelude::*;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderValue, LOCATION};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A cookie jar that can be emptied: reqwest's `Jar` cannot, and a new client per iteration
/// would also throw away its connection pool.
#[derive(Debug, Default)]
pub struct ResettableJar {
    current: RwLock<Arc<Jar>>,
}

impl ResettableJar {
    /// Forgets every cookie, as a new browser would.
    pub fn clear(&self) {
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::default();
    }

    fn jar(&self) -> Arc<Jar> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

impl CookieStore for ResettableJar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &reqwest::Url) {
        self.jar().set_cookies(headers, url);
    }

    fn cookies(&self, url: &reqwest::Url) -> Option<HeaderValue> {
        self.jar().cookies(url)
    }
}

/// A goose user's state: its browser, its measurements, its pacing.
#[derive(Debug, Clone)]
pub struct UserState {
    pub jar: Arc<ResettableJar>,
    pub recorder: UserRecorder,
    pub pacer: Pacer,
    /// Cart writes on the current session (cart_browsing starts over before the cart is full).
    pub cart_writes: u32,
    /// A client without cookies: the attacker of the stolen-session scenario.
    pub attacker: reqwest::Client,
}

/// On start: give the user its own browser and state.
pub async fn install(user: &mut GooseUser) -> TransactionResult {
    let jar = Arc::new(ResettableJar::default());
    let builder = reqwest::Client::builder()
        .cookie_provider(Arc::clone(&jar))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .user_agent("ssobench");
    user.set_client_builder(builder).await?;
    let attacker = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|error| Box::new(TransactionError::Reqwest(error)))?;
    let interval = recorder::current().settings.pacing_interval;
    user.set_session_data(UserState {
        jar,
        recorder: UserRecorder::default(),
        pacer: Pacer::new(interval),
        cart_writes: 0,
        attacker,
    });
    Ok(())
}

/// On stop: hand this user's measurements to the run.
pub async fn flush(user: &mut GooseUser) -> TransactionResult {
    if let Some(state) = user.get_session_data::<UserState>() {
        recorder::current().merge(&state.recorder);
    }
    Ok(())
}

pub fn state(user: &mut GooseUser) -> &mut UserState {
    // `install` runs first for every user of every scenario.
    if user.get_session_data::<UserState>().is_none() {
        unreachable_state();
    }
    user.get_session_data_mut::<UserState>()
        .unwrap_or_else(|| unreachable_state())
}

fn unreachable_state() -> ! {
    panic!("user state missing: every scenario registers browser::install as on_start")
}

/// What a hop must answer.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub status: u16,
    /// The `Location` must start with this (absolute or as sent).
    pub location: Option<&'a str>,
    /// The body must contain `id="<marker>"`.
    pub marker: Option<&'a str>,
}

impl<'a> Expect<'a> {
    pub fn page(marker: &'a str) -> Self {
        Expect {
            status: 200,
            location: None,
            marker: Some(marker),
        }
    }

    pub fn redirect(status: u16, location: &'a str) -> Self {
        Expect {
            status,
            location: Some(location),
            marker: None,
        }
    }
}

/// What a checked hop returned.
#[derive(Debug)]
pub struct Answer {
    /// `Location` resolved against the request URL.
    pub location: Option<String>,
}

/// Sends one request (GET, or POST with a form), checks it, times it into hop `name`.
pub async fn hop(
    user: &mut GooseUser,
    name: &'static str,
    url: &str,
    form: Option<&[(&str, &str)]>,
    expect: Expect<'_>,
) -> Result<Answer, Box<TransactionError>> {
    let method = if form.is_some() {
        GooseMethod::Post
    } else {
        GooseMethod::Get
    };
    let mut builder = user.get_request_builder(&method, url)?;
    if let Some(form) = form {
        builder = builder.form(form);
    }
    let request = GooseRequest::builder()
        .name(name)
        .expect_status_code(expect.status)
        .set_request_builder(builder)
        .build();
    let started = Instant::now();
    let mut sent = user.request(request).await?;
    let elapsed = started.elapsed();
    let run = recorder::current();
    let response = match sent.response {
        Ok(response) => response,
        Err(error) => {
            run.unanswered();
            run.error(&format!("{name}: no answer"));
            state(user).recorder.hop(name).error();
            return Err(failure(user.set_failure(
                &format!("{name}: {error}"),
                &mut sent.request,
                None,
                None,
            )));
        }
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let location = headers
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| response.url().join(text).ok())
        .map(String::from);
    let body = if expect.marker.is_some() {
        response.text().await.unwrap_or_default()
    } else {
        String::new()
    };
    run.request(status, elapsed);
    let problem = if status != expect.status {
        Some(format!(
            "{name}: status {status}, expected {}",
            expect.status
        ))
    } else if let Some(prefix) = expect.location
        && !location.as_deref().is_some_and(|l| l.starts_with(prefix))
    {
        Some(format!("{name}: Location {location:?}, expected {prefix}…"))
    } else if let Some(marker) = expect.marker
        && !body.contains(&format!("id=\"{marker}\""))
    {
        Some(format!("{name}: page marker {marker} missing"))
    } else {
        None
    };
    let interval = state(user).pacer.interval();
    if let Some(problem) = problem {
        let kind = problem.split(',').next().unwrap_or(&problem).to_owned();
        run.error(&kind);
        state(user).recorder.hop(name).error();
        return Err(failure(user.set_failure(
            &problem,
            &mut sent.request,
            Some(&headers),
            Some(&body),
        )));
    }
    state(user).recorder.hop(name).record(elapsed, interval);
    Ok(Answer { location })
}

/// `set_failure` always answers `Err`; this unwraps it without a panic path.
fn failure(result: TransactionResult) -> Box<TransactionError> {
    match result {
        Err(error) => error,
        Ok(()) => Box::new(TransactionError::Custom("request marked failed".into())),
    }
}

/// Times a whole flow (several hops) into flow `name`.
pub fn record_flow(user: &mut GooseUser, name: &'static str, started: Instant) {
    let elapsed = started.elapsed();
    let state = state(user);
    let interval = state.pacer.interval();
    state.recorder.flow(name).record(elapsed, interval);
}
