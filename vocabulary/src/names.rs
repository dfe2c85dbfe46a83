//! Every hop and flow a scenario times and every way a login through a provider's pages ends,
//! as small copyable values: the load runner indexes its arrays by them on the measured path,
//! and results and reports carry their names. What the measured path calls per request is
//! `#[inline]`: these are called from another crate, and the release profile has no LTO.

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
    #[inline]
    pub fn page(step: usize) -> Hop {
        Hop::IdpPage(step.clamp(1, STEPS) as u8)
    }

    /// A form submission of the login, its number clamped to what is counted.
    #[inline]
    pub fn submit(step: usize) -> Hop {
        Hop::IdpSubmit(step.clamp(1, STEPS) as u8)
    }

    #[inline]
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
    #[inline]
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
    #[inline]
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

    #[inline]
    pub fn name(self) -> &'static str {
        match self {
            Flow::PasswordLogin => "password login (store)",
            Flow::SsoRelogin => "sso relogin (store)",
            Flow::ForumsSsoLogin => "sso login (forums)",
        }
    }

    #[inline]
    pub fn index(self) -> usize {
        self as usize
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
    #[inline]
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

    #[inline]
    pub fn index(self) -> usize {
        self as usize
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
}
