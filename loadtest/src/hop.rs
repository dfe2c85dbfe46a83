//! [`hop`]: one request of a scenario — sent on the user's own connection with its cookies,
//! checked (status, `Location`, page marker), timed into the user's histograms, and counted.
//! A wrong answer is a failure under a stable key, never a latency sample and never a panic.

use crate::context::RunContext;
use crate::http::{HttpError, Marker, Method, OriginId, Outgoing, Reply};
use crate::names::{Failure, Hop, Problem};
use crate::user::{UserState, state};
use bytes::Bytes;
use goose::prelude::*;
use http::HeaderValue;
use mock_services::web::routes::app as routes;
use std::time::{Duration, Instant};

/// Where a request goes: an origin of the run and an origin-form path (`/path?query`).
#[derive(Debug, Clone)]
pub struct To {
    pub origin: OriginId,
    pub path: Bytes,
}

impl To {
    /// A fixed route of `origin`.
    pub fn route(origin: OriginId, path: &'static str) -> To {
        To {
            origin,
            path: Bytes::from_static(path.as_bytes()),
        }
    }
}

/// Where a redirect must point: an origin and the start of the path.
#[derive(Debug, Clone, Copy)]
pub struct Redirect {
    pub origin: OriginId,
    pub path_prefix: &'static str,
}

/// What a hop must answer.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub status: u16,
    pub location: Option<Redirect>,
    pub marker: Option<&'a Marker>,
}

impl<'a> Expect<'a> {
    /// 200 with the page's marker.
    pub fn page(marker: &'a Marker) -> Self {
        Expect {
            status: 200,
            location: None,
            marker: Some(marker),
        }
    }

    /// A redirect to `origin` whose path starts with `path_prefix`.
    pub fn redirect(status: u16, origin: OriginId, path_prefix: &'static str) -> Self {
        Expect {
            status,
            location: Some(Redirect {
                origin,
                path_prefix,
            }),
            marker: None,
        }
    }
}

/// What a checked hop returned.
#[derive(Debug)]
pub struct Answer {
    /// The `Location`, resolved to one of the run's origins.
    pub location: Option<To>,
    /// The body (for forms the scenario reads).
    pub body: Bytes,
}

/// Sends one request (GET, or POST with `form`) from the user's browser, checks it, times it
/// into `hop`.
pub async fn hop(
    user: &mut GooseUser,
    hop: Hop,
    to: To,
    form: Option<Bytes>,
    expect: Expect<'_>,
) -> Result<Answer, Box<TransactionError>> {
    let checked = send(user, to, form).await?.check(&expect);
    settle(user, hop, checked).await
}

/// What a request on the user's store session answered.
#[derive(Debug)]
pub enum Visit {
    /// The page, checked as expected.
    Page(Answer),
    /// 302 to the store's `/login`: the session is gone. Counted as a request and a bounce,
    /// neither a latency sample nor (yet) a failure: the scenario decides what it was.
    Bounced,
}

/// A request on the user's store session (a cart view or write): as [`hop`], except that a
/// 302 to `/login` on the same origin is a [`Visit::Bounced`] for the scenario to follow, as a
/// browser would.
pub async fn visit(
    user: &mut GooseUser,
    hop: Hop,
    to: To,
    form: Option<Bytes>,
    expect: Expect<'_>,
) -> Result<Visit, Box<TransactionError>> {
    let sent = send(user, to, form).await?;
    if expect.status != 302 && sent.bounced_to_login() {
        let state = state(user)?;
        state.live.answered(302);
        state.live.bounce();
        return Ok(Visit::Bounced);
    }
    settle(user, hop, sent.check(&expect))
        .await
        .map(Visit::Page)
}

/// What the IdP's authorize endpoint answered a browser sent there by an app.
#[derive(Debug)]
pub enum Authorized {
    /// Its login form: no SSO session (recorded under [`Hop::IdpAuthorizeForm`]).
    Form(Answer),
    /// Straight back to the app's callback: the SSO session logged the user in (recorded under
    /// [`Hop::IdpAuthorizeSso`]).
    Sso(Answer),
}

