//! The goose attack: its plan (users, run time, scenarios and their weights, goose's settings)
//! and the measured drive that runs it while the sampler, the fault injector and the interval
//! logs watch.

pub mod measured;
pub mod plan;
