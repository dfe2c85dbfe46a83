//! Settings of the stack that results record and reports show: how passwords are checked, how
//! tokens are signed, how the local Redis persists. Their behaviour lives in the services; their
//! names live here, so results and reports need not link the services to name them.

/// How the IdP checks passwords.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum PasswordHashing {
    /// Constant-time comparison with the configured password: no CPU cost.
    Plain,
    /// Argon2id with the crate's defaults (19 MiB, 2 passes), as a real IdP would: models the
    /// CPU and memory a login costs.
    Argon2,
}

impl PasswordHashing {
    /// The name on the command line and in results.
    pub const fn name(self) -> &'static str {
        match self {
            PasswordHashing::Plain => "plain",
            PasswordHashing::Argon2 => "argon2",
        }
    }
}

/// The JWS algorithm of every token the IdP issues.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit key: what most IdPs use by default.
    #[serde(rename = "RS256")]
    Rs256,
    /// ECDSA P-256 with SHA-256: much cheaper to sign.
    #[serde(rename = "ES256")]
    Es256,
}

impl SigningAlgorithm {
    /// The JWS `alg` name, as tokens, results and reports spell it.
    pub const fn jws_name(self) -> &'static str {
        match self {
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::Es256 => "ES256",
        }
    }
}

/// Whether the local Redis the tool starts writes its data to disk (an append-only file), and
/// so whether sessions survive a restart of it.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Persistence {
    /// Memory only: a restart loses every key.
    #[default]
    None,
    /// `appendonly yes`, `appendfsync everysec`: the usual production setting; a crash may lose
    /// about the last second of writes.
    AofEverysec,
    /// `appendonly yes`, `appendfsync always`: every write is on disk before it is answered.
    AofAlways,
}

impl Persistence {
    /// The name on the command line and in results.
    pub const fn name(self) -> &'static str {
        match self {
            Persistence::None => "none",
            Persistence::AofEverysec => "aof-everysec",
            Persistence::AofAlways => "aof-always",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum as _;

    fn flag<T: clap::ValueEnum>(value: &T) -> String {
        value
            .to_possible_value()
            .expect("named")
            .get_name()
            .to_owned()
    }

    fn json<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value)
            .expect("json")
            .trim_matches('"')
            .to_owned()
    }

    #[test]
    fn each_setting_has_one_name_on_the_command_line_and_in_results() {
        for hashing in PasswordHashing::value_variants() {
            assert_eq!(flag(hashing), hashing.name());
            assert_eq!(json(hashing), hashing.name());
        }
        for persistence in Persistence::value_variants() {
            assert_eq!(flag(persistence), persistence.name());
            assert_eq!(json(persistence), persistence.name());
        }
        for algorithm in SigningAlgorithm::value_variants() {
            assert_eq!(flag(algorithm), algorithm.jws_name().to_lowercase());
            assert_eq!(json(algorithm), algorithm.jws_name());
        }
    }
}
