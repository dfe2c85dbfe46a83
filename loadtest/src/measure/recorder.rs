//! A run's latencies and counts as each user keeps them: HDR histograms per hop and flow
//! (microseconds, raw and corrected for coordinated omission), failures by kind, and the
//! scenarios' own counts — all in the user's state, written by its task alone, and merged into
//! the run's [`UserRecorder`] once, when the user stops.

use crate::http::{ClientStats, Timing};
use crate::names::{Failure, Flow, Hop, LoginOutcome};
use hdrhistogram::Histogram;
pub use reports::latency::{histogram, percentiles, spectrum};
use reports::results::{LatencyRow, Phases};
use std::collections::BTreeMap;
use std::time::Duration;

pub use reports::latency::MAX_US;

/// A duration in whole microseconds, at least 1, at most [`MAX_US`].
pub fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros())
        .unwrap_or(MAX_US)
        .clamp(1, MAX_US)
}

/// Raw and corrected histograms of one hop or flow, its error count, and where its time went.
#[derive(Debug, Clone)]
pub struct Latency {
    raw: Histogram<u64>,
    /// Only when some sample had an intended interval (open model); otherwise equal to `raw`.
    corrected: Option<Histogram<u64>>,
    errors: u64,
    phases: PhaseSums,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            raw: histogram(),
            corrected: None,
            errors: 0,
            phases: PhaseSums::default(),
        }
    }
}

/// A hop's time by part, summed over its answered samples (their means go in the results):
/// connecting and the TLS handshake (for the requests that opened a connection), and from the
/// request to the answer's first byte (every sample).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhaseSums {
    pub samples: u64,
    pub connects: u64,
    pub connect: Duration,
    pub handshakes: u64,
    pub handshake: Duration,
    pub first_byte: Duration,
}

impl PhaseSums {
    fn add_timing(&mut self, timing: &Timing) {
        self.samples += 1;
        if let Some(connect) = timing.connect {
            self.connects += 1;
            self.connect += connect;
        }
        if let Some(handshake) = timing.handshake {
            self.handshakes += 1;
            self.handshake += handshake.elapsed;
        }
        self.first_byte += timing.first_byte;
    }

    fn add(&mut self, other: &PhaseSums) {
        self.samples += other.samples;
        self.connects += other.connects;
        self.connect += other.connect;
        self.handshakes += other.handshakes;
        self.handshake += other.handshake;
        self.first_byte += other.first_byte;
    }

    /// The means, as results keep them (`None` when nothing was timed by part).
    pub fn means(&self) -> Option<Phases> {
        let mean = |total: Duration, count: u64| {
            (count > 0).then(|| total.as_secs_f64() * 1e6 / count as f64)
        };
        (self.samples > 0).then(|| Phases {
            connections: self.connects,
            connect_mean_us: mean(self.connect, self.connects),
            handshakes: self.handshakes,
            handshake_mean_us: mean(self.handshake, self.handshakes),
            first_byte_mean_us: mean(self.first_byte, self.samples).unwrap_or(0.0),
        })
    }
}

impl Latency {
    /// Records one sample. With an intended interval (open model), a sample longer than it also
    /// stands for the requests that would have been sent meanwhile (HdrHistogram's
    /// `record_correct`), so a stall shows in the tail as it would for a fixed arrival rate.
    pub fn record(&mut self, elapsed: Duration, interval: Option<Duration>) {
        let value = micros(elapsed);
        match interval.map(|i| u64::try_from(i.as_micros()).unwrap_or(MAX_US)) {
            Some(expected) if expected > 0 => {
                // Until now corrected equalled raw: start it from raw's samples so far.
                let corrected = self.corrected.get_or_insert_with(|| self.raw.clone());
                let _ = corrected.record_correct(value, expected);
            }
            _ => {
                if let Some(corrected) = &mut self.corrected {
                    let _ = corrected.record(value);
                }
            }
        }
        let _ = self.raw.record(value);
    }

    /// Adds one answered sample's parts (see [`PhaseSums`]).
    pub fn time_parts(&mut self, timing: &Timing) {
        self.phases.add_timing(timing);
    }

    pub fn error(&mut self) {
        self.errors += 1;
    }

    fn merge(&mut self, other: &Latency) {
        // Corrected first, while `self.raw` still holds only this side's samples.
        match (&mut self.corrected, &other.corrected) {
            (Some(mine), Some(theirs)) => {
                let _ = mine.add(theirs);
            }
            (Some(mine), None) => {
                let _ = mine.add(&other.raw);
            }
            (None, Some(theirs)) => {
                let mut corrected = self.raw.clone();
                let _ = corrected.add(theirs);
                self.corrected = Some(corrected);
            }
            (None, None) => {}
        }
        let _ = self.raw.add(&other.raw);
        self.errors += other.errors;
        self.phases.add(&other.phases);
    }

    pub fn count(&self) -> u64 {
        self.raw.len()
    }

    pub fn row(&self, name: &str) -> LatencyRow {
        let mut row = reports::latency::row(
            name,
            &self.raw,
            self.corrected.as_ref().unwrap_or(&self.raw),
            self.errors,
        );
        row.phases = self.phases.means();
        row
    }
}

