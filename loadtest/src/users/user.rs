//! One goose user's state: its browser (connections and cookies), an attacker's connections for
//! the stolen-session scenario, its measurements and its pacing. Installed when the user starts;
//! merged into the run when it stops.

use crate::http::{CookieJar, HttpClient, Timing};
use crate::measure::interval_log::{IntervalTap, Series};
use crate::measure::live::LiveCounters;
use crate::measure::recorder::{UserRecorder, micros};
use crate::names::{Flow, Hop};
use crate::users::context::RunContext;
use crate::users::pacing::Pacer;
use crate::users::stop::Ended;
use goose::prelude::*;
use hdrhistogram::sync::Recorder;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Waits at least this long hand the user's per-second latencies over before sleeping, so
/// they count in the second they happened in, not when the user wakes.
const LONG_WAIT: Duration = Duration::from_millis(100);

/// A goose user's state (goose keeps it as session data).
#[derive(Debug)]
pub struct UserState {
    pub run: Arc<RunContext>,
    pub browser: HttpClient,
    pub jar: CookieJar,
    /// Another client, without the browser's cookies: the stolen-session attacker.
    pub attacker: HttpClient,
    pub recorder: UserRecorder,
    pub live: Arc<LiveCounters>,
    /// This user's per-second hop latencies; `None` while it sleeps through a long wait.
    live_latency: Option<Recorder<u64>>,
    pub pacer: Pacer,
    /// Cart writes on the current store session: the lines its cart should hold
    /// (cart_browsing starts over before the cart is full).
    pub cart_writes: u32,
    /// When the store session last answered a page, or was created (kept only in runs with
    /// faults): a fault that had not ended by then explains losing it.
    pub alive_at: Option<Instant>,
    /// Ended faults whose effect on this session has been checked (its cart counted).
    pub faults_checked: usize,
    /// The fault (by index) that took this user's store session, until it logs in again: a
    /// second bounce before then is the same lost session, not another.
    pub lost_to: Option<usize>,
    /// Samples on their way to the run's interval logs.
    pub tap: IntervalTap,
}

impl Clone for UserState {
    /// Goose requires session data to be `Clone` (it never clones it during a run). A clone is a
    /// new browser for the same run: connections cannot be shared, so it starts without them.
    fn clone(&self) -> Self {
        UserState::new(Arc::clone(&self.run))
    }
}

impl UserState {
    pub fn new(run: Arc<RunContext>) -> Self {
        let origins = &run.targets.origins;
        let timeout = run.settings.request_timeout;
        let turn = run.next_user_turn();
        // Each browser (and the attacker's) with its own TLS session cache, or the run's.
        let tls = || {
            run.targets
                .tls
                .as_ref()
                .map(|tls| tls.for_browser(origins.slots()))
        };
        UserState {
            browser: HttpClient::new(origins, turn, timeout, tls()),
            jar: CookieJar::new(origins.len()),
            // The attacker replays from another instance than the browser's next.
            attacker: HttpClient::new(origins, turn.wrapping_add(1), timeout, tls()),
            recorder: UserRecorder::default(),
            live: run.live.join(),
            live_latency: None,
            pacer: Pacer::new(run.settings.pacing_interval),
            cart_writes: 0,
            alive_at: None,
            faults_checked: 0,
            lost_to: None,
            tap: IntervalTap::new(
                run.intervals.clone(),
                run.settings.paused_between_transactions,
            ),
            run,
        }
    }

    /// The store session answered a page just now (noted only in runs with faults).
    pub fn session_alive(&mut self) {
        if !self.run.faults.is_empty() {
            self.alive_at = Some(Instant::now());
        }
    }

    /// Records one answered hop: its histograms and parts, the interval logs, the per-second
    /// figures, and what opening a connection took.
    pub fn record_hop(&mut self, hop: Hop, elapsed: Duration, timing: &Timing) {
        let interval = self.pacer.interval();
        let latency = self.recorder.hop(hop);
        latency.record(elapsed, interval);
        latency.time_parts(timing);
        if timing.connect.is_some() {
            self.recorder.transport(timing);
        }
        self.tap.record(Series::Hop(hop), elapsed, interval);
        self.record_live(micros(elapsed));
    }

    /// Records one completed flow (a whole login).
    pub fn record_flow(&mut self, flow: Flow, elapsed: Duration) {
        let interval = self.pacer.interval();
        self.recorder.flow(flow).record(elapsed, interval);
        self.tap.record(Series::Flow(flow), elapsed, interval);
    }

    /// Records how long a stolen cookie stayed usable.
    pub fn record_stolen(&mut self, usable: Duration) {
        self.recorder.stolen().record(usable, None);
        self.tap.record(Series::Stolen, usable, None);
    }

    /// Records one hop's latency for the per-second figures.
    pub fn record_live(&mut self, micros: u64) {
        let _ = self
            .live_latency
            .get_or_insert_with(|| self.run.live.latency_recorder())
            .record(micros);
    }

    /// Sleeps `duration`, or less if the run ends first. A long sleep first hands this user's
    /// per-second latencies over (a recorder left holding them would report them late).
    pub async fn sleep(&mut self, duration: Duration) -> Result<(), Ended> {
        if duration >= LONG_WAIT {
            self.live_latency = None;
            self.tap.flush();
        }
        self.run.end.sleep(duration).await
    }

    /// Waits for this user's next paced slot (open model), handing latencies over first when
    /// the wait is long.
    pub async fn wait_turn(&mut self) -> Result<(), Ended> {
        if self.pacer.until_next() >= LONG_WAIT {
            self.live_latency = None;
            self.tap.flush();
        }
        let end = self.run.end.clone();
        self.pacer.wait_turn(&end).await
    }

    /// What this user measured, with its pacing and connection counts.
    fn finished_recorder(&mut self) -> UserRecorder {
        let mut recorder = std::mem::take(&mut self.recorder);
        recorder.late = self.pacer.late;
        recorder.dropped = self.pacer.dropped;
        recorder.client = self.browser.stats;
        recorder.client.add(&self.attacker.stats);
        recorder.instance_requests = self
            .browser
            .requests()
            .iter()
            .zip(self.attacker.requests())
            .map(|(browser, attacker)| browser + attacker)
            .collect();
        recorder
    }
}

/// On start: give the user its browser and state for `run`.
pub fn install(user: &mut GooseUser, run: &Arc<RunContext>) {
    user.set_session_data(UserState::new(Arc::clone(run)));
}

/// On stop: hand this user's measurements to the run.
pub async fn flush(user: &mut GooseUser) -> TransactionResult {
    if let Some(state) = user.get_session_data_mut::<UserState>() {
        let recorder = state.finished_recorder();
        state.live_latency = None;
        state.tap.flush();
        state.run.merge(&recorder);
    }
    Ok(())
}

/// The user's state; every scenario installs it first (its on-start transaction).
pub fn state(user: &mut GooseUser) -> Result<&mut UserState, Box<TransactionError>> {
    user.get_session_data_mut::<UserState>().ok_or_else(|| {
        Box::new(TransactionError::Custom(
            "user state missing: the scenario's on-start transaction did not run".into(),
        ))
    })
}
