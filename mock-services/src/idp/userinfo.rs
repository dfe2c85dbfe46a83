//! `GET|POST /oauth2/userinfo`: the user behind a Bearer access token — in the
//! `Authorization` header (RFC 6750 §2.1) or, for a POST, the `access_token` form field
//! (§2.2) — with the claims its scope grants.

use super::claims::{AccessClaims, UserClaims};
use super::{IdpError, IdpState};
use crate::session::{SessionId, SessionStore};
use crate::web::params::{Params, is_form};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, Method, header};

/// Checks signature, issuer and expiry, then that the token's grant was not revoked.
pub async fn userinfo(
    State(state): State<IdpState>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, IdpError> {
    let from_body = if method == Method::POST && is_form(&headers) {
        let body = body.map_err(|rejection| IdpError::Bearer(Some(rejection.body_text())))?;
        let params =
            Params::parse(&body).map_err(|error| IdpError::Bearer(Some(error.to_string())))?;
        params.get("access_token").map(str::to_owned)
    } else {
        None
    };
    let from_header = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim().to_owned())
                .ok_or_else(|| IdpError::Bearer(Some("malformed Authorization header".into())))?,
        ),
    };
    let token = match (from_header, from_body) {
        (Some(_), Some(_)) => {
            return Err(IdpError::Bearer(Some(
                "send the token once: in the header or in the body".into(),
            )));
        }
        (Some(token), None) | (None, Some(token)) => token,
        (None, None) => return Err(IdpError::Bearer(None)),
    };
    let claims: AccessClaims = state
        .keys()
        .verify(&token, &state.settings().issuer, None)
        .map_err(|error| IdpError::Bearer(Some(error.to_string())))?;
    let live = match SessionId::parse(&claims.grant_id) {
        Some(grant) => state
            .inner
            .grants
            .load(&grant)
            .await?
            .is_some_and(|grant| !grant.data.revoked),
        None => false,
    };
    if !live {
        return Err(IdpError::Bearer(Some("token was revoked".into())));
    }
    let user = state
        .users()
        .by_sub(&claims.sub)
        .ok_or_else(|| IdpError::Bearer(Some("unknown subject".into())))?;
    let mut answer = serde_json::to_value(UserClaims::granted(&user, &claims.scope))
        .map_err(|error| IdpError::Internal(error.to_string()))?;
    answer["sub"] = serde_json::Value::String(user.sub);
    Ok(Json(answer))
}
