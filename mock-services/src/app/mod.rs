//! The two web apps of the flow, store (shopping cart) and forums, as one implementation: they
//! differ only in names, landing page and the store's cart writes ([`AppKind`]).
//!
//! Each keeps server-side sessions in the configured backend, logs users in through the bundled
//! IdP or any OpenID provider (authorization code grant, state, nonce, PKCE S256, `iss`, the
//! client secret as the provider takes it), and verifies the ID token against the provider's
//! JWKS.

mod error;
mod gauges;
mod login;
mod oidc;
mod pages;
mod pages_store;
pub mod provider;
mod session;

pub use error::AppError;
pub use session::{LoggedIn, SameSite};

use crate::session::{AnyStore, SessionPolicy};
use crate::web::routes::app as routes;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use oidc::OidcClient;
use std::sync::Arc;
use std::time::Duration;

/// Which app this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AppKind {
    Store,
    Forums,
}

impl AppKind {
    /// The service this app is.
    pub const fn service(self) -> vocabulary::Service {
        match self {
            AppKind::Store => vocabulary::Service::Store,
            AppKind::Forums => vocabulary::Service::Forums,
        }
    }

    /// Lower-case name: client id, cookie and key prefixes (the service's name).
    pub fn name(self) -> &'static str {
        self.service().name()
    }

    /// Where a fresh login lands.
    pub fn landing_path(self) -> &'static str {
        match self {
            AppKind::Store => routes::CART,
            AppKind::Forums => routes::POSTS,
        }
    }

    /// The marker of the landing page.
    pub fn landing_marker(self) -> &'static str {
        match self {
            AppKind::Store => crate::web::routes::markers::CART,
            AppKind::Forums => crate::web::routes::markers::POSTS,
        }
    }

    /// The session cookie's name; distinct per app because browsers share cookies across ports.
    pub fn session_cookie(self) -> &'static str {
        match self {
            AppKind::Store => "ssobench_store_session",
            AppKind::Forums => "ssobench_forums_session",
        }
    }

    /// The short-lived cookie that binds state, nonce and PKCE verifier to the browser.
    pub fn prelogin_cookie(self) -> &'static str {
        match self {
            AppKind::Store => "ssobench_store_prelogin",
            AppKind::Forums => "ssobench_forums_prelogin",
        }
    }

    fn title(self) -> &'static str {
        match self {
            AppKind::Store => "Store",
            AppKind::Forums => "Forums",
        }
    }
}

/// When a session moves to a fresh ID. Both off by default: each costs a session write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Rotate after this many requests on one ID.
    pub every_requests: Option<u32>,
    /// Rotate once an ID is this old.
    pub every: Option<Duration>,
}

impl RotationPolicy {
    fn enabled(&self) -> bool {
        self.every_requests.is_some() || self.every.is_some()
    }
}

/// An app's settings.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub kind: AppKind,
    /// The URL this app is reached at (its redirect URI is `{base_url}/oauth-callback`).
    pub base_url: String,
    /// The IdP's issuer URL; endpoints are derived from it.
    pub idp_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub policy: SessionPolicy,
    pub rotation: RotationPolicy,
    /// Mark cookies `Secure` (only behind HTTPS).
    pub secure_cookies: bool,
    /// Learn the provider by discovery (any OpenID provider at `idp_url`), rather than take the
    /// bundled IdP's routes.
    pub discover: bool,
    /// A PEM file of CA certificates trusted, besides the platform's roots, for the provider's
    /// HTTPS endpoints.
    pub ca_cert: Option<std::path::PathBuf>,
    /// CPU every session lookup spends besides its own (`--handicap`, a test device).
    pub lookup_handicap: Option<Duration>,
}

impl AppSettings {
    /// Defaults for `kind` at `base_url` against the IdP at `idp_url`.
    pub fn new(kind: AppKind, base_url: &str, idp_url: &str) -> Self {
        AppSettings {
            kind,
            base_url: base_url.trim_end_matches('/').to_owned(),
            idp_url: idp_url.trim_end_matches('/').to_owned(),
            client_id: kind.name().to_owned(),
            client_secret: format!("{}-secret", kind.name()),
            policy: SessionPolicy::default(),
            rotation: RotationPolicy::default(),
            secure_cookies: false,
            discover: false,
            ca_cert: None,
            lookup_handicap: None,
        }
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}/oauth-callback", self.base_url)
    }
}

/// An app's shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: AppSettings,
    sessions: AnyStore,
    /// Pre-login records (state, nonce, PKCE verifier), in the same backend as sessions so a
    /// callback may land on another instance.
    prelogins: AnyStore,
    oidc: OidcClient,
    /// `scheme://host:port` of `base_url`: what this app's own form posts name in `Origin`.
    origin: String,
}

impl AppState {
    /// `sessions` carries the app's session policy; `prelogins` a short one (minutes).
    pub fn new(
        settings: AppSettings,
        sessions: AnyStore,
        prelogins: AnyStore,
    ) -> Result<Self, AppError> {
        let oidc = OidcClient::new(&settings)?;
        let origin = crate::web::origin::origin_of(&settings.base_url);
        Ok(AppState {
            inner: Arc::new(Inner {
                origin,
                settings,
                sessions,
                prelogins,
                oidc,
            }),
        })
    }

    pub fn settings(&self) -> &AppSettings {
        &self.inner.settings
    }

    /// This app's origin, as `Origin` headers name it.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    pub fn sessions(&self) -> &AnyStore {
        &self.inner.sessions
    }
}

/// How long a login may take between `/login` and `/oauth-callback`.
pub const PRELOGIN_LIFETIME: Duration = Duration::from_secs(600);

/// The app's routes.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route(routes::HOME, get(pages::home))
        .route(routes::LOGIN, get(login::start))
        .route(routes::CALLBACK, get(login::callback))
        .route(routes::LOGOUT, post(login::logout));
    router = match state.settings().kind {
        AppKind::Store => router
            .route(routes::CART, get(pages_store::cart))
            .route(routes::CART_ITEMS, post(pages_store::add_item)),
        AppKind::Forums => router.route(routes::POSTS, get(pages::posts)),
    };
    let counts = crate::web::operations::OperationCounts::new(state.settings().kind.service());
    // The gauges route comes after the counting layer: asking is not an operation.
    crate::web::operations::counted(
        router
            .layer(DefaultBodyLimit::max(crate::web::params::MAX_PARAMS_LEN))
            .with_state(state.clone()),
        counts,
    )
    .route(
        gauges::SESSIONS_ROUTE,
        get(gauges::sessions).with_state(state),
    )
}
