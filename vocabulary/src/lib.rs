//! The words ssobench's crates share, defined once: the session backends (`Backend`) and the
//! stack's default addresses (`addresses`). A leaf crate: the services, the load runner, the
//! benches and the reports all use it, and it uses none of them.

pub mod addresses;
pub mod backend;

pub use backend::Backend;
