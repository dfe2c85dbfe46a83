//! Strict `application/x-www-form-urlencoded` parsing for query strings and form bodies.
//!
//! Stricter than a general-purpose decoder on purpose: OAuth (RFC 6749 §3.1) forbids repeated
//! parameters, and a parameter that is not valid UTF-8 must be refused rather than mangled into
//! U+FFFD. Parameters sent with an empty value count as absent, as §3.1 requires.

use percent_encoding::percent_decode;
use std::collections::HashMap;

/// The longest query string or form body accepted, in bytes.
pub const MAX_PARAMS_LEN: usize = 16 * 1024;

/// Why a parameter string was refused; the message is safe to show a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("parameter `{0}` is repeated")]
    Repeated(String),
    #[error("parameters are not valid UTF-8 after percent-decoding")]
    NotUtf8,
    #[error("parameters are longer than {MAX_PARAMS_LEN} bytes")]
    TooLong,
}

/// Decoded parameters, each name at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    values: HashMap<String, String>,
}

impl Params {
    /// Parses `a=1&b=2`. `+` is a space; empty values are dropped.
    pub fn parse(raw: &[u8]) -> Result<Self, ParamsError> {
        if raw.len() > MAX_PARAMS_LEN {
            return Err(ParamsError::TooLong);
        }
        let mut values = HashMap::new();
        for pair in raw.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &b""[..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            if values.contains_key(&name) {
                return Err(ParamsError::Repeated(quoted(&name)));
            }
            if !value.is_empty() {
                values.insert(name, value);
            } else {
                // Remember the name so a later non-empty repeat is still caught.
                values.insert(name, String::new());
            }
        }
        values.retain(|_, value| !value.is_empty());
        Ok(Params { values })
    }

    /// The value of `name`, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// Longest client-chosen text an error description quotes.
const QUOTED_MAX: usize = 32;

/// Client-chosen text (a parameter name, a scope) as an error description may quote it: only
/// letters, digits and `_-.:/`, others shown as `?`, at most 32 characters then `…`. An error
/// description must not carry markup or control characters a client chose, whatever the
/// response's content type.
pub fn quoted(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(QUOTED_MAX)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.:/".contains(c) {
                c
            } else {
                '?'
            }
        })
        .collect();
    if text.chars().count() > QUOTED_MAX {
        out.push('…');
    }
    out
}

fn decode(raw: &[u8]) -> Result<String, ParamsError> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| ParamsError::NotUtf8)
}

/// Whether the request says its body is `application/x-www-form-urlencoded`.
pub fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Encodes pairs for a query string or form body.
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        out.append_pair(name, value);
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_quoted_without_markup_and_truncated() {
        let raw = b"%3Cscript%3Ealert(1)%3C%2Fscript%3E=1&%3Cscript%3Ealert(1)%3C%2Fscript%3E=2";
        let error = Params::parse(raw).expect_err("repeated");
        assert_eq!(
            error.to_string(),
            "parameter `?script?alert?1??/script?` is repeated"
        );
        let long = "a".repeat(100);
        let error = Params::parse(format!("{long}=1&{long}=2").as_bytes()).expect_err("repeated");
        assert_eq!(
            error.to_string(),
            format!("parameter `{}…` is repeated", "a".repeat(32))
        );
        assert_eq!(quoted("client_id"), "client_id");
    }

    fn check(raw: &str, expected: Result<&[(&str, &str)], ParamsError>) {
        let parsed = Params::parse(raw.as_bytes());
        match expected {
            Ok(pairs) => {
                let params = parsed.unwrap_or_else(|error| panic!("{raw:?}: {error}"));
                assert_eq!(params.values.len(), pairs.len(), "{raw:?}: {params:?}");
                for (name, value) in pairs {
                    assert_eq!(params.get(name), Some(*value), "{raw:?}");
                }
            }
            Err(error) => assert_eq!(parsed, Err(error), "{raw:?}"),
        }
    }

    #[test]
    fn parses_what_browsers_send() {
        check(
            "a=1&b=two+words&c=%C3%A9",
            Ok(&[("a", "1"), ("b", "two words"), ("c", "é")]),
        );
        check("", Ok(&[]));
        check("&&a=1&", Ok(&[("a", "1")]));
        check("a=&b=2", Ok(&[("b", "2")]));
        check("flag", Ok(&[]));
        check("a=x%3Dy%26z", Ok(&[("a", "x=y&z")]));
    }

    #[test]
    fn refuses_what_oauth_forbids() {
        check("a=1&a=2", Err(ParamsError::Repeated("a".into())));
        check("a=&a=2", Err(ParamsError::Repeated("a".into())));
        check("a=%FF", Err(ParamsError::NotUtf8));
        check("%C3=1", Err(ParamsError::NotUtf8));
        let long = format!("a={}", "x".repeat(MAX_PARAMS_LEN));
        assert_eq!(Params::parse(long.as_bytes()), Err(ParamsError::TooLong));
    }

    #[test]
    fn encode_round_trips() {
        let encoded = encode([
            ("redirect_uri", "http://127.0.0.2:9011/cb?x=1"),
            ("state", "a b&c"),
        ]);
        let params = Params::parse(encoded.as_bytes()).expect("parse");
        assert_eq!(
            params.get("redirect_uri"),
            Some("http://127.0.0.2:9011/cb?x=1")
        );
        assert_eq!(params.get("state"), Some("a b&c"));
    }
}
