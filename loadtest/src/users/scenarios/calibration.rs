//! `calibration`: the hop path against a trivial endpoint (no session work), for
//! `loadtest calibrate`: what this machine's generator can drive per core.

use super::flows::begin_iteration;
use crate::names::Hop;
use crate::users::hop::{Expect, To, hop};
use crate::users::user::state;
use goose::prelude::*;

/// The trivial endpoint's path.
pub const PATH: &str = "/";
/// Its page's marker (kept with the other markers the users check).
pub use crate::users::context::CALIBRATION_MARKER as MARKER;

/// One request to the trivial endpoint, checked like any page.
pub async fn request(user: &mut GooseUser) -> TransactionResult {
    if !begin_iteration(user).await? {
        return Ok(());
    }
    let run = std::sync::Arc::clone(&state(user)?.run);
    hop(
        user,
        Hop::Calibration,
        To::route(run.targets.store, PATH),
        None,
        Expect::page(&run.markers.calibration),
    )
    .await?;
    Ok(())
}
