//! `reports merge` as a user runs it: two workers' directories (results and interval logs made
//! here from a fixture) merged into one run, and a worker of another configuration refused.

use reports::hlog::{HLOG_DIR, Kind, LogWriter};
use reports::results::{self, LoadRunResults};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

fn fixture() -> LoadRunResults {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dashmap"
    ));
    results::read_load(&dir).expect("fixture")
}

/// A worker's directory: `results` and, for every row, a log of as many samples as it counts
/// (all at the row's p50 times `scale`, spread over its first two seconds).
fn worker(dir: &Path, results: LoadRunResults, started: SystemTime, scale: f64) {
    worker_logging(dir, results, started, scale, 1);
}

/// [`worker`], its logs in intervals of `interval` seconds (more than 1: every sample in the
/// first interval).
fn worker_logging(
    dir: &Path,
    mut results: LoadRunResults,
    started: SystemTime,
    scale: f64,
    interval: u64,
) {
    results.measured_started_unix = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs_f64();
    results.host = "test-host".into();
    let hlog = dir.join(HLOG_DIR);
    let stolen = (
        "stolen".to_owned(),
        results.stolen_session.observations,
        1000.0,
    );
    let rows = results
        .hops
        .iter()
        .chain(&results.flows)
        .map(|row| (row.name.clone(), row.count, row.raw_us.p50))
        .chain(std::iter::once(stolen));
    for (name, count, p50) in rows {
        for kind in Kind::BOTH {
            let mut writer =
                LogWriter::create(&hlog, &name, kind, "test-host", started).expect("create");
            let spread: &[(u64, u64)] = if interval == 1 {
                &[(0, count / 2), (1, count - count / 2)]
            } else {
                &[(0, count)]
            };
            for &(second, samples) in spread {
                let mut histogram = reports::latency::histogram();
                histogram
                    .record_n((p50.max(1.0) * scale) as u64, samples)
                    .expect("record");
                writer
                    .write_interval(second, interval, &histogram)
                    .expect("write");
            }
            writer.finish().expect("flush");
        }
    }
    std::fs::create_dir_all(dir).expect("dir");
    results::write_load(dir, &results).expect("write");
}

fn merge(dirs: &[&Path], out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_reports"))
        .arg("merge")
        .args(dirs)
        .arg("--out")
        .arg(out)
        .output()
        .expect("reports merge runs")
}

/// `dirs` merged into `out`, which must succeed; the merged results.
fn merged(dirs: &[&Path], out: &Path) -> LoadRunResults {
    let output = merge(dirs, out);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    results::read_load(out).expect("merged results")
}

#[test]
fn merge_adds_two_workers_up_and_refuses_another_configuration() {
    let root = tempfile::tempdir().expect("temp dir");
    let (a, b, c) = (
        root.path().join("a"),
        root.path().join("b"),
        root.path().join("c"),
    );
    let started = SystemTime::now();
    let results = fixture();
    worker(&a, results.clone(), started, 1.0);
    // The second worker started 2.2 s later, its every sample twice as slow: its seconds are
    // the merged run's two later ones.
    worker(
        &b,
        results.clone(),
        started + Duration::from_millis(2_200),
        2.0,
    );
    let out = root.path().join("merged");
    let merged = merged(&[&a, &b], &out);
    assert_eq!(merged.requests_total, 2 * results.requests_total);
    assert_eq!(merged.config.users, 2 * results.config.users);
    assert_eq!(merged.config.workers, 2);
    assert_eq!(merged.workers.len(), 2);
    assert_eq!(merged.host, "test-host");
    assert_eq!(
        merged.timeline.len(),
        results.timeline.len() + 2,
        "aligned on the wall clock"
    );
    let at = |r: &LoadRunResults, second: u64| {
        r.timeline
            .iter()
            .find(|p| p.second == second)
            .cloned()
            .unwrap_or_else(|| panic!("no second {second}"))
    };
    for point in &merged.timeline {
        let own = |second: u64| {
            results
                .timeline
                .iter()
                .find(|p| p.second == second)
                .map_or(0, |p| p.requests)
        };
        let expected = own(point.second) + point.second.checked_sub(2).map_or(0, own);
        assert_eq!(point.requests, expected, "second {}", point.second);
    }
    // Seconds 1 and 2 hold the first worker's samples only, 3 and 4 the second's: the same
    // mix, twice as slow.
    let ratio = at(&merged, 3).p50_us / at(&merged, 1).p50_us;
    assert!((1.98..2.02).contains(&ratio), "p50 ratio {ratio}");
    let row = |r: &LoadRunResults| {
        r.hops
            .iter()
            .find(|row| row.name == "store: GET /shopping-cart")
            .cloned()
            .expect("cart row")
    };
    assert_eq!(row(&merged).count, 2 * row(&results).count);
    assert!(out.join("index.html").is_file());
    let page = std::fs::read_to_string(out.join("index.html")).expect("page");
    assert!(page.contains("<h2 id=\"workers\">Workers</h2>"));

    let mut other = results;
    other.config.cart_reads += 1;
    worker(&c, other, started, 1.0);
    let output = merge(&[&a, &c], &root.path().join("refused"));
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("cart_reads"), "{message}");
}

