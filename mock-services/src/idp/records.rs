//! The IdP's own records, typed: what an authorization code, a grant and a refresh token hold.
//! They live in in-memory stores generic over their payload, so a misspelled field does not
//! compile and nothing unused (no cart, no attribute map) is stored.

use crate::session::{Payload, SessionId};

/// An authorization code (its store record's ID is the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    /// When the user entered their password, Unix seconds.
    pub auth_time: u64,
    /// PKCE S256 challenge, when the request carried one.
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    /// The grant this code was redeemed for (version 1); `None` until then. A replay of the code
    /// revokes it.
    pub grant: Option<SessionId>,
    /// The SSO session the code was issued under: the grant it is redeemed for is listed there,
    /// and revoked when that session is ended.
    pub sso: SessionId,
}

/// What a redeemed code granted (its record's ID is every access token's `grant_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub client_id: String,
    pub scope: String,
    pub auth_time: u64,
    /// The grant's live refresh token (each refresh replaces it), so that revoking the grant
    /// frees its token at once rather than at the token's expiry.
    pub refresh: Option<SessionId>,
    /// Set, with a compare-and-swap save, as the grant is revoked, just before its record is
    /// deleted: a refresh token minted meanwhile finds it and frees itself.
    pub revoked: bool,
}

/// A refresh token (its record's ID is the token), single use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshRecord {
    pub grant: SessionId,
}

// Every record is specific to one code, grant or token: none has a shared empty form.
impl Payload for CodeRecord {}
impl Payload for GrantRecord {}
impl Payload for RefreshRecord {}
