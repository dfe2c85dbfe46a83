//! What every user of a run shares: where the services are, how the scenarios behave, the page
//! markers, the end of the run, and where measurements go. Built once per run and handed to the
//! goose transactions (their closures capture it); nothing here is process-wide.

use crate::fault::FaultBoard;
use crate::http::{
    HttpClient, Marker, Origin, OriginError, OriginId, Origins, Scheme, TlsConnector, TlsError,
    TlsOptions,
};
use crate::measure::interval_log::IntervalSink;
use crate::measure::live::LiveRegistry;
use crate::measure::recorder::UserRecorder;
use crate::measure::settle::MeasureClock;
use crate::measure::shards::Shards;
use crate::users::login::LoginSettings;
use crate::users::stop::RunEnd;
use mock_services::web::routes::markers;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use vocabulary::Service;

/// The services of a run, parsed and resolved once, and the TLS configuration their HTTPS
/// instances are reached with.
#[derive(Debug, Clone)]
pub struct Targets {
    pub origins: Origins,
    pub idp: OriginId,
    pub store: OriginId,
    pub forums: OriginId,
    /// Built when some instance is HTTPS.
    pub tls: Option<TlsConnector>,
}

/// Why the targets cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    #[error(transparent)]
    Origin(#[from] OriginError),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

impl Targets {
    /// Parses the IdP's base URL and every store and forums instance's (at least one each),
    /// `http://` or `https://`, resolving each host once. A service of several instances is one
    /// site, taken in turn.
    pub fn parse<S: AsRef<str>>(
        idp: &str,
        stores: &[S],
        forums: &[S],
    ) -> Result<Targets, OriginError> {
        let site = |urls: &[S]| {
            if urls.is_empty() {
                return Err(OriginError::Shape("(no URL)".into()));
            }
            urls.iter()
                .map(|url| Origin::parse(url.as_ref()))
                .collect::<Result<Vec<_>, _>>()
        };
        let mut origins = Origins::default();
        let idp = origins.add(Origin::parse(idp)?);
        let store = origins.add_site(site(stores)?);
        let forums = origins.add_site(site(forums)?);
        Ok(Targets {
            origins,
            idp,
            store,
            forums,
            tls: None,
        })
    }

    /// These targets with the TLS configuration `options` describe, built when some instance
    /// is HTTPS (roots are read once, here).
    pub fn with_tls(mut self, options: &TlsOptions) -> Result<Targets, TargetsError> {
        if self.origins.any_https() {
            self.tls = Some(TlsConnector::new(options)?);
        }
        Ok(self)
    }

    /// A client for one-off asks outside the load (counts, gauges, discovery), each answer
    /// awaited at most `timeout`: its TLS never resumes, so nothing it does warms the run's
    /// session cache.
    pub fn check_client(&self, timeout: Duration) -> HttpClient {
        HttpClient::new(
            &self.origins,
            0,
            timeout,
            self.tls.as_ref().map(TlsConnector::for_check),
        )
    }

    /// Makes one TLS handshake with every HTTPS instance, so that an untrusted certificate or
    /// a server that speaks no TLS is named before the run starts, not counted as thousands
    /// of failures.
    pub async fn check_tls(&self) -> Result<(), crate::http::tls::TlsCheckError> {
        let Some(tls) = &self.tls else {
            return Ok(());
        };
        for (_, site) in self.origins.sites() {
            for origin in site.instances() {
                if origin.scheme == Scheme::Https {
                    crate::http::tls::check(origin, tls).await?;
                }
            }
        }
        Ok(())
    }

    /// Each service and the site that serves it.
    pub fn services(&self) -> [(Service, OriginId); 3] {
        [
            (Service::Idp, self.idp),
            (Service::Store, self.store),
            (Service::Forums, self.forums),
        ]
    }

    /// One line per site: where the run's load goes, with every address of each instance.
    pub fn describe(&self) -> Vec<String> {
        let role = |id: OriginId| {
            self.services()
                .into_iter()
                .find_map(|(service, site)| (site == id).then_some(service.name()))
                .unwrap_or("")
        };
        self.origins
            .sites()
            .map(|(id, site)| {
                let instances: Vec<String> = site
                    .instances()
                    .iter()
                    .map(|origin| {
                        let addrs: Vec<String> =
                            origin.addrs.iter().map(ToString::to_string).collect();
                        format!("{} ({})", origin.base, addrs.join(", "))
                    })
                    .collect();
                format!("{:6} {}", role(id), instances.join(", "))
            })
            .collect()
    }

    /// One origin serving every role (calibration's trivial endpoint).
    pub fn single(url: &str) -> Result<Targets, OriginError> {
        let mut origins = Origins::default();
        let only = origins.add(Origin::parse(url)?);
        Ok(Targets {
            origins,
            idp: only,
            store: only,
            forums: only,
            tls: None,
        })
    }

    /// A site's base URL (its first instance's).
    pub fn base(&self, origin: OriginId) -> &str {
        self.origins.site(origin).base()
    }
}

/// How the scenarios behave, fixed for a run.
#[derive(Debug, Clone)]
pub struct ScenarioSettings {
    /// Each user's intended time between iterations (open model), or `None` (closed).
    pub pacing_interval: Option<Duration>,
    /// How long the journey waits for the store session to expire (its idle timeout + margin).
    pub expiry_wait: Duration,
    /// Cart page views per journey iteration (one cart write besides).
    pub cart_reads: u32,
    /// How long the stolen-session scenario keeps replaying a cookie.
    pub stolen_window: Duration,
    pub replay_interval: Duration,
    /// Every request's timeout (connect, send, headers and body).
    pub request_timeout: Duration,
    /// Feed every hop to goose's own metrics (for its reports): costs an allocation per hop.
    pub goose_metrics: bool,
    /// The accounts users log in as, and how the provider's forms are read.
    pub login: LoginSettings,
    /// The provider's end-session endpoint (a path on its site), learnt before the run: where
    /// the journey logs out at the provider when the apps logged out only locally.
    pub provider_logout: Option<bytes::Bytes>,
    /// Each user's pause after each transaction (`--wait`), drawn from this range. Taken by
    /// the user itself, not goose: goose sleeps its wait in 500 ms slices, 200,000 wake-ups a
    /// second at 100,000 users, and its wait cannot be cut short by the run's end.
    pub think: Option<(Duration, Duration)>,
    /// A user closes a connection it has not used for this long (`--keep-alive-idle`).
    pub keep_alive_idle: Option<Duration>,
    /// The addresses users' connections come from, one per user in turn (`--source-addrs`, or
    /// chosen for the run when it needs more than one).
    pub source_addrs: Option<crate::http::SourceAddrs>,
    /// This generator's first user's place among the run's users: a worker of several starts
    /// where the ones before it end, so the run's users log in as different accounts.
    pub first_user: usize,
}

/// The marker of `loadtest calibrate`'s trivial page.
pub const CALIBRATION_MARKER: &str = "calibration";

/// The page markers the scenarios check, each search prepared once.
#[derive(Debug, Clone)]
pub struct Markers {
    pub login_link: Marker,
    pub login_form: Marker,
    pub cart: Marker,
    pub posts: Marker,
    pub logout_confirm: Marker,
    pub logged_out: Marker,
    /// `loadtest calibrate`'s trivial page.
    pub calibration: Marker,
    /// A service's answer to a connection over its `--max-connections`.
    pub over_capacity: Marker,
}

impl Default for Markers {
    fn default() -> Self {
        Markers {
            login_link: Marker::new(markers::LOGIN_LINK),
            login_form: Marker::new(markers::LOGIN_FORM),
            cart: Marker::new(markers::CART),
            posts: Marker::new(markers::POSTS),
            logout_confirm: Marker::new(markers::LOGOUT_CONFIRM),
            logged_out: Marker::new(markers::LOGGED_OUT),
            calibration: Marker::new(CALIBRATION_MARKER),
            over_capacity: Marker::new(markers::OVER_CAPACITY),
        }
    }
}

/// A run's shared context.
#[derive(Debug)]
pub struct RunContext {
    pub targets: Targets,
    pub settings: ScenarioSettings,
    pub markers: Markers,
    pub end: RunEnd,
    pub live: LiveRegistry,
    /// Where users' latencies go (see [`Shards`]).
    pub shards: Shards,
    /// The run's faults (an empty board without any): users note errors and successes around
    /// them and ask whether one explains a lost session.
    pub faults: Arc<FaultBoard>,
    /// Every stopped user's own counts, merged (their latencies are in the shards).
    merged: Mutex<UserRecorder>,
    /// Where users hand their samples for the interval logs (none in a calibration).
    pub intervals: Option<IntervalSink>,
    /// The measured run's zero: until it is set (the warm-up) users keep no counts and no
    /// latency totals, and start them afresh once it is.
    pub clock: Arc<MeasureClock>,
    /// Users started so far: each starts its round robin over a site's instances at its own
    /// turn (read once per user, never per request).
    users_started: AtomicU32,
    /// The users this generator starts, and when the last of them started.
    users: usize,
    all_started: std::sync::OnceLock<std::time::Instant>,
}

impl RunContext {
    /// A context whose users share `shards` (see [`Shards::for_threads`]).
    pub fn new(
        targets: Targets,
        settings: ScenarioSettings,
        faults: Arc<FaultBoard>,
        intervals: Option<IntervalSink>,
        clock: Arc<MeasureClock>,
        shards: Shards,
        users: usize,
    ) -> Self {
        RunContext {
            targets,
            settings,
            markers: Markers::default(),
            end: RunEnd::default(),
            live: LiveRegistry::new(shards.count()),
            shards,
            faults,
            merged: Mutex::new(UserRecorder::default()),
            intervals,
            clock,
            users_started: AtomicU32::new(0),
            users,
            all_started: std::sync::OnceLock::new(),
        }
    }

    /// The next user to start: its number in this generator (from 0), which also picks its
    /// shard.
    pub fn next_user(&self) -> u32 {
        let number = self.users_started.fetch_add(1, Ordering::Relaxed);
        if number as usize + 1 == self.users {
            let _ = self.all_started.set(std::time::Instant::now());
        }
        number
    }

    /// When the last of this generator's users started (`None`: not all did).
    pub fn all_started(&self) -> Option<std::time::Instant> {
        self.all_started.get().copied()
    }

    /// Users started so far.
    pub fn users_started(&self) -> u32 {
        self.users_started.load(Ordering::Relaxed)
    }

    /// User `user`'s first round-robin turn: users start at different instances, so the first
    /// requests of a run spread too.
    pub fn first_turn(&self, user: u32) -> u32 {
        u32::try_from(self.settings.first_user)
            .unwrap_or(0)
            .wrapping_add(user)
    }

    /// Adds a stopped user's measurements (once per user, never per request).
    pub fn merge(&self, user: &UserRecorder) {
        self.merged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .merge(user);
    }

    /// Everything measured so far: the stopped users' counts and every shard's latencies.
    pub fn merged(&self) -> UserRecorder {
        let mut merged = self.shards.merged();
        merged.merge(&self.merged.lock().unwrap_or_else(PoisonError::into_inner));
        merged
    }
}
