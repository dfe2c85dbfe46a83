//! What the coordinator and its workers say to each other over HTTP: the paths, the per-run
//! token, and one typed body per step (arguments, clock, ready, release, heartbeat, files,
//! done, failed). Both ends are this crate; the types are the contract.

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Every request to the coordinator carries the run's token: `Authorization: Bearer <token>`.
pub const BEARER: &str = "Bearer ";
/// And the name of the worker's pod (its host name), for every message about it.
pub const POD_HEADER: &str = "x-ssobench-pod";
/// Where a worker finds its token when it is not given on the command line (a Kubernetes
/// Secret's key, mapped to this variable).
pub const TOKEN_ENV: &str = "SSOBENCH_TOKEN";
/// Where a worker of an Indexed Job finds its index (0-based), as Kubernetes sets it.
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// Where a worker finds the name of its pod (set from the pod's metadata on a cluster); a
/// worker without it names itself by host and process.
pub const POD_ENV: &str = "POD_NAME";

/// The coordinator's clock: `GET /v1/clock`.
pub const CLOCK: &str = "/v1/clock";

/// The paths of worker `index` (0-based).
pub fn worker_path(index: usize, step: Step) -> String {
    format!("/v1/workers/{index}/{}", step.segment())
}

/// A worker's steps, in the order it takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `GET`: its arguments ([`crate::drivers::workers::WorkerArgs`]).
    Args,
    /// `POST` [`Ready`]: long-polls until every worker is ready; answers [`Release`].
    Ready,
    /// `POST` every [`HEARTBEAT_EVERY`] from the release to its last upload.
    Alive,
    /// `PUT /files/<name>`: one file of its run directory, raw.
    Files,
    /// `POST`: every file is up.
    Done,
    /// `POST` [`Failed`]: it stopped, with why.
    Failed,
}

impl Step {
    fn segment(self) -> &'static str {
        match self {
            Step::Args => "args",
            Step::Ready => "ready",
            Step::Alive => "alive",
            Step::Files => "files",
            Step::Done => "done",
            Step::Failed => "failed",
        }
    }
}

/// How often a released worker says it is alive.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// A released worker not heard from for this long failed or was evicted: the run ends.
pub const SILENT_AFTER: Duration = Duration::from_secs(15);

/// Nanoseconds since the Unix epoch on this host's wall clock.
pub fn wall_ns() -> i128 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

/// The coordinator's wall clock when it answered.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ClockReading {
    pub wall_ns: i128,
}

/// A worker is set up and waits for the release.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Ready {
    /// How far the worker's wall clock is ahead of the coordinator's (negative: behind),
    /// measured over the exchange with the smallest round trip.
    pub offset_ns: i64,
    /// That exchange's round trip: the offset is known to within half of it.
    pub round_trip_ns: i64,
}

/// The answer to [`Ready`]: start the load at this instant of the coordinator's clock.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Release {
    pub at_wall_ns: i128,
}

/// A worker stopped on an error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failed {
    pub message: String,
}

/// The coordinator's answer when it will not go on (the run was abandoned, the token is wrong,
/// a file name is refused): status 4xx and this body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refusal {
    pub error: String,
}

/// Whether a request carries the run's token (`Authorization: Bearer <token>`), compared in
/// time independent of where the two first differ.
pub fn authorized(headers: &http::HeaderMap, token: &str) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix(BEARER))
        .is_some_and(|given| same_token(given, token))
}

fn same_token(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Whether `name` may be a worker's uploaded file: a relative path of one or two plain
/// components (`results.json`, `hlog/requests.raw.hlog`), nothing that climbs or hides.
pub fn file_name_allowed(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    (1..=2).contains(&parts.len())
        && parts.iter().all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_file_names_stay_inside_the_workers_directory() {
        for allowed in ["results.json", "hlog/store-cart.raw.hlog", "index.html"] {
            assert!(file_name_allowed(allowed), "{allowed}");
        }
        for refused in [
            "",
            "../x",
            "hlog/../../x",
            "/etc/passwd",
            "a/b/c",
            ".hidden",
            "hlog/",
            "a b",
            "x\\y",
        ] {
            assert!(!file_name_allowed(refused), "{refused}");
        }
    }

    #[test]
    fn tokens_are_compared_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("ab", "abc"));
        assert!(!same_token("", "abc"));
        let mut headers = http::HeaderMap::new();
        assert!(!authorized(&headers, "abc"));
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer abc"),
        );
        assert!(authorized(&headers, "abc"));
        assert!(!authorized(&headers, "abd"));
    }

    #[test]
    fn each_step_has_its_own_path() {
        assert_eq!(worker_path(2, Step::Ready), "/v1/workers/2/ready");
        assert_eq!(worker_path(0, Step::Files), "/v1/workers/0/files");
    }
}
