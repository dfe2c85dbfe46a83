//! The provider's part of a login, walked as a browser walks it: from the authorization
//! request on, redirects within the provider are followed and each page's form is filled and
//! submitted — the login form (username and password), an identifier-first page (the username
//! now, the password on the next page), a consent page, an interstitial "continue" form, an
//! auto-submitting `form_post` page — until the provider sends the browser back to the app.
//! Each request is a hop of its own (the authorization request, each page, each form).
//!
//! What ends a login without one, named and never counted as a login: the login form served
//! again after the password ([`Problem::FormAgain`]), 429 ([`Problem::RateLimited`], its
//! `Retry-After` waited out), an error status or a page with no form ([`Problem::ErrorPage`]),
//! more pages than `--max-form-steps` ([`Problem::TooManySteps`]), and a password asked where
//! the provider's SSO session should have sufficed ([`Problem::PasswordAsked`]).

use super::form::{Fill, Form, FormMethod, Forms, urlencoded};
use crate::http::OriginId;
use crate::names::{Hop, Problem};
use crate::users::hop::{Sent, To, is_redirect, send, settle};
use crate::users::user::state;
use bytes::Bytes;
use goose::prelude::*;
use std::sync::Arc;

/// Redirects in a row a browser follows before giving up (Chromium stops at 20).
const MAX_REDIRECTS: usize = 20;

/// What the user may type at the provider.
#[derive(Debug, Clone, Copy)]
pub enum Want<'a> {
    /// A login with a password (username and password as given).
    Password {
        username: &'a str,
        password: &'a str,
    },
    /// An SSO login: a page asking for a password is a failure.
    Sso,
    /// SSO if the provider's session lives, else a password login.
    SsoOrPassword {
        username: &'a str,
        password: &'a str,
    },
}

impl Want<'_> {
    fn credentials(&self) -> Option<(&str, &str)> {
        match *self {
            Want::Password { username, password } | Want::SsoOrPassword { username, password } => {
                Some((username, password))
            }
            Want::Sso => None,
        }
    }
}

/// Where the walk left the browser: the request that takes it back to the app (a redirect to
/// the callback, or a `form_post` page's form), not yet sent.
#[derive(Debug)]
pub struct Back {
    pub to: To,
    /// The form a `form_post` page posts to the app's callback.
    pub form: Option<Bytes>,
    /// Whether the user typed a password on the way.
    pub password_typed: bool,
}

/// The names a walk's hops are recorded under: a login's, or a logout's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walking {
    Login,
    Logout,
}

/// What the next request of the walk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The first request: the authorization request (or, logging out, the provider's logout
    /// endpoint).
    First,
    /// A redirect within the provider.
    Follow,
    /// Form `n` submitted.
    Submit(usize),
}

impl Walking {
    /// The hop a request of `step` is recorded under, by what it was answered with.
    fn hop(self, step: Step, answered: Answered, pages: usize) -> Hop {
        match (self, step, answered) {
            (Walking::Login, Step::First, Answered::Page) => Hop::IdpAuthorizeForm,
            (Walking::Login, Step::First, Answered::Back) => Hop::IdpAuthorizeSso,
            (Walking::Login, Step::First, Answered::Onward) => Hop::IdpAuthorizeOnward,
            (Walking::Login, Step::Follow, Answered::Page) => Hop::page(pages + 1),
            (Walking::Login, Step::Follow, _) => Hop::IdpRedirect,
            (Walking::Login, Step::Submit(form), _) => Hop::submit(form),
            (Walking::Logout, Step::First | Step::Follow, Answered::Page) => Hop::IdpLogout,
            (Walking::Logout, Step::First | Step::Follow, _) => Hop::IdpLogoutRedirect,
            (Walking::Logout, Step::Submit(_), _) => Hop::IdpLogoutConfirm,
        }
    }
}

/// What a request of the walk was answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answered {
    /// A page (or an error).
    Page,
    /// A redirect back to the app.
    Back,
    /// A redirect within the provider.
    Onward,
}

/// Walks the provider's pages from `start` (the authorization request the app redirected to)
/// until the provider sends the browser back to `app`.
pub async fn login(
    user: &mut GooseUser,
    start: To,
    app: OriginId,
    want: Want<'_>,
) -> Result<Back, Box<TransactionError>> {
    match walk(user, start, app, Walking::Login, want).await? {
        Walked::Back(back) => Ok(back),
        // A login never ends on a page: one without a form is an error page.
        Walked::Ended => Err(Box::new(TransactionError::Custom(
            "the login ended at the provider".into(),
        ))),
    }
}

