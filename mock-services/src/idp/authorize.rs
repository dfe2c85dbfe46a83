//! `GET /oauth2/authorize` (login form, or an immediate code through the SSO session) and
//! `POST /oauth2/authorize` (the password login).

use super::pages;
use super::{IdpError, IdpState, OAuthError, SSO_COOKIE, clients::Client};
use crate::session::{SessionData, SessionId, SessionStore};
use crate::web::cookies;
use crate::web::params::{Params, is_form};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Longest `state` or `nonce` accepted; they are echoed into URLs and tokens.
const MAX_OPAQUE_LEN: usize = 1024;

/// `prompt` values the IdP understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Never show a form: a code through the SSO session, or `login_required`.
    None,
    /// Always show the form, even with an SSO session.
    Login,
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Option<Prompt>,
    /// Seconds since the user last entered a password beyond which the SSO session does not
    /// do: the form is shown again (or `login_required` with `prompt=none`).
    pub max_age: Option<u64>,
    /// The login id to prefill the form with.
    pub login_hint: Option<String>,
    /// The user an `id_token_hint` names: the SSO session is used only for that user.
    pub hinted_sub: Option<String>,
}

impl AuthorizeRequest {
    /// Validates in the order RFC 6749 §4.1.2.1 needs: until client and redirect URI are
    /// trusted, errors are a 400 page; after that, redirects carrying `error`.
    pub fn validate(params: &Params, state: &IdpState) -> Result<Self, IdpError> {
        let client_id = params
            .get("client_id")
            .ok_or_else(|| IdpError::page("client_id is missing"))?;
        let client: &Client = state
            .clients()
            .get(client_id)
            .ok_or_else(|| IdpError::page("unknown client_id"))?;
        let redirect_uri = params
            .get("redirect_uri")
            .ok_or_else(|| IdpError::page("redirect_uri is missing"))?;
        if !client.allows_redirect(redirect_uri) {
            return Err(IdpError::page(
                "redirect_uri is not registered for this client",
            ));
        }
        let request_state = params.get("state").map(str::to_owned);
        let fail = |error: OAuthError, description: &str| {
            redirect_error(
                state,
                redirect_uri,
                error,
                description,
                request_state.as_deref(),
            )
        };

        match params.get("response_type") {
            None => return Err(fail(OAuthError::InvalidRequest, "response_type is missing")),
            Some("code") => {}
            Some(_) => {
                return Err(fail(
                    OAuthError::UnsupportedResponseType,
                    "only response_type=code is supported",
                ));
            }
        }
        let scope = params.get("scope").unwrap_or_default();
        let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
        if !scopes.contains(&"openid") {
            return Err(fail(OAuthError::InvalidScope, "scope must include openid"));
        }
        if let Some(unknown) = scopes
            .iter()
            .find(|s| !["openid", "profile", "email"].contains(s))
        {
            return Err(fail(
                OAuthError::InvalidScope,
                &format!("unknown scope {}", crate::web::params::quoted(unknown)),
            ));
        }
        if request_state
            .as_ref()
            .is_some_and(|s| s.len() > MAX_OPAQUE_LEN)
        {
            return Err(redirect_error(
                state,
                redirect_uri,
                OAuthError::InvalidRequest,
                "state is too long",
                None,
            ));
        }
        let nonce = params.get("nonce").map(str::to_owned);
        if nonce.as_ref().is_some_and(|n| n.len() > MAX_OPAQUE_LEN) {
            return Err(fail(OAuthError::InvalidRequest, "nonce is too long"));
        }
        let code_challenge = match (
            params.get("code_challenge"),
            params.get("code_challenge_method"),
        ) {
            (None, None) if client.require_pkce => {
                return Err(fail(
                    OAuthError::InvalidRequest,
                    "this client must use PKCE (code_challenge with S256)",
                ));
            }
            (None, None) => None,
            (None, Some(_)) => {
                return Err(fail(
                    OAuthError::InvalidRequest,
                    "code_challenge_method without code_challenge",
                ));
            }
            // RFC 7636 makes a missing method mean `plain`, which this server refuses.
            (Some(_), None | Some("plain")) => {
                return Err(fail(
                    OAuthError::InvalidRequest,
                    "only code_challenge_method=S256 is supported",
                ));
            }
            (Some(challenge), Some("S256")) => {
                if !is_s256_challenge(challenge) {
                    return Err(fail(
                        OAuthError::InvalidRequest,
                        "code_challenge is not a base64url SHA-256 digest",
                    ));
                }
                Some(challenge.to_owned())
            }
            (Some(_), Some(_)) => {
                return Err(fail(
                    OAuthError::InvalidRequest,
                    "only code_challenge_method=S256 is supported",
                ));
            }
        };
        let prompt = match params.get("prompt") {
            None => None,
            Some("none") => Some(Prompt::None),
            Some("login") => Some(Prompt::Login),
            Some(_) => {
                return Err(fail(
                    OAuthError::InvalidRequest,
                    "prompt must be none or login",
                ));
            }
        };
        let max_age = match params.get("max_age") {
            None => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                fail(
                    OAuthError::InvalidRequest,
                    "max_age must be a whole number of seconds",
                )
            })?),
        };
        let login_hint = params.get("login_hint").map(str::to_owned);
        if login_hint.as_ref().is_some_and(|hint| hint.len() > 256) {
            return Err(fail(OAuthError::InvalidRequest, "login_hint is too long"));
        }
        let hinted_sub = match params.get("id_token_hint") {
            None => None,
            Some(token) => Some(
                state
                    .keys()
                    .verify_hint::<super::IdClaims>(token, &state.settings().issuer)
                    .map_err(|_| {
                        fail(
                            OAuthError::InvalidRequest,
                            "id_token_hint is not an id_token this IdP issued",
                        )
                    })?
                    .sub,
            ),
        };
        Ok(AuthorizeRequest {
            client_id: client.id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scope: scopes.join(" "),
            state: request_state,
            nonce,
            code_challenge,
            prompt,
            max_age,
            login_hint,
            hinted_sub,
        })
    }

    /// The OAuth parameters the login form carries back in hidden fields.
    pub fn hidden_fields(&self) -> Vec<(&'static str, &str)> {
        let mut fields = vec![
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("response_type", "code"),
            ("scope", self.scope.as_str()),
        ];
        if let Some(state) = &self.state {
            fields.push(("state", state));
        }
        if let Some(nonce) = &self.nonce {
            fields.push(("nonce", nonce));
        }
        if let Some(challenge) = &self.code_challenge {
            fields.push(("code_challenge", challenge));
            fields.push(("code_challenge_method", "S256"));
        }
        fields
    }
}

