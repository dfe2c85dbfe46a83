//! One goose user's state: its browser (connections and cookies), an attacker's connections for
//! the stolen-session scenario, its own counts and its pacing. Installed when the user starts;
//! its counts merged into the run when it stops. Its latencies go to its shard of the run (see
//! `measure::shards`) as they are taken.

use crate::http::{CookieJar, HttpClient, Timing};
use crate::measure::interval_log::{IntervalTap, Series};
use crate::measure::live::LiveCounters;
use crate::measure::recorder::{UserRecorder, micros};
use crate::measure::shards::Shard;
use crate::names::{Flow, Hop};
use crate::users::context::RunContext;
use crate::users::pacing::Pacer;
use crate::users::stop::Ended;
use goose::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Waits at least this long hand the user's samples for the interval logs over before sleeping
/// (so they count in the second they happened in, not when the user wakes), and let its idle
/// connections give their read buffers back.
const LONG_WAIT: Duration = Duration::from_millis(100);

/// A goose user's state (goose keeps it as session data).
#[derive(Debug)]
pub struct UserState {
    pub run: Arc<RunContext>,
    /// This user's number in the generator (from 0): it picks the user's shard.
    number: usize,
    pub browser: HttpClient,
    pub jar: CookieJar,
    /// Another client, without the browser's cookies: the stolen-session attacker.
    pub attacker: HttpClient,
    /// This user's own counts (failures, outcomes, losses); its latencies are in its shard.
    pub recorder: UserRecorder,
    /// Its shard's live counters.
    pub live: Arc<LiveCounters>,
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
    /// This user's counts are of the warm-up: they start afresh once measuring starts.
    warming: bool,
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
        let number = run.next_user();
        let turn = run.first_turn(number);
        let number = number as usize;
        let source = run
            .settings
            .source_addrs
            .as_ref()
            .map(|sources| sources.for_user(number));
        // Each browser (and the attacker's) with its own TLS session cache, or the run's.
        let tls = || {
            run.targets
                .tls
                .as_ref()
                .map(|tls| tls.for_browser(origins.slots()))
        };
        UserState {
            browser: HttpClient::new(origins, turn, timeout, tls()).from_source(source),
            jar: CookieJar::new(origins.len()),
            // The attacker replays from another instance than the browser's next.
            attacker: HttpClient::new(origins, turn.wrapping_add(1), timeout, tls())
                .from_source(source),
            recorder: UserRecorder::default(),
            live: run.live.join(number),
            number,
            pacer: Pacer::new(run.settings.pacing_interval),
            cart_writes: 0,
            alive_at: None,
            faults_checked: 0,
            lost_to: None,
            tap: IntervalTap::new(run.intervals.clone()),
            warming: !run.clock.is_measuring(),
            run,
        }
    }

    /// Whether what this user measures now counts: once the warm-up has ended, the first
    /// call after it drops the user's warm-up counts (failures, outcomes, pacing, connection
    /// and instance counts), so the results count from the measured run's zero. One atomic
    /// load, at each sample and each transaction.
    pub fn measuring(&mut self) -> bool {
        if self.warming && self.run.clock.is_measuring() {
            self.warming = false;
            self.recorder = UserRecorder::default();
            self.pacer.late = 0;
            self.pacer.dropped = 0;
            self.browser.restart_counts();
            self.attacker.restart_counts();
        }
        !self.warming
    }

    /// The store session answered a page just now (noted only in runs with faults).
    pub fn session_alive(&mut self) {
        if !self.run.faults.is_empty() {
            self.alive_at = Some(Instant::now());
        }
    }

    /// This user's shard of the run's latencies, locked (for one sample's worth of work).
    fn shard(&self) -> std::sync::MutexGuard<'_, Shard> {
        self.run.shards.lock(self.number)
    }

    /// Records one answered hop: its histograms and parts, the per-second figures and what
    /// opening a connection took (in its shard), and the interval logs.
    pub fn record_hop(&mut self, hop: Hop, elapsed: Duration, timing: &Timing) {
        let interval = self.pacer.interval();
        let measuring = self.measuring();
        {
            let mut shard = self.shard();
            // The timeline's latencies cover the warm-up too; the run's totals do not.
            if measuring {
                let latency = shard.totals.hop(hop);
                latency.record(elapsed, interval);
                latency.time_parts(timing);
                if timing.connect.is_some() {
                    shard.totals.transport(timing);
                }
            }
            let _ = shard.second.record(micros(elapsed));
        }
        if timing.connect.is_some() {
            self.live.connection();
        }
        // Decided once per sample: what the logs hold is what the histograms hold.
        if measuring {
            self.tap.record(Series::Hop(hop), elapsed, interval);
        }
    }

    /// Counts one hop that got no usable answer, with what opening its connection took.
    pub fn hop_failed(&mut self, hop: Hop, timing: Option<&Timing>) {
        if self.measuring() {
            let mut shard = self.shard();
            shard.totals.hop(hop).error();
            if let Some(timing) = timing {
                shard.totals.transport(timing);
            }
        }
        if timing.is_some_and(|timing| timing.connect.is_some()) {
            self.live.connection();
        }
    }

    /// Records one completed flow (a whole login).
    pub fn record_flow(&mut self, flow: Flow, elapsed: Duration) {
        let interval = self.pacer.interval();
        if self.measuring() {
            self.shard().totals.flow(flow).record(elapsed, interval);
            self.tap.record(Series::Flow(flow), elapsed, interval);
        }
    }

    /// Records how long a stolen cookie stayed usable.
    pub fn record_stolen(&mut self, usable: Duration) {
        if self.measuring() {
            self.shard().totals.stolen().record(usable, None);
            self.tap.record(Series::Stolen, usable, None);
        }
    }

    /// Before a long wait: samples handed over, idle connections' buffers given back.
    fn going_idle(&mut self) {
        self.tap.flush();
        self.browser.release_buffers();
        self.attacker.release_buffers();
    }

    /// Sleeps `duration`, or less if the run ends first (a long sleep goes idle first). A
    /// sleep past the idle limit (`--keep-alive-idle`) closes the connections it left idle
    /// once the limit is reached, as a browser's idle timer would.
    pub async fn sleep(&mut self, duration: Duration) -> Result<(), Ended> {
        if duration >= LONG_WAIT {
            self.going_idle();
        }
        match self.run.settings.keep_alive_idle {
            Some(limit) if duration > limit => {
                self.run.end.sleep(limit).await?;
                self.close_idle(limit);
                self.run.end.sleep(duration - limit).await
            }
            _ => self.run.end.sleep(duration).await,
        }
    }

    /// Waits for this user's next paced slot (open model), handing latencies over first when
    /// the wait is long, and closing its connections once idle past the limit, as
    /// [`UserState::sleep`] does.
    pub async fn wait_turn(&mut self) -> Result<(), Ended> {
        let until_next = self.pacer.until_next();
        if until_next >= LONG_WAIT {
            self.going_idle();
        }
        let end = self.run.end.clone();
        if let Some(limit) = self.run.settings.keep_alive_idle
            && until_next > limit
        {
            end.sleep(limit).await?;
            self.close_idle(limit);
        }
        self.pacer.wait_turn(&end).await
    }

    /// Closes every connection of this user unused for `limit` or longer.
    fn close_idle(&mut self, limit: Duration) {
        self.browser.close_idle(limit);
        self.attacker.close_idle(limit);
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

/// After a transaction: the user's think time (`--wait`), drawn anew each time and cut short
/// by the run's end (which goose then sees between transactions).
pub async fn think(user: &mut GooseUser) {
    use rand::Rng as _;
    let Some(state) = user.get_session_data_mut::<UserState>() else {
        return;
    };
    let Some((low, high)) = state.run.settings.think else {
        return;
    };
    let pause = if high > low {
        rand::rng().random_range(low..=high)
    } else {
        low
    };
    let _ = state.sleep(pause).await;
}

/// On stop: hand this user's measurements to the run.
pub async fn flush(user: &mut GooseUser) -> TransactionResult {
    if let Some(state) = user.get_session_data_mut::<UserState>() {
        let recorder = state.finished_recorder();
        state.tap.flush();
        state.run.merge(&recorder);
    }
    Ok(())
}

/// The user's state; every scenario installs it first (its on-start transaction).
pub fn state(user: &mut GooseUser) -> Result<&mut UserState, Box<TransactionError>> {
    // Goose ends an attack of its own only at its run time, which a warm-up that settles
    // early leaves far off; once the run has ended, each user asks goose to let it go after
    // its current iteration, and goose ends the attack when every user has gone.
    if user
        .get_session_data::<UserState>()
        .is_some_and(|state| state.run.end.has_come())
    {
        user.config.iterations = Some(1);
    }
    let state = user.get_session_data_mut::<UserState>().ok_or_else(|| {
        Box::new(TransactionError::Custom(
            "user state missing: the scenario's on-start transaction did not run".into(),
        ))
    })?;
    // A transaction's counts go where its first sample goes: the warm-up's or the run's.
    state.measuring();
    Ok(state)
}
