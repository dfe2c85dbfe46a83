//! Pages both apps serve: home (marker `home`) and, for forums, posts (marker `posts`).

use super::{AppError, AppState, LoggedIn};
use crate::web::html::{escape, page};
use crate::web::routes::markers;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};

/// `GET /`: a login link, or who is logged in.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let kind = state.settings().kind;
    let current = state.current_session(&headers).await?;
    let body = match &current {
        None => format!(
            "<h1>{}</h1><p><a id=\"{}\" href=\"{}\">Log in</a></p>",
            kind.title(),
            markers::LOGIN_LINK,
            crate::web::routes::app::LOGIN
        ),
        Some(logged_in) => format!(
            "<h1>{}</h1><p id=\"user\">Signed in as {}</p><p><a href=\"{}\">Continue</a></p>{}",
            kind.title(),
            escape(email(logged_in)),
            kind.landing_path(),
            LOGOUT_FORM
        ),
    };
    let html = Html(page(
        &format!("{} · ssobench", kind.title()),
        markers::HOME,
        &body,
    ));
    Ok(with_cookie(html, current.and_then(|c| c.set_cookie)))
}

/// `GET /posts` (forums).
pub async fn posts(logged_in: LoggedIn) -> Response {
    let body = format!(
        "<h1>Forums</h1><p id=\"user\">Signed in as {}</p><ol id=\"post-list\">\
         <li>Welcome to the forums</li><li>Single sign-on, explained</li><li>Sessions versus tokens</li></ol>{}",
        escape(email(&logged_in)),
        LOGOUT_FORM
    );
    with_cookie(
        Html(page("Posts · ssobench forums", markers::POSTS, &body)),
        logged_in.set_cookie,
    )
}

pub(super) const LOGOUT_FORM: &str = "<form method=\"post\" action=\"/logout\"><button id=\"logout\" type=\"submit\">Log out</button></form>";

pub(super) fn email(logged_in: &LoggedIn) -> &str {
    logged_in
        .session
        .data
        .attributes
        .get("email")
        .map_or(&*logged_in.session.user_id, String::as_str)
}

/// Adds a rotated session's new cookie to a response.
pub(super) fn with_cookie(
    response: impl IntoResponse,
    cookie: Option<axum::http::HeaderValue>,
) -> Response {
    let mut response = response.into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
