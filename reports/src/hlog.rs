//! HdrHistogram interval logs (`.hlog`), the standard format HdrHistogram's own tools read
//! (`HistogramLogProcessor` and friends): one file per hop or flow and per kind (raw, or
//! corrected for coordinated omission), one interval histogram per second of the measured run
//! (per ten seconds in a run over an hour), values in microseconds. A run writes them into `hlog/` of its directory; `merge` reads them
//! back and adds them up.
//!
//! Each file's header names the series, the kind, the unit and the host that wrote it;
//! `StartTime` and `BaseTime` are the wall-clock start of the measured run, and an interval's
//! timestamp is its first second since then (a one-second interval `s` spans `[s, s+1)` and
//! is the timeline's second `s + 1`; a ten-second one spans the timeline's `s + 1` to
//! `s + 10`).

use crate::report::slug;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The folder of a run directory the logs go in.
pub const HLOG_DIR: &str = "hlog";

/// Raw samples, or corrected for coordinated omission (equal to raw in a closed-model run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Raw,
    Corrected,
}

impl Kind {
    pub const BOTH: [Kind; 2] = [Kind::Raw, Kind::Corrected];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Raw => "raw",
            Kind::Corrected => "corrected",
        }
    }
}

/// Why a log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum HlogError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not an interval log ssobench can read ({detail})")]
    Format { path: String, detail: String },
}

/// The file of `series` (a hop's or flow's name) and `kind` in `dir`.
pub fn path(dir: &Path, series: &str, kind: Kind) -> PathBuf {
    dir.join(format!("{}.{}.hlog", slug(series), kind.name()))
}

/// The machine's host name (the files say which host wrote them, so a merge of several
/// hosts' files is honest about it).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// One series' log being written, an interval at a time.
pub struct LogWriter {
    file: BufWriter<std::fs::File>,
    path: PathBuf,
    serializer: V2DeflateSerializer,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("path", &self.path)
            .finish()
    }
}

impl LogWriter {
    /// Creates the file and writes its header.
    pub fn create(
        dir: &Path,
        series: &str,
        kind: Kind,
        host: &str,
        started: SystemTime,
    ) -> Result<LogWriter, HlogError> {
        let path = path(dir, series, kind);
        let file = Self::open(dir, &path)?;
        Self::begin(file, path, series, kind, host, started)
    }

    /// Creates (empty) the file of `series` and `kind` in `dir`, to be begun later: a run
    /// opens its logs before its users take the descriptors.
    pub fn reserve(
        dir: &Path,
        series: &str,
        kind: Kind,
    ) -> Result<(std::fs::File, PathBuf), HlogError> {
        let path = path(dir, series, kind);
        Ok((Self::open(dir, &path)?, path))
    }

    fn open(dir: &Path, path: &Path) -> Result<std::fs::File, HlogError> {
        let io = |source| HlogError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        std::fs::File::create(path).map_err(io)
    }

    /// Writes the header of a log into `file` (created at `path`).
    pub fn begin(
        file: std::fs::File,
        path: PathBuf,
        series: &str,
        kind: Kind,
        host: &str,
        started: SystemTime,
    ) -> Result<LogWriter, HlogError> {
        let io = |source| HlogError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = BufWriter::new(file);
        let mut serializer = V2DeflateSerializer::new();
        IntervalLogWriterBuilder::new()
            .add_comment(&format!(
                "ssobench interval log: {series} ({})",
                kind.name()
            ))
            .add_comment(&format!("series: {series}"))
            .add_comment(&format!("kind: {}", kind.name()))
            .add_comment(
                "unit: microseconds (values are µs; one interval per second, or per ten in runs \
                 over an hour)",
            )
            .add_comment(&format!("host: {host}"))
            .with_start_time(started)
            .with_base_time(started)
            .begin_log_with(&mut file, &mut serializer)
            .map_err(io)?;
        file.write_all(
            b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
        )
        .map_err(io)?;
        Ok(LogWriter {
            file,
            path,
            serializer,
        })
    }

    /// Writes the histogram of second `second` (from the start of the measured run).
    pub fn write(&mut self, second: u64, histogram: &Histogram<u64>) -> Result<(), HlogError> {
        self.write_interval(second, 1, histogram)
    }

    /// Writes the histogram of the `length` seconds from second `start` (from the start of the
    /// measured run): what a long run's coarser logs hold.
    pub fn write_interval(
        &mut self,
        start: u64,
        length: u64,
        histogram: &Histogram<u64>,
    ) -> Result<(), HlogError> {
        // A builder without headers writes nothing but the interval line.
        let mut writer = IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.file, &mut self.serializer)
            .map_err(|source| HlogError::Io {
                path: self.path.display().to_string(),
                source,
            })?;
        writer
            .write_histogram(
                histogram,
                Duration::from_secs(start),
                Duration::from_secs(length),
                None,
            )
            .map_err(|error| HlogError::Format {
                path: self.path.display().to_string(),
                detail: format!("writing an interval: {error:?}"),
            })
    }

    pub fn finish(mut self) -> Result<(), HlogError> {
        self.file.flush().map_err(|source| HlogError::Io {
            path: self.path.display().to_string(),
            source,
        })
    }
}

