//! `GET|POST /oauth2/logout`: OpenID Connect RP-Initiated Logout. The SSO session ends at once
//! only for a request carrying a valid `id_token_hint` (a token this IdP issued, to the client
//! named, for the user signed in); any other request gets a confirmation page whose POST must
//! carry this browser's CSRF token and come from this site — so a plain cross-site link or form
//! cannot log anyone out. Redirects go only to a post-logout URI registered for the client.

use super::claims::IdClaims;
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

/// The parameters a logout request may carry, checked.
#[derive(Debug)]
struct LogoutRequest {
    /// Where to send the browser afterwards (registered for the client), with `state`.
    redirect: Option<String>,
    /// The user and client of a valid `id_token_hint`.
    hint: Option<IdClaims>,
    /// What the confirmation form carries back.
    fields: Vec<(&'static str, String)>,
}

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
    let request = LogoutRequest::validate(&state, &params)?;
    let sso = cookies::read(&headers, SSO_COOKIE).and_then(SessionId::parse);
    let session = match &sso {
        Some(id) => state.sso_store().load(id).await?,
        None => None,
    };
    let confirmed = match (&request.hint, &session) {
        // Nothing to end: follow the (registered) redirect, or say so.
        (_, None) => true,
        // The relying party vouches for the user it signed in: end that user's session.
        (Some(hint), Some(session)) => *session.user_id == hint.sub,
        // Otherwise only this IdP's own confirmation form ends it.
        (None, Some(_)) if method == Method::POST => {
            state.check_form_post(&headers, &params)?;
            true
        }
        (None, Some(_)) => false,
    };
    if !confirmed {
        let token = state
            .csrf()
            .issue(&headers, state.settings().secure_cookies);
        let fields: Vec<(&str, &str)> = request
            .fields
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        return state.form_page(&token, pages::logout_confirm(&fields, &token.token));
    }
    if let Some(id) = sso {
        super::grants::end_session(&state, &id).await?;
    }
    let expire = cookies::expire(SSO_COOKIE, state.settings().secure_cookies);
    let mut response = match request.redirect {
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

impl LogoutRequest {
    fn validate(state: &IdpState, params: &Params) -> Result<LogoutRequest, IdpError> {
        let hint = match params.get("id_token_hint") {
            None => None,
            Some(token) => Some(
                state
                    .keys()
                    .verify_hint::<IdClaims>(token, &state.settings().issuer)
                    .map_err(|_| {
                        IdpError::Logout("id_token_hint is not an id_token this IdP issued".into())
                    })?,
            ),
        };
        let client_id = match (params.get("client_id"), &hint) {
            (Some(id), Some(hint)) if id != hint.aud => {
                return Err(IdpError::Logout(
                    "client_id differs from the id_token_hint's audience".into(),
                ));
            }
            (Some(id), _) => Some(id.to_owned()),
            (None, Some(hint)) => Some(hint.aud.clone()),
            (None, None) => None,
        };
        let mut fields = Vec::new();
        let redirect = match params.get("post_logout_redirect_uri") {
            None => None,
            Some(uri) => {
                let registered = match &client_id {
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
                    fields.push(("state", logout_state.to_owned()));
                }
                fields.push(("post_logout_redirect_uri", uri.to_owned()));
                Some(super::authorize::with_query(uri, &pairs)?)
            }
        };
        if let Some(client_id) = client_id {
            fields.push(("client_id", client_id));
        }
        Ok(LogoutRequest {
            redirect,
            hint,
            fields,
        })
    }
}
