//! The store-facing error type; each backend maps its own failures into it in one place.

/// Why a session operation failed. Apps answer `Unavailable` with 503 and `Retry-After`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or did not answer in time (Redis down, timeout).
    #[error("session backend unavailable: {0}")]
    Unavailable(String),
    /// A stored record could not be decoded (written by another format version, or damaged).
    #[error("stored session record is corrupt: {0}")]
    Corrupt(String),
    /// The store configuration is invalid; the message names the offending field.
    #[error("invalid session store configuration: {0}")]
    Config(String),
}
