//! [`hop`]: one request of a scenario — sent on the user's own connection with the cookies a
//! browser would send, checked (status, `Location`, page marker), timed into the user's
//! histograms, and counted. A wrong answer is a failure under a stable key, never a latency
//! sample and never a panic.
//!
//! Every request is a browser's top-level navigation: a page the user asks for on a site
//! ([`To::route`]), a redirect followed ([`Sent::location`]), or a form submitted from a page
//! ([`To::submitted_from`]). Which of those it is decides which cookies go along (SameSite)
//! and the `Origin` of a form post.

use crate::http::{
    CookieRequest, HttpError, Marker, Method, OriginId, Origins, Outgoing, PageOrigin, Reply,
    origin::Endpoint,
};
use crate::names::{Expected, Failure, Hop, Problem};
use crate::users::context::RunContext;
use crate::users::user::{UserState, state};
use bytes::Bytes;
use goose::prelude::*;
use http::HeaderValue;
use mock_services::web::routes::app as routes;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a request goes: a site of the run, an origin-form path (`/path?query`), and how the
/// browser got there.
#[derive(Debug, Clone)]
pub struct To {
    pub origin: OriginId,
    pub path: Bytes,
    /// The sites of the navigation so far, a bit each (see `Site::same_site_bit`): its
    /// initiator and the URLs it was redirected through. Empty for a page the user asks for
    /// on the target's own site. The request is same-site when no other site is in it.
    pub chain: u32,
    /// The site whose page a form was submitted from (its origin is the post's `Origin`).
    pub page: Option<OriginId>,
}

impl To {
    /// A fixed route of `origin`, asked for from that site's own pages (or typed).
    pub fn route(origin: OriginId, path: &'static str) -> To {
        To {
            origin,
            path: Bytes::from_static(path.as_bytes()),
            chain: 0,
            page: None,
        }
    }

    /// The same target, as a form submitted from a page of `page` (or a link on it).
    pub fn submitted_from(self, page: OriginId, run: &RunContext) -> To {
        To {
            chain: run.targets.origins.site(page).same_site_bit,
            page: Some(page),
            ..self
        }
    }
}

/// Where a redirect must point: an origin and the start of the path (empty: any path).
#[derive(Debug, Clone, Copy)]
pub struct Redirect {
    pub origin: OriginId,
    pub path_prefix: &'static str,
}

/// What a hop must answer.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub status: Expected,
    pub location: Option<Redirect>,
    pub marker: Option<&'a Marker>,
}

impl<'a> Expect<'a> {
    /// 200 with the page's marker.
    pub fn page(marker: &'a Marker) -> Self {
        Expect {
            status: Expected::Status(200),
            location: None,
            marker: Some(marker),
        }
    }

    /// A redirect with this exact status to `origin`, its path starting with `path_prefix`.
    pub fn redirect(status: u16, origin: OriginId, path_prefix: &'static str) -> Self {
        Expect {
            status: Expected::Status(status),
            location: Some(Redirect {
                origin,
                path_prefix,
            }),
            marker: None,
        }
    }

    /// Any redirect (301, 302, 303, 307, 308) to anywhere on `origin`: what a service that is
    /// not ours may answer.
    pub fn redirect_to(origin: OriginId) -> Self {
        Expect {
            status: Expected::Redirect,
            location: Some(Redirect {
                origin,
                path_prefix: "",
            }),
            marker: None,
        }
    }
}

/// Whether `status` is a redirect a browser follows.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// What a checked hop returned.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
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
    if expect.status != Expected::Status(302) && sent.bounced_to_login() {
        let state = state(user)?;
        state.live.answered(302);
        state.live.bounce();
        return Ok(Visit::Bounced);
    }
    settle(user, hop, sent.check(&expect))
        .await
        .map(Visit::Page)
}

/// A request sent from the user's browser and what came back, not yet checked.
#[derive(Debug)]
pub struct Sent {
    run: Arc<RunContext>,
    to: To,
    reply: Result<Reply, HttpError>,
}

impl Sent {
    /// The answer's status, if one came.
    pub fn status(&self) -> Option<u16> {
        self.reply.as_ref().ok().map(|reply| reply.status)
    }

    /// The answer's body (empty without an answer).
    pub fn body(&self) -> &[u8] {
        self.reply.as_ref().map_or(&[], |reply| &reply.body)
    }

    /// The request this answers.
    pub fn to(&self) -> &To {
        &self.to
    }

