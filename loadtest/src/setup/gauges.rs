//! Keeps the store's gauges current beside the sampler, for a stack in processes of its own:
//! asks each store instance at [`SESSIONS_ROUTE`] every second (every five on Redis, whose count
//! is a SCAN competing with the measured traffic) and keeps the answer in [`StoreGauges`]. A
//! backend shared by the instances (Redis) is counted once; instances that each hold their own
//! sessions are summed. A store that is not ssobench's (it answers no gauges) stops the asking.

use crate::http::{HttpClient, Outgoing};
use crate::measure::gauges::StoreGauges;
use crate::users::context::Targets;
use std::sync::Arc;
use std::time::Duration;
use vocabulary::gauges::{SESSIONS_ROUTE, SessionGauges};

/// How long one instance may take to answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// Gauges being kept current; dropping it stops the keeping.
#[derive(Debug)]
pub struct GaugeWatch(Option<tokio::task::JoinHandle<()>>);

impl GaugeWatch {
    /// Watches the task that keeps the gauges.
    pub fn of(task: Option<tokio::task::JoinHandle<()>>) -> GaugeWatch {
        GaugeWatch(task)
    }
}

impl Drop for GaugeWatch {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Asks the stores of `targets` on this runtime until dropped.
pub fn watch_stores(targets: Targets, gauges: Arc<StoreGauges>, every_second: bool) -> GaugeWatch {
    GaugeWatch::of(Some(tokio::spawn(async move {
        let mut client = targets.check_client(ASK_TIMEOUT);
        loop {
            let every = match ask(&mut client, &targets).await {
                Ok(told) => {
                    gauges.set(Some(told.sessions_alive), told.backend_memory_bytes);
                    if told.shared && !every_second {
                        Duration::from_secs(5)
                    } else {
                        Duration::from_secs(1)
                    }
                }
                Err(Asked::NotOurs) => {
                    gauges.set(None, None);
                    return;
                }
                Err(Asked::Failed) => {
                    gauges.set(None, None);
                    Duration::from_secs(1)
                }
            };
            tokio::time::sleep(every).await;
        }
    })))
}

/// Why no gauges were read.
enum Asked {
    /// The store answers no gauges: it is not ssobench's.
    NotOurs,
    /// An instance did not answer, or its backend could not tell (a 503).
    Failed,
}

/// Every store instance's gauges, as one.
async fn ask(client: &mut HttpClient, targets: &Targets) -> Result<SessionGauges, Asked> {
    let request = Outgoing::get(SESSIONS_ROUTE);
    let mut told = Vec::new();
    // The client takes a site's instances in turn: one request each, and only one when the
    // backend is shared (every instance would count the same keys again, a scan each on Redis).
    for _ in targets.origins.site(targets.store).instances() {
        let reply = client
            .send(&targets.origins, targets.store, &request)
            .await
            .map_err(|_| Asked::Failed)?;
        let gauges: SessionGauges = match verdict(reply.status) {
            Reply::Gauges => serde_json::from_slice(&reply.body).map_err(|_| Asked::NotOurs)?,
            Reply::NotOurs => return Err(Asked::NotOurs),
            Reply::Failed => return Err(Asked::Failed),
        };
        told.push(gauges);
        if gauges.shared {
            break;
        }
    }
    combined(&told).ok_or(Asked::Failed)
}

/// What an answer's status says.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Gauges,
    /// Not ssobench's route: no such page (404, 405), or one behind a login or a redirect (an
    /// app of the user's own). Asked no more: every further request would be load on it.
    NotOurs,
    /// Ours, but its backend could not tell now (a 503 while Redis is down): asked again.
    Failed,
}

fn verdict(status: u16) -> Reply {
    match status {
        200 => Reply::Gauges,
        300..=499 => Reply::NotOurs,
        _ => Reply::Failed,
    }
}

/// The instances' gauges as the store's: a shared backend once, separate ones summed.
fn combined(told: &[SessionGauges]) -> Option<SessionGauges> {
    let first = *told.first()?;
    if first.shared {
        return Some(first);
    }
    Some(SessionGauges {
        sessions_alive: told.iter().map(|gauges| gauges.sessions_alive).sum(),
        backend_memory_bytes: None,
        shared: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gauges(sessions_alive: u64, shared: bool) -> SessionGauges {
        SessionGauges {
            sessions_alive,
            backend_memory_bytes: shared.then_some(1 << 20),
            shared,
        }
    }

    #[test]
    fn only_a_backend_that_cannot_tell_now_is_asked_again() {
        assert_eq!(verdict(200), Reply::Gauges);
        for status in [302, 401, 403, 404, 405] {
            assert_eq!(verdict(status), Reply::NotOurs, "{status}");
        }
        for status in [500, 503] {
            assert_eq!(verdict(status), Reply::Failed, "{status}");
        }
    }

    #[test]
    fn a_shared_backend_counts_once_and_separate_ones_add_up() {
        assert_eq!(
            combined(&[gauges(10, true), gauges(10, true)]),
            Some(gauges(10, true))
        );
        assert_eq!(
            combined(&[gauges(10, false), gauges(7, false)]).map(|g| g.sessions_alive),
            Some(17)
        );
        assert_eq!(combined(&[]), None);
    }
}
