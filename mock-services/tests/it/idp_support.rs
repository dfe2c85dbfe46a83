//! An in-process IdP for tests, and helpers that speak its protocol through `oneshot`.

use crate::support::{redis_config, start_redis};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::BodyExt as _;
use mock_services::cli::Backend;
use mock_services::idp::{
    self, Client, ClientRegistry, IdpSettings, IdpState, PasswordHashing, SigningAlgorithm,
    SigningKeys, UserDirectory,
};
use mock_services::idp::{CSRF_COOKIE, CSRF_FIELD};
use mock_services::local_redis::LocalRedis;
use mock_services::session::{
    Clock, ManualClock, MemoryConfig, SessionPolicy, StoreConfig, build_store,
};
use mock_services::stack::default_clients;
use mock_services::web::params::encode;
use std::time::Duration;
use tower::ServiceExt as _;

pub const ISSUER: &str = "http://127.0.0.1:9010";
pub const STORE_CALLBACK: &str = "http://127.0.0.2:9011/oauth-callback";
pub const FORUMS_CALLBACK: &str = "http://127.0.0.3:9012/oauth-callback";
pub const LEGACY_CALLBACK: &str = "http://127.0.0.4:9013/cb";
/// RFC 7636 appendix B's example verifier.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn challenge(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// Knobs for one test's IdP.
pub struct Options {
    /// Where SSO sessions live.
    pub sso_backend: Backend,
    pub code_lifetime: Duration,
    pub sso_idle: Duration,
    pub signing: SigningAlgorithm,
    pub hashing: PasswordHashing,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sso_backend: Backend::Dashmap,
            code_lifetime: Duration::from_secs(30),
            sso_idle: Duration::from_secs(3600),
            signing: SigningAlgorithm::Rs256,
            hashing: PasswordHashing::Plain,
        }
    }
}

/// The pre-registered clients plus `legacy`, which does not require PKCE.
pub fn clients() -> ClientRegistry {
    let mut clients = default_clients("http://127.0.0.2:9011", "http://127.0.0.3:9012");
    clients.push(Client {
        id: "legacy".into(),
        secret: "legacy-secret".into(),
        redirect_uris: vec![LEGACY_CALLBACK.into()],
        post_logout_redirect_uris: vec!["http://127.0.0.4:9013/bye".into()],
        require_pkce: false,
    });
    ClientRegistry::new(clients)
}

/// An IdP state whose issuer is `issuer` (the URL it is really reached at, over a socket), and
/// the redis-server behind its SSO store, if any, which must outlive it.
pub async fn state_at(
    options: Options,
    issuer: &str,
    clock: &ManualClock,
) -> (IdpState, Option<LocalRedis>) {
    let memory = MemoryConfig {
        clock: Clock::Manual(clock.clone()),
        ..MemoryConfig::default()
    };
    let (config, redis) = match StoreConfig::in_memory(options.sso_backend, memory) {
        Some(config) => (config, None),
        None => {
            let redis = start_redis();
            (StoreConfig::Redis(redis_config(&redis)), Some(redis))
        }
    };
    let sso = build_store(
        &config,
        SessionPolicy {
            idle: options.sso_idle,
            absolute: Duration::from_secs(86_400),
        },
    )
    .await
    .expect("sso store");
    let mut settings = IdpSettings::new(issuer);
    settings.code_lifetime = options.code_lifetime;
    settings.clock = Clock::Manual(clock.clone());
    let users = UserDirectory::new(100, "password", options.hashing).expect("users");
    let keys = SigningKeys::generate(options.signing).expect("keys");
    (IdpState::new(settings, clients(), users, keys, sso), redis)
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> Option<url::Url> {
        let text = self.headers.get(header::LOCATION)?.to_str().ok()?;
        url::Url::parse(text).ok()
    }

    pub fn location_param(&self, name: &str) -> Option<String> {
        self.location()?
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// `name=value` of the Set-Cookie header setting `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with(&format!("{name}=")))
            .and_then(|value| value.split(';').next())
            .map(str::to_owned)
    }
}

/// The IdP's router driven in-process.
pub struct Idp {
    pub state: IdpState,
    /// The clock of the IdP's in-memory stores (records, and SSO sessions unless on Redis).
    pub clock: ManualClock,
    router: Router,
    _redis: Option<LocalRedis>,
}