/// A PKCE S256 challenge is base64url(SHA-256(verifier)) without padding: 43 characters.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `redirect_uri` with extra query parameters (keeping any it already has).
pub(super) fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> Result<String, IdpError> {
    let mut url = url::Url::parse(redirect_uri).map_err(|error| {
        IdpError::Internal(format!("registered redirect URI does not parse: {error}"))
    })?;
    // Nothing to add: the URI as registered, without an empty `?`.
    if !pairs.is_empty() {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
    }
    Ok(url.into())
}

fn redirect_error(
    state: &IdpState,
    redirect_uri: &str,
    error: OAuthError,
    description: &str,
    request_state: Option<&str>,
) -> IdpError {
    let mut pairs = vec![("error", error.code()), ("error_description", description)];
    if let Some(request_state) = request_state {
        pairs.push(("state", request_state));
    }
    pairs.push(("iss", &state.settings().issuer));
    match with_query(redirect_uri, &pairs) {
        Ok(location) => IdpError::Redirect {
            location,
            error,
            description: description.to_owned(),
        },
        Err(internal) => internal,
    }
}

/// `GET /oauth2/authorize`.
pub async fn show(
    State(state): State<IdpState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, IdpError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes())
        .map_err(|error| IdpError::page(error.to_string()))?;
    let request = AuthorizeRequest::validate(&params, &state)?;
    // The SSO session signs the user in without a form, unless the client asks for a fresh
    // login (`prompt=login`), the password was entered longer ago than `max_age`, or an
    // `id_token_hint` names someone else.
    let mut why_not = "no SSO session and prompt=none";
    if request.prompt != Some(Prompt::Login)
        && let Some(sso) = state.sso_session(&headers).await?
    {
        let auth_time = sso
            .data
            .attributes
            .get("auth_time")
            .and_then(|t| t.parse().ok())
            .unwrap_or(sso.created_at / 1000);
        let fresh = request
            .max_age
            .is_none_or(|max_age| state.now_seconds().saturating_sub(auth_time) <= max_age);
        let same_user = request
            .hinted_sub
            .as_deref()
            .is_none_or(|sub| sub == &*sso.user_id);
        if fresh && same_user {
            return code_redirect(&state, &request, &sso.user_id, sso.id, auth_time, None).await;
        }
        why_not = if fresh {
            "the SSO session is another user's than id_token_hint names, and prompt=none"
        } else {
            "the last login is older than max_age, and prompt=none"
        };
    }
    if request.prompt == Some(Prompt::None) {
        return Err(redirect_error(
            &state,
            &request.redirect_uri,
            OAuthError::LoginRequired,
            why_not,
            request.state.as_deref(),
        ));
    }
    let token = state
        .csrf()
        .issue(&headers, state.settings().secure_cookies);
    state.form_page(&token, pages::login_form(&request, None, &token.token))
}

