//! Every hop and flow a scenario times, and every way a hop can fail, as small copyable values:
//! the measured path indexes arrays and counts failures by these keys, never by strings built
//! per request. Reports show their names.

use crate::http::HttpError;
use std::fmt;

/// The most form pages a login may pass through (`--max-form-steps` is at most this).
pub const MAX_FORM_STEPS: u8 = 8;

/// One request of a scenario, named by service and what it is (never by concrete URL). The
/// provider's hops are named by their place in the login (which page, which form), since a
/// real provider's routes are its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hop {
    StoreHome,
    StoreLogin,
    /// The authorization request, answered with a page (the login form).
    IdpAuthorizeForm,
    /// The authorization request, answered with a redirect back to the app: an SSO login.
    IdpAuthorizeSso,
    /// The authorization request, answered with a redirect to the provider's own pages.
    IdpAuthorizeOnward,
    /// A redirect within the provider, followed (answered with another redirect).
    IdpRedirect,
    /// A page of the login after the first, reached by a redirect (1-based: page 1 is the
    /// first page a redirect from the authorization request led to).
    IdpPage(u8),
    /// Form `n` of the login submitted (1-based; form 1 is usually the login form).
    IdpSubmit(u8),
    StoreCallback,
    StoreCart,
    StoreCartWrite,
    StoreCartExpired,
    ForumsHome,
    ForumsLogin,
    ForumsCallback,
    ForumsPosts,
    StoreLogout,
    ForumsLogout,
    /// The provider's logout page (the mock IdP's confirmation, or an app's RP-initiated
    /// logout arriving there).
    IdpLogout,
    /// A logout confirmation submitted.
    IdpLogoutConfirm,
    /// A redirect of a logout within the provider, or back to the app.
    IdpLogoutRedirect,
    AttackerReplay,
    /// `loadtest calibrate`'s trivial endpoint.
    Calibration,
}

const STEPS: usize = MAX_FORM_STEPS as usize;

/// The names of the numbered hops (static, so reports and failures never build strings).
const PAGE_NAMES: [&str; STEPS] = [
    "idp: GET page 1",
    "idp: GET page 2",
    "idp: GET page 3",
    "idp: GET page 4",
    "idp: GET page 5",
    "idp: GET page 6",
    "idp: GET page 7",
    "idp: GET page 8",
];
const SUBMIT_NAMES: [&str; STEPS] = [
    "idp: POST form 1",
    "idp: POST form 2",
    "idp: POST form 3",
    "idp: POST form 4",
    "idp: POST form 5",
    "idp: POST form 6",
    "idp: POST form 7",
    "idp: POST form 8",
];

/// The hops before the numbered ones, and after.
const BEFORE_STEPS: [Hop; 6] = [
    Hop::StoreHome,
    Hop::StoreLogin,
    Hop::IdpAuthorizeForm,
    Hop::IdpAuthorizeSso,
    Hop::IdpAuthorizeOnward,
    Hop::IdpRedirect,
];
const AFTER_STEPS: [Hop; 15] = [
    Hop::StoreCallback,
    Hop::StoreCart,
    Hop::StoreCartWrite,
    Hop::StoreCartExpired,
    Hop::ForumsHome,
    Hop::ForumsLogin,
    Hop::ForumsCallback,
    Hop::ForumsPosts,
    Hop::StoreLogout,
    Hop::ForumsLogout,
    Hop::IdpLogout,
    Hop::IdpLogoutConfirm,
    Hop::IdpLogoutRedirect,
    Hop::AttackerReplay,
    Hop::Calibration,
];

const HOPS: usize = BEFORE_STEPS.len() + 2 * STEPS + AFTER_STEPS.len();

impl Hop {
    /// Every hop, in route order: the arrays measurements are kept in follow it.
    pub const ALL: [Hop; HOPS] = {
        let mut all = [Hop::StoreHome; HOPS];
        let mut at = 0;
        while at < BEFORE_STEPS.len() {
            all[at] = BEFORE_STEPS[at];
            at += 1;
        }
        let mut step = 0;
        while step < STEPS {
            all[at + step] = Hop::IdpPage(step as u8 + 1);
            all[at + STEPS + step] = Hop::IdpSubmit(step as u8 + 1);
            step += 1;
        }
        at += 2 * STEPS;
        let mut after = 0;
        while after < AFTER_STEPS.len() {
            all[at + after] = AFTER_STEPS[after];
            after += 1;
        }
        all
    };

    /// A page hop of the login, its number clamped to what is counted.
    pub fn page(step: usize) -> Hop {
        Hop::IdpPage(step.clamp(1, STEPS) as u8)
    }

    /// A form submission of the login, its number clamped to what is counted.
    pub fn submit(step: usize) -> Hop {
        Hop::IdpSubmit(step.clamp(1, STEPS) as u8)
    }

