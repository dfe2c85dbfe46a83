//! Every way a hop can fail, as small copyable values beside the hops and flows a scenario
//! times (`vocabulary::names`): the measured path indexes arrays and counts failures by these
//! keys, never by strings built per request. Reports show their names.

use crate::http::HttpError;
use std::fmt;
pub use vocabulary::names::{Flow, Hop, LoginOutcome, MAX_FORM_STEPS};

/// The status a hop must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Expected {
    Status(u16),
    /// Any redirect a browser follows (301, 302, 303, 307, 308).
    Redirect,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Status(status) => write!(f, "{status}"),
            Expected::Redirect => f.write_str("a redirect"),
        }
    }
}

/// What was wrong with a hop's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Problem {
    NoAnswer(HttpError),
    Status {
        got: u16,
        expected: Expected,
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
    /// The login form came back after the password was sent: a wrong password, a locked
    /// account or a validation error. Never counted as a login.
    FormAgain,
    /// 429 Too Many Requests: the provider's rate limit (its `Retry-After` is waited out).
    RateLimited,
    /// A page the login cannot go on from: an error status, or a page without a form.
    ErrorPage(u16),
    /// More form pages than `--max-form-steps` before the provider sent the user back.
    TooManySteps,
    /// More redirects in a row than a browser follows.
    TooManyRedirects,
    /// The provider asked for a password where its SSO session should have logged the user in.
    PasswordAsked,
    /// A form this generator cannot submit (an encoding other than urlencoded).
    UnsupportedForm,
    /// 503 from a service already serving its `--max-connections`: the connection was
    /// refused for the cap, not answered slowly.
    OverCapacity,
}

impl Problem {
    /// The login outcome this problem is, if it is one (see [`LoginOutcome`]).
    pub fn login_outcome(self) -> Option<LoginOutcome> {
        match self {
            Problem::FormAgain => Some(LoginOutcome::FormAgain),
            Problem::RateLimited => Some(LoginOutcome::RateLimited),
            Problem::ErrorPage(_) | Problem::UnsupportedForm => Some(LoginOutcome::ErrorPage),
            Problem::TooManySteps | Problem::TooManyRedirects => Some(LoginOutcome::TooManySteps),
            Problem::PasswordAsked => Some(LoginOutcome::PasswordAsked),
            _ => None,
        }
    }
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
            Problem::FormAgain => write!(
                f,
                "{hop}: the login form again after the password (wrong password, locked or invalid)"
            ),
            Problem::RateLimited => write!(f, "{hop}: 429 too many requests (rate-limited)"),
            Problem::ErrorPage(status) => {
                write!(
                    f,
                    "{hop}: an error page (status {status}, no form to go on)"
                )
            }
            Problem::TooManySteps => write!(f, "{hop}: more form pages than --max-form-steps"),
            Problem::TooManyRedirects => write!(f, "{hop}: too many redirects in a row"),
            Problem::PasswordAsked => write!(f, "{hop}: a password asked where SSO should log in"),
            Problem::UnsupportedForm => {
                write!(f, "{hop}: a form not sent as urlencoded (not supported)")
            }
            Problem::OverCapacity => write!(
                f,
                "{hop}: 503 over the server's connection cap (its --max-connections)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keys_name_the_hop_and_the_problem_without_urls() {
        let failure = Failure {
            hop: Hop::StoreCart,
            problem: Problem::Status {
                got: 302,
                expected: Expected::Status(200),
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
