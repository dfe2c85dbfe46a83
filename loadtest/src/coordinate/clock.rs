//! A worker's wall clock against its coordinator's, as NTP measures it: the worker notes its
//! clock when it asks (`sent`) and when the answer comes (`received`), the coordinator its own
//! in between (`read`); the offset is how far the worker's clock is from the middle of the
//! exchange, known to within half its round trip. The exchange with the smallest round trip
//! is the one kept (the others waited in a queue somewhere).

use reports::results::ClockOffset;
use std::time::Duration;

/// Clocks further apart than this refuse the run: the merge lines timelines up by the second
/// and puts back what it measured, but a host whose clock is this far off is not kept in time
/// (no NTP) and may drift during the run.
pub const SKEW_LIMIT: Duration = Duration::from_secs(1);
/// Exchanges per measurement.
pub const EXCHANGES: usize = 5;

/// One exchange, in nanoseconds since the epoch: `sent` and `received` on the worker's clock,
/// `read` on the coordinator's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange {
    pub sent: i128,
    pub read: i128,
    pub received: i128,
}

impl Exchange {
    fn round_trip(&self) -> i128 {
        self.received - self.sent
    }

    /// Worker minus coordinator: the worker's clock at the middle of the exchange less the
    /// coordinator's reading.
    fn offset(&self) -> i128 {
        (self.sent + self.received) / 2 - self.read
    }
}

/// The offset from the exchange with the smallest round trip (`None` without any).
pub fn offset(exchanges: &[Exchange]) -> Option<ClockOffset> {
    let best = exchanges
        .iter()
        .min_by_key(|exchange| exchange.round_trip())?;
    Some(ClockOffset {
        offset_ms: best.offset() as f64 / 1e6,
        round_trip_ms: best.round_trip() as f64 / 1e6,
    })
}

/// Whether an offset is within [`SKEW_LIMIT`], counting what the round trip leaves unknown
/// in its favour (an offset of 1.2 s measured over a 600 ms round trip may be 0.9 s).
pub fn within_limit(clock: &ClockOffset) -> bool {
    let limit_ms = SKEW_LIMIT.as_secs_f64() * 1e3;
    clock.offset_ms.abs() - clock.round_trip_ms / 2.0 <= limit_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i128 = 1_000_000;

    #[test]
    fn the_offset_comes_from_the_quickest_exchange() {
        // The worker is 300 ms ahead. The first exchange waited 40 ms on the way back, which
        // skews its middle; the second is quick and true.
        let exchanges = [
            Exchange {
                sent: 1_000 * MS + 300 * MS,
                read: 1_001 * MS,
                received: 1_042 * MS + 300 * MS,
            },
            Exchange {
                sent: 2_000 * MS + 300 * MS,
                read: 2_001 * MS,
                received: 2_002 * MS + 300 * MS,
            },
        ];
        let clock = offset(&exchanges).expect("an offset");
        assert_eq!(clock.round_trip_ms, 2.0);
        assert_eq!(clock.offset_ms, 300.0);
        assert!(within_limit(&clock));
        // A worker behind the coordinator has a negative offset.
        let behind = offset(&[Exchange {
            sent: 10_000 * MS - 2_000 * MS,
            read: 10_001 * MS,
            received: 10_002 * MS - 2_000 * MS,
        }])
        .expect("an offset");
        assert_eq!(behind.offset_ms, -2_000.0);
        assert!(!within_limit(&behind));
        assert_eq!(offset(&[]), None);
    }

    #[test]
    fn what_the_round_trip_leaves_unknown_counts_for_the_worker() {
        let far = ClockOffset {
            offset_ms: 1_200.0,
            round_trip_ms: 600.0,
        };
        assert!(within_limit(&far));
        let farther = ClockOffset {
            offset_ms: 1_200.0,
            round_trip_ms: 100.0,
        };
        assert!(!within_limit(&farther));
    }
}
