//! A throwaway Redis Cluster on loopback: 3 primaries and 3 replicas of `redis-server`, each on a
//! free port in its own directory under one temporary directory, joined with
//! `redis-cli --cluster create`, and stopped on drop. Tests, benches and load runs use it when
//! `--backend redis-cluster` is given no `--redis-cluster-urls`.
//!
//! `cluster-node-timeout` is 1 s (the default 15 s makes a failover take that long), and the
//! cluster is handed over only once every node reports `cluster_state:ok` and every replica
//! has its link to its primary up, so a failover can happen from the first request on.
//!
//! The servers are started from a keeper thread of their own that lives as long as the cluster,
//! through util-linux's `setpriv --pdeathsig KILL` where it is installed (it is on Debian): the
//! kernel kills each server when that thread ends, so a test binary that shares one cluster in
//! a static and exits never leaves servers behind. Without `setpriv` the servers are started
//! directly and stopped only on drop.

use crate::local_redis::{INSTALL_HINT, LocalRedisError};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Nodes of the local cluster: 3 primaries, each with one replica.
pub const NODES: usize = 6;

/// Redis Cluster's bus port is the client port + 10000.
const BUS_OFFSET: u16 = 10_000;

/// A running local cluster.
#[derive(Debug)]
pub struct LocalRedisCluster {
    ports: Vec<u16>,
    children: Vec<Option<Child>>,
    /// Dropping it lets the keeper thread end (the servers are killed first).
    _keeper: mpsc::Sender<()>,
    _directory: tempfile::TempDir,
}

impl LocalRedisCluster {
    /// Starts six servers, creates the cluster and waits until it is ready (about 3–5 s).
    /// Another process may take a chosen port before its server binds it: up to three tries,
    /// each on fresh ports.
    pub fn start() -> Result<Self, LocalRedisError> {
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start() {
                Ok(cluster) => return Ok(cluster),
                Err(LocalRedisError::NotInstalled) => return Err(LocalRedisError::NotInstalled),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(|| LocalRedisError::Start("no attempt was made".into())))
    }

    fn try_start() -> Result<Self, LocalRedisError> {
        let directory = tempfile::tempdir()
            .map_err(|error| LocalRedisError::Start(format!("temp dir: {error}")))?;
        let ports = free_port_pairs(NODES)?;
        let (children_tx, children_rx) = mpsc::channel();
        let (keeper, stop) = mpsc::channel::<()>();
        let dir = directory.path().to_path_buf();
        let spawn_ports = ports.clone();
        std::thread::Builder::new()
            .name("ssobench-cluster".into())
            .spawn(move || {
                let spawned: Result<Vec<Child>, LocalRedisError> = spawn_ports
                    .iter()
                    .map(|port| spawn_node(*port, &dir))
                    .collect();
                let _ = children_tx.send(spawned);
                // Lives until the cluster is dropped: the servers die with this thread.
                let _ = stop.recv();
            })
            .map_err(|error| LocalRedisError::Start(format!("keeper thread: {error}")))?;
        let children = children_rx
            .recv()
            .map_err(|_| LocalRedisError::Start("the keeper thread ended".into()))??;
        let cluster = LocalRedisCluster {
            ports,
            children: children.into_iter().map(Some).collect(),
            _keeper: keeper,
            _directory: directory,
        };
        for port in cluster.ports.clone() {
            wait_until(Duration::from_secs(10), || {
                crate::local_redis::answers_ping(port)
            })
            .map_err(|()| {
                LocalRedisError::Start(format!("redis-server on port {port} did not answer"))
            })?;
        }
        cluster.create()?;
        cluster.wait_ready(Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// Every node's URL, `redis://127.0.0.1:PORT`.
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect()
    }

    /// The process ids of the running nodes (for CPU accounting).
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().flatten().map(Child::id).collect()
    }

