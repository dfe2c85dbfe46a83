//! What stops another site from posting the IdP's forms (the password login, the logout
//! confirmation) in a victim's browser:
//!
//! - a token bound to the browser: a random value in an HttpOnly cookie, and in the form the
//!   value's HMAC under a key only this IdP holds — a page elsewhere can neither read the cookie
//!   nor compute the token, and a request without the pair is refused;
//! - Fetch Metadata and `Origin` (`web::origin`): where the browser says a POST comes from
//!   another site, it is refused before anything else.

use crate::web::cookies;
use aws_lc_rs::hmac;
use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The cookie that holds the browser's random value.
pub const CSRF_COOKIE: &str = "ssobench_idp_csrf";

/// The form field that carries the token.
pub const CSRF_FIELD: &str = "csrf_token";

/// A random value's length in the cookie: 16 bytes, base64url.
const NONCE_LEN: usize = 22;

/// The IdP's token key, made at startup (tokens end with the process, as its sessions' forms
/// would).
#[derive(Debug)]
pub struct CsrfKey {
    key: hmac::Key,
}

impl Default for CsrfKey {
    fn default() -> Self {
        let secret: [u8; 32] = rand::random();
        CsrfKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
        }
    }
}

/// The token for a form, and the cookie to set when the browser had none.
#[derive(Debug, Clone)]
pub struct FormToken {
    pub token: String,
    /// `Set-Cookie` value, when a new random value was made for this browser.
    pub set_cookie: Option<String>,
}

impl CsrfKey {
    fn token_for(&self, nonce: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, nonce.as_bytes()))
    }

    /// The token for a form served to the browser whose request carried `headers`: from its
    /// cookie's value, or a new one (then `set_cookie` says so).
    pub fn issue(&self, headers: &HeaderMap, secure: bool) -> FormToken {
        if let Some(nonce) = browser_nonce(headers) {
            return FormToken {
                token: self.token_for(nonce),
                set_cookie: None,
            };
        }
        let bytes: [u8; 16] = rand::random();
        let nonce = URL_SAFE_NO_PAD.encode(bytes);
        FormToken {
            token: self.token_for(&nonce),
            set_cookie: Some(cookies::set(CSRF_COOKIE, &nonce, secure)),
        }
    }

    /// Whether `token` is this browser's (checked in constant time).
    pub fn check(&self, headers: &HeaderMap, token: Option<&str>) -> bool {
        let (Some(nonce), Some(token)) = (browser_nonce(headers), token) else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        hmac::verify(&self.key, nonce.as_bytes(), &tag).is_ok()
    }
}

/// The browser's random value, when its cookie holds a well-formed one.
fn browser_nonce(headers: &HeaderMap) -> Option<&str> {
    cookies::read(headers, CSRF_COOKIE).filter(|nonce| {
        nonce.len() == NONCE_LEN
            && nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::origin::headers_with as with;

    #[test]
    fn a_token_is_good_only_with_its_own_browser_cookie_and_key() {
        let key = CsrfKey::default();
        let issued = key.issue(&HeaderMap::new(), false);
        let cookie = issued.set_cookie.expect("a new browser gets a cookie");
        let pair = cookie.split(';').next().expect("pair").to_owned();
        let browser = with(&[("cookie", &pair)]);
        assert!(key.check(&browser, Some(&issued.token)));
        // The same browser's next form reuses its value: no new cookie, the same token.
        let again = key.issue(&browser, false);
        assert!(again.set_cookie.is_none());
        assert_eq!(again.token, issued.token);
        // Another browser, another key, no cookie or no token: refused.
        let other = key.issue(&HeaderMap::new(), false);
        let other_pair = other.set_cookie.expect("cookie");
        let other_browser = with(&[("cookie", other_pair.split(';').next().expect("pair"))]);
        assert!(!key.check(&other_browser, Some(&issued.token)));
        assert!(!CsrfKey::default().check(&browser, Some(&issued.token)));
        assert!(!key.check(&HeaderMap::new(), Some(&issued.token)));
        assert!(!key.check(&browser, None));
        assert!(!key.check(&browser, Some("not-base64!")));
    }
}
