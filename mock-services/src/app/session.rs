//! "Who is logged in": the [`LoggedIn`] extractor (cookie → live session, extended, rotated
//! when the policy says so; its rejection is a redirect to `/login`), and [`SameSite`], which
//! refuses form posts from another site.

use super::{AppError, AppState};
use crate::session::{SaveOutcome, Session, SessionId, SessionStore, now_millis};
use crate::web::cookies;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use std::sync::Arc;

/// The live session of this request, and a new cookie to send when it was rotated.
#[derive(Debug)]
pub struct LoggedIn {
    pub session: Session,
    pub set_cookie: Option<HeaderValue>,
}

impl FromRequestParts<AppState> for LoggedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        state
            .current_session(&parts.headers)
            .await?
            .ok_or(AppError::LoginRequired)
    }
}

/// A form post this app's own pages made: its rejection (403) stops a post the browser says
/// came from another site (Fetch Metadata, `Origin`) before anything else runs. SameSite=Lax
/// cookies already keep a cross-site POST from carrying the session; this refuses it outright.
#[derive(Debug, Clone, Copy)]
pub struct SameSite;

impl FromRequestParts<AppState> for SameSite {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if crate::web::origin::cross_site(&parts.headers, state.origin()) {
            return Err(AppError::Forbidden(
                "a form posted from another site is refused".into(),
            ));
        }
        Ok(SameSite)
    }
}

impl AppState {
    /// The session named by the request's cookie, loaded and extended; `None` for no cookie,
    /// a malformed one, or a session that is gone.
    pub async fn current_session(&self, headers: &HeaderMap) -> Result<Option<LoggedIn>, AppError> {
        let kind = self.settings().kind;
        let Some(id) = cookies::read(headers, kind.session_cookie()).and_then(SessionId::parse)
        else {
            return Ok(None);
        };
        let found = self.sessions().load_and_extend(&id).await?;
        if let Some(cost) = self.settings().lookup_handicap {
            crate::cli::Handicap::spend(cost);
        }
        let Some(session) = found else {
            return Ok(None);
        };
        if !self.settings().rotation.enabled() {
            return Ok(Some(LoggedIn {
                session,
                set_cookie: None,
            }));
        }
        self.apply_rotation(session).await.map(Some)
    }

    /// The `Set-Cookie` value carrying a session ID.
    pub fn session_cookie(&self, id: &SessionId) -> Result<HeaderValue, AppError> {
        let settings = self.settings();
        HeaderValue::from_str(&cookies::set(
            settings.kind.session_cookie(),
            &id.to_string(),
            settings.secure_cookies,
        ))
        .map_err(|error| AppError::Internal(error.to_string()))
    }

    /// Counts the request and moves the session to a fresh ID when due. Costs one session
    /// write per request, which is why rotation is off unless asked for.
    async fn apply_rotation(&self, mut session: Session) -> Result<LoggedIn, AppError> {
        let rotation = self.settings().rotation;
        let now = now_millis();
        let attributes = &session.data.attributes;
        let requests: u32 = attributes
            .get("requests")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
            + 1;
        let issued_at: u64 = attributes
            .get("id_issued_at")
            .and_then(|t| t.parse().ok())
            .unwrap_or(session.created_at);
        let due = rotation
            .every_requests
            .is_some_and(|limit| requests >= limit)
            || rotation
                .every
                .is_some_and(|age| now.saturating_sub(issued_at) >= age.as_millis() as u64);
        if !due {
            Arc::make_mut(&mut session.data)
                .attributes
                .insert("requests".into(), requests.to_string());
            // A conflict means a concurrent request counted for us; either way the count moved.
            if self.sessions().save(&mut session).await? == SaveOutcome::Gone {
                return Err(AppError::LoginRequired);
            }
            return Ok(LoggedIn {
                session,
                set_cookie: None,
            });
        }
        let Some(mut rotated) = self.sessions().rotate(&session.id).await? else {
            // A concurrent request rotated it first: this cookie is already dead.
            return Err(AppError::LoginRequired);
        };
        let data = Arc::make_mut(&mut rotated.data);
        data.attributes.insert("requests".into(), "0".into());
        data.attributes
            .insert("id_issued_at".into(), now.to_string());
        self.sessions().save(&mut rotated).await?;
        let cookie = self.session_cookie(&rotated.id)?;
        Ok(LoggedIn {
            session: rotated,
            set_cookie: Some(cookie),
        })
    }
}
