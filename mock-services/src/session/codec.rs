//! The compact binary encoding of a session in Redis.
//!
//! Layout (little-endian), 25-byte fixed header then a postcard body:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 1 | format, currently 1 |
//! | 1 | 8 | version (save count; the save script compares these 8 bytes) |
//! | 9 | 8 | created_at, Unix ms |
//! | 17 | 8 | absolute_expires_at, Unix ms (the extend script reads it to cap the TTL) |
//! | 25 | … | postcard of (user_id, cart, attributes): varint lengths, no field names |
//!
//! Last-seen and the idle deadline are not stored: the key's TTL *is* the idle deadline, so the
//! hot path never rewrites the value. A session of user `user42@example.com` with an empty cart
//! encodes to 46 bytes; each cart line adds 2 + sku length bytes (small quantities).

use super::error::StoreError;
use super::record::SessionData;
use serde::{Deserialize, Serialize};

/// Length of the fixed header.
pub const HEADER_LEN: usize = 25;
const FORMAT: u8 = 1;
/// 1-based offsets for the Lua scripts (Lua strings start at 1).
pub(crate) const LUA_VERSION_OFFSET: usize = 2;
pub(crate) const LUA_ABSOLUTE_OFFSET: usize = 18;

/// The stored fields of a session, as the codec sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded<'a> {
    pub version: u64,
    pub created_at: u64,
    pub absolute_expires_at: u64,
    pub user_id: &'a str,
    pub data: &'a SessionData,
}

#[derive(Serialize)]
struct BodyRef<'a> {
    user_id: &'a str,
    data: &'a SessionData,
}

#[derive(Deserialize)]
struct BodyOwned {
    user_id: String,
    data: SessionData,
}

/// Encodes a session for Redis.
pub fn encode(fields: &Encoded<'_>) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(HEADER_LEN + 32);
    out.push(FORMAT);
    out.extend_from_slice(&fields.version.to_le_bytes());
    out.extend_from_slice(&fields.created_at.to_le_bytes());
    out.extend_from_slice(&fields.absolute_expires_at.to_le_bytes());
    let body = BodyRef {
        user_id: fields.user_id,
        data: fields.data,
    };
    postcard::to_io(&body, &mut out)
        .map_err(|error| StoreError::Corrupt(format!("cannot encode session: {error}")))?;
    Ok(out)
}

/// Decoded stored fields: (version, created_at, absolute_expires_at, user_id, data).
#[derive(Debug)]
pub struct Decoded {
    pub version: u64,
    pub created_at: u64,
    pub absolute_expires_at: u64,
    pub user_id: String,
    pub data: SessionData,
}

/// Decodes what [`encode`] wrote; any other bytes are [`StoreError::Corrupt`].
pub fn decode(bytes: &[u8]) -> Result<Decoded, StoreError> {
    let corrupt = |why: &str| StoreError::Corrupt(why.to_owned());
    if bytes.len() < HEADER_LEN {
        return Err(corrupt("shorter than the header"));
    }
    if bytes[0] != FORMAT {
        return Err(corrupt("unknown format byte"));
    }
    let word = |offset: usize| {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&bytes[offset..offset + 8]);
        u64::from_le_bytes(raw)
    };
    let (body, rest): (BodyOwned, &[u8]) = postcard::take_from_bytes(&bytes[HEADER_LEN..])
        .map_err(|error| StoreError::Corrupt(format!("body: {error}")))?;
    if !rest.is_empty() {
        return Err(corrupt("trailing bytes after the body"));
    }
    Ok(Decoded {
        version: word(1),
        created_at: word(9),
        absolute_expires_at: word(17),
        user_id: body.user_id,
        data: body.data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::CartItem;

    fn sample(data: &SessionData) -> Encoded<'_> {
        Encoded {
            version: 7,
            created_at: 1_790_000_000_000,
            absolute_expires_at: 1_790_028_800_000,
            user_id: "user42@example.com",
            data,
        }
    }

    #[test]
    fn round_trips() {
        let mut data = SessionData::default();
        data.cart.push(CartItem {
            sku: "sku-1".into(),
            quantity: 3,
        });
        data.attributes.insert("theme".into(), "dark".into());
        let bytes = encode(&sample(&data)).expect("encode");
        let back = decode(&bytes).expect("decode");
        assert_eq!(back.version, 7);
        assert_eq!(back.created_at, 1_790_000_000_000);
        assert_eq!(back.absolute_expires_at, 1_790_028_800_000);
        assert_eq!(back.user_id, "user42@example.com");
        assert_eq!(back.data, data);
    }

    /// Guards the sizes documented in the module docs and the README.
    #[test]
    fn documented_sizes_hold() {
        let empty = SessionData::default();
        assert_eq!(encode(&sample(&empty)).expect("encode").len(), 46);
        let mut one_line = SessionData::default();
        one_line.cart.push(CartItem {
            sku: "sku-1".into(),
            quantity: 3,
        });
        assert_eq!(
            encode(&sample(&one_line)).expect("encode").len(),
            46 + 2 + 5
        );
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        for bytes in [&b""[..], &[1u8; 10][..], &[2u8; 40][..], &[1u8; 60][..]] {
            assert!(
                matches!(decode(bytes), Err(StoreError::Corrupt(_))),
                "{bytes:?}"
            );
        }
    }
}
