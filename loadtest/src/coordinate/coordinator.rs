//! The coordinator of a run of several generators, one path for `--workers` on one host and for
//! pods on a cluster: an HTTP service that hands each worker its arguments, measures nothing
//! itself but hears each worker's clock offset, releases every worker at one instant of its own
//! clock once all are ready, hears them alive while they run, and takes their files into
//! `worker-<k>/` of the merged run. Whatever goes wrong ends the run with a message naming the
//! worker and its pod; there is no partial merge.

use super::clock;
use super::protocol::{self, ClockReading, Failed, POD_HEADER, Ready, Refusal, Release};
use super::served::{self, Served};
use super::worker_args::{WORKER_DIR_PREFIX, WorkerArgs};
use crate::error::While as _;
use crate::error::{RunError, RunResult};
use axum::Json;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use reports::results::ClockOffset;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How far ahead of the last `ready` the release is set: time for every answer to reach its
/// worker before the instant comes.
const RELEASE_LEAD: Duration = Duration::from_millis(500);
/// Uploads are interval logs and results: large for a long run, never this large.
const UPLOAD_LIMIT: usize = 1 << 30;

/// What the coordinator knows of the processes it waits for, beyond what they tell it: on one
/// host, their exit; on a cluster, nothing (a pod that vanishes falls silent).
pub trait Fleet {
    /// Whether worker `index`'s process has ended, and how (`Err`: why it failed).
    fn ended(&mut self, index: usize) -> Option<Result<(), String>>;

    /// Called about four times a second while the workers run, with the time since the
    /// release (a progress bar's hook).
    fn tick(&mut self, _since_release: Duration) {}
}

/// A fleet the coordinator cannot see: it knows only what the workers send.
#[derive(Debug)]
pub struct Unseen;

impl Fleet for Unseen {
    fn ended(&mut self, _index: usize) -> Option<Result<(), String>> {
        None
    }
}

/// One worker, as the coordinator has heard of it.
#[derive(Debug, Clone, Default)]
struct Slot {
    pod: Option<String>,
    asked: bool,
    ready: Option<Ready>,
    last_heard: Option<Instant>,
    done: bool,
    failed: Option<String>,
}

#[derive(Debug, Default)]
struct Board {
    slots: Vec<Slot>,
    release: Option<Release>,
    abandoned: Option<String>,
}

#[derive(Debug)]
struct Shared {
    token: String,
    plans: Vec<WorkerArgs>,
    out_dir: PathBuf,
    board: Mutex<Board>,
    /// Bumped on every change of the board, for the long-polled `ready`.
    changed: watch::Sender<u64>,
}

impl Shared {
    fn board(&self) -> MutexGuard<'_, Board> {
        // A handler that panicked mid-update leaves a board still worth reading.
        self.board
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn bump(&self) {
        self.changed.send_modify(|count| *count += 1);
    }
}

/// The workers' answer to a request the coordinator will not take: a 4xx (or, for its own
/// disk, a 500) with a sentence.
#[derive(Debug)]
struct Rejection(StatusCode, String);

impl Rejection {
    /// 409 to any worker's request once the run is abandoned: the worker stops its load.
    fn abandoned(why: &str) -> Self {
        Rejection(
            StatusCode::CONFLICT,
            format!("the run was abandoned: {why}"),
        )
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.0, Json(Refusal { error: self.1 })).into_response()
    }
}

/// The running coordinator.
#[derive(Debug)]
pub struct Coordinator {
    shared: Arc<Shared>,
    url: String,
    server: tokio::task::JoinHandle<()>,
    released_at: Mutex<Option<Instant>>,
    served: Arc<Served>,
}

/// The release: when, and each worker's clock against the coordinator's.
#[derive(Debug, Clone)]
pub struct Released {
    pub clocks: Vec<ClockOffset>,
}

