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
    /// This token's own ID: 128 random bits, never repeated (RFC 7519 §4.1.7, RFC 9068 §2.2).
    pub jti: String,
    /// The grant the token belongs to (a code's redemption and its refreshes share it);
    /// revoking the grant revokes the token.
    pub grant_id: String,
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
    /// With scope `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// With scope `profile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
}

/// The claims about a user that `scope` grants, for the id_token and userinfo: `email` and
/// `email_verified` with `email`, `name` and `preferred_username` with `profile`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
}

impl UserClaims {
    pub fn granted(user: &super::User, scope: &str) -> Self {
        let has = |wanted: &str| scope.split(' ').any(|s| s == wanted);
        let mut claims = UserClaims::default();
        if has("email") {
            claims.email = Some(user.login_id.clone());
            claims.email_verified = Some(true);
        }
        if has("profile") {
            claims.name = Some(user.name.clone());
            claims.preferred_username = Some(user.login_id.clone());
        }
        claims
    }
}
