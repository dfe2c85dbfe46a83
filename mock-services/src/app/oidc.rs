//! The relying-party side of OpenID Connect: the authorization URL, the server-side code
//! exchange over a pooled HTTP client, and id_token verification against the IdP's JWKS
//! (fetched once, fetched again when a token names an unknown `kid`).

use super::{AppError, AppSettings};
use crate::idp::IdClaims;
use crate::web::params::encode;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The least time between two JWKS fetches triggered by unknown `kid`s, so forged tokens
/// cannot make the app hammer the IdP.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(5);

/// The token endpoint's answer (the fields the app uses).
#[derive(Debug, serde::Deserialize)]
pub struct TokenResponse {
    pub id_token: String,
    #[serde(rename = "userId")]
    pub user_id: String,
}

#[derive(Debug, serde::Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: String,
}

type KeysByKid = Arc<HashMap<String, (DecodingKey, Algorithm)>>;

/// One app's OIDC client.
pub struct OidcClient {
    http: reqwest::Client,
    issuer: String,
    authorize_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    keys: RwLock<KeysByKid>,
    last_fetch: std::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl OidcClient {
    pub fn new(settings: &AppSettings) -> Result<Self, AppError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|error| AppError::Internal(format!("HTTP client: {error}")))?;
        let issuer = settings.idp_url.clone();
        Ok(OidcClient {
            http,
            authorize_endpoint: format!("{issuer}/oauth2/authorize"),
            token_endpoint: format!("{issuer}/oauth2/token"),
            jwks_uri: format!("{issuer}/.well-known/jwks.json"),
            issuer,
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            redirect_uri: settings.redirect_uri(),
            keys: RwLock::new(Arc::new(HashMap::new())),
            last_fetch: std::sync::Mutex::new(None),
        })
    }

    /// The IdP URL a browser is sent to.
    pub fn authorize_url(&self, state: &str, nonce: &str, code_challenge: &str) -> String {
        let query = encode([
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("response_type", "code"),
            ("scope", "openid email"),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", code_challenge),
            ("code_challenge_method", "S256"),
        ]);
        format!("{}?{query}", self.authorize_endpoint)
    }

    /// This app's callback URL, as registered at the IdP.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Exchanges a code server-side, naming the redirect URI its authorization request named
    /// (this instance's, or another's that started the login; this one's when empty). The IdP
    /// refusing is `LoginFailed` (a 4xx for the user); the IdP unreachable is
    /// `IdpUnavailable`.
    pub async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenResponse, AppError> {
        let redirect_uri = if redirect_uri.is_empty() {
            self.redirect_uri.as_str()
        } else {
            redirect_uri
        };
        let response = self
            .http
            .post(&self.token_endpoint)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .map_err(|error| AppError::IdpUnavailable(error.to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| AppError::IdpUnavailable(error.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|error| AppError::IdpUnavailable(format!("token response: {error}")));
        }
        match serde_json::from_slice::<TokenError>(&body) {
            Ok(refusal) if status.is_client_error() => Err(AppError::LoginFailed(format!(
                "the identity provider refused the code: {} ({})",
                refusal.error, refusal.error_description
            ))),
            _ => Err(AppError::IdpUnavailable(format!(
                "token endpoint answered {status}"
            ))),
        }
    }

    /// Verifies signature (key by `kid`), `iss`, `aud`, `exp` and `nonce`.
    pub async fn verify_id_token(&self, token: &str, nonce: &str) -> Result<IdClaims, AppError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|error| AppError::LoginFailed(format!("id_token: {error}")))?;
        let kid = header
            .kid
            .ok_or_else(|| AppError::LoginFailed("id_token has no kid".into()))?;
        let (key, algorithm) = match self.key(&kid) {
            Some(found) => found,
            None => {
                self.refresh_keys().await?;
                self.key(&kid).ok_or_else(|| {
                    AppError::LoginFailed("id_token signed with an unknown key".into())
                })?
            }
        };
        // The key's own algorithm, never the token's claim of one.
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.client_id]);
        validation.leeway = 5;
        let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .map_err(|error| AppError::LoginFailed(format!("id_token: {error}")))?
            .claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(AppError::LoginFailed(
                "id_token nonce does not match this login".into(),
            ));
        }
        Ok(claims)
    }

    fn key(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        let keys = self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.get(kid).cloned()
    }

    async fn refresh_keys(&self) -> Result<(), AppError> {
        {
            let mut last = self
                .last_fetch
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if last.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) && !self.keys_empty() {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        let set: JwkSet = self
            .http
            .get(&self.jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|error| AppError::IdpUnavailable(format!("JWKS: {error}")))?
            .json()
            .await
            .map_err(|error| AppError::IdpUnavailable(format!("JWKS: {error}")))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Some(algorithm)) =
                (jwk.common.key_id.clone(), jwk.common.key_algorithm)
            else {
                continue;
            };
            let algorithm = match algorithm {
                jsonwebtoken::jwk::KeyAlgorithm::RS256 => Algorithm::RS256,
                jsonwebtoken::jwk::KeyAlgorithm::ES256 => Algorithm::ES256,
                _ => continue,
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (key, algorithm));
            }
        }
        *self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(keys);
        Ok(())
    }

    fn keys_empty(&self) -> bool {
        self.keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_empty()
    }
}
