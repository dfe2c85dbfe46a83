//! The relying-party side of OpenID Connect: the authorization URL (PKCE S256, state, nonce),
//! the authorization response's `iss` (RFC 9207), the server-side code exchange over a pooled
//! HTTP client (HTTP Basic, or the form body where the provider takes only that), the ID
//! token verified against the provider's JWKS (fetched once, fetched again when a token names
//! an unknown key; RS256, ES256, EdDSA and the rest jsonwebtoken verifies), and the URL of an
//! RP-initiated logout.

use super::provider::{ClientAuth, Metadata, Provider};
use super::{AppError, AppSettings};
use crate::web::params::encode;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The least time between two JWKS fetches triggered by unknown `kid`s, so forged tokens
/// cannot make the app hammer the provider.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(5);
/// The least time between two JWKS fetches after one failed.
const JWKS_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// The token endpoint's answer (the fields the app uses).
#[derive(Debug, serde::Deserialize)]
pub struct TokenResponse {
    pub id_token: String,
    /// The bundled IdP's own field: the user's ID, which must be the ID token's subject.
    #[serde(rename = "userId", default)]
    pub user_id: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// The ID token claims the app reads (issuer, audience and expiry are checked by
/// jsonwebtoken, whatever shape the audience has).
#[derive(Debug, serde::Deserialize)]
pub struct IdTokenClaims {
    pub sub: String,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// A signing key of the provider's: its `kid` (some key sets have one key and no `kid`) and
/// the one algorithm it verifies.
#[derive(Clone)]
struct Key {
    kid: Option<String>,
    key: DecodingKey,
    algorithm: Algorithm,
}

/// One app's OIDC client.
pub struct OidcClient {
    http: reqwest::Client,
    metadata: Metadata,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    keys: RwLock<Arc<Vec<Key>>>,
    /// One JWKS fetch at a time: logins that meet an unknown key while it runs wait for it and
    /// look again, rather than each fetching. Holds when the last fetch began and whether it
    /// failed.
    fetching: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("metadata", &self.metadata)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl OidcClient {
    /// The client of `settings`' provider: the bundled IdP, or one learnt by discovery.
    pub fn new(settings: &AppSettings) -> Result<Self, AppError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(256);
        if let Some(path) = &settings.ca_cert {
            let pem = std::fs::read(path).map_err(|error| {
                AppError::Internal(format!("--ca-cert {}: {error}", path.display()))
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| {
                AppError::Internal(format!("--ca-cert {}: {error}", path.display()))
            })?;
            builder = builder.tls_certs_merge(certificates);
        }
        let http = builder
            .build()
            .map_err(|error| AppError::Internal(format!("HTTP client: {error}")))?;
        let metadata = if settings.discover {
            Metadata::discover(&settings.idp_url)
        } else {
            Metadata::Known(Arc::new(Provider::bundled(&settings.idp_url)))
        };
        Ok(OidcClient {
            http,
            metadata,
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            redirect_uri: settings.redirect_uri(),
            keys: RwLock::new(Arc::new(Vec::new())),
            fetching: tokio::sync::Mutex::new(None),
        })
    }

    /// The provider (fetching its discovery document when not yet learnt).
    pub async fn provider(&self) -> Result<Arc<Provider>, AppError> {
        self.metadata.provider(&self.http).await
    }

    /// The provider URL a browser is sent to.
    pub async fn authorize_url(
        &self,
        state: &str,
        nonce: &str,
        code_challenge: &str,
    ) -> Result<String, AppError> {
        let provider = self.provider().await?;
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
        let separator = if provider.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!(
            "{}{separator}{query}",
            provider.authorization_endpoint
        ))
    }

    /// Checks the authorization response's `iss` (RFC 9207 §2.4): when present it must be the
    /// provider's issuer, and a provider that says it sends one must have.
    pub async fn check_issuer(&self, iss: Option<&str>) -> Result<(), AppError> {
        let provider = self.provider().await?;
        match iss {
            Some(iss) if iss != provider.issuer => Err(AppError::LoginFailed(format!(
                "the authorization response names issuer {iss:?}, not {:?} (mix-up?)",
                provider.issuer
            ))),
            None if provider.iss_parameter_supported => Err(AppError::LoginFailed(
                "the authorization response has no iss, which this provider always sends".into(),
            )),
            _ => Ok(()),
        }
    }

