//! Filling a store with live sessions quickly, for load runs and benchmarks.

use super::SessionStore;
use super::config::AnyStore;
use super::error::StoreError;
use super::id::SessionId;
use super::record::SessionData;

/// Creates `count` sessions (subjects `user-1` … `user-<count>`, empty data) with `concurrency`
/// tasks at once, and returns their IDs. Needs a tokio runtime.
pub async fn prefill(
    store: &AnyStore,
    count: usize,
    concurrency: usize,
) -> Result<Vec<SessionId>, StoreError> {
    let tasks = concurrency.clamp(1, count.max(1));
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(count / tasks + 1);
            for n in (task..count).step_by(tasks) {
                ids.push(
                    store
                        .create(&format!("user-{}", n + 1), SessionData::default())
                        .await?
                        .id,
                );
            }
            Ok::<_, StoreError>(ids)
        }));
    }
    let mut ids = Vec::with_capacity(count);
    for handle in handles {
        let created = handle
            .await
            .map_err(|error| StoreError::Unavailable(format!("prefill task failed: {error}")))??;
        ids.extend(created);
    }
    Ok(ids)
}
