//! The load scenarios, one module each, and the login flows they share.

pub mod calibration;
pub mod cart_browsing;
pub mod cart_view;
pub mod flows;
pub mod login_sso_journey;
pub mod stolen_session;
