//! The IdP's signing key, generated at startup: JWT signing, the JWKS, and verification.
//!
//! Signing goes through aws-lc-rs with the key parsed once. jsonwebtoken 11's `encode` parses
//! the DER private key again on every call (`RsaKeyPair::from_der` inside its signer factory),
//! a cost no real IdP pays per token and one that would distort login figures; the JWS compact
//! form it would produce is rebuilt here in a few lines. Verification (userinfo, apps, tests)
//! uses jsonwebtoken.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use vocabulary::settings::SigningAlgorithm;

/// The algorithm as jsonwebtoken names it.
fn jsonwebtoken(algorithm: SigningAlgorithm) -> Algorithm {
    match algorithm {
        SigningAlgorithm::Rs256 => Algorithm::RS256,
        SigningAlgorithm::Es256 => Algorithm::ES256,
    }
}

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A key pair with its id, public JWK and verifier.
pub struct SigningKeys {
    algorithm: SigningAlgorithm,
    kid: String,
    signer: Signer,
    public_jwk: serde_json::Value,
    decoding_key: DecodingKey,
    /// `base64url({"alg":..,"typ":"JWT","kid":..})`, the same for every token.
    encoded_header: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Why signing or verifying failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("signing failed")]
    Sign,
    #[error("claims could not be serialised: {0}")]
    Claims(#[from] serde_json::Error),
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
}

impl SigningKeys {
    /// Generates a fresh key pair (RSA-2048 or P-256).
    pub fn generate(algorithm: SigningAlgorithm) -> Result<Self, KeyError> {
        let (signer, public_jwk, decoding_key) = match algorithm {
            SigningAlgorithm::Rs256 => {
                let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| KeyError::Generate)?;
                let n = URL_SAFE_NO_PAD.encode(
                    pair.public_key()
                        .modulus()
                        .big_endian_without_leading_zero(),
                );
                let e = URL_SAFE_NO_PAD.encode(
                    pair.public_key()
                        .exponent()
                        .big_endian_without_leading_zero(),
                );
                let decoding = DecodingKey::from_rsa_components(&n, &e)?;
                let jwk = serde_json::json!({"kty": "RSA", "n": n, "e": e});
                (Signer::Rsa(pair), jwk, decoding)
            }
            SigningAlgorithm::Es256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| KeyError::Generate)?;
                // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
                let point = pair.public_key().as_ref();
                if point.len() != 65 {
                    return Err(KeyError::Generate);
                }
                let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
                let y = URL_SAFE_NO_PAD.encode(&point[33..65]);
                let decoding = DecodingKey::from_ec_components(&x, &y)?;
                let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y});
                (Signer::Ec(pair), jwk, decoding)
            }
        };
        // The kid is the RFC 7638 thumbprint's prefix: stable for the key, distinct across keys.
        let thumbprint_input = match algorithm {
            SigningAlgorithm::Rs256 => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                public_jwk["e"].as_str().unwrap_or_default(),
                public_jwk["n"].as_str().unwrap_or_default()
            ),
            SigningAlgorithm::Es256 => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                public_jwk["x"].as_str().unwrap_or_default(),
                public_jwk["y"].as_str().unwrap_or_default()
            ),
        };
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, thumbprint_input.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12]);
        let mut public_jwk = public_jwk;
        public_jwk["kid"] = kid.clone().into();
        public_jwk["use"] = "sig".into();
        public_jwk["alg"] = algorithm.jws_name().into();
        let header = serde_json::json!({"alg": algorithm.jws_name(), "typ": "JWT", "kid": kid});
        let encoded_header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
        Ok(SigningKeys {
            algorithm,
            kid,
            signer,
            public_jwk,
            decoding_key,
            encoded_header,
            rng: SystemRandom::new(),
        })
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A signed JWT (JWS compact serialization) of `claims`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let mut token = String::with_capacity(600);
        token.push_str(&self.encoded_header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(claims)?, &mut token);
        let signature = match &self.signer {
            Signer::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &self.rng,
                    token.as_bytes(),
                    &mut signature,
                )
                .map_err(|_| KeyError::Sign)?;
                signature
            }
            Signer::Ec(pair) => pair
                .sign(&self.rng, token.as_bytes())
                .map_err(|_| KeyError::Sign)?
                .as_ref()
                .to_vec(),
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    /// `{"keys": [...]}` for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [self.public_jwk] })
    }

    /// Verifies signature, `iss`, `exp` (no leeway) and, when given, `aud`; returns the claims.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        audience: Option<&str>,
    ) -> Result<T, KeyError> {
        let mut validation = Validation::new(jsonwebtoken(self.algorithm));
        validation.set_issuer(&[issuer]);
        validation.leeway = 0;
        match audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        Ok(jsonwebtoken::decode::<T>(token, &self.decoding_key, &validation)?.claims)
    }

    /// Verifies signature and `iss` of an `id_token_hint`, which may have expired (OpenID
    /// Connect RP-Initiated Logout: the hint names a past login, not a current credential).
    pub fn verify_hint<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
    ) -> Result<T, KeyError> {
        let mut validation = Validation::new(jsonwebtoken(self.algorithm));
        validation.set_issuer(&[issuer]);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.remove("exp");
        Ok(jsonwebtoken::decode::<T>(token, &self.decoding_key, &validation)?.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
    struct Claims {
        iss: String,
        aud: String,
        sub: String,
        exp: u64,
    }

    fn claims() -> Claims {
        Claims {
            iss: "http://127.0.0.1:9010".into(),
            aud: "store".into(),
            sub: "user-1".into(),
            exp: jsonwebtoken::get_current_timestamp() + 60,
        }
    }

    #[test]
    fn tokens_verify_with_the_published_jwk_and_not_after_tampering() {
        for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
            let keys = SigningKeys::generate(algorithm).expect("keys");
            let token = keys.sign(&claims()).expect("sign");
            let header = jsonwebtoken::decode_header(&token).expect("header");
            assert_eq!(header.kid.as_deref(), Some(keys.kid()));
            assert_eq!(header.alg, jsonwebtoken(algorithm));
            // Verify through the JWKS, as a relying party would.
            let jwk: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(keys.jwks()["keys"][0].clone()).expect("jwk");
            let key = DecodingKey::from_jwk(&jwk).expect("decoding key");
            let mut validation = Validation::new(jsonwebtoken(algorithm));
            validation.set_audience(&["store"]);
            let decoded =
                jsonwebtoken::decode::<Claims>(&token, &key, &validation).expect("verify");
            assert_eq!(decoded.claims, claims());
            // Wrong audience, and a flipped payload byte, are refused.
            assert!(
                keys.verify::<Claims>(&token, "http://127.0.0.1:9010", Some("forums"))
                    .is_err()
            );
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            parts[1] = URL_SAFE_NO_PAD.encode(
                br#"{"iss":"http://127.0.0.1:9010","aud":"store","sub":"user-2","exp":9999999999}"#,
            );
            assert!(
                keys.verify::<Claims>(&parts.join("."), "http://127.0.0.1:9010", None)
                    .is_err()
            );
        }
    }
}
