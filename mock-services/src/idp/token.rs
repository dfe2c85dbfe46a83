//! `POST /oauth2/token`: the authorization_code and refresh_token grants, with client
//! authentication by HTTP Basic or by form body (RFC 6749 §2.3.1).

use super::claims::{AccessClaims, IdClaims};
use super::clients::Client;
use super::grants;
use super::records::{CodeRecord, GrantRecord, RefreshRecord};
use super::{IdpError, IdpState, OAuthError, now_seconds};
use crate::session::{SaveOutcome, Session, SessionId, SessionStore};
use crate::web::params::{Params, is_form};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// `POST /oauth2/token`.
pub async fn exchange(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, IdpError> {
    let body = body
        .map_err(|rejection| IdpError::token(OAuthError::InvalidRequest, rejection.body_text()))?;
    if !is_form(&headers) {
        return Err(IdpError::token(
            OAuthError::InvalidRequest,
            "expected an application/x-www-form-urlencoded body",
        ));
    }
    let params = Params::parse(&body)
        .map_err(|error| IdpError::token(OAuthError::InvalidRequest, error.to_string()))?;
    let client = authenticate_client(&state, &headers, &params)?;
    match params.get("grant_type") {
        None => Err(IdpError::token(
            OAuthError::InvalidRequest,
            "grant_type is missing",
        )),
        Some("authorization_code") => authorization_code(&state, client, &params).await,
        Some("refresh_token") => refresh_token(&state, client, &params).await,
        Some(_) => Err(IdpError::token(
            OAuthError::UnsupportedGrantType,
            "use authorization_code or refresh_token",
        )),
    }
}

/// Finds and checks the client: exactly one authentication method, a known id, the right
/// secret (compared in constant time).
fn authenticate_client<'a>(
    state: &'a IdpState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'a Client, IdpError> {
    let invalid_client = |basic: bool, description: &str| IdpError::Token {
        error: OAuthError::InvalidClient,
        description: description.to_owned(),
        basic_auth_used: basic,
    };
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(
            parse_basic(value)
                .ok_or_else(|| invalid_client(true, "malformed Basic authorization header"))?,
        ),
    };
    let (client_id, secret, used_basic) = match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(IdpError::token(
                OAuthError::InvalidRequest,
                "use one client authentication method, not two",
            ));
        }
        (Some((id, secret)), None) => {
            if params.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(invalid_client(
                    true,
                    "client_id in the body differs from the Basic credentials",
                ));
            }
            (id, secret, true)
        }
        (None, Some(secret)) => {
            let id = params
                .get("client_id")
                .ok_or_else(|| invalid_client(false, "client_id is missing"))?;
            (id.to_owned(), secret.to_owned(), false)
        }
        (None, None) => return Err(invalid_client(false, "client authentication is required")),
    };
    let client = state
        .clients()
        .get(&client_id)
        .ok_or_else(|| invalid_client(used_basic, "unknown client or wrong secret"))?;
    aws_lc_rs::constant_time::verify_slices_are_equal(client.secret.as_bytes(), secret.as_bytes())
        .map_err(|_| invalid_client(used_basic, "unknown client or wrong secret"))?;
    Ok(client)
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let text = value.to_str().ok()?;
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |part: &str| {
        percent_encoding::percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|text| text.into_owned())
    };
    let (id, secret) = (unescape(id)?, unescape(secret)?);
    (!id.is_empty()).then_some((id, secret))
}

fn invalid_grant(description: &str) -> IdpError {
    IdpError::token(OAuthError::InvalidGrant, description)
}

