//! The mock identity provider: an OAuth 2.0 / OpenID Connect authorization server that runs the
//! seed's flow (authorization code grant, SSO session, PKCE) and refuses what a correct server
//! refuses.
//!
//! SSO sessions live in the configured session backend (dashmap, scc or Redis). Authorization
//! codes, grants and refresh tokens live in in-memory stores of this process: the IdP is one
//! instance.

mod authorize;
mod claims;
mod clients;
mod csrf;
mod discovery;
mod error;
mod grants;
mod keys;
mod logout;
mod pages;
mod records;
mod token;
mod userinfo;
mod users;

pub use claims::{AccessClaims, IdClaims, UserClaims};
pub use clients::{Client, ClientRegistry};
pub use csrf::{CSRF_COOKIE, CSRF_FIELD};
pub use error::{IdpError, OAuthError};
pub use keys::{KeyError, SigningAlgorithm, SigningKeys};
pub use records::{CodeRecord, GrantRecord, RefreshRecord};
pub use users::{PasswordHashing, User, UserDirectory};

use crate::session::{
    AnyStore, Clock, DashMapStore, MemoryConfig, SessionId, SessionPolicy, SessionStore,
};
use crate::web::params::Params;
use crate::web::routes::idp as routes;
use crate::web::{cookies, params::MAX_PARAMS_LEN};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;

/// Name of the IdP's SSO cookie.
pub const SSO_COOKIE: &str = "ssobench_idp_sso";

/// Settings of the IdP besides its clients, users and stores.
#[derive(Debug, Clone)]
pub struct IdpSettings {
    /// Full URL the IdP is reached at, e.g. `http://127.0.0.1:9010`; the `iss` of every token.
    pub issuer: String,
    pub code_lifetime: Duration,
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    /// Mark cookies `Secure` (only when served over HTTPS).
    pub secure_cookies: bool,
    /// The clock of the in-memory records (codes, grants, refresh tokens), whose lifetimes are
    /// their stores' policies: the system clock, or a test's manual one.
    pub clock: Clock,
}

impl IdpSettings {
    pub fn new(issuer: impl Into<String>) -> Self {
        IdpSettings {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            code_lifetime: Duration::from_secs(30),
            access_token_lifetime: Duration::from_secs(900),
            refresh_token_lifetime: Duration::from_secs(8 * 3600),
            secure_cookies: false,
            clock: Clock::System,
        }
    }
}

/// The IdP's shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct IdpState {
    inner: Arc<Inner>,
}

/// How many codes, grants and refresh tokens an IdP holds ([`IdpState::held_records`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldRecords {
    pub codes: u64,
    pub grants: u64,
    pub refresh_tokens: u64,
}

#[derive(Debug)]
struct Inner {
    settings: IdpSettings,
    clients: ClientRegistry,
    users: UserDirectory,
    keys: SigningKeys,
    /// SSO sessions: the configured backend.
    sso: AnyStore,
    /// Authorization codes: the record's ID is the code; version 0 until redeemed, then the
    /// grant it produced is recorded in it (so a replay can revoke that grant).
    codes: DashMapStore<CodeRecord>,
    /// One record per redeemed code; its ID is every access token's `grant_id`.
    grants: DashMapStore<GrantRecord>,
    /// Refresh tokens (single use: rotated on every refresh).
    refresh_tokens: DashMapStore<RefreshRecord>,
    /// Tokens that tie the IdP's forms to the browser they were served to.
    csrf: csrf::CsrfKey,
    /// `scheme://host:port` of the issuer: what a same-origin form post names in `Origin`.
    origin: String,
}

impl IdpState {
    /// Builds the IdP around an SSO session store (whose policy is the SSO session's lifetime).
    pub fn new(
        settings: IdpSettings,
        clients: ClientRegistry,
        users: UserDirectory,
        keys: SigningKeys,
        sso: AnyStore,
    ) -> Self {
        let fixed = |lifetime: Duration| SessionPolicy {
            idle: lifetime,
            absolute: lifetime,
        };
        let memory = MemoryConfig {
            clock: settings.clock.clone(),
            ..MemoryConfig::default()
        };
        let codes = DashMapStore::new(fixed(settings.code_lifetime), &memory);
        let grants_lifetime = settings
            .refresh_token_lifetime
            .max(settings.access_token_lifetime);
        let grants = DashMapStore::new(fixed(grants_lifetime), &memory);
        let refresh_tokens = DashMapStore::new(fixed(settings.refresh_token_lifetime), &memory);
        let origin = crate::web::origin::origin_of(&settings.issuer);
        IdpState {
            inner: Arc::new(Inner {
                csrf: csrf::CsrfKey::default(),
                origin,
                settings,
                clients,
                users,
                keys,
                sso,
                codes,
                grants,
                refresh_tokens,
            }),
        }
    }

