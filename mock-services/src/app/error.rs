//! The apps' one error type and its responses.

use crate::session::StoreError;
use crate::web::html;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// What can go wrong in an app, by the response it needs.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No live session: 302 to `/login`.
    #[error("login required")]
    LoginRequired,
    /// The login could not complete (IdP error, bad state, missing pre-login cookie, replayed
    /// callback, refused code exchange, bad id_token): 400 page saying which.
    #[error("login failed: {0}")]
    LoginFailed(String),
    /// The IdP could not be reached or answered nonsense: 502 page.
    #[error("identity provider unavailable: {0}")]
    IdpUnavailable(String),
    /// A form posted from another site: 403 page.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A malformed request (form, parameters): 400 page.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Concurrent writes kept winning over ours: 409, try again.
    #[error("the session changed concurrently; try again")]
    Conflict,
    /// The session backend failed: 503 with Retry-After.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault of the app itself; logged, told to the client in one word.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let page = |status: StatusCode, heading: &str, message: &str| {
            (
                status,
                Html(html::page(
                    &format!("{heading} · ssobench"),
                    crate::web::routes::markers::ERROR,
                    &format!(
                        "<h1>{}</h1><p id=\"error-description\">{}</p>",
                        html::escape(heading),
                        html::escape(message)
                    ),
                )),
            )
                .into_response()
        };
        match self {
            AppError::LoginRequired => (
                StatusCode::FOUND,
                [(header::LOCATION, HeaderValue::from_static("/login"))],
            )
                .into_response(),
            AppError::LoginFailed(message) => {
                page(StatusCode::BAD_REQUEST, "Login failed", &message)
            }
            AppError::BadRequest(message) => page(StatusCode::BAD_REQUEST, "Bad request", &message),
            AppError::Forbidden(message) => page(StatusCode::FORBIDDEN, "Refused", &message),
            AppError::Conflict => page(
                StatusCode::CONFLICT,
                "Please try again",
                "the session changed concurrently",
            ),
            AppError::IdpUnavailable(cause) => {
                tracing::warn!(%cause, "identity provider unavailable");
                page(
                    StatusCode::BAD_GATEWAY,
                    "Login unavailable",
                    "the identity provider could not be reached",
                )
            }
            AppError::Store(error) => {
                tracing::warn!(%error, "session backend failure");
                let mut response = page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "the session store is unavailable; retry in a moment",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "something went wrong",
                )
            }
        }
    }
}