/// The authorization_code grant (RFC 6749 §4.1.3, PKCE per RFC 7636 §4.6).
async fn authorization_code(
    state: &IdpState,
    client: &Client,
    params: &Params,
) -> Result<Response, IdpError> {
    let code_text = params
        .get("code")
        .ok_or_else(|| IdpError::token(OAuthError::InvalidRequest, "code is missing"))?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| IdpError::token(OAuthError::InvalidRequest, "redirect_uri is missing"))?;
    let verifier = params.get("code_verifier");
    if verifier.is_some_and(|v| !is_valid_verifier(v)) {
        return Err(IdpError::token(
            OAuthError::InvalidRequest,
            "code_verifier must be 43 to 128 unreserved characters",
        ));
    }
    let code_id = SessionId::parse(code_text)
        .ok_or_else(|| invalid_grant("unknown, expired or used code"))?;
    let codes = &state.inner.codes;
    let Some(mut code) = codes.load(&code_id).await? else {
        return Err(invalid_grant("unknown, expired or used code"));
    };
    if code.version > 0 {
        revoke_grant_of(state, &code).await?;
        return Err(invalid_grant(
            "code was already used; the tokens issued from it are revoked",
        ));
    }
    let record = std::sync::Arc::clone(&code.data);
    if record.client_id != client.id {
        return Err(invalid_grant("code was issued to another client"));
    }
    if record.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    match (&record.code_challenge, verifier) {
        (Some(_), None) => return Err(invalid_grant("code_verifier is required for this code")),
        (None, Some(_)) => {
            return Err(invalid_grant(
                "code_verifier sent but no code_challenge was",
            ));
        }
        (Some(challenge), Some(verifier)) => {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
            let computed = URL_SAFE_NO_PAD.encode(digest.as_ref());
            if aws_lc_rs::constant_time::verify_slices_are_equal(
                computed.as_bytes(),
                challenge.as_bytes(),
            )
            .is_err()
            {
                return Err(invalid_grant("code_verifier does not match code_challenge"));
            }
        }
        (None, None) => {}
    }
    let scope = record.scope.clone();
    let auth_time = record.auth_time;
    let nonce = record.nonce.clone();

    // Redeem: create the grant and list it in the SSO session it is granted under (so the
    // session's end revokes it), then record it in the code with a compare-and-swap save. Of
    // two concurrent redemptions exactly one save wins; the loser is a replay. Listing before
    // the code is spent keeps a failed listing (a store error) retryable with the same code.
    let mut grant = state
        .inner
        .grants
        .create(
            &code.user_id,
            GrantRecord {
                client_id: client.id.clone(),
                scope: scope.clone(),
                auth_time,
                refresh: None,
                revoked: false,
            },
        )
        .await?;
    let listed = grants::list_in_session(state, &record.sso, grant.id).await;
    if !matches!(listed, Ok(true)) {
        state.inner.grants.delete(&grant.id).await?;
        listed?;
        return Err(invalid_grant(
            "the SSO session this code was issued under has ended",
        ));
    }
    std::sync::Arc::make_mut(&mut code.data).grant = Some(grant.id);
    match codes.save(&mut code).await? {
        SaveOutcome::Saved => {}
        SaveOutcome::Conflict => {
            state.inner.grants.delete(&grant.id).await?;
            if let Some(current) = codes.load(&code_id).await? {
                revoke_grant_of(state, &current).await?;
            }
            return Err(invalid_grant(
                "code was already used; the tokens issued from it are revoked",
            ));
        }
        SaveOutcome::Gone => {
            state.inner.grants.delete(&grant.id).await?;
            return Err(invalid_grant("unknown, expired or used code"));
        }
    }
    let refresh = new_refresh_token(state, &mut grant).await?;
    token_response(state, client, &grant, &scope, auth_time, nonce, refresh)
}

/// RFC 7636 §4.1: 43–128 characters of `[A-Za-z0-9-._~]`.
fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Revokes the grant a redeemed code produced: its access tokens stop working at userinfo and
/// its refresh token is deleted.
async fn revoke_grant_of(state: &IdpState, code: &Session<CodeRecord>) -> Result<(), IdpError> {
    if let Some(grant_id) = &code.data.grant {
        grants::revoke(state, grant_id).await?;
    }
    Ok(())
}

/// Mints the grant's next refresh token and records it as the grant's live one (the one a
/// revocation frees). A grant revoked meanwhile (a replay of its code racing its redemption, a
/// logout racing a refresh) is answered as if the revocation came just after: the token is
/// handed out already freed, and refused at its first use, as the grant's access token is at
/// userinfo.
async fn new_refresh_token(
    state: &IdpState,
    grant: &mut Session<GrantRecord>,
) -> Result<String, IdpError> {
    let tokens = &state.inner.refresh_tokens;
    let token = tokens
        .create(&grant.user_id, RefreshRecord { grant: grant.id })
        .await?;
    let mut attempts = 0;
    let revoked = loop {
        if grant.data.revoked {
            break true;
        }
        if attempts == 16 {
            break false;
        }
        attempts += 1;
        std::sync::Arc::make_mut(&mut grant.data).refresh = Some(token.id);
        match state.inner.grants.save(grant).await? {
            SaveOutcome::Saved => return Ok(token.id.to_string()),
            SaveOutcome::Conflict => match state.inner.grants.load(&grant.id).await? {
                Some(current) => *grant = current,
                None => break true,
            },
            SaveOutcome::Gone => break true,
        }
    };
    tokens.delete(&token.id).await?;
    if revoked {
        Ok(token.id.to_string())
    } else {
        Err(grants::busy())
    }
}

