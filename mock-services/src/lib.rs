//! Mock services for ssobench: the session store with its pluggable backends, and helpers the
//! binaries share (backend selection flags, a throwaway local `redis-server`).

pub mod app;
pub mod children;
pub mod cli;
pub mod dev_cert;
pub mod error;
pub mod idp;
pub mod instances;
pub mod limits;
pub mod local_cluster;
pub mod local_redis;
pub mod serve;
pub mod session;
pub mod signals;
pub mod stack;
pub mod web;
