//! The provider an app logs users in through: the bundled mock IdP (its routes are this
//! crate's, nothing is fetched) or any OpenID provider, learnt by discovery (OpenID Connect
//! Discovery 1.0 §4: `{issuer}/.well-known/openid-configuration`, whose `issuer` must be the
//! one configured). A provider that cannot be reached is asked again on a later login, at most
//! once a second, so an app starts whether or not its provider is up.

use super::AppError;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How often an unreachable provider's discovery document is asked for again, at most.
const DISCOVERY_RETRY: Duration = Duration::from_secs(1);

/// How the app authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`): the default, and the one every provider must take.
    Basic,
    /// In the form body (`client_secret_post`): when the provider lists only it.
    Post,
}

/// What the app needs to know of its provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The issuer, as ID tokens and authorization responses name it.
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), when the provider has it
    /// and the app logs out through it.
    pub end_session_endpoint: Option<String>,
    pub client_auth: ClientAuth,
    /// The provider adds `iss` to its authorization responses (RFC 9207): one without it is
    /// then refused.
    pub iss_parameter_supported: bool,
}

impl Provider {
    /// The bundled mock IdP at `issuer`: its routes, HTTP Basic, and logout at the app alone
    /// (the load scenarios log out at the IdP themselves).
    pub fn bundled(issuer: &str) -> Provider {
        use crate::web::routes::idp;
        let issuer = issuer.trim_end_matches('/');
        Provider {
            issuer: issuer.to_owned(),
            authorization_endpoint: format!("{issuer}{}", idp::AUTHORIZE),
            token_endpoint: format!("{issuer}{}", idp::TOKEN),
            jwks_uri: format!("{issuer}{}", idp::JWKS),
            end_session_endpoint: None,
            client_auth: ClientAuth::Basic,
            iss_parameter_supported: false,
        }
    }

    /// Reads a discovery document, which must name `expected_issuer` (a trailing slash aside).
    pub fn from_discovery(expected_issuer: &str, document: &[u8]) -> Result<Provider, String> {
        #[derive(serde::Deserialize)]
        struct Document {
            issuer: String,
            authorization_endpoint: String,
            token_endpoint: String,
            jwks_uri: String,
            #[serde(default)]
            end_session_endpoint: Option<String>,
            #[serde(default)]
            token_endpoint_auth_methods_supported: Option<Vec<String>>,
            #[serde(default)]
            authorization_response_iss_parameter_supported: bool,
            #[serde(default)]
            code_challenge_methods_supported: Option<Vec<String>>,
        }
        let document: Document = serde_json::from_slice(document)
            .map_err(|error| format!("discovery document: {error}"))?;
        if document.issuer.trim_end_matches('/') != expected_issuer.trim_end_matches('/') {
            return Err(format!(
                "discovery document names issuer {:?}, not {expected_issuer:?}",
                document.issuer
            ));
        }
        // Absent, the provider supports client_secret_basic (OpenID Connect Discovery §3).
        let client_auth = match &document.token_endpoint_auth_methods_supported {
            None => ClientAuth::Basic,
            Some(methods) if methods.iter().any(|m| m == "client_secret_basic") => {
                ClientAuth::Basic
            }
            Some(methods) if methods.iter().any(|m| m == "client_secret_post") => ClientAuth::Post,
            Some(methods) => {
                return Err(format!(
                    "the token endpoint takes neither client_secret_basic nor client_secret_post \
                     (it lists {methods:?})"
                ));
            }
        };
        if let Some(methods) = &document.code_challenge_methods_supported
            && !methods.iter().any(|method| method == "S256")
        {
            return Err(format!(
                "the provider lists no PKCE S256 (code_challenge_methods_supported: {methods:?})"
            ));
        }
        // Each endpoint an absolute URL of the issuer's scheme (HTTPS when the issuer is):
        // anything else would become a broken redirect or a downgrade, not a page.
        let https = document.issuer.starts_with("https://");
        let endpoint = |name: &str, value: &str| -> Result<String, String> {
            let url = url::Url::parse(value)
                .map_err(|error| format!("discovery document: {name} {value:?}: {error}"))?;
            match url.scheme() {
                "https" => Ok(url.into()),
                "http" if !https => Ok(url.into()),
                other => Err(format!(
                    "discovery document: {name} {value:?} is {other}://, not {}",
                    if https { "https://" } else { "http(s)://" }
                )),
            }
        };
        Ok(Provider {
            authorization_endpoint: endpoint(
                "authorization_endpoint",
                &document.authorization_endpoint,
            )?,
            token_endpoint: endpoint("token_endpoint", &document.token_endpoint)?,
            jwks_uri: endpoint("jwks_uri", &document.jwks_uri)?,
            end_session_endpoint: document
                .end_session_endpoint
                .as_deref()
                .map(|value| endpoint("end_session_endpoint", value))
                .transpose()?,
            issuer: document.issuer,
            client_auth,
            iss_parameter_supported: document.authorization_response_iss_parameter_supported,
        })
    }
}

/// Where an app's provider metadata comes from.
#[derive(Debug)]
pub enum Metadata {
    /// Known without asking (the bundled IdP).
    Known(Arc<Provider>),
    /// Learnt by discovery, kept once learnt.
    Discovered(Discovery),
}

