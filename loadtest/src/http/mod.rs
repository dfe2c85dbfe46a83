//! The generator's lean HTTP path: parsed origins, per-browser HTTP/1.1 keep-alive connections
//! read and written by the user's own task, a small cookie jar, and page markers found in the
//! body's bytes.

pub mod client;
pub mod cookies;
pub mod form;
pub mod marker;
pub mod origin;

pub use client::{ClientStats, HttpClient, HttpError, Method, Outgoing, Reply};
pub use cookies::CookieJar;
pub use form::ServedForm;
pub use marker::Marker;
pub use origin::{Origin, OriginError, OriginId, Origins};