/// `GET` the IdP's authorize endpoint accepting either answer a browser can get there: the
/// login form (200 with `form`'s marker) or a redirect to `back`.
pub async fn authorize(
    user: &mut GooseUser,
    to: To,
    form: &Marker,
    back: Redirect,
) -> Result<Authorized, Box<TransactionError>> {
    let sent = send(user, to, None).await?;
    if matches!(&sent.reply, Ok(reply) if reply.status == 200) {
        let checked = sent.check(&Expect::page(form));
        return settle(user, Hop::IdpAuthorizeForm, checked)
            .await
            .map(Authorized::Form);
    }
    let checked = sent.check(&Expect {
        status: 302,
        location: Some(back),
        marker: None,
    });
    settle(user, Hop::IdpAuthorizeSso, checked)
        .await
        .map(Authorized::Sso)
}

/// A request sent from the user's browser and what came back, not yet checked.
struct Sent {
    run: std::sync::Arc<RunContext>,
    origin: OriginId,
    reply: Result<Reply, HttpError>,
}

impl Sent {
    fn check(self, expect: &Expect<'_>) -> Checked {
        check(&self.run, self.origin, self.reply, expect)
    }

    /// A 302 to the same site's `/login`: the store session is gone.
    fn bounced_to_login(&self) -> bool {
        let Ok(reply) = &self.reply else {
            return false;
        };
        reply.status == 302
            && reply.location.as_ref().is_some_and(|location| {
                resolve(&self.run, self.origin, location).is_ok_and(|to| {
                    to.origin == self.origin && to.path.starts_with(routes::LOGIN.as_bytes())
                })
            })
    }
}

/// Sends one request from the user's browser (see [`exchange`]).
async fn send(
    user: &mut GooseUser,
    to: To,
    form: Option<Bytes>,
) -> Result<Sent, Box<TransactionError>> {
    let origin = to.origin;
    let reply = exchange(user, to, form).await?;
    let run = std::sync::Arc::clone(&state(user)?.run);
    Ok(Sent { run, origin, reply })
}

/// Sends one request from the user's browser with its cookies, and keeps what it set.
async fn exchange(
    user: &mut GooseUser,
    to: To,
    form: Option<Bytes>,
) -> Result<Result<Reply, HttpError>, Box<TransactionError>> {
    let state = state(user)?;
    let host = state.run.targets.origins.site(to.origin).cookie_host;
    let outgoing = Outgoing {
        method: if form.is_some() {
            Method::Post
        } else {
            Method::Get
        },
        path: to.path,
        cookie: state.jar.header(host),
        form,
    };
    let UserState {
        run, browser, jar, ..
    } = &mut *state;
    let sent = browser
        .send(&run.targets.origins, to.origin, &outgoing)
        .await;
    if let Ok(reply) = &sent {
        jar.update(host, &reply.set_cookies);
    }
    Ok(sent)
}

/// Records `problem` as a failure of `hop` found after its answer was checked (a page that
/// passed its marker but lacks what the scenario needs from it); returns the transaction's
/// error.
pub fn failed(
    user: &mut GooseUser,
    hop: Hop,
    problem: Problem,
) -> Result<Box<TransactionError>, Box<TransactionError>> {
    let state = state(user)?;
    let failure = Failure { hop, problem };
    state.live.error();
    state.recorder.hop(hop).error();
    state.recorder.failure(failure);
    if !state.run.faults.is_empty() {
        state.run.faults.failure(Instant::now());
    }
    Ok(Box::new(TransactionError::Custom(failure.to_string())))
}

/// The attacker's request: the stolen `cookie`, from the attacker's own connection. Answers
/// 200 (served) and 302 to `/login` (refused) are both expected; anything else is a failure.
pub async fn replay(
    user: &mut GooseUser,
    to: To,
    cookie: &HeaderValue,
) -> Result<bool, Box<TransactionError>> {
    let state = state(user)?;
    let outgoing = Outgoing {
        method: Method::Get,
        path: to.path,
        cookie: Some(cookie.clone()),
        form: None,
    };
    let sent = state
        .attacker
        .send(&state.run.targets.origins, to.origin, &outgoing)
        .await;
    let served = matches!(&sent, Ok(reply) if reply.status == 200);
    let expect = if served {
        Expect::page(&state.run.markers.cart)
    } else {
        Expect::redirect(302, to.origin, mock_services::web::routes::app::LOGIN)
    };
    let run = std::sync::Arc::clone(&state.run);
    let checked = check(&run, to.origin, sent, &expect);
    settle(user, Hop::AttackerReplay, checked)
        .await
        .map(|_| served)
}

/// A hop's outcome before it is recorded.
struct Checked {
    elapsed: Option<Duration>,
    status: Option<u16>,
    /// A 503's `Retry-After`: the user waits it out before going on.
    retry_after: Option<Duration>,
    outcome: Result<Answer, Problem>,
}