/// `POST /oauth2/authorize`: check the password, start the SSO session, redirect with a code.
pub async fn submit(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, IdpError> {
    let body = body.map_err(|rejection| IdpError::page(rejection.body_text()))?;
    if !is_form(&headers) {
        return Err(IdpError::page(
            "expected an application/x-www-form-urlencoded body",
        ));
    }
    let params = Params::parse(&body).map_err(|error| IdpError::page(error.to_string()))?;
    let request = AuthorizeRequest::validate(&params, &state)?;
    // Before the password is even looked at: a login posted from another site, or without
    // the token of the form this browser was served, would sign the victim in as whoever the
    // attacker chose (login CSRF).
    state.check_form_post(&headers, &params)?;
    let login_id = params.get("loginId").unwrap_or_default().to_owned();
    let password = params.get("password").unwrap_or_default().to_owned();
    let users_state = state.clone();
    // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let user =
        tokio::task::spawn_blocking(move || users_state.users().authenticate(&login_id, &password))
            .await
            .map_err(|error| IdpError::Internal(format!("password check panicked: {error}")))?;
    let Some(user) = user else {
        let token = state
            .csrf()
            .issue(&headers, state.settings().secure_cookies);
        return state.form_page(
            &token,
            pages::login_form(&request, Some("Wrong login id or password."), &token.token),
        );
    };
    // A login always starts a new SSO session under a new ID (no session fixation); an older
    // session named by the browser's cookie ends, with what it granted.
    if let Some(old) = cookies::read(&headers, SSO_COOKIE).and_then(SessionId::parse) {
        super::grants::end_session(&state, &old).await?;
    }
    let auth_time = state.now_seconds();
    let mut data = SessionData::default();
    data.attributes
        .insert("auth_time".into(), auth_time.to_string());
    let sso = state.sso_store().create(&user.sub, data).await?;
    let cookie = cookies::set(
        SSO_COOKIE,
        &sso.id.to_string(),
        state.settings().secure_cookies,
    );
    code_redirect(&state, &request, &user.sub, sso.id, auth_time, Some(cookie)).await
}

/// Issues a code bound to client, redirect URI, PKCE challenge and nonce, and answers 302 (a
/// POST must not be answered 307, which would re-POST the password to the client).
async fn code_redirect(
    state: &IdpState,
    request: &AuthorizeRequest,
    sub: &str,
    sso: SessionId,
    auth_time: u64,
    set_cookie: Option<String>,
) -> Result<Response, IdpError> {
    let record = super::CodeRecord {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        auth_time,
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        grant: None,
        sso,
    };
    let code = state.inner.codes.create(sub, record).await?;
    let code_text = code.id.to_string();
    let mut pairs = vec![("code", code_text.as_str())];
    if let Some(request_state) = &request.state {
        pairs.push(("state", request_state));
    }
    pairs.push(("iss", &state.settings().issuer));
    let location = with_query(&request.redirect_uri, &pairs)?;
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(&location).map_err(|error| IdpError::Internal(error.to_string()))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = set_cookie {
        headers.insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie)
                .map_err(|error| IdpError::Internal(error.to_string()))?,
        );
    }
    Ok(response)
}
