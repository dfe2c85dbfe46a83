//! Reads criterion's saved estimates (`target/criterion/**/new/`) for the microbenchmark part of a
//! report: the session hot path by backend × store size, and thread scaling by backend.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One benchmark's latest estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Bench {
    /// criterion's id, e.g. `store/load_hit/dashmap/1k`.
    pub id: String,
    /// Time per iteration, nanoseconds: criterion's slope estimate where it has one (linear
    /// sampling), its mean otherwise, as criterion itself reports.
    pub time_ns: f64,
    /// The 95% confidence interval of that estimate, nanoseconds.
    pub low_ns: f64,
    pub high_ns: f64,
    /// Elements per iteration when the benchmark declared a throughput.
    pub elements: Option<u64>,
}

impl Bench {
    /// The id's `/`-separated parts.
    pub fn parts(&self) -> Vec<&str> {
        self.id.split('/').collect()
    }

    /// Elements per second, for benchmarks with a declared throughput.
    pub fn elements_per_second(&self) -> Option<f64> {
        let elements = self.elements? as f64;
        (self.time_ns > 0.0).then(|| elements / (self.time_ns / 1e9))
    }
}

/// Everything found under one criterion directory.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionResults {
    pub dir: PathBuf,
    /// Sorted by id.
    pub benches: Vec<Bench>,
    /// When the oldest and newest estimates were written (RFC 3339, UTC).
    pub oldest: Option<String>,
    pub newest: Option<String>,
    /// Benchmarks whose files could not be read, with the reason; the rest are still shown.
    pub skipped: Vec<String>,
}

impl CriterionResults {
    pub fn find(&self, id: &str) -> Option<&Bench> {
        self.benches.iter().find(|bench| bench.id == id)
    }
}

#[derive(Deserialize)]
struct BenchmarkFile {
    full_id: String,
    /// criterion's `Throughput` (`{"Elements": n}`, `{"Bytes": n}`, `{"Bits": n}`, ...): only
    /// element counts become operations per second; the rest are read and left aside.
    throughput: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
    slope: Option<Estimate>,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

/// Where `cargo bench` leaves criterion's output for this workspace: `$CRITERION_HOME`, else
/// `<target dir>/criterion` (`$CARGO_TARGET_DIR` or the workspace's `target/`).
pub fn default_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("criterion")
}

/// Why criterion's output could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CriterionError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not criterion output: {source}")]
    Format {
        path: String,
        source: serde_json::Error,
    },
}

/// Reads every benchmark's latest estimate under `dir` (criterion's output directory). A
/// directory without any benchmark gives an empty list; a benchmark whose files are broken
/// (an interrupted run, say) is listed in `skipped` rather than failing the whole report.
pub fn read(dir: &Path) -> Result<CriterionResults, CriterionError> {
    let mut found = Vec::new();
    collect(dir, &mut found)?;
    let mut benches = Vec::new();
    let mut skipped = Vec::new();
    let mut times = Vec::new();
    for new_dir in found {
        match read_bench(&new_dir) {
            Ok((bench, modified)) => {
                benches.push(bench);
                times.extend(modified);
            }
            Err(error) => skipped.push(error.to_string()),
        }
    }
    benches.sort_by(|a, b| a.id.cmp(&b.id));
    let stamp = |time: Option<&SystemTime>| {
        time.and_then(|t| jiff::Timestamp::try_from(*t).ok())
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
    };
    Ok(CriterionResults {
        dir: dir.to_owned(),
        benches,
        oldest: stamp(times.iter().min()),
        newest: stamp(times.iter().max()),
        skipped,
    })
}

