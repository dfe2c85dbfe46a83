//! Setting a run up: its arguments (`args`, with `worker_fault`, the coordination faults a test
//! may ask of its workers), what it needs of the machine (`capacity`), the cores each side runs
//! on (`cores`), and the stack it measures (`stack`: in this process, as child processes via
//! `process_stack`, or already running at `--target`), and what that stack's work costs it,
//! component by component (`costs`), and the store's gauges kept current while it runs (`gauges`).

pub mod args;
pub mod capacity;
pub mod cores;
pub mod costs;
pub mod gauges;
pub mod output;
pub mod process_stack;
pub mod stack;
pub mod worker_fault;