/// Walks the provider's logout (an app's RP-initiated logout: its confirmation page, its
/// redirects) until it sends the browser back to `app`, or shows a last page without a form.
pub async fn logout(
    user: &mut GooseUser,
    start: To,
    app: OriginId,
) -> Result<Option<Back>, Box<TransactionError>> {
    match walk(user, start, app, Walking::Logout, Want::Sso).await? {
        Walked::Back(back) => Ok(Some(back)),
        Walked::Ended => Ok(None),
    }
}

/// How a walk ended.
#[derive(Debug)]
enum Walked {
    /// Sent back to the app.
    Back(Back),
    /// A logout's last page, without a form or a redirect: logged out at the provider.
    Ended,
}

async fn walk(
    user: &mut GooseUser,
    start: To,
    app: OriginId,
    walking: Walking,
    want: Want<'_>,
) -> Result<Walked, Box<TransactionError>> {
    let run = Arc::clone(&state(user)?.run);
    let max_steps = usize::from(run.settings.login.max_form_steps);
    let rules = &run.settings.login.rules;
    let mut to = start;
    let mut form: Option<Bytes> = None;
    let mut step = Step::First;
    let mut pages = 0;
    let mut redirects = 0;
    let mut username_typed = false;
    let mut password_typed = false;
    loop {
        let sent = send(user, to.clone(), form.clone()).await?;
        let Some(status) = sent.status() else {
            let hop = walking.hop(step, Answered::Page, pages);
            return Err(rejected(user, walking, hop, sent.accept()).await);
        };
        if is_redirect(status) {
            let target = match sent.location() {
                Some(Ok(target)) => target,
                Some(Err(problem)) => {
                    let hop = walking.hop(step, Answered::Onward, pages);
                    return Err(rejected(user, walking, hop, sent.reject(problem)).await);
                }
                None => {
                    let hop = walking.hop(step, Answered::Onward, pages);
                    return Err(rejected(user, walking, hop, sent.reject(Problem::Location)).await);
                }
            };
            let home = target.origin == app;
            let answered = if home {
                Answered::Back
            } else {
                Answered::Onward
            };
            let hop = walking.hop(step, answered, pages);
            if !home && target.origin != run.targets.idp {
                // Another of the run's services: not where a login goes.
                return Err(rejected(user, walking, hop, sent.reject(Problem::Location)).await);
            }
            redirects += 1;
            if !home && redirects > MAX_REDIRECTS {
                return Err(
                    rejected(user, walking, hop, sent.reject(Problem::TooManyRedirects)).await,
                );
            }
            // 307 and 308 repeat the method and the body; the others make it a GET.
            let repeat = matches!(status, 307 | 308).then(|| form.clone()).flatten();
            settle(user, hop, sent.accept_at(target.clone())).await?;
            if home {
                return Ok(Walked::Back(Back {
                    to: target,
                    form: repeat,
                    password_typed,
                }));
            }
            to = target;
            form = repeat;
            step = Step::Follow;
            continue;
        }
        redirects = 0;
        let hop = walking.hop(step, Answered::Page, pages);
        if status == 429 {
            return Err(rejected(user, walking, hop, sent.reject(Problem::RateLimited)).await);
        }
        let forms = Forms::read(sent.body(), rules);
        let login_form = forms.login_form(rules);
        if !(200..300).contains(&status) {
            // Some providers answer a wrong password with 401 or 400 and the form again.
            let problem = if login_form.is_some() && password_typed && status < 500 {
                Problem::FormAgain
            } else {
                Problem::ErrorPage(status)
            };
            return Err(rejected(user, walking, hop, sent.reject(problem)).await);
        }
        let (chosen, fill) = match (login_form, want.credentials()) {
            (Some(_), _) if password_typed => {
                return Err(rejected(user, walking, hop, sent.reject(Problem::FormAgain)).await);
            }
            (Some(_), None) => {
                return Err(
                    rejected(user, walking, hop, sent.reject(Problem::PasswordAsked)).await,
                );
            }
            (Some(found), Some((username, password))) => {
                password_typed = true;
                username_typed = true;
                let fill = Fill {
                    username: Some(username),
                    password: Some(password),
                };
                (found, fill)
            }
            (None, credentials) => match choose(&forms, rules, username_typed) {
                // An identifier page asks who the user is: where SSO should have sufficed, that
                // is a password login to come.
                Some((_, true)) if credentials.is_none() => {
                    return Err(
                        rejected(user, walking, hop, sent.reject(Problem::PasswordAsked)).await,
                    );
                }
                Some((found, identifier_first)) => {
                    let fill = match credentials {
                        Some((username, _)) if identifier_first => {
                            username_typed = true;
                            Fill {
                                username: Some(username),
                                password: None,
                            }
                        }
                        _ => Fill::default(),
                    };
                    (found, fill)
                }
                None if walking == Walking::Logout => {
                    settle(user, hop, sent.accept()).await?;
                    return Ok(Walked::Ended);
                }
                None => {
                    return Err(rejected(
                        user,
                        walking,
                        hop,
                        sent.reject(Problem::ErrorPage(status)),
                    )
                    .await);
                }
            },
        };
        pages += 1;
        if pages > max_steps {
            return Err(rejected(user, walking, hop, sent.reject(Problem::TooManySteps)).await);
        }
        if !chosen.is_urlencoded() {
            return Err(rejected(user, walking, hop, sent.reject(Problem::UnsupportedForm)).await);
        }
        let data = urlencoded(&chosen.data(rules, fill));
        let (action, method) = match submission(&sent, chosen, &data) {
            Ok(found) => found,
            Err(problem) => return Err(rejected(user, walking, hop, sent.reject(problem)).await),
        };
        let page_site = sent.to().origin;
        let next = action.submitted_from(page_site, &run);
        if next.origin != app && next.origin != run.targets.idp {
            // Another of the run's services: not where a login's form goes.
            return Err(rejected(user, walking, hop, sent.reject(Problem::Location)).await);
        }
        settle(user, hop, sent.accept()).await?;
        let body = (method == FormMethod::Post).then(|| Bytes::from(data));
        if next.origin == app {
            // A form_post page: its form takes the browser back to the app.
            return Ok(Walked::Back(Back {
                to: next,
                form: body,
                password_typed,
            }));
        }
        to = next;
        form = body;
        step = Step::Submit(pages);
    }
}

