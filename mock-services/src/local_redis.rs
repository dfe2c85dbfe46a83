//! A throwaway `redis-server` on a free loopback port, in a temporary directory, stopped on drop.
//!
//! Tests, benches and the load runner use it when no `--redis-url` is given, so nothing needs a
//! Redis installed as a service.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a user gets `redis-server`, printed wherever it is missing.
pub const INSTALL_HINT: &str = "install it with `sudo apt-get install redis-server` (Debian/Ubuntu), \
or run `scripts/ensure-redis.sh`, or point the tool at a running server with --redis-url";

/// Why a local Redis could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LocalRedisError {
    #[error("`redis-server` was not found on PATH: {INSTALL_HINT}")]
    NotInstalled,
    #[error("could not start redis-server: {0}")]
    Start(String),
}

pub use vocabulary::settings::Persistence;

/// `redis-server` arguments for a persistence setting.
fn persistence_args(persistence: Persistence) -> [&'static str; 4] {
    match persistence {
        Persistence::None => ["--appendonly", "no", "--appendfsync", "everysec"],
        Persistence::AofEverysec => ["--appendonly", "yes", "--appendfsync", "everysec"],
        Persistence::AofAlways => ["--appendonly", "yes", "--appendfsync", "always"],
    }
}

/// A running `redis-server` child process.
#[derive(Debug)]
pub struct LocalRedis {
    child: Option<Child>,
    port: u16,
    directory: tempfile::TempDir,
    persistence: Persistence,
}

impl LocalRedis {
    /// Starts a server without persistence on a free port of 127.0.0.1 and waits until it
    /// answers PING.
    pub fn start() -> Result<Self, LocalRedisError> {
        Self::start_with(Persistence::None)
    }

    /// Starts a server with `persistence` on a free port of 127.0.0.1 and waits until it
    /// answers PING.
    pub fn start_with(persistence: Persistence) -> Result<Self, LocalRedisError> {
        let mut last_error = String::new();
        // Another process may grab the port between our probe and redis-server's bind: retry.
        for _ in 0..5 {
            let port = free_port()?;
            let mut redis = LocalRedis {
                child: None,
                port,
                directory: tempfile::tempdir()
                    .map_err(|error| LocalRedisError::Start(format!("temp dir: {error}")))?,
                persistence,
            };
            match redis.spawn() {
                Ok(()) => return Ok(redis),
                Err(LocalRedisError::NotInstalled) => return Err(LocalRedisError::NotInstalled),
                Err(error) => last_error = error.to_string(),
            }
        }
        Err(LocalRedisError::Start(last_error))
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id while it runs (for reading its CPU time from `/proc`).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn persistence(&self) -> Persistence {
        self.persistence
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered, as a hung
    /// server would. [`LocalRedis::resume`] continues it.
    pub fn pause(&self) -> std::io::Result<()> {
        let pid = self.pid().ok_or_else(not_running)?;
        crate::signals::pause(pid)
    }

    /// Continues a server frozen by [`LocalRedis::pause`] (SIGCONT).
    pub fn resume(&self) -> std::io::Result<()> {
        let pid = self.pid().ok_or_else(not_running)?;
        crate::signals::resume(pid)
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, directory and settings, after
    /// [`LocalRedis::kill`]: with persistence it reloads its append-only file.
    pub fn restart(&mut self) -> Result<(), LocalRedisError> {
        self.kill();
        self.spawn()
    }

    fn spawn(&mut self) -> Result<(), LocalRedisError> {
        let port = self.port.to_string();
        let dir: PathBuf = self.directory.path().to_path_buf();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(persistence_args(self.persistence))
            .arg("--dir")
            .arg(&dir)
            .args(["--protected-mode", "yes", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound => LocalRedisError::NotInstalled,
                _ => LocalRedisError::Start(error.to_string()),
            })?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), LocalRedisError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(LocalRedisError::Start(format!(
                    "redis-server on port {} exited with {status}",
                    self.port
                )));
            }
            if answers_ping(self.port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
        Err(LocalRedisError::Start(format!(
            "redis-server on port {} did not answer PING within 10 s",
            self.port
        )))
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn not_running() -> std::io::Error {
    std::io::Error::other("the local redis-server is not running")
}

fn free_port() -> Result<u16, LocalRedisError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|error| LocalRedisError::Start(format!("no free loopback port: {error}")))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| LocalRedisError::Start(error.to_string()))
}

/// Whether a redis-server on this loopback port answers PING (within about 0.7 s); the local
/// cluster's nodes are waited for with it too.
pub(crate) fn answers_ping(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}
