//! The run's faults as its users see them: when each began and ended (set by the injector),
//! and the first failed and first good answer around each (set by whichever user sees one
//! first). Times are microseconds since the start of the measured run, the timeline's zero.
//!
//! Users read it on every answer, so a run without faults pays one branch, and a run with
//! faults one or two loads of lines that are written a handful of times per run.

use super::spec::FaultSpec;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Not happened (yet).
const NOT_YET: u64 = u64::MAX;

/// One fault's moments.
#[derive(Debug)]
struct Moments {
    spec: FaultSpec,
    began: AtomicU64,
    ended: AtomicU64,
    first_error: AtomicU64,
    first_success: AtomicU64,
}

/// What happened to one fault, read after the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultMoments {
    pub spec: FaultSpec,
    /// Microseconds from the run's start; `None` if it never came.
    pub began_us: Option<u64>,
    pub ended_us: Option<u64>,
    /// The first failed answer at or after the fault began (and before the next fault began).
    pub first_error_us: Option<u64>,
    /// The first good answer at or after the fault ended (and before the next fault began).
    pub first_success_us: Option<u64>,
}

/// The faults of a run, in the order they happen.
#[derive(Debug)]
pub struct FaultBoard {
    origin: Instant,
    faults: Vec<Moments>,
}

