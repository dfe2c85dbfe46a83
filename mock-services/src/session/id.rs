//! Session identifiers: 128 bits from a CSPRNG, written as 22 URL-safe base64 characters.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use std::fmt;

/// A session ID. Only the store mints them ([`SessionId::generate`] is crate-private), so a
/// client can name an ID but never make the store adopt one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId([u8; 16]);

impl SessionId {
    /// Length of the textual form: 16 bytes in unpadded base64.
    pub const ENCODED_LEN: usize = 22;

    /// A fresh random ID from the thread-local CSPRNG (ChaCha, reseeded from the OS).
    pub(crate) fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        SessionId(bytes)
    }

    /// Parses the textual form. Anything but exactly 22 canonical URL-safe base64 characters
    /// (wrong length, other alphabet, padding, non-zero trailing bits) is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != Self::ENCODED_LEN {
            return None;
        }
        let mut bytes = [0u8; 16];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut bytes) {
            Ok(16) => Some(SessionId(bytes)),
            _ => None,
        }
    }

    /// The raw 16 bytes (Redis keys use these, not the text, to stay compact).
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Rebuilds an ID from raw bytes; only for IDs this crate issued earlier (tests and benches
    /// use it to make well-formed IDs that were never issued).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        SessionId(bytes)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; Self::ENCODED_LEN];
        let written = URL_SAFE_NO_PAD
            .encode_slice(self.0, &mut text)
            .map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&text[..written]).map_err(|_| fmt::Error)?)
    }
}

// IDs are bearer credentials: keep them out of debug logs.
impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_string();
        write!(f, "SessionId({}…)", &text[..4])
    }
}

#[cfg(test)]
mod tests {
    use super::SessionId;

    fn check(text: &str, valid: bool) {
        assert_eq!(SessionId::parse(text).is_some(), valid, "{text:?}");
    }

    #[test]
    fn textual_form_round_trips() {
        let id = SessionId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), SessionId::ENCODED_LEN);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(SessionId::parse(&text), Some(id));
    }

    #[test]
    fn malformed_text_is_rejected() {
        check("", false);
        check("abc", false);
        check("AAAAAAAAAAAAAAAAAAAAAA", true);
        check("AAAAAAAAAAAAAAAAAAAAAAA", false); // 23 characters
        check("AAAAAAAAAAAAAAAAAAAAA", false); // 21 characters
        check("AAAAAAAAAAAAAAAAAAAA==", false); // padding
        check("AAAAAAAAAAAAAAAAAAAA+/", false); // standard, not URL-safe, alphabet
        check("AAAAAAAAAAAAAAAAAAAAAB", false); // non-zero trailing bits: not canonical
        check("AAAAAAAAAAAAAAAAAAAAA\u{e9}", false); // non-ASCII
    }
}