/// The form a page without a login form is gone on with: an identifier-first form (a POST
/// form with a username input and no password input, while the username is still to be typed;
/// a GET form with a text input is a search box), else the first POST form, else the first
/// form. The flag says whether it is identifier-first.
fn choose<'f>(
    forms: &'f Forms,
    rules: &super::form::FormRules,
    username_typed: bool,
) -> Option<(&'f Form, bool)> {
    if !username_typed
        && let Some(identifier) = forms
            .forms
            .iter()
            .find(|form| form.method == FormMethod::Post && form.username_index(rules).is_some())
    {
        return Some((identifier, true));
    }
    forms
        .forms
        .iter()
        .find(|form| form.method == FormMethod::Post)
        .or_else(|| forms.forms.first())
        .map(|form| (form, false))
}

/// Where a form goes: its action resolved against the page's URL (an empty action is the page
/// itself), with the data as its query for a GET form.
fn submission(sent: &Sent, form: &Form, data: &str) -> Result<(To, FormMethod), Problem> {
    let action = if form.action.trim().is_empty() {
        // The page's own URL: its path as requested.
        String::from_utf8_lossy(&sent.to().path).into_owned()
    } else {
        form.action.clone()
    };
    let mut to = sent.resolve(&action)?;
    if form.method == FormMethod::Get {
        let path = String::from_utf8_lossy(&to.path);
        let without_query = path.split('?').next().unwrap_or("/");
        to.path = Bytes::from(format!("{without_query}?{data}"));
    }
    Ok((to, form.method))
}

/// Records a rejected (or unanswered) hop — and, in a login, how the login ended — and gives
/// the transaction's error.
async fn rejected(
    user: &mut GooseUser,
    walking: Walking,
    hop: Hop,
    checked: crate::users::hop::Checked,
) -> Box<TransactionError> {
    let outcome = checked.problem().and_then(Problem::login_outcome);
    if walking == Walking::Login
        && let Some(outcome) = outcome
        && let Ok(state) = state(user)
    {
        state.recorder.login_outcome(outcome);
    }
    match settle(user, hop, checked).await {
        Err(error) => error,
        // A hop taken as it was cannot end the walk; this is unreachable in practice.
        Ok(_) => Box::new(TransactionError::Custom(format!(
            "{}: the login could not go on",
            hop.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::login::FormRules;

    fn chosen(page: &str, username_typed: bool) -> Option<(String, bool)> {
        let rules = FormRules::default();
        let forms = Forms::read(page.as_bytes(), &rules);
        choose(&forms, &rules, username_typed)
            .map(|(form, identifier)| (form.action.clone(), identifier))
    }

    #[test]
    fn an_identifier_page_is_a_post_form_a_search_box_is_not() {
        let page = r#"<form action="/search"><input name="q"></form>
            <form method="post" action="/u/identifier"><input type="email" name="identifier"></form>"#;
        assert_eq!(chosen(page, false), Some(("/u/identifier".into(), true)));
        assert_eq!(
            chosen(page, true),
            Some(("/u/identifier".into(), false)),
            "once the username was typed, the POST form is gone on with as it is"
        );
        let consent = r#"<form action="/search"><input name="q"></form>
            <form method="post" action="/consent"><button name="ok" value="1">Allow</button></form>"#;
        assert_eq!(chosen(consent, false), Some(("/consent".into(), false)));
        assert_eq!(chosen("<p>no form</p>", false), None);
    }
}
