//! The seeded user directory: `user{N}@example.com`, N from 1 to the configured count.
//!
//! Users are computed, not stored: a login id parses to its number, so ten million users cost
//! no memory and a lookup is a parse.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

pub use vocabulary::settings::PasswordHashing;

/// A user as the IdP knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable subject identifier (`sub`, `userId`).
    pub sub: String,
    pub login_id: String,
    /// A display name (`name` claim).
    pub name: String,
}

/// The seeded users and how to check their password.
#[derive(Debug)]
pub struct UserDirectory {
    count: u64,
    check: Check,
}

#[derive(Debug)]
enum Check {
    Plain(String),
    /// One PHC string shared by every user. Hashing ten thousand users at startup would take
    /// minutes for no benefit: what the load measures is the cost of *verifying*, which is the
    /// same for every user.
    Argon2(String),
}

impl UserDirectory {
    pub fn new(count: u64, password: &str, hashing: PasswordHashing) -> Result<Self, String> {
        let check = match hashing {
            PasswordHashing::Plain => Check::Plain(password.to_owned()),
            PasswordHashing::Argon2 => {
                let mut salt_bytes = [0u8; 16];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt_bytes);
                let salt = SaltString::encode_b64(&salt_bytes)
                    .map_err(|error| format!("argon2 salt: {error}"))?;
                let hash = Argon2::default()
                    .hash_password(password.as_bytes(), &salt)
                    .map_err(|error| format!("argon2: {error}"))?;
                Check::Argon2(hash.to_string())
            }
        };
        Ok(UserDirectory { count, check })
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The user with this login id, if seeded.
    pub fn find(&self, login_id: &str) -> Option<User> {
        let number: u64 = login_id
            .strip_prefix("user")?
            .strip_suffix("@example.com")?
            .parse()
            .ok()?;
        // `parse` accepts "+5" and "007"; only the canonical spelling names a user.
        (number >= 1 && number <= self.count && login_id == format!("user{number}@example.com"))
            .then(|| User::numbered(number))
    }

    /// The user with this subject, if seeded.
    pub fn by_sub(&self, sub: &str) -> Option<User> {
        let number: u64 = sub.strip_prefix("user-")?.parse().ok()?;
        (number >= 1 && number <= self.count && sub == format!("user-{number}"))
            .then(|| User::numbered(number))
    }

    /// Checks a password. Runs the same work whether or not the user exists, so response time
    /// does not reveal which login ids are seeded.
    pub fn authenticate(&self, login_id: &str, password: &str) -> Option<User> {
        let user = self.find(login_id);
        let password_ok = match &self.check {
            Check::Plain(expected) => aws_lc_rs::constant_time::verify_slices_are_equal(
                expected.as_bytes(),
                password.as_bytes(),
            )
            .is_ok(),
            Check::Argon2(phc) => PasswordHash::new(phc)
                .map(|hash| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &hash)
                        .is_ok()
                })
                .unwrap_or(false),
        };
        user.filter(|_| password_ok)
    }
}

impl User {
    fn numbered(number: u64) -> Self {
        User {
            sub: format!("user-{number}"),
            login_id: format!("user{number}@example.com"),
            name: format!("User {number}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_seeded_login_ids_exist() {
        let users = UserDirectory::new(10, "pw", PasswordHashing::Plain).expect("users");
        assert_eq!(
            users.find("user1@example.com").map(|u| u.sub),
            Some("user-1".into())
        );
        assert!(users.find("user10@example.com").is_some());
        for missing in [
            "user0@example.com",
            "user11@example.com",
            "user01@example.com",
            "user+1@example.com",
            "USER1@example.com",
            "user1@example.org",
            "",
        ] {
            assert!(users.find(missing).is_none(), "{missing}");
        }
        assert_eq!(
            users.by_sub("user-3").map(|u| u.login_id),
            Some("user3@example.com".into())
        );
        assert!(users.by_sub("user-03").is_none());
    }

    #[test]
    fn plain_and_argon2_accept_only_the_password() {
        for hashing in [PasswordHashing::Plain, PasswordHashing::Argon2] {
            let users = UserDirectory::new(5, "right", hashing).expect("users");
            assert!(
                users.authenticate("user2@example.com", "right").is_some(),
                "{hashing:?}"
            );
            assert!(
                users.authenticate("user2@example.com", "wrong").is_none(),
                "{hashing:?}"
            );
            assert!(
                users.authenticate("user2@example.com", "").is_none(),
                "{hashing:?}"
            );
            assert!(
                users.authenticate("user9@example.com", "right").is_none(),
                "{hashing:?}"
            );
        }
    }
}