    /// The answer's `Location`, resolved against the request (`None` without one).
    pub fn location(&self) -> Option<Result<To, Problem>> {
        let reply = self.reply.as_ref().ok()?;
        let location = reply.location.as_ref()?;
        Some(resolve(&self.run.targets.origins, &self.to, location))
    }

    /// A URL (a link's or a form's action) resolved against the request's URL.
    pub fn resolve(&self, reference: &str) -> Result<To, Problem> {
        resolve(
            &self.run.targets.origins,
            &self.to,
            &Bytes::copy_from_slice(reference.as_bytes()),
        )
    }

    /// Checks the answer against what the hop must answer.
    pub fn check(self, expect: &Expect<'_>) -> Checked {
        check(&self.run, &self.to, self.reply, expect)
    }

    /// Takes the answer as it is (the caller has judged it): its `Location`, if any, resolved.
    pub fn accept(self) -> Checked {
        let location = self.location().and_then(Result::ok);
        let mut checked = unchecked(self.reply);
        if let Ok(answer) = &mut checked.outcome {
            answer.location = location;
        }
        checked
    }

    /// Takes the answer as it is, its `Location` already resolved by the caller.
    pub fn accept_at(self, location: To) -> Checked {
        let mut checked = unchecked(self.reply);
        if let Ok(answer) = &mut checked.outcome {
            answer.location = Some(location);
        }
        checked
    }

    /// Records the answer as a failure of this kind (a well-formed answer the flow cannot go
    /// on from).
    pub fn reject(self, problem: Problem) -> Checked {
        let mut checked = unchecked(self.reply);
        if checked.outcome.is_ok() {
            checked.outcome = Err(problem);
        }
        checked
    }

    /// A 302 to the same site's `/login`: the store session is gone.
    fn bounced_to_login(&self) -> bool {
        let Ok(reply) = &self.reply else {
            return false;
        };
        reply.status == 302
            && self.location().is_some_and(|to| {
                to.is_ok_and(|to| {
                    to.origin == self.to.origin && to.path.starts_with(routes::LOGIN.as_bytes())
                })
            })
    }
}

/// Sends one request from the user's browser with the cookies it holds for the target (see
/// [`exchange`]), not yet checked.
pub async fn send(
    user: &mut GooseUser,
    to: To,
    form: Option<Bytes>,
) -> Result<Sent, Box<TransactionError>> {
    let reply = exchange(user, &to, form).await?;
    let run = Arc::clone(&state(user)?.run);
    Ok(Sent { run, to, reply })
}

/// Sends one request from the user's browser with its cookies, and keeps what it set.
async fn exchange(
    user: &mut GooseUser,
    to: &To,
    form: Option<Bytes>,
) -> Result<Result<Reply, HttpError>, Box<TransactionError>> {
    let state = state(user)?;
    let UserState {
        run, browser, jar, ..
    } = &mut *state;
    let origins = &run.targets.origins;
    let site = origins.site(to.origin);
    // A site's cookies are its host's (its instances sit behind one name).
    let host = site.first();
    let method = if form.is_some() {
        Method::Post
    } else {
        Method::Get
    };
    let request = CookieRequest {
        host: &host.host,
        path: &to.path,
        https: host.scheme == crate::http::Scheme::Https,
        same_site: to.chain & !site.same_site_bit == 0,
        safe_method: method == Method::Get,
    };
    let outgoing = Outgoing {
        method,
        path: to.path.clone(),
        cookie: jar.header(usize::from(to.origin.0), &request),
        page_origin: match (&form, to.page) {
            (Some(_), Some(page)) if page == to.origin => Some(PageOrigin::Target),
            (Some(_), Some(page)) => Some(PageOrigin::Other(page_origin(run, page))),
            _ => None,
        },
        form,
    };
    let sent = browser.send(origins, to.origin, &outgoing).await;
    if let Ok(reply) = &sent
        && !reply.set_cookies.is_empty()
    {
        jar.update(&request, &reply.set_cookies);
    }
    Ok(sent)
}

