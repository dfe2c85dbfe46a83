//! Logging in as a browser does, at any provider: the accounts users log in as (`accounts`),
//! the provider's HTML forms read and filled (`form`), its pages walked from the authorization
//! request until it sends the browser back to the app (`walk`), and what is learnt of it before
//! the load (`provider`: where it logs a browser out).
//!
//! This room uses the HTTP path (`crate::http`) through the hop layer (`crate::users::hop`); the
//! scenarios (`crate::users::scenarios`) use it.

pub mod accounts;
pub mod form;
pub mod provider;
pub mod walk;

pub use accounts::{Account, Accounts};
pub use form::{FormRules, Forms, SelectorText};

/// How a run logs in, fixed for the run.
#[derive(Debug, Clone)]
pub struct LoginSettings {
    pub accounts: Accounts,
    pub rules: FormRules,
    /// Form pages a login may pass through before it is given up (`--max-form-steps`).
    pub max_form_steps: u8,
}

impl Default for LoginSettings {
    /// The mock IdP's generated accounts with its default password, forms found by their
    /// password input, `--max-form-steps`' default.
    fn default() -> Self {
        LoginSettings {
            accounts: Accounts::Generated {
                password: "password".into(),
                count: accounts::GENERATED,
            },
            rules: FormRules::default(),
            max_form_steps: DEFAULT_MAX_FORM_STEPS,
        }
    }
}

/// Form pages a login may pass through by default.
pub const DEFAULT_MAX_FORM_STEPS: u8 = 5;