/// A log read back.
#[derive(Debug, Clone)]
pub struct Log {
    pub series: String,
    pub kind: Kind,
    pub host: String,
    /// Wall-clock start of the measured run, seconds since the epoch.
    pub started_unix: f64,
    /// Each interval's first second (from the start) and histogram.
    pub intervals: Vec<(u64, Histogram<u64>)>,
    /// Seconds each interval spans: 1, or 10 in a run over an hour (its first interval's).
    pub interval_seconds: u64,
}

impl Log {
    /// Every interval added up.
    pub fn total(&self) -> Histogram<u64> {
        let mut total = crate::latency::histogram();
        for (_, histogram) in &self.intervals {
            let _ = total.add(histogram);
        }
        total
    }
}

/// Reads one log written by [`LogWriter`].
pub fn read(path: &Path) -> Result<Log, HlogError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| HlogError::Io {
        path: shown.clone(),
        source,
    })?;
    let format = |detail: String| HlogError::Format {
        path: shown.clone(),
        detail,
    };
    let text = String::from_utf8_lossy(&bytes);
    let header = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("#{name}: ")))
            .map(str::to_owned)
    };
    let series = header("series").ok_or_else(|| format("no series in its header".into()))?;
    let kind = match header("kind").as_deref() {
        Some("raw") => Kind::Raw,
        Some("corrected") => Kind::Corrected,
        other => return Err(format(format!("kind {other:?}"))),
    };
    let host = header("host").unwrap_or_else(|| "unknown".into());
    let mut started_unix = None;
    let mut base = 0.0;
    let mut intervals = Vec::new();
    let mut interval_seconds = None;
    let mut deserializer = Deserializer::new();
    for entry in IntervalLogIterator::new(&bytes) {
        match entry.map_err(|error| format(format!("{error:?}")))? {
            LogEntry::StartTime(time) => started_unix = Some(time.as_secs_f64()),
            LogEntry::BaseTime(time) => base = time.as_secs_f64(),
            LogEntry::Interval(interval) => {
                let encoded = STANDARD
                    .decode(interval.encoded_histogram().trim())
                    .map_err(|error| format(format!("an interval is not base64: {error}")))?;
                let histogram: Histogram<u64> =
                    deserializer
                        .deserialize(&mut encoded.as_slice())
                        .map_err(|error| format(format!("an interval's histogram: {error:?}")))?;
                let started = started_unix.unwrap_or(base);
                interval_seconds.get_or_insert(interval.duration().as_secs().max(1));
                let at = base + interval.start_timestamp().as_secs_f64() - started;
                intervals.push((at.round().max(0.0) as u64, histogram));
            }
        }
    }
    Ok(Log {
        series,
        kind,
        host,
        started_unix: started_unix.ok_or_else(|| format("no StartTime".into()))?,
        intervals,
        interval_seconds: interval_seconds.unwrap_or(1),
    })
}

/// Every log in a run directory's `hlog/`, sorted by file name.
pub fn read_dir(run_dir: &Path) -> Result<Vec<Log>, HlogError> {
    let dir = run_dir.join(HLOG_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(HlogError::Io {
                path: dir.display().to_string(),
                source,
            });
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "hlog"))
        .collect();
    paths.sort();
    paths.iter().map(|path| read(path)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_log_reads_back_interval_by_interval() {
        let dir = tempfile::tempdir().expect("temp dir");
        let started = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_633_600_250);
        let hlog_dir = dir.path().join(HLOG_DIR);
        let mut writer = LogWriter::create(
            &hlog_dir,
            "store: GET /shopping-cart",
            Kind::Corrected,
            "test-host",
            started,
        )
        .expect("create");
        let mut seconds = Vec::new();
        for second in [0u64, 1, 3] {
            let mut histogram = crate::latency::histogram();
            for value in 1..=(100 * (second + 1)) {
                histogram.record(value * 7).expect("record");
            }
            writer.write(second, &histogram).expect("write");
            seconds.push((second, histogram));
        }
        writer.finish().expect("flush");
        let path = path(&hlog_dir, "store: GET /shopping-cart", Kind::Corrected);
        let log = read(&path).expect("read");
        assert_eq!(log.series, "store: GET /shopping-cart");
        assert_eq!(log.kind, Kind::Corrected);
        assert_eq!(log.host, "test-host");
        assert!((log.started_unix - 1_764_633_600.25).abs() < 0.001);
        assert_eq!(log.intervals.len(), 3);
        for ((second, histogram), (read_second, read_histogram)) in
            seconds.iter().zip(&log.intervals)
        {
            assert_eq!(second, read_second);
            assert_eq!(histogram, read_histogram);
        }
        assert_eq!(log.total().len(), 100 + 200 + 400);
        let text = std::fs::read_to_string(&path).expect("text");
        assert!(text.contains("#unit: microseconds"), "{text}");
        assert!(text.contains("#[StartTime: 1764633600.250"), "{text}");
        let logs = read_dir(dir.path()).expect("read dir");
        assert_eq!(logs.len(), 1, "the run directory's `hlog/` is read");
        assert_eq!(logs[0].total(), log.total());
    }
}
