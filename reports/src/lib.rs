//! ssobench's reports: the rendering of one or more runs (plus criterion's estimates) into
//! charts and an offline `index.html`, from the `results.json` schema the load runner writes
//! (`vocabulary::results`, re-exported here as `results`).
//!
//! This crate reads and writes files only; it never talks to a service.

pub mod axis;
pub mod bound;
pub mod chart;
pub mod compare;
pub mod criterion;
pub mod drift;
mod fault_section;
pub mod figures;
pub mod fit;
pub mod format;
pub mod hlog;
pub mod html;
mod instance_section;
pub mod latency;
pub mod merge;
pub mod plan;
pub mod profile;
pub mod render;
pub mod report;
pub mod soak;
pub use vocabulary::results;
pub mod stats;
pub mod store_report;
mod transport_section;
pub mod verdict;
mod worker_section;