/// The `Origin` header of a form posted from a page of `page`.
fn page_origin(run: &RunContext, page: OriginId) -> HeaderValue {
    HeaderValue::from_str(run.targets.base(page)).unwrap_or(HeaderValue::from_static("null"))
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
    state.hop_failed(hop, None);
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
        path: to.path.clone(),
        cookie: Some(cookie.clone()),
        form: None,
        page_origin: None,
    };
    let sent = state
        .attacker
        .send(&state.run.targets.origins, to.origin, &outgoing)
        .await;
    let served = matches!(&sent, Ok(reply) if reply.status == 200);
    let expect = if served {
        Expect::page(&state.run.markers.cart)
    } else {
        Expect::redirect(302, to.origin, routes::LOGIN)
    };
    let run = Arc::clone(&state.run);
    let checked = check(&run, &to, sent, &expect);
    settle(user, Hop::AttackerReplay, checked)
        .await
        .map(|_| served)
}

/// A hop's outcome before it is recorded.
#[derive(Debug)]
pub struct Checked {
    elapsed: Option<Duration>,
    timing: crate::http::Timing,
    status: Option<u16>,
    /// A 429's or 503's `Retry-After`: the user waits it out before going on.
    retry_after: Option<Duration>,
    outcome: Result<Answer, Problem>,
}

impl Checked {
    /// What was wrong with the answer, if anything.
    pub fn problem(&self) -> Option<Problem> {
        self.outcome.as_ref().err().copied()
    }
}

/// An answer taken as it is, or its absence as a failure.
fn unchecked(sent: Result<Reply, HttpError>) -> Checked {
    match sent {
        Ok(reply) => Checked {
            elapsed: Some(reply.elapsed),
            timing: reply.timing,
            status: Some(reply.status),
            retry_after: retry_after(&reply),
            outcome: Ok(Answer {
                status: reply.status,
                location: None,
                body: reply.body,
            }),
        },
        Err(error) => Checked {
            elapsed: None,
            timing: crate::http::Timing::default(),
            status: None,
            retry_after: None,
            outcome: Err(Problem::NoAnswer(error)),
        },
    }
}

/// A well-behaved client waits as long as a 429 or 503 asks before its next request.
fn retry_after(reply: &Reply) -> Option<Duration> {
    reply
        .retry_after
        .filter(|_| matches!(reply.status, 429 | 503))
}

fn check(
    run: &RunContext,
    from: &To,
    sent: Result<Reply, HttpError>,
    expect: &Expect<'_>,
) -> Checked {
    let reply: Reply = match sent {
        Ok(reply) => reply,
        Err(error) => return unchecked(Err(error)),
    };
    let status = reply.status;
    let location = reply
        .location
        .as_ref()
        .map(|value| resolve(&run.targets.origins, from, value));
    let status_ok = match expect.status {
        Expected::Status(wanted) => status == wanted,
        Expected::Redirect => is_redirect(status),
    };
    let problem = if !status_ok && status == 503 && run.markers.over_capacity.is_in(&reply.body) {
        Some(Problem::OverCapacity)
    } else if !status_ok {
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
        timing: reply.timing,
        status: Some(status),
        retry_after: retry_after(&reply),
        outcome: match problem {
            Some(problem) => Err(problem),
            None => Ok(Answer {
                status,
                location: location.and_then(Result::ok),
                body: reply.body,
            }),
        },
    }
}

/// A `Location` as one of the run's sites and a path, resolved as a browser resolves it
/// against the URL it answered (absolute, scheme-relative, absolute-path or relative; the
/// fragment dropped). A host that is not one of the run's targets is refused, so a redirect
/// never sends load anywhere the run was not pointed at.
pub fn resolve(origins: &Origins, from: &To, value: &Bytes) -> Result<To, Problem> {
    let chain = from.chain | origins.site(from.origin).same_site_bit;
    let text = std::str::from_utf8(value).map_err(|_| Problem::Location)?;
    // The common case, an absolute path on the same site, without building URLs (a backslash
    // is a slash to a browser: `/\\host` names a host, left to the URL parser).
    if text.starts_with('/') && !text.starts_with("//") && !text.contains('\\') {
        let path = text.split('#').next().unwrap_or(text);
        // A request target is visible ASCII (RFC 9112 §3.2); anything else is a broken one.
        if !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Problem::Location);
        }
        return Ok(To {
            origin: from.origin,
            path: value.slice_ref(path.as_bytes()),
            chain,
            page: None,
        });
    }
    // An absolute URL naming an instance as the run names it (`scheme://host[:port]/path`),
    // also without building URLs: a provider's redirect back to the app's callback is one.
    if let Some((origin, rest)) = origins.find_prefix(text)
        && (rest.is_empty() || rest.starts_with('/'))
    {
        let path = rest.split('#').next().unwrap_or(rest);
        if path.bytes().all(|b| b.is_ascii_graphic()) {
            return Ok(To {
                origin,
                path: if path.is_empty() {
                    Bytes::from_static(b"/")
                } else {
                    value.slice_ref(path.as_bytes())
                },
                chain,
                page: None,
            });
        }
    }
    let base = format!(
        "{}{}",
        origins.site(from.origin).base(),
        std::str::from_utf8(&from.path).map_err(|_| Problem::Location)?
    );
    let url = url::Url::parse(&base)
        .and_then(|base| base.join(text.trim()))
        .map_err(|_| Problem::Location)?;
    let endpoint = Endpoint::of_url(&url).ok_or(Problem::Location)?;
    let origin = origins.find(&endpoint).ok_or(Problem::ForeignLocation)?;
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    Ok(To {
        origin,
        path: Bytes::copy_from_slice(path.as_bytes()),
        chain,
        page: None,
    })
}

