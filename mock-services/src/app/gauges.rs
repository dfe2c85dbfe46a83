//! `GET /ssobench/sessions`: the app's sessions now (how many are alive and, on Redis, the
//! backend's memory), for a load run to sample while it watches a stack in other processes.
//! Not counted as an operation: asking is the runner's, not the users'.

use super::{AppError, AppState};
use crate::session::SessionStore as _;
use axum::Json;
use axum::extract::State;
use vocabulary::gauges::SessionGauges;

pub use vocabulary::gauges::SESSIONS_ROUTE;

/// The gauges; a backend that cannot count its sessions is a 503 (the store's own error). One
/// that counts them but cannot tell its memory (an `INFO` refused) still gives the count, its
/// memory unknown (`null`): a figure lost is better than a good one thrown away with it.
pub async fn sessions(State(state): State<AppState>) -> Result<Json<SessionGauges>, AppError> {
    let store = state.sessions();
    let sessions_alive = store.live_count().await?;
    let backend_memory_bytes = match store.backend_memory().await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "the session backend's memory could not be read");
            None
        }
    };
    Ok(Json(SessionGauges {
        sessions_alive,
        backend_memory_bytes,
        shared: store.shared(),
    }))
}
