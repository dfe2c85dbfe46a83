//! A long run's report: a 10-minute run made here (a fixture's results with a synthetic
//! timeline and interval logs) whose generator leaks memory, whose Redis's data grows, whose
//! store's sessions step up halfway and whose rate, latency and stack processes' memory hold,
//! judged in 30-second windows.

use reports::hlog::{HLOG_DIR, Kind, LogWriter};
use reports::results::{self, LoadRunResults};
use reports::soak::Soak;
use std::path::PathBuf;
use std::time::SystemTime;

const RUN_SECONDS: u64 = 600;

fn fixture() -> LoadRunResults {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dashmap"
    ));
    results::read_load(&dir).expect("fixture")
}

/// A small deterministic wobble, so the series are not perfectly straight.
fn wobble(second: u64) -> f64 {
    ((second * 7919) % 101) as f64 / 100.0 - 0.5
}

#[test]
fn a_leak_a_step_and_steady_series_are_told_apart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut results = fixture();
    results.config.run_time_seconds = RUN_SECONDS;
    results.config.soak_window_seconds = Some(30);
    let template = results.timeline[0].clone();
    // Timeline second `s` covers the run's `[s - 1, s)`.
    results.timeline = (1..=RUN_SECONDS)
        .map(|second| {
            let mut point = template.clone();
            point.second = second;
            point.elapsed_seconds = second as f64;
            point.requests = (1000.0 + 40.0 * wobble(second)) as u64;
            point.errors = 0;
            // 0.5 MB a second: 30 MB a minute.
            point.generator_rss_bytes = Some(100_000_000 + second * 500_000);
            point.store_sessions_alive = Some(if second <= 300 { 1_000 } else { 2_000 });
            point.generator_cpu_cores = 0.8 + 0.02 * wobble(second + 3);
            point.stack_cpu_cores = None;
            // The stack's processes hold steady; Redis's data grows 0.2 MB a second.
            point.stack_rss_bytes = [
                ("idp".to_owned(), (50e6 + 1e5 * wobble(second + 5)) as u64),
                (
                    "redis-server 6379".to_owned(),
                    (80e6 + 1e5 * wobble(second + 7)) as u64,
                ),
            ]
            .into();
            point.backend_memory_bytes = Some(20_000_000 + second * 200_000);
            point
        })
        .collect();
    let started = SystemTime::now();
    let hlog = dir.path().join(HLOG_DIR);
    let flow = results.flows[0].name.clone();
    for kind in Kind::BOTH {
        let mut writer = LogWriter::create(&hlog, &flow, kind, "test-host", started).expect("log");
        for second in 0..RUN_SECONDS {
            let mut histogram = reports::latency::histogram();
            let base = 2_000.0 + 100.0 * wobble(second + 11);
            histogram.record_n(base as u64, 90).expect("record");
            histogram.record_n((base * 5.0) as u64, 10).expect("record");
            writer.write(second, &histogram).expect("write");
        }
        writer.finish().expect("flush");
    }
    results::write_load(dir.path(), &results).expect("write");
    reports::render::render_run(dir.path(), &results).expect("render");

    let soaks: Vec<(String, Soak)> = serde_json::from_slice(
        &std::fs::read(dir.path().join(reports::render::SOAK_FILE)).expect("soak.json"),
    )
    .expect("soak.json reads back");
    assert_eq!(soaks.len(), 1);
    let soak = &soaks[0].1;
    assert_eq!((soak.windows, soak.window_seconds), (20, 30));
    let verdict = |name: &str| {
        soak.series
            .iter()
            .find(|trend| trend.name == name)
            .unwrap_or_else(|| panic!("no series {name}"))
            .sentence
            .clone()
    };
    let memory = verdict("generator resident memory");
    assert!(memory.starts_with("grows 30.0 MB/min"), "{memory}");
    let redis = verdict("Redis used memory");
    assert!(redis.starts_with("grows 12.0 MB/min"), "{redis}");
    let sessions = verdict("store sessions alive");
    assert!(
        sessions.starts_with("a step at minute 5.0: 1000 → 2000"),
        "{sessions}"
    );
    for steady in [
        "requests/s".to_owned(),
        "errors".to_owned(),
        "generator CPU".to_owned(),
        "resident memory of idp".to_owned(),
        "resident memory of redis-server 6379".to_owned(),
        format!("p50 of flow {flow}"),
        format!("p99 of flow {flow}"),
    ] {
        let sentence = verdict(&steady);
        assert!(sentence.starts_with("stable"), "{steady}: {sentence}");
    }
    let page = std::fs::read_to_string(dir.path().join("index.html")).expect("page");
    assert!(page.contains("Over time: drift"));
    assert!(
        page.contains("3 series moved"),
        "the leak, Redis's growth and the step"
    );
    assert!(page.contains("grows 30.0 MB/min"));
}
