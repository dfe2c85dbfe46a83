//! `GET|POST /oauth2/userinfo`: the user behind a Bearer access token (RFC 6750 §2.1).

use super::claims::AccessClaims;
use super::{IdpError, IdpState};
use crate::session::{SessionId, SessionStore};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};

/// Checks signature, issuer and expiry, then that the token's grant was not revoked.
pub async fn userinfo(
    State(state): State<IdpState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, IdpError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(IdpError::Bearer(None));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|text| text.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| IdpError::Bearer(Some("malformed Authorization header".into())))?;
    let claims: AccessClaims = state
        .keys()
        .verify(token, &state.settings().issuer, None)
        .map_err(|error| IdpError::Bearer(Some(error.to_string())))?;
    let live = match SessionId::parse(&claims.jti) {
        Some(grant) => state.inner.grants.load(&grant).await?.is_some(),
        None => false,
    };
    if !live {
        return Err(IdpError::Bearer(Some("token was revoked".into())));
    }
    let user = state
        .users()
        .by_sub(&claims.sub)
        .ok_or_else(|| IdpError::Bearer(Some("unknown subject".into())))?;
    Ok(Json(serde_json::json!({
        "sub": user.sub,
        "email": user.login_id,
        "email_verified": true,
        "preferred_username": user.login_id,
    })))
}