/// One user's measurements; the run's merged totals have the same shape.
#[derive(Debug, Clone)]
pub struct UserRecorder {
    hops: [Option<Box<Latency>>; Hop::ALL.len()],
    flows: [Option<Box<Latency>>; Flow::ALL.len()],
    pub stolen_usable: Option<Box<Latency>>,
    pub failures: BTreeMap<Failure, u64>,
    pub late: u64,
    pub dropped: u64,
    pub stolen_outlived: u64,
    pub stolen_refused_after_logout: u64,
    pub stolen_served_after_logout: u64,
    pub client: ClientStats,
    /// Requests sent to each instance of the run's sites, by slot (see `Origins::instance`).
    pub instance_requests: Vec<u64>,
    /// What each fault of the run (by its index on the board) cost this user.
    pub fault_losses: Vec<FaultLosses>,
    /// Bounces to `/login` a fault explains (the others are failures).
    pub bounces_expected: u64,
    pub bounces_unexpected: u64,
    /// Waits after a 429 or 503, as its `Retry-After` asked.
    pub retry_waits: u64,
    pub retry_waited: Duration,
    /// Connect and TLS handshake times (only once a connection was opened).
    pub transport: Option<Box<TransportTimes>>,
    /// How logins through the provider's pages ended, by [`LoginOutcome`].
    pub login_outcomes: [u64; LoginOutcome::ALL.len()],
}

/// Connect and handshake times of the connections a user opened, microseconds.
#[derive(Debug, Clone)]
pub struct TransportTimes {
    pub connect: Histogram<u64>,
    pub handshake_full: Histogram<u64>,
    pub handshake_resumed: Histogram<u64>,
}

impl Default for TransportTimes {
    fn default() -> Self {
        TransportTimes {
            connect: histogram(),
            handshake_full: histogram(),
            handshake_resumed: histogram(),
        }
    }
}

impl TransportTimes {
    fn add(&mut self, other: &TransportTimes) {
        let _ = self.connect.add(&other.connect);
        let _ = self.handshake_full.add(&other.handshake_full);
        let _ = self.handshake_resumed.add(&other.handshake_resumed);
    }
}

/// What one fault cost: sessions, relogins, cart contents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultLosses {
    pub sessions_lost: u64,
    pub relogins_sso: u64,
    pub relogins_password: u64,
    pub carts_lost: u64,
    pub cart_lines_lost: u64,
}

impl FaultLosses {
    fn add(&mut self, other: &FaultLosses) {
        self.sessions_lost += other.sessions_lost;
        self.relogins_sso += other.relogins_sso;
        self.relogins_password += other.relogins_password;
        self.carts_lost += other.carts_lost;
        self.cart_lines_lost += other.cart_lines_lost;
    }
}

impl Default for UserRecorder {
    fn default() -> Self {
        UserRecorder {
            hops: std::array::from_fn(|_| None),
            flows: std::array::from_fn(|_| None),
            stolen_usable: None,
            failures: BTreeMap::new(),
            late: 0,
            dropped: 0,
            stolen_outlived: 0,
            stolen_refused_after_logout: 0,
            stolen_served_after_logout: 0,
            client: ClientStats::default(),
            instance_requests: Vec::new(),
            fault_losses: Vec::new(),
            bounces_expected: 0,
            bounces_unexpected: 0,
            retry_waits: 0,
            retry_waited: Duration::ZERO,
            transport: None,
            login_outcomes: [0; LoginOutcome::ALL.len()],
        }
    }
}

impl UserRecorder {
    pub fn hop(&mut self, hop: Hop) -> &mut Latency {
        self.hops[hop.index()].get_or_insert_with(Box::default)
    }

    pub fn flow(&mut self, flow: Flow) -> &mut Latency {
        self.flows[flow.index()].get_or_insert_with(Box::default)
    }

    pub fn stolen(&mut self) -> &mut Latency {
        self.stolen_usable.get_or_insert_with(Box::default)
    }

    /// What fault `index` cost this user so far.
    pub fn fault(&mut self, index: usize) -> &mut FaultLosses {
        if self.fault_losses.len() <= index {
            self.fault_losses.resize(index + 1, FaultLosses::default());
        }
        &mut self.fault_losses[index]
    }

    /// Counts one failure by its kind.
    pub fn failure(&mut self, failure: Failure) {
        *self.failures.entry(failure).or_default() += 1;
    }

    /// Counts how a login through the provider's pages ended.
    pub fn login_outcome(&mut self, outcome: LoginOutcome) {
        self.login_outcomes[outcome.index()] += 1;
    }

    /// Records a request's connect and handshake times, if it opened a connection.
    pub fn transport(&mut self, timing: &Timing) {
        let Some(connect) = timing.connect else {
            return;
        };
        let times = self.transport.get_or_insert_with(Box::default);
        let _ = times.connect.record(micros(connect));
        if let Some(handshake) = timing.handshake {
            let histogram = if handshake.resumed {
                &mut times.handshake_resumed
            } else {
                &mut times.handshake_full
            };
            let _ = histogram.record(micros(handshake.elapsed));
        }
    }

