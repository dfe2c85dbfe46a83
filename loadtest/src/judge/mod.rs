//! From what was measured to what is said: `results.json` assembled (`collect`), the
//! generator-bound judgement (`bound`, shared with the merge of several workers' runs), the
//! thresholds a run must meet (`thresholds`), and the summary printed at its end (`summary`).

/// The generator-bound judgement, shared with the merge of several workers' runs.
pub use reports::bound;
pub mod collect;
pub mod summary;
pub mod thresholds;
