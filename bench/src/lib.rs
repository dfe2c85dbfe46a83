//! Criterion benchmarks of the session hot path (the benches themselves live in `benches/`).
