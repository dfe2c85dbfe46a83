//! The generator's lean HTTP path: parsed and resolved origins, per-browser HTTP/1.1 keep-alive
//! connections over TCP or TLS read and written by the user's own task (from a source address
//! of its own with `--source-addrs`), a browser's cookie jar, and page markers found in the
//! body's bytes.

pub mod client;
pub mod codec;
pub mod cookies;
pub mod marker;
pub mod origin;
pub mod source;
pub mod tls;

pub use client::{ClientStats, Handshake, HttpClient, HttpError, Reply, Timing};
pub use codec::{MAX_RETRY_AFTER, Method, Outgoing, PageOrigin};
pub use cookies::{CookieJar, CookieRequest};
pub use marker::Marker;
pub use origin::{Origin, OriginError, OriginId, Origins, Scheme};
pub use source::SourceAddrs;
pub use tls::{ResumptionMode, TlsConnector, TlsError, TlsOptions};
