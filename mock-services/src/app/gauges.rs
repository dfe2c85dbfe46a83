//! `GET /ssobench/sessions`: the app's sessions now (how many are alive and, on Redis, the
//! backend's memory), for a load run to sample while it watches a stack in other processes.
//! Not counted as an operation: asking is the runner's, not the users'.

use super::{AppError, AppState};
use crate::session::SessionStore as _;
use axum::Json;
use axum::extract::State;
use vocabulary::gauges::SessionGauges;

pub use vocabulary::gauges::SESSIONS_ROUTE;

/// The gauges; a backend that cannot tell them is a 503 (the store's own error).
pub async fn sessions(State(state): State<AppState>) -> Result<Json<SessionGauges>, AppError> {
    let store = state.sessions();
    Ok(Json(SessionGauges {
        sessions_alive: store.live_count().await?,
        backend_memory_bytes: store.backend_memory().await?,
        shared: store.shared(),
    }))
}
