//! A run's files are opened before its users take the descriptors: with not one descriptor
//! left to open, the interval logs of what was measured are still written. (A test binary of
//! its own: it lowers this process's descriptor limit.)

use loadtest::measure::interval_log::{IntervalLogger, IntervalTap, Series};
use loadtest::measure::settle::MeasureClock;
use loadtest::names::Hop;
use rustix::process::{Resource, getrlimit, setrlimit};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

#[test]
fn interval_logs_are_written_when_no_descriptor_is_left() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hlog = dir.path().join("hlog");
    // A run that began 10 s ago, so its seconds close as soon as they are filed.
    let clock = Arc::new(MeasureClock::default());
    clock.start(
        Instant::now() - Duration::from_secs(10),
        SystemTime::now() - Duration::from_secs(10),
    );
    let (logger, sink) =
        IntervalLogger::start(hlog.clone(), "host".into(), clock, 1).expect("logger");
    // The users take every descriptor left: the soft limit is lowered to a few above what is
    // open, and those few are then opened and held.
    let limit = getrlimit(Resource::Nofile);
    let open = std::fs::read_dir("/proc/self/fd").expect("fds").count() as u64;
    let mut lowered = limit;
    lowered.current = Some(open + 16);
    setrlimit(Resource::Nofile, lowered).expect("lower the soft limit");
    let mut held = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        held.push(file);
    }
    assert!(
        std::fs::File::open("/dev/null").is_err(),
        "every descriptor is taken"
    );
    let mut tap = IntervalTap::new(Some(sink));
    tap.record(Series::Hop(Hop::ALL[0]), Duration::from_millis(3), None);
    tap.flush();
    let written = logger.finish();
    drop(held);
    setrlimit(Resource::Nofile, limit).expect("restore the limit");
    let written = written.expect("the logs were written");
    assert_eq!(written.samples.get(Hop::ALL[0].name()), Some(&1));
    let files: Vec<String> = std::fs::read_dir(&hlog)
        .expect("hlog dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    // The one series with a sample keeps its two logs; the files reserved for the others are
    // removed.
    assert_eq!(files.len(), 2, "{files:?}");
}
