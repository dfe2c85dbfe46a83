//! The IdP's HTML: the login form (marker `login-form`), the logout confirmation
//! (`logout-confirm`) and the logged-out page (`logged-out`).

use super::authorize::AuthorizeRequest;
use crate::web::html::{escape, page};
use crate::web::routes::markers;
use std::fmt::Write as _;

/// The login form; the OAuth parameters and this browser's CSRF token ride along as hidden
/// fields, and `login_hint` prefills the login id.
pub fn login_form(request: &AuthorizeRequest, error: Option<&str>, csrf_token: &str) -> String {
    let mut body = String::with_capacity(1024);
    body.push_str("<h1>Log in</h1>");
    if let Some(error) = error {
        let _ = write!(
            body,
            "<p id=\"login-error\" role=\"alert\">{}</p>",
            escape(error)
        );
    }
    body.push_str("<form method=\"post\" action=\"/oauth2/authorize\">");
    let csrf = [(super::CSRF_FIELD, csrf_token)];
    for (name, value) in request.hidden_fields().into_iter().chain(csrf) {
        let _ = write!(
            body,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        );
    }
    let _ = write!(
        body,
        "<label>Login id <input name=\"loginId\" type=\"email\" autocomplete=\"username\" \
         value=\"{}\" required></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Log in</button></form>",
        escape(request.login_hint.as_deref().unwrap_or_default())
    );
    page("Log in · ssobench IdP", markers::LOGIN_FORM, &body)
}

/// Asks before ending the SSO session: its POST carries the logout parameters and this browser's
/// CSRF token.
pub fn logout_confirm(fields: &[(&str, &str)], csrf_token: &str) -> String {
    let mut body = String::with_capacity(512);
    body.push_str("<h1>Log out?</h1><p>End your single sign-on session here.</p>");
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{}\">",
        crate::web::routes::idp::LOGOUT
    );
    let csrf = [(super::CSRF_FIELD, csrf_token)];
    for (name, value) in fields.iter().copied().chain(csrf) {
        let _ = write!(
            body,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        );
    }
    body.push_str("<button id=\"logout\" type=\"submit\">Log out</button></form>");
    page("Log out? · ssobench IdP", markers::LOGOUT_CONFIRM, &body)
}

/// Shown after logout when no redirect was asked for.
pub fn logged_out() -> String {
    page(
        "Logged out · ssobench IdP",
        markers::LOGGED_OUT,
        "<h1>You are logged out</h1>",
    )
}