    /// This app's callback URL, as registered at the provider.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Where the browser goes to log out at the provider too (RP-initiated logout), coming
    /// back to `post_logout`; `None` when the provider has no end-session endpoint (or is the
    /// bundled IdP, whose logout the load scenarios do themselves). A provider that cannot be
    /// reached is an error, not a quiet logout at the app alone.
    pub async fn end_session_url(&self, post_logout: &str) -> Result<Option<String>, AppError> {
        let provider = self.provider().await?;
        let Some(endpoint) = provider.end_session_endpoint.as_ref() else {
            return Ok(None);
        };
        let query = encode([
            ("client_id", self.client_id.as_str()),
            ("post_logout_redirect_uri", post_logout),
        ]);
        let separator = if endpoint.contains('?') { '&' } else { '?' };
        Ok(Some(format!("{endpoint}{separator}{query}")))
    }

    /// Exchanges a code server-side, naming the redirect URI its authorization request named
    /// (this instance's, or another's that started the login; this one's when empty). The
    /// provider refusing is `LoginFailed` (a 4xx for the user); the provider unreachable is
    /// `IdpUnavailable`.
    pub async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenResponse, AppError> {
        let provider = self.provider().await?;
        let redirect_uri = if redirect_uri.is_empty() {
            self.redirect_uri.as_str()
        } else {
            redirect_uri
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let request = self.http.post(&provider.token_endpoint);
        let request = match provider.client_auth {
            ClientAuth::Basic => {
                let (id, secret) = basic_credentials(&self.client_id, &self.client_secret);
                request.basic_auth(id, Some(secret))
            }
            ClientAuth::Post => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", &self.client_secret));
                request
            }
        };
        let response = request
            .form(&form)
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

    /// Verifies signature (the key by `kid`, with the key's own algorithm), `iss`, `aud`,
    /// `exp` and `nonce`.
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: &str,
    ) -> Result<IdTokenClaims, AppError> {
        let provider = self.provider().await?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|error| AppError::LoginFailed(format!("id_token: {error}")))?;
        let kid = header.kid.as_deref();
        let key = match self.key(kid) {
            Some(found) => found,
            None => {
                self.refresh_keys(&provider, kid).await?;
                self.key(kid).ok_or_else(|| {
                    AppError::LoginFailed("id_token signed with an unknown key".into())
                })?
            }
        };
        // The key's own algorithm, never the token's claim of one.
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&provider.issuer]);
        validation.set_audience(&[&self.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        let claims = jsonwebtoken::decode::<IdTokenClaims>(token, &key.key, &validation)
            .map_err(|error| AppError::LoginFailed(format!("id_token: {error}")))?
            .claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(AppError::LoginFailed(
                "id_token nonce does not match this login".into(),
            ));
        }
        Ok(claims)
    }

    /// The key a token names by `kid`; a token without one takes the set's only key.
    fn key(&self, kid: Option<&str>) -> Option<Key> {
        let keys = self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match kid {
            Some(kid) => keys
                .iter()
                .find(|key| key.kid.as_deref() == Some(kid))
                .cloned(),
            None if keys.len() == 1 => keys.first().cloned(),
            None => None,
        }
    }

    /// Fetches the provider's keys again, for a token that names `kid`: one fetch at a time
    /// (a login that waited finds the key another fetched), at most once per
    /// [`JWKS_REFETCH_INTERVAL`] after a success and once per [`JWKS_RETRY_INTERVAL`] after a
    /// failure, so forged tokens and an unreachable provider cannot make the app hammer it.
    async fn refresh_keys(&self, provider: &Provider, kid: Option<&str>) -> Result<(), AppError> {
        let mut last = self.fetching.lock().await;
        if self.key(kid).is_some() {
            return Ok(());
        }
        match *last {
            Some((at, false)) if at.elapsed() < JWKS_REFETCH_INTERVAL => return Ok(()),
            Some((at, true)) if at.elapsed() < JWKS_RETRY_INTERVAL => {
                return Err(AppError::IdpUnavailable(
                    "JWKS: the last fetch failed a moment ago".into(),
                ));
            }
            _ => {}
        }
        let fetched = self.fetch_keys(provider).await;
        *last = Some((Instant::now(), fetched.is_err()));
        fetched
    }

