//! The claims of the tokens the IdP issues; relying parties deserialize the same structs.

use serde::{Deserialize, Serialize};

/// Claims of an access token (a JWT the IdP's own userinfo endpoint accepts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    /// The client the token was issued to.
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    /// The grant the token belongs to; revoking the grant revokes the token.
    pub jti: String,
    pub scope: String,
    pub client_id: String,
}

/// Claims of an OpenID Connect id_token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    /// When the user last entered their password (Unix seconds), not when this token was made.
    pub auth_time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub email: String,
}
