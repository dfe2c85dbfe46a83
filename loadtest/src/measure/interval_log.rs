//! Per-second interval histograms of every hop and flow (and the stolen cookie's usable time),
//! raw and corrected, written as HdrHistogram interval logs (`hlog/*.hlog` in the run
//! directory) while the run goes. A run over an hour writes ten-second intervals instead
//! ([`interval_for`]): per-second logs take about 15 KB/s, 430 MB in 8 hours.
//!
//! Users do not touch histograms for this: each appends its samples to a small buffer and
//! hands the buffer over once it is full, a second old, or before a long sleep; a thread of its
//! own files the samples by the interval they were taken in and writes each interval once no
//! user can still hold one of its samples ([`GRACE`] after its last second), so only a few
//! intervals are ever in memory. A sample that arrives after its interval was written (its
//! user was inside one request for longer than the grace) goes into the first interval not yet
//! written: counted, a little late, and counted as late in the run's results
//! (`hlog_late_samples`). The last interval of a run is written with its full length even when
//! the run ended inside it.

use crate::measure::recorder::{histogram, micros};
use crate::measure::settle::MeasureClock;
use crate::names::{Flow, Hop};
use hdrhistogram::Histogram;
use reports::hlog::{HlogError, Kind, LogWriter};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime};

/// Samples a user keeps before handing them over.
const BATCH: usize = 256;
/// A user hands its samples over once the oldest is this old.
const HAND_OVER_MS: u32 = 1_000;
/// Seconds an interval stays open after its last second ended, for samples still on their way.
pub const GRACE: u64 = 5;

/// Runs longer than this write coarser intervals.
pub const FINE_LOGS_UP_TO: Duration = Duration::from_secs(3600);

/// The logs' interval for a run of `run_time`, seconds: 1, or 10 beyond [`FINE_LOGS_UP_TO`]
/// (a soak's one-minute windows hold six).
pub fn interval_for(run_time: Duration) -> u64 {
    if run_time > FINE_LOGS_UP_TO { 10 } else { 1 }
}

/// One sample: when it was taken (ms from the start of the measured run), its series, its
/// value and the user's intended interval (open model; 0 in a closed run).
#[derive(Debug, Clone, Copy)]
struct Sample {
    at_ms: u32,
    series: u16,
    micros: u32,
    interval_us: u32,
}

/// What the logs hold: every hop, then every flow, then the stolen cookie's usable time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    Hop(Hop),
    Flow(Flow),
    Stolen,
}

impl Series {
    const COUNT: usize = Hop::ALL.len() + Flow::ALL.len() + 1;

    fn index(self) -> usize {
        match self {
            Series::Hop(hop) => hop.index(),
            Series::Flow(flow) => Hop::ALL.len() + flow.index(),
            Series::Stolen => Hop::ALL.len() + Flow::ALL.len(),
        }
    }

    fn from_index(index: usize) -> Series {
        if let Some(hop) = Hop::ALL.get(index) {
            Series::Hop(*hop)
        } else if let Some(flow) = Flow::ALL.get(index - Hop::ALL.len()) {
            Series::Flow(*flow)
        } else {
            Series::Stolen
        }
    }

    /// The name of the series' row in `results.json`, and of its logs.
    pub fn name(self) -> &'static str {
        match self {
            Series::Hop(hop) => hop.name(),
            Series::Flow(flow) => flow.name(),
            Series::Stolen => STOLEN,
        }
    }
}

/// The stolen cookie's row and series name.
pub const STOLEN: &str = "stolen";

enum Message {
    Samples(Vec<Sample>),
    Finish,
}

/// Where users hand samples over; cheap to clone (one per user).
#[derive(Debug, Clone)]
pub struct IntervalSink {
    sender: mpsc::Sender<Message>,
    /// Samples count from the measured run's zero; none is kept before it (the warm-up).
    clock: Arc<MeasureClock>,
}

/// A user's side: its buffer of samples not yet handed over.
#[derive(Debug, Default)]
pub struct IntervalTap {
    sink: Option<IntervalSink>,
    buffer: Vec<Sample>,
    first_ms: u32,
}

impl IntervalTap {
    /// A tap on `sink`, or one that keeps nothing (a warm-up, which writes no logs).
    pub fn new(sink: Option<IntervalSink>) -> Self {
        IntervalTap {
            sink,
            buffer: Vec::new(),
            first_ms: 0,
        }
    }

