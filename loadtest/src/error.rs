//! Why a run could not start, go on or be written: the one error type of the load runner's
//! commands. What went wrong keeps its own type (the stack's, a child's, the results', goose's…);
//! [`While`] adds what the run was doing when it did.

use crate::http::tls::TlsCheckError;
use crate::http::{HttpError, OriginError, TlsError};
use crate::users::context::TargetsError;
use mock_services::children::ChildError;
use mock_services::error::StackError;
use mock_services::session::StoreError;
use reports::hlog::HlogError;
use reports::merge::MergeError;
use reports::render::ReportError;
use reports::results::ResultsError;
use vocabulary::protocol::ProtocolError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Flags, settings or a state the run cannot go on with, in words that name them.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Child(#[from] ChildError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Results(#[from] ResultsError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(transparent)]
    Hlog(#[from] HlogError),
    #[error(transparent)]
    Targets(#[from] TargetsError),
    #[error(transparent)]
    Origin(#[from] OriginError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    TlsCheck(#[from] TlsCheckError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("a manifest: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("the coordinator: {0}")]
    Coordinator(#[from] reqwest::Error),
    #[error("a count out of range: {0}")]
    Count(#[from] std::num::TryFromIntError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("goose: {0}")]
    Goose(#[from] Box<goose::GooseError>),
    #[error("a task of the run failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// Something the run needs was not there.
    #[error("{0}")]
    Missing(String),
    /// What the run was doing when `source` went wrong.
    #[error("{doing}: {source}")]
    While {
        doing: String,
        source: Box<RunError>,
    },
}

impl From<goose::GooseError> for RunError {
    fn from(error: goose::GooseError) -> RunError {
        RunError::Goose(Box::new(error))
    }
}

impl RunError {
    /// Refused, in words naming the flags or the state.
    pub fn refused(message: impl Into<String>) -> RunError {
        RunError::Refused(message.into())
    }
}

/// Says what the run was doing when an error came.
pub trait While<T> {
    fn doing(self, doing: &str) -> Result<T, RunError>;
    fn doing_with(self, doing: impl FnOnce() -> String) -> Result<T, RunError>;
}

impl<T, E: Into<RunError>> While<T> for Result<T, E> {
    fn doing(self, doing: &str) -> Result<T, RunError> {
        self.doing_with(|| doing.to_owned())
    }

    fn doing_with(self, doing: impl FnOnce() -> String) -> Result<T, RunError> {
        self.map_err(|error| RunError::While {
            doing: doing(),
            source: Box::new(error.into()),
        })
    }
}

impl<T> While<T> for Option<T> {
    fn doing(self, doing: &str) -> Result<T, RunError> {
        self.ok_or_else(|| RunError::Missing(doing.to_owned()))
    }

    fn doing_with(self, doing: impl FnOnce() -> String) -> Result<T, RunError> {
        self.ok_or_else(|| RunError::Missing(doing()))
    }
}

/// Refuses to go on unless `condition` holds: `Err(RunError::Refused(…))` with the message.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err($crate::error::RunError::Refused(format!($($message)+)));
        }
    };
}

/// Refuses to go on: returns `Err(RunError::Refused(…))` with the message.
macro_rules! bail {
    ($($message:tt)+) => {
        return Err($crate::error::RunError::Refused(format!($($message)+)))
    };
}

pub(crate) use {bail, ensure};

/// What the load runner's commands return.
pub type RunResult<T> = Result<T, RunError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn refuses(users: usize) -> RunResult<usize> {
        ensure!(users >= 1, "--users must be at least 1 (got {users})");
        if users > 10 {
            bail!("--users {users}: more than this test allows");
        }
        Ok(users)
    }

    #[test]
    fn errors_keep_their_type_and_say_what_the_run_was_doing() {
        assert_eq!(refuses(3).expect("fine"), 3);
        let error = refuses(0).expect_err("refused");
        assert_eq!(error.to_string(), "--users must be at least 1 (got 0)");
        assert!(matches!(refuses(11), Err(RunError::Refused(_))));
        let io: Result<(), std::io::Error> = Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        ));
        let error = io.doing("reading the users file").expect_err("io");
        assert_eq!(error.to_string(), "reading the users file: no such file");
        assert!(matches!(
            error,
            RunError::While { source, .. } if matches!(*source, RunError::Io(_))
        ));
    }
}