    /// Unix seconds by the IdP's clock (the one its in-memory stores read): when a login
    /// happened (`auth_time`) and how old it is (`max_age`).
    pub fn now_seconds(&self) -> u64 {
        self.settings().clock.now_millis() / 1000
    }

    pub fn settings(&self) -> &IdpSettings {
        &self.inner.settings
    }

    pub fn keys(&self) -> &SigningKeys {
        &self.inner.keys
    }

    pub fn clients(&self) -> &ClientRegistry {
        &self.inner.clients
    }

    pub fn users(&self) -> &UserDirectory {
        &self.inner.users
    }

    pub fn sso_store(&self) -> &AnyStore {
        &self.inner.sso
    }

    /// The records this IdP holds in its own memory now, expired ones not yet swept included:
    /// what a soak watches grow, and what a logout must free.
    pub async fn held_records(&self) -> Result<HeldRecords, crate::session::StoreError> {
        Ok(HeldRecords {
            codes: self.inner.codes.live_count().await?,
            grants: self.inner.grants.live_count().await?,
            refresh_tokens: self.inner.refresh_tokens.live_count().await?,
        })
    }

    fn csrf(&self) -> &csrf::CsrfKey {
        &self.inner.csrf
    }

    /// Refuses a form post that another site made, or that lacks this browser's token.
    fn check_form_post(&self, headers: &HeaderMap, params: &Params) -> Result<(), IdpError> {
        if crate::web::origin::cross_site(headers, &self.inner.origin) {
            return Err(IdpError::Forbidden(
                "a form posted from another site is refused".into(),
            ));
        }
        if !self.csrf().check(headers, params.get(CSRF_FIELD)) {
            return Err(IdpError::Forbidden(
                "the form's token is missing or was not issued to this browser: load the form again"
                    .into(),
            ));
        }
        Ok(())
    }

    /// An HTML form page: this browser's CSRF cookie when it had none, and headers that forbid
    /// framing it (a form in another site's frame could be clicked through).
    fn form_page(&self, token: &csrf::FormToken, html: String) -> Result<Response, IdpError> {
        let mut response = Html(html).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(cookie) = &token.set_cookie {
            headers.insert(
                header::SET_COOKIE,
                HeaderValue::from_str(cookie)
                    .map_err(|error| IdpError::Internal(error.to_string()))?,
            );
        }
        Ok(response)
    }

    /// The live SSO session named by the request's cookie, extended; `None` for no cookie, a
    /// garbage cookie, or an expired, revoked or ended session (one whose end was cut off
    /// before its record was deleted: ended it is, and the end is finished here).
    async fn sso_session(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<crate::session::Session>, IdpError> {
        let Some(id) = cookies::read(headers, SSO_COOKIE).and_then(SessionId::parse) else {
            return Ok(None);
        };
        match self.inner.sso.load_and_extend(&id).await? {
            Some(session) if grants::is_ended(&session) => {
                grants::end_session(self, &id).await?;
                Ok(None)
            }
            found => Ok(found),
        }
    }
}

/// The IdP's routes.
pub fn router(state: IdpState) -> Router {
    let counts = crate::web::operations::OperationCounts::new(vocabulary::Service::Idp);
    let router = Router::new()
        .route(
            routes::AUTHORIZE,
            get(authorize::show).post(authorize::submit),
        )
        .route(routes::TOKEN, post(token::exchange))
        .route(
            routes::USERINFO,
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(routes::LOGOUT, get(logout::logout).post(logout::logout))
        .route(routes::DISCOVERY, get(discovery::configuration))
        .route(routes::JWKS, get(discovery::jwks))
        .layer(DefaultBodyLimit::max(MAX_PARAMS_LEN))
        .with_state(state);
    crate::web::operations::counted(router, counts)
}

/// Unix seconds by the system clock: tokens' `iat` and `exp`, which relying parties check
/// against their own clocks (a test's manual clock would make them look expired or future).
fn now_seconds() -> u64 {
    crate::session::now_millis() / 1000
}