    /// Notes one sample of `series`, taken now.
    pub fn record(&mut self, series: Series, elapsed: Duration, interval: Option<Duration>) {
        let Some(sink) = &self.sink else {
            return;
        };
        let Some(zero) = sink.clock.zero() else {
            return;
        };
        let at_ms = u32::try_from(zero.elapsed().as_millis()).unwrap_or(u32::MAX);
        if self.buffer.is_empty() {
            self.first_ms = at_ms;
            self.buffer.reserve(BATCH);
        }
        self.buffer.push(Sample {
            at_ms,
            series: u16::try_from(series.index()).unwrap_or(u16::MAX),
            micros: u32::try_from(micros(elapsed)).unwrap_or(u32::MAX),
            interval_us: interval.map_or(0, |i| u32::try_from(i.as_micros()).unwrap_or(u32::MAX)),
        });
        if self.buffer.len() >= BATCH || at_ms.saturating_sub(self.first_ms) >= HAND_OVER_MS {
            self.flush();
        }
    }

    /// Hands every sample kept over (before a long sleep, and when the user stops).
    pub fn flush(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        if let Some(sink) = &self.sink {
            let samples = std::mem::take(&mut self.buffer);
            // The logger outlives every user of the run; a send can only fail after it
            // stopped, when nothing is recorded any more.
            let _ = sink.sender.send(Message::Samples(samples));
        }
    }
}

/// The thread writing a run's interval logs.
#[derive(Debug)]
pub struct IntervalLogger {
    sender: mpsc::Sender<Message>,
    thread: std::thread::JoinHandle<Result<Written, HlogError>>,
}

/// What the logs hold, per series: samples written (raw).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub samples: BTreeMap<&'static str, u64>,
    /// Samples that came after their second was written, filed in a later one.
    pub late: u64,
}

impl IntervalLogger {
    /// Starts the writer for a run whose zero is `clock`'s (the logs' start time its wall
    /// time); the logs go in `dir`, each naming `host`.
    pub fn start(
        dir: PathBuf,
        host: String,
        clock: Arc<MeasureClock>,
        interval: u64,
    ) -> Result<(IntervalLogger, IntervalSink), HlogError> {
        // Logs of an earlier run in the same directory must not pass for this one's.
        match std::fs::remove_dir_all(&dir) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(HlogError::Io {
                    path: dir.display().to_string(),
                    source: error,
                });
            }
            _ => {}
        }
        // Every file is opened now, before the users start: a run whose users take every
        // descriptor must still be able to write what it measured. Those left unused are
        // removed at the end.
        let reserved = (0..Series::COUNT)
            .map(|index| {
                let name = Series::from_index(index).name();
                Ok(Some((
                    LogWriter::reserve(&dir, name, Kind::Raw)?,
                    LogWriter::reserve(&dir, name, Kind::Corrected)?,
                )))
            })
            .collect::<Result<Vec<_>, HlogError>>()?;
        let (sender, receiver) = mpsc::channel();
        let filer_clock = Arc::clone(&clock);
        let thread = std::thread::Builder::new()
            .name("ssobench-hlog".into())
            .spawn(move || {
                Filer {
                    dir,
                    host,
                    clock: filer_clock,
                    interval: interval.max(1),
                    open: BTreeMap::new(),
                    closed_through: None,
                    reserved,
                    writers: (0..Series::COUNT).map(|_| None).collect(),
                    failed: None,
                    written: Written::default(),
                }
                .run(&receiver)
            })
            .map_err(|source| HlogError::Io {
                path: "the interval log thread".into(),
                source,
            })?;
        let sink = IntervalSink {
            sender: sender.clone(),
            clock,
        };
        Ok((IntervalLogger { sender, thread }, sink))
    }

    /// Writes every second still open and closes the logs. Call once every user has handed
    /// its samples over (they do when they stop).
    pub fn finish(self) -> Result<Written, HlogError> {
        let _ = self.sender.send(Message::Finish);
        self.thread.join().unwrap_or_else(|_| {
            Err(HlogError::Format {
                path: "hlog/".into(),
                detail: "the interval log thread panicked".into(),
            })
        })
    }
}

/// One interval's histograms, raw and corrected, per series (only series with samples).
type Second = Vec<Option<(Histogram<u64>, Histogram<u64>)>>;

