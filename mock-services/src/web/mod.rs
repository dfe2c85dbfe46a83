//! HTTP pieces the IdP and the apps share: strict parameter parsing, cookies, HTML pages, and
//! the server loop with its limits.

pub mod cookies;
pub mod html;
pub mod origin;
pub mod params;
pub mod routes;
pub mod server;