    /// The hops that ran (or failed), in route order, with their names.
    pub fn hops(&self) -> impl Iterator<Item = (Hop, &Latency)> {
        Hop::ALL
            .iter()
            .zip(&self.hops)
            .filter_map(|(hop, latency)| latency.as_deref().map(|latency| (*hop, latency)))
    }

    pub fn flows(&self) -> impl Iterator<Item = (Flow, &Latency)> {
        Flow::ALL
            .iter()
            .zip(&self.flows)
            .filter_map(|(flow, latency)| latency.as_deref().map(|latency| (*flow, latency)))
    }

    /// Adds another user's measurements to these.
    pub fn merge(&mut self, other: &UserRecorder) {
        for (mine, theirs) in self.hops.iter_mut().zip(&other.hops) {
            if let Some(theirs) = theirs {
                mine.get_or_insert_with(Box::default).merge(theirs);
            }
        }
        for (mine, theirs) in self.flows.iter_mut().zip(&other.flows) {
            if let Some(theirs) = theirs {
                mine.get_or_insert_with(Box::default).merge(theirs);
            }
        }
        if let Some(stolen) = &other.stolen_usable {
            self.stolen().merge(stolen);
        }
        for (failure, count) in &other.failures {
            *self.failures.entry(*failure).or_default() += count;
        }
        if self.instance_requests.len() < other.instance_requests.len() {
            self.instance_requests
                .resize(other.instance_requests.len(), 0);
        }
        for (mine, theirs) in self
            .instance_requests
            .iter_mut()
            .zip(&other.instance_requests)
        {
            *mine += theirs;
        }
        self.late += other.late;
        self.dropped += other.dropped;
        self.stolen_outlived += other.stolen_outlived;
        self.stolen_refused_after_logout += other.stolen_refused_after_logout;
        self.stolen_served_after_logout += other.stolen_served_after_logout;
        self.client.add(&other.client);
        for (index, losses) in other.fault_losses.iter().enumerate() {
            self.fault(index).add(losses);
        }
        self.bounces_expected += other.bounces_expected;
        self.bounces_unexpected += other.bounces_unexpected;
        self.retry_waits += other.retry_waits;
        self.retry_waited += other.retry_waited;
        if let Some(theirs) = &other.transport {
            self.transport.get_or_insert_with(Box::default).add(theirs);
        }
        for (mine, theirs) in self.login_outcomes.iter_mut().zip(&other.login_outcomes) {
            *mine += theirs;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correction_fills_in_what_a_stall_hid() {
        let mut latency = Latency::default();
        for _ in 0..99 {
            latency.record(Duration::from_millis(1), Some(Duration::from_millis(10)));
        }
        // One 1-second stall with a 10 ms intended interval hides ~99 requests.
        latency.record(Duration::from_secs(1), Some(Duration::from_millis(10)));
        let row = latency.row("x");
        assert_eq!(row.count, 100);
        assert!(row.raw_us.p90 < 2_000.0, "{row:?}");
        assert!(
            row.corrected_us.p90 > 100_000.0,
            "the corrected tail must show the stall: {row:?}"
        );
    }

    #[test]
    fn closed_runs_record_corrected_equal_to_raw() {
        let mut latency = Latency::default();
        latency.record(Duration::from_secs(1), None);
        latency.record(Duration::from_millis(2), None);
        let row = latency.row("x");
        assert_eq!(row.raw_us, row.corrected_us);
    }

    #[test]
    fn merging_users_adds_samples_corrections_and_counts() {
        let mut paced = UserRecorder::default();
        for _ in 0..99 {
            paced
                .hop(Hop::StoreCart)
                .record(Duration::from_millis(1), Some(Duration::from_millis(10)));
        }
        paced
            .hop(Hop::StoreCart)
            .record(Duration::from_secs(1), Some(Duration::from_millis(10)));
        paced.late = 2;
        let mut closed = UserRecorder::default();
        closed
            .hop(Hop::StoreCart)
            .record(Duration::from_millis(3), None);
        closed.hop(Hop::StoreHome).error();
        let failure = Failure {
            hop: Hop::StoreHome,
            problem: crate::names::Problem::Marker("login-link"),
        };
        closed.failure(failure);
        let mut merged = UserRecorder::default();
        merged.merge(&closed);
        merged.merge(&paced);
        let hops: Vec<Hop> = merged.hops().map(|(hop, _)| hop).collect();
        assert_eq!(hops, [Hop::StoreHome, Hop::StoreCart]);
        let cart = merged.hop(Hop::StoreCart).row("cart");
        assert_eq!(cart.count, 101);
        assert!(cart.corrected_us.p90 > 100_000.0, "{cart:?}");
        assert_eq!(merged.hop(Hop::StoreHome).row("home").errors, 1);
        assert_eq!(merged.failures.get(&failure), Some(&1));
        assert_eq!(merged.late, 2);
    }
}
