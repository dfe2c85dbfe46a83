//! HTTP pieces the IdP and the apps share: strict parameter parsing, cookies, HTML pages, the
//! operations each service counts, and the server loop with its limits and the stack's pause gate.

pub mod cookies;
pub mod html;
pub mod operations;
pub mod origin;
pub mod params;
pub mod pause;
pub mod routes;
pub mod server;
pub mod tls;
