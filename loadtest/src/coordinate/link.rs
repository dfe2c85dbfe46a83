//! A worker's side of the coordinator: its arguments, its clock against the coordinator's, the
//! wait for the release, a heartbeat while it runs, its files, and its last word (done or
//! failed). A worker of an abandoned run is told so at its next heartbeat and stops.

use super::clock::{self, Exchange};
use super::protocol::{
    self, BEARER, ClockReading, Failed, POD_HEADER, Ready, Refusal, Release, Step,
};
use super::worker_args::WorkerArgs;
use crate::error::While as _;
use crate::error::{RunError, RunResult, bail};
use crate::setup::worker_fault::Misbehaviour;
use reports::results::ClockOffset;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a worker keeps trying to reach a coordinator that is not up yet (on a cluster the
/// pods may start before the coordinator's pod is scheduled and its Service answers): longer
/// than any ready limit `loadtest kube` writes.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(900);
/// Every request but the long-polled `ready`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a worker told [`Misbehaviour::NeverReady`] waits before giving up by itself.
const NEVER_READY_FOR: Duration = Duration::from_secs(600);
/// Exit code of a worker stopped by its coordinator or gone on purpose.
pub const EXIT_ABANDONED: i32 = 2;
/// Exit code of a worker that vanishes mid-run on purpose ([`Misbehaviour::ExitMidRun`]).
pub const EXIT_VANISHED: i32 = 3;

/// Where this worker stands in a coordinated run.
#[derive(Debug)]
pub struct Link {
    client: reqwest::Client,
    base: String,
    token: String,
    index: usize,
    pod: String,
    misbehaviour: Option<Misbehaviour>,
    heartbeat: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Link {
    /// Worker `index` (0-based) of the run coordinated at `base`, as pod `pod`.
    pub fn new(base: &str, token: &str, index: usize, pod: &str) -> RunResult<Link> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .doing("building the coordinator's client")?;
        Ok(Link {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            index,
            pod: pod.to_owned(),
            misbehaviour: None,
            heartbeat: Mutex::new(None),
        })
    }

    /// This worker misbehaves on purpose (a test device).
    pub fn misbehave(&mut self, misbehaviour: Option<Misbehaviour>) {
        self.misbehaviour = misbehaviour;
    }

    pub fn misbehaviour(&self) -> Option<Misbehaviour> {
        self.misbehaviour
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header(
                reqwest::header::AUTHORIZATION,
                format!("{BEARER}{}", self.token),
            )
            .header(POD_HEADER, &self.pod)
    }

    fn step(&self, method: reqwest::Method, step: Step) -> reqwest::RequestBuilder {
        self.request(method, &protocol::worker_path(self.index, step))
            .timeout(REQUEST_TIMEOUT)
    }

    /// This host's wall clock, as this worker reads it (set off on purpose by
    /// [`Misbehaviour::ClockOff`]).
    fn wall_ns(&self) -> i128 {
        let off = match self.misbehaviour {
            Some(Misbehaviour::ClockOff(by)) => by.as_nanos() as i128,
            _ => 0,
        };
        protocol::wall_ns() + off
    }

    /// The worker's arguments, trying for [`CONNECT_WITHIN`] while the coordinator is not up.
    pub async fn args(&self) -> RunResult<WorkerArgs> {
        let started = Instant::now();
        loop {
            let trying = started.elapsed() < CONNECT_WITHIN;
            match self.step(reqwest::Method::GET, Step::Args).send().await {
                // A Service without a ready endpoint yet may answer 503 through a proxy.
                Ok(response)
                    if response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE && trying =>
                {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Ok(response) => return answer(response).await,
                Err(error) if (error.is_connect() || error.is_timeout()) && trying => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(error) => {
                    return Err(error).doing_with(|| {
                        format!("asking the coordinator at {} for the arguments", self.base)
                    });
                }
            }
        }
    }

    /// This worker's clock against the coordinator's, over [`clock::EXCHANGES`] exchanges.
    async fn measure_clock(&self) -> RunResult<ClockOffset> {
        let mut exchanges = Vec::with_capacity(clock::EXCHANGES);
        for _ in 0..clock::EXCHANGES {
            let sent = self.wall_ns();
            let response = self
                .request(reqwest::Method::GET, protocol::CLOCK)
                .timeout(REQUEST_TIMEOUT)
                .send()
                .await
                .doing("reading the coordinator's clock")?;
            let received = self.wall_ns();
            let reading: ClockReading = answer(response).await?;
            exchanges.push(Exchange {
                sent,
                read: reading.wall_ns,
                received,
            });
        }
        clock::offset(&exchanges).doing("measuring the clock against the coordinator's")
    }

    /// Says this worker is ready (with its clock's offset) and waits for the release; returns
    /// at the released instant, on this host's clock, with the offset it measured. From then
    /// on it says it is alive every [`protocol::HEARTBEAT_EVERY`].
    pub async fn ready_and_wait(&self) -> RunResult<ClockOffset> {
        let clock = self.measure_clock().await?;
        if self.misbehaviour == Some(Misbehaviour::NeverReady) {
            tokio::time::sleep(NEVER_READY_FOR).await;
            bail!("this worker was told never to be ready (--worker-fault)");
        }
        let ready = Ready {
            offset_ns: (clock.offset_ms * 1e6) as i64,
            round_trip_ns: (clock.round_trip_ms * 1e6) as i64,
        };
        // No timeout: the coordinator answers once every worker is ready or the run is
        // abandoned, and it bounds that wait itself (--ready-within).
        let response = self
            .request(
                reqwest::Method::POST,
                &protocol::worker_path(self.index, Step::Ready),
            )
            .json(&ready)
            .send()
            .await
            .doing("waiting for the coordinator's release")?;
        let release: Release = answer(response).await?;
        // The instant is on the coordinator's clock; this host's reads `offset` more.
        let here = release.at_wall_ns + i128::from(ready.offset_ns);
        let wait = here - self.wall_ns();
        if wait > 0 {
            tokio::time::sleep(Duration::from_nanos(
                u64::try_from(wait).unwrap_or(u64::MAX),
            ))
            .await;
        }
        self.start_heartbeat();
        if self.misbehaviour == Some(Misbehaviour::ExitMidRun) {
            tokio::spawn(async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                // As a pod that is evicted: gone, without a word.
                std::process::exit(EXIT_VANISHED);
            });
        }
        Ok(clock)
    }

    fn start_heartbeat(&self) {
        let beat = self.step(reqwest::Method::POST, Step::Alive);
        let task = tokio::spawn(async move {
            let mut last_heard = Instant::now();
            loop {
                tokio::time::sleep(protocol::HEARTBEAT_EVERY).await;
                let Some(request) = beat.try_clone() else {
                    return;
                };
                match request.send().await {
                    Ok(response) if response.status() == reqwest::StatusCode::CONFLICT => {
                        let why = refusal(response).await;
                        // The coordinator ended the run: this worker's load is no longer
                        // part of anything, and a pod must not go on loading the target.
                        eprintln!("stopping: {why}");
                        std::process::exit(EXIT_ABANDONED);
                    }
                    Ok(_) => last_heard = Instant::now(),
                    Err(_) if last_heard.elapsed() > protocol::SILENT_AFTER => {
                        eprintln!(
                            "stopping: the coordinator has not answered for {} s",
                            last_heard.elapsed().as_secs()
                        );
                        std::process::exit(EXIT_ABANDONED);
                    }
                    Err(_) => {}
                }
            }
        });
        *self
            .heartbeat
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task.abort_handle());
    }

    /// Sends every file of the worker's run directory (and of its `hlog/`), then says done.
    pub async fn send_results(&self, dir: &Path) -> RunResult<()> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).doing_with(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type()?.is_dir() {
                for inner in std::fs::read_dir(entry.path())? {
                    let inner = inner?;
                    if inner.file_type()?.is_file() {
                        names.push(format!("{name}/{}", inner.file_name().to_string_lossy()));
                    }
                }
            } else {
                names.push(name);
            }
        }
        for name in names {
            if !protocol::file_name_allowed(&name) {
                continue;
            }
            let body = tokio::fs::read(dir.join(&name))
                .await
                .doing_with(|| format!("reading {name}"))?;
            let path = format!("{}/{name}", protocol::worker_path(self.index, Step::Files));
            let response = self
                .request(reqwest::Method::PUT, &path)
                .timeout(REQUEST_TIMEOUT * 10)
                .body(body)
                .send()
                .await
                .doing_with(|| format!("sending {name} to the coordinator"))?;
            accepted(response).await?;
        }
        let response = self
            .step(reqwest::Method::POST, Step::Done)
            .send()
            .await
            .doing("telling the coordinator the results are sent")?;
        accepted(response).await?;
        self.stop_heartbeat();
        Ok(())
    }

    /// Tells the coordinator this worker failed, and why (as far as it can be told).
    pub async fn failed(&self, message: &str) {
        self.stop_heartbeat();
        let _ = self
            .step(reqwest::Method::POST, Step::Failed)
            .json(&Failed {
                message: message.to_owned(),
            })
            .send()
            .await;
    }

    fn stop_heartbeat(&self) {
        if let Some(task) = self
            .heartbeat
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.stop_heartbeat();
    }
}

/// The coordinator's answer as `T`, or its refusal as the error.
async fn answer<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> RunResult<T> {
    accepted(response)
        .await?
        .json()
        .await
        .doing("reading the coordinator's answer")
}

/// The response if the coordinator said yes; its refusal as an error if not.
async fn accepted(response: reqwest::Response) -> RunResult<reqwest::Response> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(RunError::refused(format!(
            "the coordinator: {}",
            refusal(response).await
        )))
    }
}

async fn refusal(response: reqwest::Response) -> String {
    let status = response.status();
    match response.json::<Refusal>().await {
        Ok(refusal) => refusal.error,
        Err(_) => format!("answered {status}"),
    }
}