    async fn fetch_keys(&self, provider: &Provider) -> Result<(), AppError> {
        let set: JwkSet = self
            .http
            .get(&provider.jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|error| AppError::IdpUnavailable(format!("JWKS: {error}")))?
            .json()
            .await
            .map_err(|error| AppError::IdpUnavailable(format!("JWKS: {error}")))?;
        let keys: Vec<Key> = set
            .keys
            .iter()
            .filter(|jwk| {
                // Signing keys only (`use` absent or `sig`).
                jwk.common
                    .public_key_use
                    .as_ref()
                    .is_none_or(|usage| *usage == jsonwebtoken::jwk::PublicKeyUse::Signature)
            })
            .filter_map(|jwk| {
                let algorithm = signing_algorithm(jwk)?;
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some(Key {
                    kid: jwk.common.key_id.clone(),
                    key,
                    algorithm,
                })
            })
            .collect();
        *self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(keys);
        Ok(())
    }
}

/// A client's id and secret as HTTP Basic carries them: each form-urlencoded first (RFC 6749
/// §2.3.1), so that a `:` in the id cannot be read as the separator.
fn basic_credentials(id: &str, secret: &str) -> (String, String) {
    let escape = |text: &str| encode([("", text)])[1..].to_owned();
    (escape(id), escape(secret))
}

/// The algorithm a JWK verifies: its `alg`, or, where it has none (`alg` is optional, RFC 7517
/// §4.4), the one its key type and curve imply. Keys for other uses (HMAC secrets, encryption)
/// give none.
fn signing_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    if let Some(algorithm) = jwk.common.key_algorithm {
        return match algorithm {
            KeyAlgorithm::RS256 => Some(Algorithm::RS256),
            KeyAlgorithm::RS384 => Some(Algorithm::RS384),
            KeyAlgorithm::RS512 => Some(Algorithm::RS512),
            KeyAlgorithm::PS256 => Some(Algorithm::PS256),
            KeyAlgorithm::PS384 => Some(Algorithm::PS384),
            KeyAlgorithm::PS512 => Some(Algorithm::PS512),
            KeyAlgorithm::ES256 => Some(Algorithm::ES256),
            KeyAlgorithm::ES384 => Some(Algorithm::ES384),
            KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
            _ => None,
        };
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(params) => {
            (params.curve == EllipticCurve::Ed25519).then_some(Algorithm::EdDSA)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(json: &str) -> Jwk {
        serde_json::from_str(json).expect("jwk")
    }

    #[test]
    fn basic_credentials_are_form_urlencoded_first() {
        assert_eq!(
            basic_credentials("shop:1", "s3cr:t/+x %"),
            ("shop%3A1".to_owned(), "s3cr%3At%2F%2Bx+%25".to_owned())
        );
        assert_eq!(
            basic_credentials("store", "store-secret"),
            ("store".to_owned(), "store-secret".to_owned())
        );
    }

    #[test]
    fn a_key_without_alg_takes_its_types_algorithm() {
        let rsa = jwk(r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#);
        assert_eq!(signing_algorithm(&rsa), Some(Algorithm::RS256));
        let ec = jwk(r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#);
        assert_eq!(signing_algorithm(&ec), Some(Algorithm::ES256));
        let ed = jwk(r#"{"kty":"OKP","crv":"Ed25519","x":"AA"}"#);
        assert_eq!(signing_algorithm(&ed), Some(Algorithm::EdDSA));
        let named = jwk(r#"{"kty":"RSA","alg":"PS256","n":"AQAB","e":"AQAB"}"#);
        assert_eq!(signing_algorithm(&named), Some(Algorithm::PS256));
        let secret = jwk(r#"{"kty":"oct","k":"AA"}"#);
        assert_eq!(signing_algorithm(&secret), None);
    }
}
