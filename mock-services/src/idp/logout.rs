//! `GET|POST /oauth2/logout`: ends the SSO session; redirects only to a registered
//! post-logout URI.

use super::pages;
use super::{IdpError, IdpState, SSO_COOKIE};
use crate::session::{SessionId, SessionStore};
use crate::web::cookies;
use crate::web::params::Params;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Logout. Parameters come from the query (GET) or the form body (POST).
pub async fn logout(
    State(state): State<IdpState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, IdpError> {
    let raw = if method == Method::POST {
        body.map_err(|rejection| IdpError::Logout(rejection.body_text()))?
    } else {
        Bytes::from(query.unwrap_or_default())
    };
    let params = Params::parse(&raw).map_err(|error| IdpError::Logout(error.to_string()))?;
    // Validate before doing anything: a bad request ends nothing.
    let redirect = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let registered = match params.get("client_id") {
                Some(client_id) => state
                    .clients()
                    .get(client_id)
                    .is_some_and(|client| client.allows_post_logout_redirect(uri)),
                None => state
                    .clients()
                    .iter()
                    .any(|client| client.allows_post_logout_redirect(uri)),
            };
            if !registered {
                return Err(IdpError::Logout(
                    "post_logout_redirect_uri is not registered".into(),
                ));
            }
            let mut pairs = Vec::new();
            if let Some(logout_state) = params.get("state") {
                pairs.push(("state", logout_state));
            }
            Some(super::authorize::with_query(uri, &pairs)?)
        }
    };
    if let Some(id) = cookies::read(&headers, SSO_COOKIE).and_then(SessionId::parse) {
        state.sso_store().delete(&id).await?;
    }
    let expire = cookies::expire(SSO_COOKIE, state.settings().secure_cookies);
    let mut response = match redirect {
        Some(location) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_str(&location)
                    .map_err(|error| IdpError::Internal(error.to_string()))?,
            );
            response
        }
        None => Html(pages::logged_out()).into_response(),
    };
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&expire).map_err(|error| IdpError::Internal(error.to_string()))?,
    );
    Ok(response)
}