fn check(
    run: &RunContext,
    from: OriginId,
    sent: Result<Reply, HttpError>,
    expect: &Expect<'_>,
) -> Checked {
    let reply: Reply = match sent {
        Ok(reply) => reply,
        Err(error) => {
            return Checked {
                elapsed: None,
                status: None,
                retry_after: None,
                outcome: Err(Problem::NoAnswer(error)),
            };
        }
    };
    let status = reply.status;
    let location = reply
        .location
        .as_ref()
        .map(|value| resolve(run, from, value));
    let problem = if status != expect.status {
        Some(Problem::Status {
            got: status,
            expected: expect.status,
        })
    } else if let Some(redirect) = expect.location {
        match &location {
            Some(Ok(to))
                if to.origin == redirect.origin
                    && to.path.starts_with(redirect.path_prefix.as_bytes()) =>
            {
                None
            }
            Some(Err(problem)) => Some(*problem),
            _ => Some(Problem::Location),
        }
    } else if let Some(marker) = expect.marker
        && !marker.is_in(&reply.body)
    {
        Some(Problem::Marker(marker.id()))
    } else {
        None
    };
    Checked {
        elapsed: Some(reply.elapsed),
        status: Some(status),
        retry_after: reply.retry_after.filter(|_| status == 503),
        outcome: match problem {
            Some(problem) => Err(problem),
            None => Ok(Answer {
                location: location.and_then(Result::ok),
                body: reply.body,
            }),
        },
    }
}

/// A `Location` as one of the run's origins and a path: relative to the request's origin, or
/// absolute naming a known origin. Any other host is refused, so a redirect can never send
/// load anywhere but the run's targets.
fn resolve(run: &RunContext, from: OriginId, value: &Bytes) -> Result<To, Problem> {
    let text = std::str::from_utf8(value).map_err(|_| Problem::Location)?;
    let (origin, path) = if let Some(rest) = text.strip_prefix("http://") {
        let (authority, path) = rest.find('/').map_or((rest, "/"), |at| rest.split_at(at));
        let origin = run
            .targets
            .origins
            .find(authority)
            .ok_or(Problem::ForeignLocation)?;
        (origin, path)
    } else if text.starts_with('/') && !text.starts_with("//") {
        (from, text)
    } else {
        return Err(Problem::Location);
    };
    // A request target is visible ASCII (RFC 9112 §3.2); anything else is a broken Location.
    if !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Problem::Location);
    }
    Ok(To {
        origin,
        path: value.slice_ref(path.as_bytes()),
    })
}

/// Records a hop's outcome (counts, latency, failure) and turns it into the transaction's
/// result.
async fn settle(
    user: &mut GooseUser,
    hop: Hop,
    checked: Checked,
) -> Result<Answer, Box<TransactionError>> {
    let state = state(user)?;
    match checked.status {
        Some(status) => state.live.answered(status),
        None => state.live.unanswered(),
    }
    let goose_metrics = state.run.settings.goose_metrics;
    let faults = !state.run.faults.is_empty();
    let result = match checked.outcome {
        Ok(answer) => {
            if let Some(elapsed) = checked.elapsed {
                state.record_hop(hop, elapsed);
            }
            if faults {
                state.run.faults.success(Instant::now());
            }
            Ok(answer)
        }
        Err(problem) => {
            let failure = Failure { hop, problem };
            state.live.error();
            state.recorder.hop(hop).error();
            state.recorder.failure(failure);
            if faults {
                state.run.faults.failure(Instant::now());
            }
            Err(failure)
        }
    };
    // A well-behaved client waits as long as a 503 asks before its next request; the run's
    // end cuts the wait short.
    if let Some(wait) = checked.retry_after {
        state.recorder.retry_waits += 1;
        let started = Instant::now();
        let _ = state.sleep(wait).await;
        state.recorder.retry_waited += started.elapsed();
    }
    if goose_metrics {
        // Goose's own tables, for its reports: opt-in, since each call allocates.
        let message = result.as_ref().err().map(Failure::to_string);
        user.record_custom_request_duration(
            hop.method(),
            hop.name(),
            checked.elapsed.unwrap_or_default(),
            result.is_ok(),
            checked.status,
            message.as_deref(),
        )
        .await?;
    }
    result.map_err(|failure| Box::new(TransactionError::Custom(failure.to_string())))
}