    pub fn name(self) -> &'static str {
        match self {
            Hop::StoreHome => "store: GET /",
            Hop::StoreLogin => "store: GET /login",
            Hop::IdpAuthorizeForm => "idp: GET authorize (form)",
            Hop::IdpAuthorizeSso => "idp: GET authorize (sso)",
            Hop::IdpAuthorizeOnward => "idp: GET authorize (to its pages)",
            Hop::IdpRedirect => "idp: GET (a redirect)",
            Hop::IdpPage(step) => PAGE_NAMES[usize::from(step.clamp(1, MAX_FORM_STEPS)) - 1],
            Hop::IdpSubmit(step) => SUBMIT_NAMES[usize::from(step.clamp(1, MAX_FORM_STEPS)) - 1],
            Hop::StoreCallback => "store: GET /oauth-callback",
            Hop::StoreCart => "store: GET /shopping-cart",
            Hop::StoreCartWrite => "store: POST /shopping-cart/items",
            Hop::StoreCartExpired => "store: GET /shopping-cart (expired)",
            Hop::ForumsHome => "forums: GET /",
            Hop::ForumsLogin => "forums: GET /login",
            Hop::ForumsCallback => "forums: GET /oauth-callback",
            Hop::ForumsPosts => "forums: GET /posts",
            Hop::StoreLogout => "store: POST /logout",
            Hop::ForumsLogout => "forums: POST /logout",
            Hop::IdpLogout => "idp: GET logout",
            Hop::IdpLogoutConfirm => "idp: POST logout form",
            Hop::IdpLogoutRedirect => "idp: GET (a redirect of logout)",
            Hop::AttackerReplay => "attacker: GET /shopping-cart (replay)",
            Hop::Calibration => "calibration: GET /",
        }
    }

    /// The method, as goose's reports label requests.
    pub fn method(self) -> &'static str {
        match self {
            Hop::IdpSubmit(_)
            | Hop::StoreCartWrite
            | Hop::StoreLogout
            | Hop::ForumsLogout
            | Hop::IdpLogoutConfirm => "POST",
            _ => "GET",
        }
    }

    /// This hop's place in [`Hop::ALL`] (a test holds every hop to it).
    pub fn index(self) -> usize {
        let steps = BEFORE_STEPS.len();
        let after = steps + 2 * STEPS;
        match self {
            Hop::StoreHome => 0,
            Hop::StoreLogin => 1,
            Hop::IdpAuthorizeForm => 2,
            Hop::IdpAuthorizeSso => 3,
            Hop::IdpAuthorizeOnward => 4,
            Hop::IdpRedirect => 5,
            Hop::IdpPage(step) => steps + usize::from(step.clamp(1, MAX_FORM_STEPS)) - 1,
            Hop::IdpSubmit(step) => steps + STEPS + usize::from(step.clamp(1, MAX_FORM_STEPS)) - 1,
            Hop::StoreCallback => after,
            Hop::StoreCart => after + 1,
            Hop::StoreCartWrite => after + 2,
            Hop::StoreCartExpired => after + 3,
            Hop::ForumsHome => after + 4,
            Hop::ForumsLogin => after + 5,
            Hop::ForumsCallback => after + 6,
            Hop::ForumsPosts => after + 7,
            Hop::StoreLogout => after + 8,
            Hop::ForumsLogout => after + 9,
            Hop::IdpLogout => after + 10,
            Hop::IdpLogoutConfirm => after + 11,
            Hop::IdpLogoutRedirect => after + 12,
            Hop::AttackerReplay => after + 13,
            Hop::Calibration => after + 14,
        }
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

/// How a login through the provider's pages ended; only `Completed` is a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoginOutcome {
    Completed,
    FormAgain,
    RateLimited,
    ErrorPage,
    TooManySteps,
    PasswordAsked,
}

impl LoginOutcome {
    pub const ALL: [LoginOutcome; 6] = [
        LoginOutcome::Completed,
        LoginOutcome::FormAgain,
        LoginOutcome::RateLimited,
        LoginOutcome::ErrorPage,
        LoginOutcome::TooManySteps,
        LoginOutcome::PasswordAsked,
    ];

    /// The outcome's name in results.json and the report.
    pub fn name(self) -> &'static str {
        match self {
            LoginOutcome::Completed => "completed",
            LoginOutcome::FormAgain => "form_again",
            LoginOutcome::RateLimited => "rate_limited",
            LoginOutcome::ErrorPage => "error_page",
            LoginOutcome::TooManySteps => "too_many_steps",
            LoginOutcome::PasswordAsked => "password_asked",
        }
    }

    pub fn index(self) -> usize {
        self as usize
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
