//! `results.json`: every figure of one run, with the configuration and machine that produced it.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name of a run's results inside its run directory.
pub const RESULTS_FILE: &str = "results.json";

/// Bumped whenever a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// Results of a session-store load run (the store driven directly, no HTTP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRunResults {
    pub schema_version: u32,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub config: StoreRunConfig,
    pub environment: Environment,
    /// One row per operation kind of the mix.
    pub operations: Vec<OperationResult>,
    /// Completed operations in each whole second of the run, in order.
    pub operations_per_second_timeline: Vec<u64>,
    pub total_operations: u64,
    pub total_errors: u64,
    /// Measured wall time of the run, seconds.
    pub elapsed_seconds: f64,
    /// `total_operations / elapsed_seconds`.
    pub operations_per_second: f64,
    pub live_sessions_at_end: u64,
}

/// What was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRunConfig {
    pub backend: String,
    pub tasks: usize,
    pub duration_seconds: u64,
    pub prefill_sessions: usize,
    /// Per-mille shares of the mix: (operation, share).
    pub mix: Vec<(String, u32)>,
    pub idle_timeout_ms: u64,
    pub absolute_timeout_ms: u64,
}

/// Settings that move the numbers, recorded with every result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub cpu_model: String,
    pub logical_cpus: usize,
    pub kernel: String,
    pub build_profile: String,
    pub target_features: Vec<String>,
    pub allocator: String,
    pub hasher: String,
    pub dashmap_shards: usize,
    pub tokio_worker_threads: usize,
    pub ssobench_version: String,
}

/// Latency of one operation kind, in microseconds (recorded in nanoseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationResult {
    pub operation: String,
    pub count: u64,
    pub errors: u64,
    pub latency_us: Percentiles,
}

/// Percentiles of a latency histogram, microseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

/// Why a results file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a results file of this version: {source}")]
    Format {
        path: String,
        source: serde_json::Error,
    },
}

/// Writes `results.json` into `run_dir`.
pub fn write(run_dir: &Path, results: &StoreRunResults) -> Result<(), ResultsError> {
    let path = run_dir.join(RESULTS_FILE);
    let text = serde_json::to_string_pretty(results).map_err(|source| ResultsError::Format {
        path: path.display().to_string(),
        source,
    })?;
    std::fs::write(&path, text).map_err(|source| ResultsError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads `results.json` from `run_dir`.
pub fn read(run_dir: &Path) -> Result<StoreRunResults, ResultsError> {
    let path = run_dir.join(RESULTS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| ResultsError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ResultsError::Format {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoreRunResults {
        StoreRunResults {
            schema_version: SCHEMA_VERSION,
            started_at: "2026-11-24T15:00:00Z".into(),
            config: StoreRunConfig {
                backend: "dashmap".into(),
                tasks: 4,
                duration_seconds: 2,
                prefill_sessions: 10,
                mix: vec![("load_and_extend".into(), 950)],
                idle_timeout_ms: 1_800_000,
                absolute_timeout_ms: 28_800_000,
            },
            environment: Environment {
                cpu_model: "test cpu".into(),
                logical_cpus: 2,
                kernel: "6.1".into(),
                build_profile: "release".into(),
                target_features: vec!["sse2".into()],
                allocator: "system".into(),
                hasher: "siphash".into(),
                dashmap_shards: 8,
                tokio_worker_threads: 2,
                ssobench_version: "0.0.0".into(),
            },
            operations: vec![OperationResult {
                operation: "load_and_extend".into(),
                count: 100,
                errors: 1,
                latency_us: Percentiles {
                    mean: 0.5,
                    p50: 0.4,
                    p90: 0.9,
                    p99: 2.0,
                    p99_9: 8.5,
                    max: 30.0,
                },
            }],
            operations_per_second_timeline: vec![50, 50],
            total_operations: 100,
            total_errors: 1,
            elapsed_seconds: 2.0,
            operations_per_second: 50.0,
            live_sessions_at_end: 10,
        }
    }

    #[test]
    fn written_results_read_back_equal() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), &sample()).expect("write");
        assert_eq!(read(dir.path()).expect("read"), sample());
    }

    #[test]
    fn a_foreign_file_is_a_format_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(RESULTS_FILE), r#"{"schema_version": 1}"#).expect("write");
        match read(dir.path()) {
            Err(error @ ResultsError::Format { .. }) => {
                assert!(error.to_string().contains(RESULTS_FILE), "{error}");
            }
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(matches!(read(dir.path()), Err(ResultsError::Io { .. })));
    }
}