/// Authorization parameters: the defaults for `store`, with overrides (`None` removes one).
pub fn authorize_params(overrides: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    let challenge = challenge(VERIFIER);
    let mut params: Vec<(String, Option<String>)> = [
        ("client_id", "store"),
        ("redirect_uri", STORE_CALLBACK),
        ("response_type", "code"),
        ("scope", "openid email"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), Some(v.to_string())))
    .collect();
    for (name, value) in overrides {
        match params.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value.map(str::to_owned),
            None => params.push((name.to_string(), value.map(str::to_owned))),
        }
    }
    params
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

/// The CSRF token of the IdP form in `html`, if it holds one.
pub fn csrf_token(html: &str) -> Option<String> {
    let marker = format!("name=\"{CSRF_FIELD}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

pub fn form(pairs: &[(String, String)]) -> String {
    encode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

impl Idp {
    pub async fn new(options: Options) -> Self {
        let clock = ManualClock::new();
        let (state, redis) = state_at(options, ISSUER, &clock).await;
        Idp {
            router: idp::router(state.clone()),
            state,
            clock,
            _redis: redis,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible router");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path_and_query: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(path_and_query);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }

    pub async fn post_form(
        &self,
        path: &str,
        body: impl Into<Body>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        self.send(request.body(body.into()).expect("request")).await
    }

    pub async fn authorize(
        &self,
        overrides: &[(&str, Option<&str>)],
        cookie: Option<&str>,
    ) -> Reply {
        self.get(
            &format!("/oauth2/authorize?{}", form(&authorize_params(overrides))),
            cookie,
        )
        .await
    }

    /// Password login through the form's POST, as a browser does it: the form first (its CSRF
    /// cookie and token), then the POST with them.
    pub async fn login(
        &self,
        overrides: &[(&str, Option<&str>)],
        login_id: &str,
        password: &str,
    ) -> Reply {
        self.login_holding(overrides, login_id, password, None)
            .await
    }

    /// [`Idp::login`] from a browser that also holds `cookie` (`name=value`).
    pub async fn login_holding(
        &self,
        overrides: &[(&str, Option<&str>)],
        login_id: &str,
        password: &str,
        cookie: Option<&str>,
    ) -> Reply {
        let page = self.authorize(overrides, None).await;
        let mut params = authorize_params(overrides);
        let mut cookies: Vec<String> = cookie.map(str::to_owned).into_iter().collect();
        if let Some(token) = csrf_token(&page.body) {
            params.push((CSRF_FIELD.into(), token));
        }
        cookies.extend(page.cookie(CSRF_COOKIE));
        params.push(("loginId".into(), login_id.into()));
        params.push(("password".into(), password.into()));
        let header = cookies.join("; ");
        let extra: Vec<(&str, &str)> = if header.is_empty() {
            Vec::new()
        } else {
            vec![("cookie", header.as_str())]
        };
        self.post_form("/oauth2/authorize", form(&params), &extra)
            .await
    }

    /// A fresh code for `store` (PKCE with [`VERIFIER`]) from a password login.
    pub async fn code(&self) -> String {
        self.code_for(&[]).await
    }

    pub async fn code_for(&self, overrides: &[(&str, Option<&str>)]) -> String {
        let reply = self.login(overrides, "user7@example.com", "password").await;
        assert_eq!(reply.status, StatusCode::FOUND, "{reply:?}");
        reply.location_param("code").expect("code in Location")
    }

    /// `POST /oauth2/token` with Basic credentials (`None`: no Authorization header).
    pub async fn token(&self, pairs: &[(&str, &str)], basic: Option<(&str, &str)>) -> Reply {
        let body = encode(pairs.iter().copied());
        let authorization = basic
            .map(|(id, secret)| format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))));
        match authorization {
            Some(value) => {
                self.post_form("/oauth2/token", body, &[("authorization", value.as_str())])
                    .await
            }
            None => self.post_form("/oauth2/token", body, &[]).await,
        }
    }

    /// Redeems `code` for `store` with the right verifier.
    pub async fn redeem(&self, code: &str) -> Reply {
        self.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", STORE_CALLBACK),
                ("code_verifier", VERIFIER),
            ],
            Some(("store", "store-secret")),
        )
        .await
    }

    pub async fn userinfo(&self, access_token: &str) -> Reply {
        let request = Request::get("/oauth2/userinfo")
            .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }
}
