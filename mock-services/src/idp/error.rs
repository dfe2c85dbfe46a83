//! The IdP's one error type and how each kind becomes a response.
//!
//! Three shapes, as the protocol requires: an HTML 400 page when the client or redirect URI
//! cannot be trusted (RFC 6749 §4.1.2.1 forbids redirecting then); a redirect carrying `error`
//! and `state` for other authorization errors; JSON `{error, error_description}` for the token
//! endpoint (§5.2) and Bearer challenges for userinfo (RFC 6750 §3).

use crate::session::StoreError;
use crate::web::html;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The error codes this IdP answers with (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, OpenID
/// Connect Core §3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    LoginRequired,
    InvalidToken,
    TemporarilyUnavailable,
    ServerError,
}

impl OAuthError {
    /// The code as the protocol writes it.
    pub fn code(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::UnsupportedResponseType => "unsupported_response_type",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::LoginRequired => "login_required",
            OAuthError::InvalidToken => "invalid_token",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthError::ServerError => "server_error",
        }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Everything that can go wrong in the IdP, by the response it needs.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    /// 400 page, never a redirect.
    #[error("bad authorization request: {0}")]
    Page(String),
    /// Redirect to the (validated) redirect URI with `error`, `error_description` and `state`.
    #[error("authorization error {error}: {description}")]
    Redirect {
        location: String,
        error: OAuthError,
        description: String,
    },
    /// Token endpoint error; `invalid_client` is 401, with a Basic challenge when Basic was used.
    #[error("token error {error}: {description}")]
    Token {
        error: OAuthError,
        description: String,
        basic_auth_used: bool,
    },
    /// Userinfo: the bearer token is missing (`None`) or invalid.
    #[error("bearer token refused: {0:?}")]
    Bearer(Option<String>),
    /// `post_logout_redirect_uri` not registered, or a malformed logout request.
    #[error("bad logout request: {0}")]
    Logout(String),
    /// A form posted from another site, or without this browser's token: 403 page.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The session backend failed: 503 with Retry-After.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault of the IdP itself (signing failed); logged, and told to the client in one word.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IdpError {
    pub fn page(message: impl Into<String>) -> Self {
        IdpError::Page(message.into())
    }

    pub fn token(error: OAuthError, description: impl Into<String>) -> Self {
        IdpError::Token {
            error,
            description: description.into(),
            basic_auth_used: false,
        }
    }
}

impl IntoResponse for IdpError {
    fn into_response(self) -> Response {
        match self {
            IdpError::Page(message) => (
                StatusCode::BAD_REQUEST,
                Html(html::page(
                    "Error · ssobench IdP",
                    crate::web::routes::markers::ERROR,
                    &format!(
                        "<h1>Bad request</h1><p id=\"error-description\">{}</p>",
                        html::escape(&message)
                    ),
                )),
            )
                .into_response(),
            IdpError::Forbidden(message) => (
                StatusCode::FORBIDDEN,
                Html(html::page(
                    "Refused · ssobench IdP",
                    crate::web::routes::markers::ERROR,
                    &format!(
                        "<h1>Refused</h1><p id=\"error-description\">{}</p>",
                        html::escape(&message)
                    ),
                )),
            )
                .into_response(),
            IdpError::Logout(message) => (
                StatusCode::BAD_REQUEST,
                Html(html::page(
                    "Error · ssobench IdP",
                    crate::web::routes::markers::ERROR,
                    &format!(
                        "<h1>Bad logout request</h1><p id=\"error-description\">{}</p>",
                        html::escape(&message)
                    ),
                )),
            )
                .into_response(),
            // 302, like every redirect of the flow (axum's `Redirect::to` would be 303).
            IdpError::Redirect { location, .. } => match HeaderValue::from_str(&location) {
                Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            },
            IdpError::Token {
                error,
                description,
                basic_auth_used,
            } => {
                let status = if error == OAuthError::InvalidClient {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::BAD_REQUEST
                };
                let mut response = (
                    status,
                    Json(serde_json::json!({"error": error.code(), "error_description": description})),
                )
                    .into_response();
                let headers = response.headers_mut();
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                if error == OAuthError::InvalidClient && basic_auth_used {
                    headers.insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"ssobench-idp\""),
                    );
                }
                response
            }
            IdpError::Bearer(problem) => {
                let challenge = match &problem {
                    None => "Bearer realm=\"ssobench-idp\"".to_owned(),
                    Some(description) => format!(
                        "Bearer realm=\"ssobench-idp\", error=\"invalid_token\", error_description=\"{}\"",
                        description.replace(['"', '\\'], "'")
                    ),
                };
                let body = match problem {
                    None => {
                        serde_json::json!({"error": OAuthError::InvalidRequest.code(), "error_description": "no bearer token"})
                    }
                    Some(description) => {
                        serde_json::json!({"error": OAuthError::InvalidToken.code(), "error_description": description})
                    }
                };
                let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
            IdpError::Store(error) => {
                tracing::warn!(%error, "session backend failure");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "1")],
                    Json(serde_json::json!({
                        "error": OAuthError::TemporarilyUnavailable.code(),
                        "error_description": "the session backend is unavailable; retry shortly"
                    })),
                )
                    .into_response()
            }
            IdpError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(serde_json::json!({"error": OAuthError::ServerError.code()})),
                )
                    .into_response()
            }
        }
    }
}
