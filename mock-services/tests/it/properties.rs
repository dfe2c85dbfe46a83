//! Property tests over every parser that takes what a client sends: query and form `Params`,
//! cookies, session IDs, and the Redis value codec (HTTP Basic is in `idp/token.rs`'s own
//! tests). Each must never panic on any input, and give back what its writer wrote. Case counts
//! are proptest's default (256 per property); `PROPTEST_CASES=100000` runs longer (README).

use axum::http::{HeaderMap, HeaderValue, header};
use mock_services::session::{CartItem, Encoded, SessionData, SessionId, decode, encode};
use mock_services::web::cookies;
use mock_services::web::params::{self, Params};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

proptest! {
    #[test]
    fn params_never_panic(raw in vec(any::<u8>(), 0..4096)) {
        let _ = Params::parse(&raw);
    }

    #[test]
    fn params_give_back_what_was_encoded(
        pairs in btree_map("[a-zA-Z0-9_. %&=+-]{1,16}", "\\PC{1,40}", 0..10)
    ) {
        let encoded = params::encode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let parsed = Params::parse(encoded.as_bytes()).expect("what encode wrote parses");
        for (name, value) in &pairs {
            prop_assert_eq!(parsed.get(name), Some(value.as_str()));
        }
    }

    #[test]
    fn a_repeated_name_is_always_refused_and_quoted_safely(name in "\\PC{1,80}") {
        let encoded = params::encode([(name.as_str(), "1"), (name.as_str(), "2")]);
        let error = Params::parse(encoded.as_bytes()).expect_err("repeated").to_string();
        prop_assert!(!error.contains(['<', '>', '"', '\'', '&']), "{}", error);
        prop_assert!(error.chars().count() < 70, "{}", error);
    }

    #[test]
    fn cookies_never_panic(raw in vec(any::<u8>(), 0..512), name in "[a-z_]{1,12}") {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&raw) {
            headers.append(header::COOKIE, value);
        }
        let _ = cookies::read(&headers, &name);
    }

    #[test]
    fn a_cookie_set_is_read_back(
        name in "[a-z_]{1,16}",
        value in "[A-Za-z0-9_-]{0,40}",
        others in btree_map("[a-z]{1,8}", "[A-Za-z0-9]{1,8}", 0..4),
    ) {
        let set = cookies::set(&name, &value, false);
        let pair = set.split(';').next().expect("name=value");
        let mut header_text = others
            .iter()
            .filter(|(other, _)| **other != name)
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>();
        header_text.insert(header_text.len() / 2, pair.to_owned());
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_str(&header_text.join("; ")).expect("header"));
        prop_assert_eq!(cookies::read(&headers, &name), Some(value.as_str()));
    }

    #[test]
    fn session_ids_never_panic_and_round_trip(text in "\\PC{0,40}", bytes in any::<[u8; 16]>()) {
        if let Some(id) = SessionId::parse(&text) {
            prop_assert_eq!(id.to_string(), text);
        }
        let id = SessionId::from_bytes(bytes);
        let written = id.to_string();
        prop_assert_eq!(written.len(), 22);
        prop_assert_eq!(SessionId::parse(&written), Some(id));
    }

    #[test]
    fn the_codec_never_panics(raw in vec(any::<u8>(), 0..512)) {
        let _ = decode(&raw);
    }

    #[test]
    fn the_codec_gives_back_what_it_encoded(
        version in any::<u64>(),
        created_at in any::<u64>(),
        absolute_expires_at in any::<u64>(),
        user_id in "\\PC{0,40}",
        cart in vec(("\\PC{1,20}", any::<u32>()), 0..8),
        attributes in btree_map("\\PC{1,12}", "\\PC{0,24}", 0..6),
    ) {
        let data = SessionData {
            cart: cart
                .into_iter()
                .map(|(sku, quantity)| CartItem { sku, quantity })
                .collect(),
            attributes,
        };
        let bytes = encode(&Encoded {
            version,
            created_at,
            absolute_expires_at,
            user_id: &user_id,
            data: &data,
        })
        .expect("encode");
        let decoded = decode(&bytes).expect("decode");
        prop_assert_eq!(decoded.version, version);
        prop_assert_eq!(decoded.created_at, created_at);
        prop_assert_eq!(decoded.absolute_expires_at, absolute_expires_at);
        prop_assert_eq!(decoded.user_id, user_id);
        prop_assert_eq!(decoded.data, data);
    }
}