/// The writer thread's state.
struct Filer {
    dir: PathBuf,
    host: String,
    clock: Arc<MeasureClock>,
    /// Seconds per interval; intervals are keyed by their first second.
    interval: u64,
    open: BTreeMap<u64, Second>,
    closed_through: Option<u64>,
    /// Each series' files (raw, corrected), opened at the start, until its first second.
    reserved: Vec<Option<Reserved>>,
    writers: Vec<Option<(LogWriter, LogWriter)>>,
    written: Written,
    /// The first write that failed: later seconds are dropped, and the run says so.
    failed: Option<HlogError>,
}

/// A series' two files, created empty.
type Reserved = ((std::fs::File, PathBuf), (std::fs::File, PathBuf));

impl Filer {
    fn run(mut self, receiver: &mpsc::Receiver<Message>) -> Result<Written, HlogError> {
        loop {
            match receiver.recv_timeout(Duration::from_millis(250)) {
                Ok(Message::Samples(samples)) => {
                    for sample in samples {
                        self.file(sample);
                    }
                }
                Ok(Message::Finish) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            // Before measuring starts no second is open: nothing to write.
            let now = self.clock.zero().map_or(0, |zero| zero.elapsed().as_secs());
            while let Some(&start) = self.open.keys().next() {
                // An interval closes once its last second is past its grace.
                if start + self.interval - 1 + GRACE >= now {
                    break;
                }
                self.close_or_note(start);
            }
        }
        while let Some(&second) = self.open.keys().next() {
            self.close_or_note(second);
        }
        for (raw, corrected) in std::mem::take(&mut self.writers).into_iter().flatten() {
            if let Err(error) = raw.finish().and_then(|()| corrected.finish()) {
                self.failed.get_or_insert(error);
            }
        }
        // Files of series that never had a sample.
        for ((_, raw), (_, corrected)) in self.reserved.into_iter().flatten() {
            let _ = std::fs::remove_file(raw);
            let _ = std::fs::remove_file(corrected);
        }
        match self.failed {
            Some(error) => Err(error),
            None => Ok(self.written),
        }
    }

    /// Writes an interval; after a failure, only drops it (the first failure is what the run
    /// reports, and users go on handing samples over without piling them up here).
    fn close_or_note(&mut self, second: u64) {
        if self.failed.is_some() {
            self.open.remove(&second);
            return;
        }
        if let Err(error) = self.close(second) {
            self.failed = Some(error);
        }
    }

    fn file(&mut self, sample: Sample) {
        let mut second = u64::from(sample.at_ms / 1000) / self.interval * self.interval;
        if let Some(closed) = self.closed_through
            && second <= closed
        {
            second = closed + self.interval;
            self.written.late += 1;
        }
        let slots = self
            .open
            .entry(second)
            .or_insert_with(|| (0..Series::COUNT).map(|_| None).collect());
        let Some(slot) = slots.get_mut(usize::from(sample.series)) else {
            return;
        };
        let (raw, corrected) = slot.get_or_insert_with(|| (histogram(), histogram()));
        let value = u64::from(sample.micros);
        let _ = raw.record(value);
        let _ = match sample.interval_us {
            0 => corrected.record(value),
            expected => corrected.record_correct(value, u64::from(expected)),
        };
    }

    fn close(&mut self, second: u64) -> Result<(), HlogError> {
        let Some(slots) = self.open.remove(&second) else {
            return Ok(());
        };
        for (index, slot) in slots.into_iter().enumerate() {
            let Some((raw, corrected)) = slot else {
                continue;
            };
            let series = Series::from_index(index);
            let writers = match &mut self.writers[index] {
                Some(writers) => writers,
                empty => {
                    let ((raw, raw_path), (corrected, corrected_path)) = self.reserved[index]
                        .take()
                        .ok_or_else(|| HlogError::Format {
                            path: self.dir.display().to_string(),
                            detail: format!("no file reserved for {}", series.name()),
                        })?;
                    // Samples come only once measuring has started: the clock is set.
                    let started = self.clock.wall().unwrap_or_else(SystemTime::now);
                    let begin = |file, path, kind| {
                        LogWriter::begin(file, path, series.name(), kind, &self.host, started)
                    };
                    empty.insert((
                        begin(raw, raw_path, Kind::Raw)?,
                        begin(corrected, corrected_path, Kind::Corrected)?,
                    ))
                }
            };
            writers.0.write_interval(second, self.interval, &raw)?;
            writers
                .1
                .write_interval(second, self.interval, &corrected)?;
            *self.written.samples.entry(series.name()).or_default() += raw.len();
        }
        self.closed_through = Some(second);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_series_has_a_file_of_its_own() {
        let files: HashSet<String> = (0..Series::COUNT)
            .map(|index| reports::report::slug(Series::from_index(index).name()))
            .collect();
        assert_eq!(files.len(), Series::COUNT);
        for index in 0..Series::COUNT {
            assert_eq!(Series::from_index(index).index(), index);
        }
    }

    #[test]
    fn samples_are_filed_by_second_and_late_ones_in_the_first_second_not_yet_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A run that began 10 s ago: seconds 0..=4 are past their grace as soon as a message
        // is handled.
        let clock = Arc::new(MeasureClock::default());
        clock.start(
            std::time::Instant::now() - Duration::from_secs(10),
            SystemTime::now() - Duration::from_secs(10),
        );
        let (logger, sink) =
            IntervalLogger::start(dir.path().to_path_buf(), "h".into(), clock, 1).expect("start");
        let sample = |at_ms, micros| Sample {
            at_ms,
            series: 0,
            micros,
            interval_us: 0,
        };
        let send = |samples| sink.sender.send(Message::Samples(samples)).expect("send");
        send(vec![sample(100, 10), sample(900, 20), sample(1_500, 30)]);
        send(vec![sample(9_800, 40)]);
        // Second 0 and 1 are written by now: a sample of second 0 arriving now is late.
        std::thread::sleep(Duration::from_millis(300));
        send(vec![sample(200, 50)]);
        let written = logger.finish().expect("finish");
        assert_eq!(written.late, 1);
        assert_eq!(written.samples.get(Hop::ALL[0].name()), Some(&5));
        let log = reports::hlog::read(&reports::hlog::path(
            dir.path(),
            Hop::ALL[0].name(),
            Kind::Raw,
        ))
        .expect("read");
        let seconds: Vec<(u64, u64)> = log
            .intervals
            .iter()
            .map(|(second, histogram)| (*second, histogram.len()))
            .collect();
        // Second 0: two samples; 1: one; the late one in 2, the first second not yet written;
        // 9: the one of 9.8 s.
        assert_eq!(seconds, [(0, 2), (1, 1), (2, 1), (9, 1)]);
        assert_eq!(log.host, "h");
    }

    #[test]
    fn a_long_runs_logs_hold_ten_second_intervals() {
        assert_eq!(interval_for(Duration::from_secs(3600)), 1);
        assert_eq!(interval_for(Duration::from_secs(8 * 3600)), 10);
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(MeasureClock::default());
        clock.start(
            std::time::Instant::now() - Duration::from_secs(30),
            SystemTime::now() - Duration::from_secs(30),
        );
        let (logger, sink) =
            IntervalLogger::start(dir.path().to_path_buf(), "h".into(), clock, 10).expect("start");
        let sample = |at_ms| Sample {
            at_ms,
            series: 0,
            micros: 10,
            interval_us: 0,
        };
        let send = |samples| sink.sender.send(Message::Samples(samples)).expect("send");
        send(vec![
            sample(1_100),
            sample(9_900),
            sample(12_000),
            sample(25_000),
        ]);
        // Intervals 0 and 10 are written by now: a sample of second 5 arriving now is late,
        // filed in 20, the first interval not yet written.
        std::thread::sleep(Duration::from_millis(300));
        send(vec![sample(5_000)]);
        let written = logger.finish().expect("finish");
        assert_eq!(written.late, 1);
        let log = reports::hlog::read(&reports::hlog::path(
            dir.path(),
            Hop::ALL[0].name(),
            Kind::Raw,
        ))
        .expect("read");
        let intervals: Vec<(u64, u64)> = log
            .intervals
            .iter()
            .map(|(start, histogram)| (*start, histogram.len()))
            .collect();
        assert_eq!(intervals, [(0, 2), (10, 1), (20, 2)]);
    }

    #[test]
    fn nothing_is_logged_before_measuring_starts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(MeasureClock::default());
        let (logger, sink) =
            IntervalLogger::start(dir.path().to_path_buf(), "h".into(), Arc::clone(&clock), 1)
                .expect("start");
        let mut tap = IntervalTap::new(Some(sink));
        // The warm-up: kept nowhere.
        tap.record(Series::Hop(Hop::ALL[0]), Duration::from_millis(1), None);
        tap.flush();
        clock.start(std::time::Instant::now(), SystemTime::now());
        tap.record(Series::Hop(Hop::ALL[0]), Duration::from_millis(2), None);
        tap.flush();
        let written = logger.finish().expect("finish");
        assert_eq!(written.samples.get(Hop::ALL[0].name()), Some(&1));
    }
}
