//! Every hop and flow a scenario times, and every way a hop can fail, as small copyable values:
//! the measured path indexes arrays and counts failures by these keys, never by strings built
//! per request. Reports show their names.

use crate::http::HttpError;
use std::fmt;

/// One request of a scenario, named by service, method and route (never by concrete URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hop {
    StoreHome,
    StoreLogin,
    IdpAuthorizeForm,
    IdpAuthorizePost,
    StoreCallback,
    StoreCart,
    StoreCartWrite,
    StoreCartExpired,
    IdpAuthorizeSso,
    ForumsHome,
    ForumsLogin,
    ForumsCallback,
    ForumsPosts,
    StoreLogout,
    ForumsLogout,
    IdpLogout,
    IdpLogoutConfirm,
    AttackerReplay,
    /// `loadtest calibrate`'s trivial endpoint.
    Calibration,
}

impl Hop {
    pub const ALL: [Hop; 19] = [
        Hop::StoreHome,
        Hop::StoreLogin,
        Hop::IdpAuthorizeForm,
        Hop::IdpAuthorizePost,
        Hop::StoreCallback,
        Hop::StoreCart,
        Hop::StoreCartWrite,
        Hop::StoreCartExpired,
        Hop::IdpAuthorizeSso,
        Hop::ForumsHome,
        Hop::ForumsLogin,
        Hop::ForumsCallback,
        Hop::ForumsPosts,
        Hop::StoreLogout,
        Hop::ForumsLogout,
        Hop::IdpLogout,
        Hop::IdpLogoutConfirm,
        Hop::AttackerReplay,
        Hop::Calibration,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Hop::StoreHome => "store: GET /",
            Hop::StoreLogin => "store: GET /login",
            Hop::IdpAuthorizeForm => "idp: GET /oauth2/authorize (form)",
            Hop::IdpAuthorizePost => "idp: POST /oauth2/authorize",
            Hop::StoreCallback => "store: GET /oauth-callback",
            Hop::StoreCart => "store: GET /shopping-cart",
            Hop::StoreCartWrite => "store: POST /shopping-cart/items",
            Hop::StoreCartExpired => "store: GET /shopping-cart (expired)",
            Hop::IdpAuthorizeSso => "idp: GET /oauth2/authorize (sso)",
            Hop::ForumsHome => "forums: GET /",
            Hop::ForumsLogin => "forums: GET /login",
            Hop::ForumsCallback => "forums: GET /oauth-callback",
            Hop::ForumsPosts => "forums: GET /posts",
            Hop::StoreLogout => "store: POST /logout",
            Hop::ForumsLogout => "forums: POST /logout",
            Hop::IdpLogout => "idp: GET /oauth2/logout",
            Hop::IdpLogoutConfirm => "idp: POST /oauth2/logout",
            Hop::AttackerReplay => "attacker: GET /shopping-cart (replay)",
            Hop::Calibration => "calibration: GET /",
        }
    }

    /// The method, as goose's reports label requests.
    pub fn method(self) -> &'static str {
        match self {
            Hop::IdpAuthorizePost
            | Hop::StoreCartWrite
            | Hop::StoreLogout
            | Hop::ForumsLogout
            | Hop::IdpLogoutConfirm => "POST",
            _ => "GET",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Several hops timed as one user-visible flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flow {
    PasswordLogin,
    SsoRelogin,
    ForumsSsoLogin,
}

impl Flow {
    pub const ALL: [Flow; 3] = [Flow::PasswordLogin, Flow::SsoRelogin, Flow::ForumsSsoLogin];

    pub fn name(self) -> &'static str {
        match self {
            Flow::PasswordLogin => "password login (store)",
            Flow::SsoRelogin => "sso relogin (store)",
            Flow::ForumsSsoLogin => "sso login (forums)",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// What was wrong with a hop's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Problem {
    NoAnswer(HttpError),
    Status {
        got: u16,
        expected: u16,
    },
    /// The `Location` was missing or pointed elsewhere than the flow goes.
    Location,
    /// The `Location` named a host that is not one of the run's targets (never followed).
    ForeignLocation,
    /// The page lacked its marker.
    Marker(&'static str),
    /// A stolen cookie was still served after its owner logged out.
    ServedAfterLogout,
    /// Sent to `/login`: the session was gone, and no fault of the run explains it.
    Bounce,
}

/// A failure's stable key: the hop and what was wrong. Counted per user, named in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Failure {
    pub hop: Hop,
    pub problem: Problem,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hop = self.hop.name();
        match self.problem {
            Problem::NoAnswer(error) => write!(f, "{hop}: no answer ({error})"),
            Problem::Status { got, expected } => {
                write!(f, "{hop}: status {got} (expected {expected})")
            }
            Problem::Location => write!(f, "{hop}: Location not where the flow goes"),
            Problem::ForeignLocation => {
                write!(
                    f,
                    "{hop}: Location names a host outside the run (not followed)"
                )
            }
            Problem::Marker(id) => write!(f, "{hop}: page marker {id} missing"),
            Problem::ServedAfterLogout => write!(f, "{hop}: cookie still served after logout"),
            Problem::Bounce => write!(f, "{hop}: session gone (sent to /login) outside any fault"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hop_and_flow_sits_at_its_index_with_a_distinct_name() {
        for (index, hop) in Hop::ALL.iter().enumerate() {
            assert_eq!(hop.index(), index);
        }
        for (index, flow) in Flow::ALL.iter().enumerate() {
            assert_eq!(flow.index(), index);
        }
        let mut names: Vec<&str> = Hop::ALL.iter().map(|hop| hop.name()).collect();
        names.extend(Flow::ALL.iter().map(|flow| flow.name()));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn failure_keys_name_the_hop_and_the_problem_without_urls() {
        let failure = Failure {
            hop: Hop::StoreCart,
            problem: Problem::Status {
                got: 302,
                expected: 200,
            },
        };
        assert_eq!(
            failure.to_string(),
            "store: GET /shopping-cart: status 302 (expected 200)"
        );
        let failure = Failure {
            hop: Hop::StoreLogin,
            problem: Problem::Location,
        };
        assert!(!failure.to_string().contains("http"), "{failure}");
    }
}