/// A worker whose clock ran ahead of its coordinator's (by the offset it measured and
/// recorded) is put back on the coordinator's clock: two workers released together line up
/// second by second, however their clocks read.
#[test]
fn a_workers_measured_clock_offset_is_put_back_in_the_merge() {
    let root = tempfile::tempdir().expect("temp dir");
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    let started = SystemTime::now();
    let results = fixture();
    worker(&a, results.clone(), started, 1.0);
    let mut ahead = results.clone();
    ahead.clock = Some(results::ClockOffset {
        offset_ms: 2_200.0,
        round_trip_ms: 0.4,
    });
    worker(&b, ahead, started + Duration::from_millis(2_200), 1.0);
    let merged = merged(&[&a, &b], &root.path().join("merged"));
    assert_eq!(merged.timeline.len(), results.timeline.len());
    for (point, own) in merged.timeline.iter().zip(&results.timeline) {
        assert_eq!(point.second, own.second);
        assert_eq!(point.requests, 2 * own.requests, "second {}", own.second);
    }
    assert_eq!(merged.workers[0].clock_offset_ms, None);
    assert_eq!(merged.workers[1].clock_offset_ms, Some(2_200.0));
}

/// A long run's logs hold ten-second intervals (five here): the merge gives every second an
/// interval spans its latency, and the workers' logs read back for the soak windows are moved
/// to the merged run's seconds as their timelines are.
#[test]
fn longer_intervals_cover_every_second_they_span_and_workers_logs_move_with_them() {
    let root = tempfile::tempdir().expect("temp dir");
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    let started = SystemTime::now();
    let results = fixture();
    worker_logging(&a, results.clone(), started, 1.0, 5);
    worker_logging(
        &b,
        results.clone(),
        started + Duration::from_secs(2),
        1.0,
        5,
    );
    let out = root.path().join("merged");
    let merged = merged(&[&a, &b], &out);
    let p50 = results.hops[0].raw_us.p50.max(1.0);
    for point in &merged.timeline {
        // Worker a's interval spans seconds 1–5, b's 3–7 of the merged run.
        if point.second <= 7 {
            assert!(
                (point.p50_us - p50).abs() / p50 < 0.01,
                "second {}: {} against {p50}",
                point.second,
                point.p50_us
            );
        }
    }
    let logs = reports::merge::workers_logs(&out, &merged).expect("the workers' logs");
    let hop = &results.hops[0].name;
    let mut starts: Vec<u64> = logs
        .iter()
        .filter(|log| &log.series == hop && log.kind == Kind::Raw)
        .map(|log| {
            assert_eq!(log.interval_seconds, 5);
            log.intervals[0].0
        })
        .collect();
    starts.sort_unstable();
    assert_eq!(starts, [0, 2], "b started two seconds after a");
}