    /// The client port of the primary serving `key`'s hash slot.
    pub fn primary_for(&self, key: &[u8]) -> Result<u16, String> {
        let slot = slot_of(key);
        let port = *self.ports.first().ok_or("no node")?;
        for port in std::iter::once(port).chain(self.ports.iter().copied()) {
            let Ok(text) = query(port, &["CLUSTER", "NODES"]) else {
                continue;
            };
            for line in text.lines() {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                    continue;
                }
                let owns = fields[8..].iter().any(|range| {
                    let (low, high) = range.split_once('-').unwrap_or((range, range));
                    matches!((low.parse::<u16>(), high.parse::<u16>()), (Ok(l), Ok(h)) if (l..=h).contains(&slot))
                });
                if owns {
                    let address = fields[1].split('@').next().unwrap_or_default();
                    let node_port = address.rsplit(':').next().unwrap_or_default();
                    return node_port
                        .parse()
                        .map_err(|_| format!("odd node line {line:?}"));
                }
            }
        }
        Err(format!("no primary serves slot {slot}"))
    }

    /// Waits until the replicas of the primary on `port` have acknowledged everything it
    /// wrote (replication is asynchronous, and replicas report their offset about once a
    /// second): after this, killing it loses nothing.
    pub fn wait_replicated(&self, port: u16, within: Duration) -> Result<(), String> {
        let caught_up = || {
            let Ok(info) = query(port, &["INFO", "replication"]) else {
                return false;
            };
            let field = |name: &str| {
                info.lines()
                    .find_map(|line| line.strip_prefix(name))
                    .and_then(|value| value.trim().parse::<u64>().ok())
            };
            let Some(written) = field("master_repl_offset:") else {
                return false;
            };
            let acknowledged: Vec<u64> = info
                .lines()
                .filter(|line| line.starts_with("slave") && line.contains("offset="))
                .filter_map(|line| {
                    line.split(',')
                        .find_map(|part| part.strip_prefix("offset="))
                        .and_then(|offset| offset.trim().parse().ok())
                })
                .collect();
            !acknowledged.is_empty() && acknowledged.iter().all(|offset| *offset >= written)
        };
        wait_until(within, caught_up)
            .map_err(|()| format!("the replicas of port {port} did not catch up"))
    }

    /// Kills the node on `port` at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, port: u16) -> Result<(), String> {
        let index = self
            .ports
            .iter()
            .position(|p| *p == port)
            .ok_or_else(|| format!("no node on port {port}"))?;
        let mut child = self.children[index]
            .take()
            .ok_or_else(|| format!("the node on port {port} is not running"))?;
        let _ = child.kill();
        let _ = child.wait();
        Ok(())
    }

    /// Whether every running node reports `cluster_state:ok` with all 16384 slots served.
    pub fn is_ok(&self) -> bool {
        self.running_ports().all(|port| {
            query(port, &["CLUSTER", "INFO"]).is_ok_and(|info| {
                info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
            })
        })
    }

    fn running_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.ports
            .iter()
            .zip(&self.children)
            .filter(|(_, child)| child.is_some())
            .map(|(port, _)| *port)
    }

    fn create(&self) -> Result<(), LocalRedisError> {
        let mut command = Command::new("redis-cli");
        command.arg("--cluster").arg("create");
        for port in &self.ports {
            command.arg(format!("127.0.0.1:{port}"));
        }
        let output = command
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound => LocalRedisError::Start(format!(
                    "`redis-cli` was not found on PATH: {INSTALL_HINT}"
                )),
                _ => LocalRedisError::Start(format!("redis-cli: {error}")),
            })?;
        if !output.status.success() {
            return Err(LocalRedisError::Start(format!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .chain(String::from_utf8_lossy(&output.stderr).lines())
                    .filter(|line| line.contains("ERR"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        Ok(())
    }

    fn wait_ready(&self, within: Duration) -> Result<(), LocalRedisError> {
        let replicas_linked = || {
            self.ports.iter().all(|port| {
                query(*port, &["INFO", "replication"]).is_ok_and(|info| {
                    info.contains("role:master") || info.contains("master_link_status:up")
                })
            })
        };
        wait_until(within, || self.is_ok() && replicas_linked()).map_err(|()| {
            LocalRedisError::Start(format!(
                "the local cluster was not ready (cluster_state:ok, replicas linked) within {}",
                humantime::format_duration(within)
            ))
        })
    }
}

impl Drop for LocalRedisCluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_node(port: u16, root: &std::path::Path) -> Result<Child, LocalRedisError> {
    if !on_path("redis-server") {
        return Err(LocalRedisError::NotInstalled);
    }
    let dir = root.join(port.to_string());
    std::fs::create_dir_all(&dir)
        .map_err(|error| LocalRedisError::Start(format!("node directory: {error}")))?;
    let mut command = if on_path("setpriv") {
        let mut command = Command::new("setpriv");
        command.args(["--pdeathsig", "KILL", "redis-server"]);
        command
    } else {
        Command::new("redis-server")
    };
    command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--cluster-enabled", "yes"])
        .args(["--cluster-config-file", "nodes.conf"])
        .args(["--cluster-node-timeout", "1000"])
        // Any replica may take over, however long since it last heard from its primary.
        .args(["--cluster-replica-validity-factor", "0"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(&dir)
        .args(["--protected-mode", "yes", "--loglevel", "warning"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
        .spawn()
        .map_err(|error| LocalRedisError::Start(error.to_string()))
}

/// Whether an executable of this name is on `PATH`.
pub(crate) fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

/// `count` client ports whose bus ports (+10000) are free too.
fn free_port_pairs(count: usize) -> Result<Vec<u16>, LocalRedisError> {
    let mut ports = Vec::with_capacity(count);
    let mut held = Vec::new();
    for _ in 0..200 {
        if ports.len() == count {
            break;
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|error| LocalRedisError::Start(format!("no free loopback port: {error}")))?;
        let port = listener
            .local_addr()
            .map_err(|error| LocalRedisError::Start(error.to_string()))?
            .port();
        let Some(bus) = port.checked_add(BUS_OFFSET) else {
            continue;
        };
        if let Ok(bus_listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, bus)) {
            ports.push(port);
            // Held until all are chosen, so no two picks collide.
            held.push((listener, bus_listener));
        }
    }
    if ports.len() < count {
        return Err(LocalRedisError::Start(
            "no free loopback ports for a local cluster (each node needs port and port + 10000)"
                .into(),
        ));
    }
    Ok(ports)
}

fn wait_until(within: Duration, mut ready: impl FnMut() -> bool) -> Result<(), ()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(())
}

/// One command to one node, its reply as text.
fn query(port: u16, args: &[&str]) -> Result<String, String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .map_err(|error| error.to_string())?;
    let mut connection = client
        .get_connection_with_timeout(Duration::from_millis(500))
        .map_err(|error| error.to_string())?;
    let _ = connection.set_read_timeout(Some(Duration::from_secs(2)));
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    let value: redis::Value = command
        .query(&mut connection)
        .map_err(|error| error.to_string())?;
    Ok(match value {
        redis::Value::BulkString(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        redis::Value::SimpleString(text) => text,
        redis::Value::VerbatimString { text, .. } => text,
        other => format!("{other:?}"),
    })
}

/// Redis Cluster's hash slot of a key (CRC16/XMODEM mod 16384), honouring `{hash tags}`.
pub fn slot_of(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|b| *b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|b| *b == b'}') {
            Some(0) | None => key,
            Some(close) => &key[open + 1..open + 1 + close],
        },
        None => key,
    };
    let mut crc: u16 = 0;
    for byte in hashed {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16_384
}

#[cfg(test)]
mod tests {
    use super::slot_of;

    #[test]
    fn slots_match_redis_cluster_s_own() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        // CRC16/XMODEM of "123456789" is 0x31C3, below 16384.
        assert_eq!(slot_of(b"123456789"), 0x31C3);
        assert_eq!(slot_of(b"foo"), 12_182);
        assert_eq!(slot_of(b"{user1000}.following"), slot_of(b"user1000"));
    }
}
