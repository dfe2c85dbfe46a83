//! Signing the IdP's tokens: the cost every login pays twice (access token and id_token).
//!
//! `idp/sign_token/rs256` and `es256` are what the IdP does (aws-lc-rs, key parsed once).
//! `rs256_jsonwebtoken_encode` signs the same claims with `jsonwebtoken::encode` and a key of
//! the same size, which parses the private key on every call: the reason the IdP signs itself.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::RsaKeyPair;
use criterion::Criterion;
use mock_services::idp::{IdClaims, SigningAlgorithm, SigningKeys};
use std::hint::black_box;

fn claims() -> IdClaims {
    IdClaims {
        iss: "http://127.0.0.1:9010".into(),
        sub: "user-42".into(),
        aud: "store".into(),
        exp: 4_000_000_000,
        iat: 1_790_000_000,
        auth_time: 1_790_000_000,
        nonce: Some("mO5n3wYbY1H0vB2m".into()),
        // What the apps ask for (scope `openid email`).
        email: Some("user42@example.com".into()),
        email_verified: Some(true),
        name: None,
        preferred_username: None,
    }
}

pub fn define(c: &mut Criterion) {
    let mut group = c.benchmark_group("idp/sign_token");
    for (name, algorithm) in [
        ("rs256", SigningAlgorithm::Rs256),
        ("es256", SigningAlgorithm::Es256),
    ] {
        let keys = SigningKeys::generate(algorithm).expect("keys");
        let claims = claims();
        // Each benchmark checks its own result: the token must verify.
        let token = keys.sign(&claims).expect("sign");
        let back: IdClaims = keys
            .verify(&token, &claims.iss, Some("store"))
            .expect("verify");
        assert_eq!(back, claims);
        group.bench_function(name, |b| {
            b.iter(|| keys.sign(black_box(&claims)).expect("sign"))
        });
    }

    let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa key");
    let pkcs8 = pair.as_der().expect("pkcs8");
    let pem = pem_of(pkcs8.as_ref());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key");
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    let claims = claims();
    assert_eq!(
        jsonwebtoken::encode(&header, &claims, &key)
            .expect("encode")
            .split('.')
            .count(),
        3
    );
    group.bench_function("rs256_jsonwebtoken_encode", |b| {
        b.iter(|| jsonwebtoken::encode(&header, black_box(&claims), &key).expect("encode"))
    });
    group.finish();
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}