/// Records a hop's outcome (counts, latency, failure) and turns it into the transaction's
/// result.
pub async fn settle(
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
                state.record_hop(hop, elapsed, &checked.timing);
            }
            if faults {
                state.run.faults.success(Instant::now());
            }
            Ok(answer)
        }
        Err(problem) => {
            let failure = Failure { hop, problem };
            state.live.error();
            state.hop_failed(hop, Some(&checked.timing));
            state.recorder.failure(failure);
            if faults {
                state.run.faults.failure(Instant::now());
            }
            Err(failure)
        }
    };
    // A well-behaved client waits as long as a 429 or 503 asks before its next request; the
    // run's end cuts the wait short.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Origin;

    fn origins() -> (Origins, OriginId, OriginId) {
        let mut origins = Origins::default();
        let idp = origins.add(Origin::parse("https://127.0.0.1:8443").expect("idp"));
        let store = origins.add(Origin::parse("http://127.0.0.2:9011").expect("store"));
        (origins, idp, store)
    }

    fn from(origin: OriginId, path: &'static str) -> To {
        To::route(origin, path)
    }

    fn resolved(
        origins: &Origins,
        from: &To,
        location: &str,
    ) -> Result<(OriginId, String), Problem> {
        resolve(origins, from, &Bytes::copy_from_slice(location.as_bytes()))
            .map(|to| (to.origin, String::from_utf8_lossy(&to.path).into_owned()))
    }

    #[test]
    fn a_location_resolves_as_a_browser_resolves_it_but_only_to_named_hosts() {
        let (origins, idp, store) = origins();
        let page = from(idp, "/realms/x/login?a=1");
        for (location, expected) in [
            ("/done#frag", (idp, "/done")),
            ("step2?b=2", (idp, "/realms/x/step2?b=2")),
            ("../other", (idp, "/realms/other")),
            ("https://127.0.0.1:8443/cb?code=1", (idp, "/cb?code=1")),
            ("https://127.0.0.1:8443", (idp, "/")),
            (
                "http://127.0.0.2:9011/oauth-callback?code=c",
                (store, "/oauth-callback?code=c"),
            ),
            ("//127.0.0.2:9011/x", (idp, "")),
        ] {
            let got = resolved(&origins, &page, location);
            if expected.1.is_empty() {
                // Scheme-relative: the page's scheme (https), so not the http store.
                assert_eq!(got, Err(Problem::ForeignLocation), "{location}");
            } else {
                assert_eq!(got, Ok((expected.0, expected.1.to_owned())), "{location}");
            }
        }
        // Whatever the spelling, a host the run was not pointed at is never a target.
        for location in [
            "//evil.test/x",
            "https://evil.test/",
            "https://127.0.0.1:8443@evil.test/",
            "/\\evil.test/x",
            "\\\\evil.test",
            "https://127.0.0.1:8444/",
            "http://127.0.0.1:8443/",
        ] {
            assert_eq!(
                resolved(&origins, &page, location),
                Err(Problem::ForeignLocation),
                "{location}"
            );
        }
        assert_eq!(
            resolved(&origins, &page, "mailto:a@b"),
            Err(Problem::Location)
        );
        // The chain of sites grows with each redirect followed.
        let to = resolve(
            &origins,
            &from(store, "/login"),
            &Bytes::from_static(b"https://127.0.0.1:8443/auth"),
        )
        .expect("to the provider");
        assert_eq!(to.chain, origins.site(store).same_site_bit);
    }
}