impl FaultBoard {
    /// A board for `faults` (any order), timed from `origin`.
    pub fn new(origin: Instant, faults: &[FaultSpec]) -> Self {
        let mut specs = faults.to_vec();
        specs.sort_by_key(|fault| fault.at);
        FaultBoard {
            origin,
            faults: specs
                .into_iter()
                .map(|spec| Moments {
                    spec,
                    began: AtomicU64::new(NOT_YET),
                    ended: AtomicU64::new(NOT_YET),
                    first_error: AtomicU64::new(NOT_YET),
                    first_success: AtomicU64::new(NOT_YET),
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// The faults, in the order they happen.
    pub fn specs(&self) -> impl Iterator<Item = FaultSpec> + '_ {
        self.faults.iter().map(|fault| fault.spec)
    }

    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_micros()).unwrap_or(NOT_YET - 1)
    }

    /// The injector: fault `index` began at `at`.
    pub fn began(&self, index: usize, at: Instant) {
        if let Some(fault) = self.faults.get(index) {
            fault.began.store(self.micros(at), Ordering::Release);
        }
    }

    /// The injector: fault `index` ended at `at` (the store or stack is back).
    pub fn ended(&self, index: usize, at: Instant) {
        if let Some(fault) = self.faults.get(index) {
            fault.ended.store(self.micros(at), Ordering::Release);
        }
    }

    /// The latest fault that has begun by `at` (micros), with its index.
    fn current(&self, at: u64) -> Option<(usize, &Moments)> {
        self.faults
            .iter()
            .enumerate()
            .rev()
            .find(|(_, fault)| fault.began.load(Ordering::Acquire) <= at)
    }

    /// A failed answer (or none) at `at`.
    pub fn failure(&self, at: Instant) {
        if self.faults.is_empty() {
            return;
        }
        let at = self.micros(at);
        if let Some((_, fault)) = self.current(at) {
            first(&fault.first_error, at);
        }
    }

    /// A good answer at `at`.
    pub fn success(&self, at: Instant) {
        if self.faults.is_empty() {
            return;
        }
        let at = self.micros(at);
        if let Some((_, fault)) = self.current(at)
            && fault.ended.load(Ordering::Acquire) <= at
        {
            first(&fault.first_success, at);
        }
    }

    /// The fault that explains a session lost between `alive_at` (when it last answered a page,
    /// or was created) and `noticed_at`: the latest that began by `noticed_at` and had not ended
    /// before `alive_at`. `None`: no fault explains it — the session ended early, a failure.
    pub fn explains(&self, alive_at: Instant, noticed_at: Instant) -> Option<usize> {
        if self.faults.is_empty() {
            return None;
        }
        let (alive, noticed) = (self.micros(alive_at), self.micros(noticed_at));
        let (index, fault) = self.current(noticed)?;
        let ended = fault.ended.load(Ordering::Acquire);
        (ended == NOT_YET || alive <= ended).then_some(index)
    }

    /// Faults that had ended by `at`: a user that has checked its cart after fewer of them
    /// checks again.
    pub fn ended_by(&self, at: Instant) -> usize {
        if self.faults.is_empty() {
            return 0;
        }
        let at = self.micros(at);
        self.faults
            .iter()
            .take_while(|fault| fault.ended.load(Ordering::Acquire) <= at)
            .count()
    }

    /// What happened, once the run is over.
    pub fn moments(&self) -> Vec<FaultMoments> {
        let read = |value: &AtomicU64| match value.load(Ordering::Acquire) {
            NOT_YET => None,
            us => Some(us),
        };
        self.faults
            .iter()
            .map(|fault| FaultMoments {
                spec: fault.spec,
                began_us: read(&fault.began),
                ended_us: read(&fault.ended),
                first_error_us: read(&fault.first_error),
                first_success_us: read(&fault.first_success),
            })
            .collect()
    }
}

/// Lowers `slot` to `at` if `at` is earlier; a read first, so later answers never write.
fn first(slot: &AtomicU64, at: u64) {
    if slot.load(Ordering::Relaxed) > at {
        slot.fetch_min(at, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::parse_fault;
    use std::time::Duration;

    fn board() -> (FaultBoard, Instant) {
        let origin = Instant::now();
        let faults = [
            parse_fault("stack-pause@8s+1s").expect("spec"),
            parse_fault("redis-restart@2s+3s").expect("spec"),
        ];
        (FaultBoard::new(origin, &faults), origin)
    }

    fn s(origin: Instant, seconds: f64) -> Instant {
        origin + Duration::from_secs_f64(seconds)
    }

    #[test]
    fn first_error_and_first_success_belong_to_the_fault_around_them() {
        let (board, o) = board();
        board.failure(s(o, 1.0)); // before any fault: nobody's
        board.began(0, s(o, 2.0));
        board.failure(s(o, 2.5));
        board.failure(s(o, 2.2)); // seen later, happened earlier
        board.success(s(o, 3.0)); // during the fault: not a recovery
        board.ended(0, s(o, 5.0));
        board.success(s(o, 5.4));
        board.success(s(o, 6.0));
        board.began(1, s(o, 8.0));
        board.ended(1, s(o, 9.0));
        board.success(s(o, 9.1));
        let moments = board.moments();
        assert_eq!(moments[0].spec.kind, crate::fault::FaultKind::RedisRestart);
        assert_eq!(moments[0].began_us, Some(2_000_000));
        assert_eq!(moments[0].ended_us, Some(5_000_000));
        assert_eq!(moments[0].first_error_us, Some(2_200_000));
        assert_eq!(moments[0].first_success_us, Some(5_400_000));
        assert_eq!(moments[1].first_error_us, None);
        assert_eq!(moments[1].first_success_us, Some(9_100_000));
    }

    #[test]
    fn a_fault_explains_only_sessions_alive_before_it_ended() {
        let (board, o) = board();
        assert_eq!(board.explains(s(o, 0.5), s(o, 1.0)), None, "no fault yet");
        board.began(0, s(o, 2.0));
        assert_eq!(board.explains(s(o, 1.0), s(o, 2.1)), Some(0));
        board.ended(0, s(o, 5.0));
        assert_eq!(
            board.explains(s(o, 1.9), s(o, 5.2)),
            Some(0),
            "alive before"
        );
        assert_eq!(board.explains(s(o, 4.0), s(o, 7.0)), Some(0), "during");
        assert_eq!(
            board.explains(s(o, 5.5), s(o, 7.0)),
            None,
            "a session made after the restart that vanishes is the system's failure"
        );
        assert_eq!(board.ended_by(s(o, 4.9)), 0);
        assert_eq!(board.ended_by(s(o, 5.0)), 1);
    }

    #[test]
    fn a_board_without_faults_explains_nothing() {
        let board = FaultBoard::new(Instant::now(), &[]);
        assert!(board.is_empty());
        let now = Instant::now();
        board.failure(now);
        assert_eq!(board.explains(now, now), None);
        assert!(board.moments().is_empty());
    }
}
