//! HTTP pieces the IdP and the apps share: strict parameter parsing, cookies, HTML pages.

pub mod cookies;
pub mod html;
pub mod params;
pub mod routes;
