//! `/.well-known/openid-configuration` and `/.well-known/jwks.json`.

use super::IdpState;
use axum::Json;
use axum::extract::State;

/// The discovery document (OpenID Connect Discovery 1.0 §3).
pub async fn configuration(State(state): State<IdpState>) -> Json<serde_json::Value> {
    let issuer = &state.settings().issuer;
    Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "end_session_endpoint": format!("{issuer}/oauth2/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [state.keys().algorithm().jws_name()],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce",
            "email", "email_verified", "name", "preferred_username"
        ],
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

/// The public signing key set.
pub async fn jwks(State(state): State<IdpState>) -> Json<serde_json::Value> {
    Json(state.keys().jwks())
}