impl Coordinator {
    /// Listens on `listen` (port 0: any free port) and waits for `plans.len()` workers, worker
    /// `k` (0-based) getting `plans[k]`; their files go to `out_dir/worker-<k+1>/`.
    pub async fn start(
        listen: SocketAddr,
        token: String,
        plans: Vec<WorkerArgs>,
        out_dir: &Path,
    ) -> RunResult<Coordinator> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .doing_with(|| format!("the coordinator listening on {listen}"))?;
        let addr = listener.local_addr()?;
        let (changed, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            token,
            board: Mutex::new(Board {
                slots: vec![Slot::default(); plans.len()],
                ..Board::default()
            }),
            plans,
            out_dir: out_dir.to_owned(),
            changed,
        });
        let served = Arc::new(Served::new(shared.token.clone()));
        let app = axum::Router::new()
            .route(protocol::CLOCK, get(read_clock))
            .route("/v1/workers/{index}/args", get(args))
            .route("/v1/workers/{index}/ready", post(ready))
            .route("/v1/workers/{index}/alive", post(alive))
            .route("/v1/workers/{index}/files/{*name}", put(file))
            .route("/v1/workers/{index}/done", post(done))
            .route("/v1/workers/{index}/failed", post(failed))
            // The token before anything else, the body included: a request without it is
            // refused before a byte of its body is read.
            .route_layer(axum::middleware::from_fn_with_state(
                Arc::clone(&shared),
                bearer,
            ))
            .layer(DefaultBodyLimit::max(UPLOAD_LIMIT))
            .with_state(Arc::clone(&shared))
            .merge(served::router(Arc::clone(&served)));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("the coordinator stopped serving: {error}");
            }
        });
        let host = match addr {
            SocketAddr::V4(v4) if v4.ip().is_unspecified() => "127.0.0.1".to_owned(),
            SocketAddr::V6(v6) if v6.ip().is_unspecified() => "[::1]".to_owned(),
            SocketAddr::V4(v4) => v4.ip().to_string(),
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        };
        Ok(Coordinator {
            shared,
            url: format!("http://{host}:{}", addr.port()),
            server,
            released_at: Mutex::new(None),
            served,
        })
    }

    /// Where workers on this host reach it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Worker `index`'s directory in the merged run.
    pub fn worker_dir(&self, index: usize) -> PathBuf {
        worker_dir(&self.shared.out_dir, index)
    }

    /// Waits until every worker is ready, then releases them all at one instant. Refused, the
    /// run abandoned, when one is not ready `within`, fails first, or its clock is off by more
    /// than [`clock::SKEW_LIMIT`].
    pub async fn release_when_ready(
        &self,
        within: Duration,
        fleet: &mut dyn Fleet,
    ) -> RunResult<Released> {
        let deadline = Instant::now() + within;
        let mut changes = self.shared.changed.subscribe();
        loop {
            let outcome = {
                let board = self.shared.board();
                before_release(&board, within, Instant::now() >= deadline, fleet)
            };
            match outcome {
                Waiting::Yet => {}
                Waiting::Over(message) => return Err(self.abandon(message)),
                Waiting::AllReady(clocks) => {
                    let at = protocol::wall_ns() + RELEASE_LEAD.as_nanos() as i128;
                    self.shared.board().release = Some(Release { at_wall_ns: at });
                    *self
                        .released_at
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) =
                        Some(Instant::now() + RELEASE_LEAD);
                    self.shared.bump();
                    return Ok(Released { clocks });
                }
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), changes.changed()).await;
        }
    }

    /// Waits until every released worker has sent its files and said done, within `within` of
    /// the release; the merged run's worker directories, in order. A worker that fails, falls
    /// silent, ends without its results or is late ends the run, named.
    pub async fn gather(&self, within: Duration, fleet: &mut dyn Fleet) -> RunResult<Vec<PathBuf>> {
        let released = self
            .released_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .ok_or_else(|| RunError::refused("the workers were never released"))?;
        let deadline = released + within;
        loop {
            let outcome = {
                let board = self.shared.board();
                after_release(&board, released, within, Instant::now() >= deadline, fleet)
            };
            match outcome {
                Gathering::Yet => {}
                Gathering::Over(message) => return Err(self.abandon(message)),
                Gathering::AllDone => {
                    return Ok((0..self.shared.plans.len())
                        .map(|index| self.worker_dir(index))
                        .collect());
                }
            }
            fleet.tick(released.elapsed());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Ends the run: every later request of a worker is answered with why (so pods of an
    /// abandoned run stop their load), and the error says it.
    pub fn abandon(&self, message: String) -> RunError {
        self.shared
            .board()
            .abandoned
            .get_or_insert_with(|| message.clone());
        self.shared.bump();
        RunError::refused(message)
    }

    /// Serves the merged run in `dir` from now on (`/`, `/report/…`, `/report.tar`).
    pub fn publish_report(&self, dir: &Path) {
        self.served.publish(dir);
    }

    /// Waits until the report's archive has been fetched once.
    pub async fn report_fetched(&self) {
        self.served.fetched().await;
    }

    /// Stops serving.
    pub fn shutdown(self) {
        self.server.abort();
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `worker-<k+1>` under `out_dir`.
pub fn worker_dir(out_dir: &Path, index: usize) -> PathBuf {
    out_dir.join(format!("{WORKER_DIR_PREFIX}{}", index + 1))
}

/// How a worker is named in every message: its number and its pod.
fn named(index: usize, slot: &Slot) -> String {
    match &slot.pod {
        Some(pod) => format!("worker {} (pod {pod})", index + 1),
        None => format!("worker {} (never heard from)", index + 1),
    }
}

enum Waiting {
    Yet,
    Over(String),
    AllReady(Vec<ClockOffset>),
}

fn before_release(board: &Board, within: Duration, late: bool, fleet: &mut dyn Fleet) -> Waiting {
    for (index, slot) in board.slots.iter().enumerate() {
        if let Some(message) = &slot.failed {
            return Waiting::Over(format!(
                "{} failed before the release: {message}",
                named(index, slot)
            ));
        }
        match fleet.ended(index) {
            Some(Err(why)) => {
                return Waiting::Over(format!(
                    "{} ended before the release ({why}); its messages are above",
                    named(index, slot)
                ));
            }
            Some(Ok(())) => {
                return Waiting::Over(format!(
                    "{} ended before the release without a word",
                    named(index, slot)
                ));
            }
            None => {}
        }
        if let Some(ready) = &slot.ready {
            let offset = clock_of(ready);
            if !clock::within_limit(&offset) {
                return Waiting::Over(format!(
                    "{}: its clock is {:+.0} ms off the coordinator's (round trip {:.1} ms), \
                     beyond the {} ms a run allows; set its host's time (NTP) and run again",
                    named(index, slot),
                    offset.offset_ms,
                    offset.round_trip_ms,
                    clock::SKEW_LIMIT.as_millis()
                ));
            }
        }
    }
    if board.slots.iter().all(|slot| slot.ready.is_some()) {
        return Waiting::AllReady(
            board
                .slots
                .iter()
                .filter_map(|slot| slot.ready.as_ref().map(clock_of))
                .collect(),
        );
    }
    if late {
        let missing: Vec<String> = board
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.ready.is_none())
            .map(|(index, slot)| {
                let state = if slot.asked {
                    "took its arguments, never said ready"
                } else {
                    "never asked for its arguments"
                };
                format!("{}: {state}", named(index, slot))
            })
            .collect();
        return Waiting::Over(format!(
            "not ready within {} s (--ready-within): {}",
            within.as_secs(),
            missing.join("; ")
        ));
    }
    Waiting::Yet
}

enum Gathering {
    Yet,
    Over(String),
    AllDone,
}

fn after_release(
    board: &Board,
    released: Instant,
    within: Duration,
    late: bool,
    fleet: &mut dyn Fleet,
) -> Gathering {
    let now = Instant::now();
    let into_run = |at: Instant| at.saturating_duration_since(released).as_secs();
    for (index, slot) in board.slots.iter().enumerate() {
        if let Some(message) = &slot.failed {
            return Gathering::Over(format!(
                "{} failed {} s into the run: {message}",
                named(index, slot),
                into_run(now)
            ));
        }
        if slot.done {
            continue;
        }
        match fleet.ended(index) {
            Some(Err(why)) => {
                return Gathering::Over(format!(
                    "{} ended {} s into the run ({why}) without its results; its messages are \
                     above",
                    named(index, slot),
                    into_run(now)
                ));
            }
            Some(Ok(())) => {
                return Gathering::Over(format!(
                    "{} ended {} s into the run without sending its results",
                    named(index, slot),
                    into_run(now)
                ));
            }
            None => {}
        }
        let heard = slot.last_heard.unwrap_or(released).max(released);
        if now > heard + protocol::SILENT_AFTER {
            return Gathering::Over(format!(
                "{} fell silent {} s into the run (last heard {} s before this): it failed or \
                 its pod was evicted",
                named(index, slot),
                into_run(heard),
                now.duration_since(heard).as_secs()
            ));
        }
        if late {
            return Gathering::Over(format!(
                "{} sent no results within {} s of the release",
                named(index, slot),
                within.as_secs()
            ));
        }
    }
    if board.slots.iter().all(|slot| slot.done) {
        Gathering::AllDone
    } else {
        Gathering::Yet
    }
}

fn clock_of(ready: &Ready) -> ClockOffset {
    ClockOffset {
        offset_ms: ready.offset_ns as f64 / 1e6,
        round_trip_ms: ready.round_trip_ns as f64 / 1e6,
    }
}

/// Checks the token, the worker's index and its pod; the pod's name is kept.
fn admit(shared: &Shared, headers: &HeaderMap, index: Option<usize>) -> Result<(), Rejection> {
    if !protocol::authorized(headers, &shared.token) {
        return Err(Rejection(
            StatusCode::UNAUTHORIZED,
            "this run's token is required (Authorization: Bearer …)".into(),
        ));
    }
    let Some(index) = index else {
        return Ok(());
    };
    let mut board = shared.board();
    let count = board.slots.len();
    let slot = board.slots.get_mut(index).ok_or_else(|| {
        Rejection(
            StatusCode::NOT_FOUND,
            format!(
                "no worker index {index}: this run's indexes are 0 to {} (workers 1 to {count})",
                count.saturating_sub(1)
            ),
        )
    })?;
    if let Some(pod) = headers.get(POD_HEADER).and_then(|pod| pod.to_str().ok()) {
        slot.pod = Some(pod.to_owned());
    }
    slot.last_heard = Some(Instant::now());
    if let Some(why) = &board.abandoned {
        return Err(Rejection::abandoned(why));
    }
    Ok(())
}

/// Refuses a request without the run's token, before its handler reads anything.
async fn bearer(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if protocol::authorized(request.headers(), &shared.token) {
        next.run(request).await
    } else {
        Rejection(
            StatusCode::UNAUTHORIZED,
            "this run's token is required (Authorization: Bearer …)".into(),
        )
        .into_response()
    }
}

async fn read_clock(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<ClockReading>, Rejection> {
    admit(&shared, &headers, None)?;
    Ok(Json(ClockReading {
        wall_ns: protocol::wall_ns(),
    }))
}

async fn args(
    State(shared): State<Arc<Shared>>,
    UrlPath(index): UrlPath<usize>,
    headers: HeaderMap,
) -> Result<Json<WorkerArgs>, Rejection> {
    admit(&shared, &headers, Some(index))?;
    {
        let mut board = shared.board();
        // A process that asks after the release would start alone, late, and overwrite
        // its worker's files: a restarted pod, or one started twice.
        if board.release.is_some() {
            return Err(Rejection(
                StatusCode::CONFLICT,
                format!(
                    "worker {} was already released with the others: a late start is not \
                     part of this run",
                    index + 1
                ),
            ));
        }
        board.slots[index].asked = true;
    }
    shared.bump();
    Ok(Json(shared.plans[index].clone()))
}

/// Long-polls: answers once every worker is ready (the release) or the run is abandoned.
async fn ready(
    State(shared): State<Arc<Shared>>,
    UrlPath(index): UrlPath<usize>,
    headers: HeaderMap,
    Json(ready): Json<Ready>,
) -> Result<Json<Release>, Rejection> {
    admit(&shared, &headers, Some(index))?;
    let mut changes = shared.changed.subscribe();
    {
        let mut board = shared.board();
        board.slots[index].ready = Some(ready);
        board.slots[index].asked = true;
    }
    shared.bump();
    loop {
        {
            let board = shared.board();
            if let Some(why) = &board.abandoned {
                return Err(Rejection::abandoned(why));
            }
            if let Some(release) = board.release {
                return Ok(Json(release));
            }
        }
        if changes.changed().await.is_err() {
            return Err(Rejection(
                StatusCode::SERVICE_UNAVAILABLE,
                "the coordinator is stopping".into(),
            ));
        }
    }
}

async fn alive(
    State(shared): State<Arc<Shared>>,
    UrlPath(index): UrlPath<usize>,
    headers: HeaderMap,
) -> Result<StatusCode, Rejection> {
    admit(&shared, &headers, Some(index))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn file(
    State(shared): State<Arc<Shared>>,
    UrlPath((index, name)): UrlPath<(usize, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, Rejection> {
    admit(&shared, &headers, Some(index))?;
    if !protocol::file_name_allowed(&name) {
        return Err(Rejection(
            StatusCode::BAD_REQUEST,
            format!("`{name}` is not a file of a worker's run directory"),
        ));
    }
    let path = worker_dir(&shared.out_dir, index).join(&name);
    let written = async {
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::write(&path, &body).await
    }
    .await;
    written.map_err(|error| {
        Rejection(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "the coordinator could not write {}: {error}",
                path.display()
            ),
        )
    })?;
    Ok(StatusCode::NO_CONTENT)
}

async fn done(
    State(shared): State<Arc<Shared>>,
    UrlPath(index): UrlPath<usize>,
    headers: HeaderMap,
) -> Result<StatusCode, Rejection> {
    admit(&shared, &headers, Some(index))?;
    shared.board().slots[index].done = true;
    shared.bump();
    Ok(StatusCode::NO_CONTENT)
}

async fn failed(
    State(shared): State<Arc<Shared>>,
    UrlPath(index): UrlPath<usize>,
    headers: HeaderMap,
    Json(failed): Json<Failed>,
) -> Result<StatusCode, Rejection> {
    // A failure is heard even after the run was abandoned: it may say why.
    match admit(&shared, &headers, Some(index)) {
        Ok(()) | Err(Rejection(StatusCode::CONFLICT, _)) => {}
        Err(rejection) => return Err(rejection),
    }
    shared.board().slots[index].failed = Some(failed.message);
    shared.bump();
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_not_ready_in_time_is_named_with_what_it_did() {
        let mut board = Board {
            slots: vec![Slot::default(); 3],
            ..Board::default()
        };
        board.slots[0].pod = Some("gen-0".into());
        board.slots[0].ready = Some(Ready {
            offset_ns: 0,
            round_trip_ns: 1_000,
        });
        board.slots[1].pod = Some("gen-1".into());
        board.slots[1].asked = true;
        let within = Duration::from_secs(60);
        assert!(matches!(
            before_release(&board, within, false, &mut Unseen),
            Waiting::Yet
        ));
        let Waiting::Over(message) = before_release(&board, within, true, &mut Unseen) else {
            panic!("a late worker ends the wait");
        };
        assert!(
            message.contains("worker 2 (pod gen-1): took its arguments, never said ready")
                && message.contains("worker 3 (never heard from): never asked")
                && !message.contains("worker 1"),
            "{message}"
        );
    }

    #[test]
    fn a_clock_off_beyond_the_limit_refuses_the_run() {
        let mut board = Board {
            slots: vec![Slot::default(); 1],
            ..Board::default()
        };
        board.slots[0].pod = Some("gen-0".into());
        board.slots[0].ready = Some(Ready {
            offset_ns: -2_500_000_000,
            round_trip_ns: 2_000_000,
        });
        let Waiting::Over(message) =
            before_release(&board, Duration::from_secs(60), false, &mut Unseen)
        else {
            panic!("a clock 2.5 s off is refused");
        };
        assert!(
            message.contains("worker 1 (pod gen-0)") && message.contains("-2500 ms"),
            "{message}"
        );
    }

    #[test]
    fn a_released_worker_that_falls_silent_is_named() {
        let released = Instant::now() - Duration::from_secs(40);
        let mut board = Board {
            slots: vec![Slot::default(); 2],
            ..Board::default()
        };
        board.slots[0].done = true;
        board.slots[1].pod = Some("gen-1".into());
        board.slots[1].last_heard = Some(released + Duration::from_secs(20));
        let Gathering::Over(message) = after_release(
            &board,
            released,
            Duration::from_secs(600),
            false,
            &mut Unseen,
        ) else {
            panic!("a silent worker ends the run");
        };
        assert!(
            message.contains("worker 2 (pod gen-1) fell silent 20 s into the run"),
            "{message}"
        );
        board.slots[1].last_heard = Some(Instant::now());
        assert!(matches!(
            after_release(
                &board,
                released,
                Duration::from_secs(600),
                false,
                &mut Unseen
            ),
            Gathering::Yet
        ));
        let Gathering::Over(late) =
            after_release(&board, released, Duration::from_secs(30), true, &mut Unseen)
        else {
            panic!("a worker past the deadline ends the run");
        };
        assert!(late.contains("sent no results within 30 s"), "{late}");
        board.slots[1].done = true;
        assert!(matches!(
            after_release(&board, released, Duration::from_secs(30), true, &mut Unseen),
            Gathering::AllDone
        ));
    }
}
