//! ssobench's result files: the schema the load runner writes and report rendering reads.
//!
//! This crate reads and writes files only; it never talks to a service.

pub mod results;
