//! The words ssobench's crates share, defined once: the session backends (`Backend`), the arms
//! of a comparison (`Arm`), the stack's services and roles (`service`), the hops and flows a
//! scenario times (`names`), its default addresses (`addresses`), the settings results record
//! (`settings`), what the stack's work costs (`costs`), what a store tells of its sessions
//! (`gauges`), the lines its processes say to each other (`protocol`), and the results schema
//! (`results`, the rounds of a comparison among them). A leaf crate:
//! the services, the load runner, the benches and the reports all use it, and it uses none of
//! them.

pub mod addresses;
pub mod arm;
pub mod backend;
pub mod costs;
pub mod gauges;
pub mod names;
pub mod protocol;
pub mod results;
pub mod service;
pub mod settings;

pub use arm::Arm;
pub use backend::Backend;
pub use service::{Role, Service};
