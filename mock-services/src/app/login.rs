//! `/login` (start the authorization code flow), `/oauth-callback` (finish it and create a new
//! session) and `/logout`.

use super::{AppError, AppState, SameSite};
use crate::session::{SessionData, SessionId, SessionStore};
use crate::web::cookies;
use crate::web::params::Params;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A random URL-safe token (256 bits) for state, nonce and PKCE verifier.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn header_value(text: &str) -> Result<HeaderValue, AppError> {
    HeaderValue::from_str(text).map_err(|error| AppError::Internal(error.to_string()))
}

fn redirect(location: &str) -> Result<Response, AppError> {
    Ok((
        StatusCode::FOUND,
        [(header::LOCATION, header_value(location)?)],
    )
        .into_response())
}

/// `GET /login`: remember state, nonce and PKCE verifier server-side under a pre-login cookie,
/// then send the browser to the IdP.
pub async fn start(State(state): State<AppState>) -> Result<Response, AppError> {
    let login_state = random_token();
    let nonce = random_token();
    let verifier = random_token();
    let challenge = {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        URL_SAFE_NO_PAD.encode(digest.as_ref())
    };
    let mut data = SessionData::default();
    data.attributes.insert("state".into(), login_state.clone());
    data.attributes.insert("nonce".into(), nonce.clone());
    data.attributes.insert("verifier".into(), verifier);
    // The token request must name the redirect URI the authorization request named (RFC 6749
    // §4.1.3): kept here, so that another instance that receives the callback can exchange
    // the code.
    data.attributes.insert(
        "redirect_uri".into(),
        state.inner.oidc.redirect_uri().to_owned(),
    );
    let prelogin = state.inner.prelogins.create("-", data).await?;
    let settings = state.settings();
    let cookie = cookies::set(
        settings.kind.prelogin_cookie(),
        &prelogin.id.to_string(),
        settings.secure_cookies,
    );
    let to_provider = state
        .inner
        .oidc
        .authorize_url(&login_state, &nonce, &challenge)
        .await?;
    let mut response = redirect(&to_provider)?;
    response
        .headers_mut()
        .insert(header::SET_COOKIE, header_value(&cookie)?);
    Ok(response)
}

/// `GET /oauth-callback?code&state`: check the state against this browser's pre-login record
/// (used once), exchange the code, verify the id_token, and start a NEW session.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let kind = state.settings().kind;
    let params = Params::parse(query.unwrap_or_default().as_bytes())
        .map_err(|error| AppError::LoginFailed(error.to_string()))?;
    let prelogin_id = cookies::read(&headers, kind.prelogin_cookie())
        .and_then(SessionId::parse)
        .ok_or_else(|| {
            AppError::LoginFailed(
                "no login in progress in this browser (missing pre-login cookie)".into(),
            )
        })?;
    let prelogin = state
        .inner
        .prelogins
        .load(&prelogin_id)
        .await?
        .ok_or_else(|| {
            AppError::LoginFailed("this login expired or was already completed".into())
        })?;
    let expected_state = prelogin.data.attributes.get("state").map(String::as_str);
    if params.get("state") != expected_state {
        return Err(AppError::LoginFailed(
            "state does not match this browser's login".into(),
        ));
    }
    // The response must come from the provider this login went to (RFC 9207), error or not.
    state.inner.oidc.check_issuer(params.get("iss")).await?;
    if let Some(error) = params.get("error") {
        return Err(AppError::LoginFailed(format!(
            "the identity provider answered {error}: {}",
            params.get("error_description").unwrap_or("no description")
        )));
    }
    let code = params
        .get("code")
        .ok_or_else(|| AppError::LoginFailed("the callback has no code".into()))?;
    // Single use: of two callbacks racing with one pre-login record, only the deleter goes on.
    if !state.inner.prelogins.delete(&prelogin_id).await? {
        return Err(AppError::LoginFailed(
            "this login was already completed".into(),
        ));
    }
    let attribute = |name: &str| {
        prelogin
            .data
            .attributes
            .get(name)
            .cloned()
            .unwrap_or_default()
    };
    let tokens = state
        .inner
        .oidc
        .exchange(code, &attribute("verifier"), &attribute("redirect_uri"))
        .await?;
    let claims = state
        .inner
        .oidc
        .verify_id_token(&tokens.id_token, &attribute("nonce"))
        .await?;
    if tokens
        .user_id
        .as_ref()
        .is_some_and(|user| *user != claims.sub)
    {
        return Err(AppError::LoginFailed(
            "userId and id_token subject differ".into(),
        ));
    }

    // Never reuse a session ID from before the login (session fixation): end it, mint a new one.
    if let Some(old) = cookies::read(&headers, kind.session_cookie()).and_then(SessionId::parse) {
        state.sessions().delete(&old).await?;
    }
    let mut data = SessionData::default();
    if let Some(email) = claims.email {
        data.attributes.insert("email".into(), email);
    }
    let session = state.sessions().create(&claims.sub, data).await?;
    let mut response = redirect(kind.landing_path())?;
    let response_headers = response.headers_mut();
    response_headers.append(header::SET_COOKIE, state.session_cookie(&session.id)?);
    let settings = state.settings();
    response_headers.append(
        header::SET_COOKIE,
        header_value(&cookies::expire(
            kind.prelogin_cookie(),
            settings.secure_cookies,
        ))?,
    );
    Ok(response)
}

/// `POST /logout`: delete the server-side session at once and expire the cookie; then home, or,
/// as a relying party of a provider with an end-session endpoint, to the provider to log out
/// there too (RP-initiated logout), which sends the browser back home.
pub async fn logout(
    _: SameSite,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let kind = state.settings().kind;
    if let Some(id) = cookies::read(&headers, kind.session_cookie()).and_then(SessionId::parse) {
        state.sessions().delete(&id).await?;
    }
    let home = format!("{}/", state.settings().base_url);
    let location = match state.inner.oidc.end_session_url(&home).await? {
        Some(url) => header_value(&url)?,
        None => HeaderValue::from_static("/"),
    };
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        header_value(&cookies::expire(
            kind.session_cookie(),
            state.settings().secure_cookies,
        ))?,
    );
    Ok(response)
}
