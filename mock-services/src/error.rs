//! Why the stack could not start, run or stop: the one error type of `serve`, the stack it
//! starts in this process and the processes it starts (a service's requests have their own, in
//! RFC 6749 form: this is about setting the services up).

use crate::app::AppError;
use crate::children::ChildError;
use crate::idp::KeyError;
use crate::local_redis::LocalRedisError;
use crate::session::StoreError;
use crate::web::tls::TlsFilesError;
use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// Settings that do not go together, refused before anything starts; the message names
    /// the flags.
    #[error("{0}")]
    Refused(String),
    #[error("{what} {address}: cannot listen there: {source}")]
    Listen {
        what: &'static str,
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("building the {what} store: {source}")]
    Store { what: String, source: StoreError },
    #[error("{doing}, but {source}")]
    LocalRedis {
        doing: &'static str,
        source: LocalRedisError,
    },
    #[error(transparent)]
    Tls(#[from] TlsFilesError),
    #[error("the IdP's signing keys: {0}")]
    Keys(#[from] KeyError),
    #[error(transparent)]
    App(#[from] AppError),
    #[error("{doing}: {source}")]
    Io {
        doing: &'static str,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Child { what: String, source: ChildError },
    #[error("{doing}: {source}")]
    Protocol {
        doing: &'static str,
        source: vocabulary::protocol::ProtocolError,
    },
    #[error("a service stopped with an error: {0}")]
    Serving(std::io::Error),
    #[error("a service's task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl StackError {
    /// Settings refused, in words naming the flags.
    pub fn refused(message: impl Into<String>) -> StackError {
        StackError::Refused(message.into())
    }
}
