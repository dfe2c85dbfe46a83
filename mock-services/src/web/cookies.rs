//! Reading and writing the services' cookies.
//!
//! Every cookie ssobench sets is HttpOnly, SameSite=Lax and Path=/, and Secure when the service
//! is served over HTTPS (`secure`). Each service names its cookies after itself
//! (`ssobench_idp_sso`, `ssobench_store_session`, ...) because browsers do not separate cookies
//! by port.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// The value of cookie `name` from the request's `Cookie` headers. Malformed headers and pairs
/// are skipped: a garbage cookie is the same as no cookie.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// A `Set-Cookie` value for a browser-session cookie (no Max-Age: the server enforces expiry).
pub fn set(name: &str, value: &str, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A `Set-Cookie` value that removes the cookie at once.
pub fn expire(name: &str, secure: bool) -> String {
    format!(
        "{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(
                COOKIE,
                HeaderValue::from_bytes(value).expect("header value"),
            );
        }
        map
    }

    #[test]
    fn finds_the_named_cookie_among_others() {
        let map = headers(&[b"a=1; sso=abc", b"b=2"]);
        assert_eq!(read(&map, "sso"), Some("abc"));
        assert_eq!(read(&map, "b"), Some("2"));
        assert_eq!(read(&map, "missing"), None);
    }

    #[test]
    fn garbage_is_no_cookie() {
        let map = headers(&[b"\xff\xfe", b";;;=;", b"sso"]);
        assert_eq!(read(&map, "sso"), None);
    }

    #[test]
    fn flags_are_always_set() {
        assert_eq!(set("s", "v", false), "s=v; Path=/; HttpOnly; SameSite=Lax");
        assert!(set("s", "v", true).ends_with("; Secure"));
        assert!(expire("s", false).contains("Max-Age=0"));
    }
}
