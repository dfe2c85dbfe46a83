//! Faults inside a run: what `--fault KIND@AT+DOWN` asks for and whether this run may do it
//! ([`spec`]), the board where users read which faults have begun and ended and note the first
//! error and first success around each ([`board`]), the thread that injects them on time
//! ([`inject`]), and the figures and verdict each fault gets in the results ([`outcome`]).

pub mod board;
pub mod inject;
pub mod outcome;
pub mod spec;

pub use board::FaultBoard;
pub use spec::{FaultKind, FaultSpec, parse_fault};