/// A provider's discovery document, fetched when first needed and kept.
#[derive(Debug)]
pub struct Discovery {
    issuer: String,
    learnt: RwLock<Option<Arc<Provider>>>,
    /// The last failed attempt and why, so that a provider that is down is not asked on
    /// every login.
    failed: Mutex<Option<(Instant, String)>>,
    /// One fetch at a time: logins that arrive while it runs wait and take its result.
    fetching: tokio::sync::Mutex<()>,
}

impl Metadata {
    /// Discovery of the provider at `issuer`.
    pub fn discover(issuer: &str) -> Metadata {
        Metadata::Discovered(Discovery {
            issuer: issuer.trim_end_matches('/').to_owned(),
            learnt: RwLock::new(None),
            failed: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The provider, fetched first if it has not been learnt; a provider that cannot be
    /// reached or answers nonsense is [`AppError::IdpUnavailable`].
    pub async fn provider(&self, http: &reqwest::Client) -> Result<Arc<Provider>, AppError> {
        let discovery = match self {
            Metadata::Known(provider) => return Ok(Arc::clone(provider)),
            Metadata::Discovered(discovery) => discovery,
        };
        if let Some(provider) = discovery.learnt() {
            return Ok(provider);
        }
        let _one_at_a_time = discovery.fetching.lock().await;
        if let Some(provider) = discovery.learnt() {
            return Ok(provider);
        }
        {
            let failed = discovery
                .failed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((at, reason)) = failed.as_ref()
                && at.elapsed() < DISCOVERY_RETRY
            {
                return Err(AppError::IdpUnavailable(reason.clone()));
            }
        }
        match discovery.fetch(http).await {
            Ok(provider) => {
                let provider = Arc::new(provider);
                *discovery
                    .learnt
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::clone(&provider));
                Ok(provider)
            }
            Err(reason) => {
                *discovery
                    .failed
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                    Some((Instant::now(), reason.clone()));
                Err(AppError::IdpUnavailable(reason))
            }
        }
    }
}

impl Discovery {
    fn learnt(&self) -> Option<Arc<Provider>> {
        self.learnt
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Provider, String> {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let response = http
            .get(&url)
            .send()
            .await
            .map_err(|error| format!("discovery at {url}: {error}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("discovery at {url}: status {status}"));
        }
        let body = response
            .bytes()
            .await
            .map_err(|error| format!("discovery at {url}: {error}"))?;
        Provider::from_discovery(&self.issuer, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(extra: &str) -> Vec<u8> {
        format!(
            r#"{{"issuer":"https://op.test","authorization_endpoint":"https://op.test/auth",
               "token_endpoint":"https://op.test/token","jwks_uri":"https://op.test/jwks"{extra}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn a_discovery_document_gives_the_endpoints_and_the_client_authentication() {
        let provider = Provider::from_discovery("https://op.test/", &document("")).expect("read");
        assert_eq!(provider.token_endpoint, "https://op.test/token");
        assert_eq!(provider.client_auth, ClientAuth::Basic);
        assert_eq!(provider.end_session_endpoint, None);
        assert!(!provider.iss_parameter_supported);
        let provider = Provider::from_discovery(
            "https://op.test",
            &document(
                r#","token_endpoint_auth_methods_supported":["client_secret_post","private_key_jwt"],
                   "end_session_endpoint":"https://op.test/session/end",
                   "authorization_response_iss_parameter_supported":true"#,
            ),
        )
        .expect("read");
        assert_eq!(provider.client_auth, ClientAuth::Post);
        assert_eq!(
            provider.end_session_endpoint.as_deref(),
            Some("https://op.test/session/end")
        );
        assert!(provider.iss_parameter_supported);
    }

    #[test]
    fn a_document_of_another_issuer_or_without_what_is_needed_is_refused() {
        let other =
            Provider::from_discovery("https://evil.test", &document("")).expect_err("issuer");
        assert!(other.contains("evil.test"), "{other}");
        let methods = Provider::from_discovery(
            "https://op.test",
            &document(r#","token_endpoint_auth_methods_supported":["private_key_jwt"]"#),
        )
        .expect_err("auth");
        assert!(methods.contains("client_secret_basic"), "{methods}");
        let pkce = Provider::from_discovery(
            "https://op.test",
            &document(r#","code_challenge_methods_supported":["plain"]"#),
        )
        .expect_err("pkce");
        assert!(pkce.contains("S256"), "{pkce}");
        assert!(Provider::from_discovery("https://op.test", b"{}").is_err());
        let downgrade = Provider::from_discovery(
            "https://op.test",
            br#"{"issuer":"https://op.test","authorization_endpoint":"http://op.test/auth",
                 "token_endpoint":"https://op.test/token","jwks_uri":"https://op.test/jwks"}"#,
        )
        .expect_err("an http endpoint of an https issuer");
        assert!(downgrade.contains("authorization_endpoint"), "{downgrade}");
        let broken = Provider::from_discovery(
            "https://op.test",
            &document(r#","end_session_endpoint":"not a url\r\n""#),
        )
        .expect_err("a broken endpoint");
        assert!(broken.contains("end_session_endpoint"), "{broken}");
        assert!(Provider::from_discovery("https://op.test", b"<html>").is_err());
    }
}