/// The refresh_token grant (RFC 6749 §6), rotating the refresh token on every use.
async fn refresh_token(
    state: &IdpState,
    client: &Client,
    params: &Params,
) -> Result<Response, IdpError> {
    let text = params
        .get("refresh_token")
        .ok_or_else(|| IdpError::token(OAuthError::InvalidRequest, "refresh_token is missing"))?;
    if params.get("scope").is_some() {
        return Err(IdpError::token(
            OAuthError::InvalidScope,
            "narrowing scope on refresh is not supported",
        ));
    }
    let token_id = SessionId::parse(text)
        .ok_or_else(|| invalid_grant("unknown, expired or used refresh token"))?;
    let store = &state.inner.refresh_tokens;
    let Some(token) = store.load(&token_id).await? else {
        return Err(invalid_grant("unknown, expired or used refresh token"));
    };
    let live_grant = state.inner.grants.load(&token.data.grant).await?;
    let Some(mut grant) = live_grant.filter(|grant| !grant.data.revoked) else {
        // Dead with its grant: freed now rather than at its expiry.
        store.delete(&token_id).await?;
        return Err(invalid_grant(
            "the grant behind this refresh token was revoked",
        ));
    };
    if grant.data.client_id != client.id {
        return Err(invalid_grant("refresh token was issued to another client"));
    }
    // Single use: only the caller whose delete removes the token may refresh.
    if !store.delete(&token_id).await? {
        return Err(invalid_grant("unknown, expired or used refresh token"));
    }
    let scope = grant.data.scope.clone();
    let auth_time = grant.data.auth_time;
    let refresh = new_refresh_token(state, &mut grant).await?;
    token_response(state, client, &grant, &scope, auth_time, None, refresh)
}

/// A fresh token ID: 128 bits from the CSPRNG, URL-safe base64.
fn token_id() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_response(
    state: &IdpState,
    client: &Client,
    grant: &Session<GrantRecord>,
    scope: &str,
    auth_time: u64,
    nonce: Option<String>,
    refresh_token: String,
) -> Result<Response, IdpError> {
    let settings = state.settings();
    let now = now_seconds();
    let expires_in = settings.access_token_lifetime.as_secs();
    let sub = grant.user_id.to_string();
    let granted = state
        .users()
        .by_sub(&sub)
        .map(|user| super::UserClaims::granted(&user, scope))
        .unwrap_or_default();
    let access = AccessClaims {
        iss: settings.issuer.clone(),
        sub: sub.clone(),
        aud: client.id.clone(),
        exp: now + expires_in,
        iat: now,
        jti: token_id(),
        grant_id: grant.id.to_string(),
        scope: scope.to_owned(),
        client_id: client.id.clone(),
    };
    let id = IdClaims {
        iss: settings.issuer.clone(),
        sub: sub.clone(),
        aud: client.id.clone(),
        exp: now + expires_in,
        iat: now,
        auth_time,
        nonce,
        email: granted.email,
        email_verified: granted.email_verified,
        name: granted.name,
        preferred_username: granted.preferred_username,
    };
    let sign_error = |error: super::KeyError| IdpError::Internal(error.to_string());
    let body = serde_json::json!({
        "access_token": state.keys().sign(&access).map_err(sign_error)?,
        "id_token": state.keys().sign(&id).map_err(sign_error)?,
        "refresh_token": refresh_token,
        "expires_in": expires_in,
        "token_type": "Bearer",
        "scope": scope,
        "userId": sub,
    });
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn basic_credentials_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(value) = HeaderValue::from_bytes(&raw) {
                let _ = parse_basic(&value);
            }
            let encoded = format!("Basic {}", STANDARD.encode(&raw));
            if let Ok(value) = HeaderValue::from_str(&encoded) {
                let _ = parse_basic(&value);
            }
        }

        #[test]
        fn basic_credentials_are_read_back(id in "\\PC{1,30}", secret in "\\PC{0,30}") {
            // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
            let escape = |text: &str| crate::web::params::encode([("", text)])[1..].to_owned();
            let header = format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{}", escape(&id), escape(&secret)))
            );
            let value = HeaderValue::from_str(&header).expect("header");
            prop_assert_eq!(parse_basic(&value), Some((id, secret)));
        }
    }
}