/// One benchmark's estimate and when it was written.
fn read_bench(new_dir: &Path) -> Result<(Bench, Option<SystemTime>), CriterionError> {
    let benchmark: BenchmarkFile = read_json(&new_dir.join("benchmark.json"))?;
    let estimates_path = new_dir.join("estimates.json");
    let estimates: Estimates = read_json(&estimates_path)?;
    let modified = std::fs::metadata(&estimates_path)
        .and_then(|m| m.modified())
        .ok();
    let estimate = estimates.slope.unwrap_or(estimates.mean);
    let elements = benchmark.throughput.as_ref().and_then(|throughput| {
        throughput
            .get("Elements")
            .or_else(|| throughput.get("ElementsAndBytes")?.get("elements"))
            .and_then(serde_json::Value::as_u64)
    });
    let bench = Bench {
        id: benchmark.full_id,
        time_ns: estimate.point_estimate,
        low_ns: estimate.confidence_interval.lower_bound,
        high_ns: estimate.confidence_interval.upper_bound,
        elements,
    };
    Ok((bench, modified))
}

/// Every `new/` directory holding a `benchmark.json`, depth first. criterion's own `report/`
/// folders hold no estimates and are skipped.
fn collect(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), CriterionError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CriterionError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut children: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    children.sort();
    for child in children {
        match child.file_name().and_then(|name| name.to_str()) {
            Some("new") if child.join("benchmark.json").is_file() => found.push(child),
            Some("report" | "base" | "change") => {}
            _ => collect(&child, found)?,
        }
    }
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CriterionError> {
    let text = std::fs::read_to_string(path).map_err(|source| CriterionError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| CriterionError::Format {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_bench(root: &Path, dir: &str, id: &str, throughput: &str, slope: Option<f64>) {
        let new = root.join(dir).join("new");
        std::fs::create_dir_all(&new).expect("dir");
        std::fs::write(
            new.join("benchmark.json"),
            format!(r#"{{"group_id":"g","function_id":null,"value_str":null,"throughput":{throughput},"full_id":"{id}","directory_name":"{dir}","title":"{id}"}}"#),
        )
        .expect("write");
        let estimate = |v: f64| {
            format!(
                r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{},"upper_bound":{}}},"point_estimate":{v},"standard_error":0.1}}"#,
                v - 1.0,
                v + 1.0
            )
        };
        let slope = slope.map_or("null".to_owned(), estimate);
        std::fs::write(
            new.join("estimates.json"),
            format!(
                r#"{{"mean":{},"median":{},"median_abs_dev":{},"slope":{slope},"std_dev":{}}}"#,
                estimate(50.0),
                estimate(49.0),
                estimate(1.0),
                estimate(2.0)
            ),
        )
        .expect("write");
    }

    #[test]
    fn reads_slope_or_mean_and_throughput() {
        let dir = tempfile::tempdir().expect("dir");
        write_bench(
            dir.path(),
            "store_load_hit_dashmap_1k",
            "store/load_hit/dashmap/1k",
            "null",
            Some(60.0),
        );
        write_bench(
            dir.path(),
            "scaling_mix/scc/2",
            "scaling/mix/scc/2",
            r#"{"Elements":20000}"#,
            None,
        );
        std::fs::create_dir_all(dir.path().join("report")).expect("dir");
        let results = read(dir.path()).expect("read");
        assert_eq!(results.benches.len(), 2);
        let hit = results.find("store/load_hit/dashmap/1k").expect("hit");
        assert_eq!((hit.time_ns, hit.low_ns, hit.high_ns), (60.0, 59.0, 61.0));
        assert_eq!(hit.elements, None);
        let mix = results.find("scaling/mix/scc/2").expect("mix");
        assert_eq!(mix.time_ns, 50.0);
        assert_eq!(mix.elements_per_second(), Some(20000.0 / 50e-9));
        assert!(results.newest.is_some());
    }

    #[test]
    fn a_broken_benchmark_is_skipped_with_its_path_and_the_rest_kept() {
        let dir = tempfile::tempdir().expect("dir");
        write_bench(dir.path(), "x", "x", "null", None);
        write_bench(dir.path(), "bits", "bits", r#"{"Bits":64}"#, Some(5.0));
        std::fs::write(dir.path().join("x/new/estimates.json"), "{").expect("write");
        let results = read(dir.path()).expect("read");
        assert_eq!(results.benches.len(), 1);
        assert_eq!(results.benches[0].elements, None, "bits are not operations");
        assert_eq!(results.skipped.len(), 1);
        assert!(
            results.skipped[0].contains("estimates.json"),
            "{:?}",
            results.skipped
        );
    }
}
