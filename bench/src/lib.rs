//! Criterion benchmarks of the session hot path (the benches themselves live in `benches/`), and
//! what they share with the probes in `examples/`: the bare map's value and a fixed key order.

pub mod order;
pub mod raw;
