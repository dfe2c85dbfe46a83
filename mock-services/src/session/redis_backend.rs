//! The Redis backends: one multiplexed connection to a single node (redis-rs
//! `ConnectionManager`) or to a Redis Cluster (redis-rs's async `ClusterConnection`), native key
//! TTLs, and one round trip per operation (rotation: three, see [`RedisStore::rotate`]).
//!
//! Why redis-rs's `ConnectionManager` rather than a pool: a multiplexed connection pipelines
//! concurrent commands from every task for free, reconnects by itself after Redis comes back,
//! and needs no checkout; pools with exclusive checkout (bb8, deadpool) serialise each connection
//! and add a PING per checkout. The cluster connection is the same idea per node: it keeps one
//! multiplexed connection to each primary, routes each command by its key's hash slot, follows
//! `MOVED`/`ASK` and refreshes its slot map when a node fails or a replica takes over.
//!
//! Keys are `prefix` + the 16 raw ID bytes (no hash tag: sessions spread over every slot). The
//! key's TTL is the session's idle deadline (capped by the absolute one), so Redis itself forgets
//! expired sessions. Every command and script touches one key, so each runs on one node.

use super::codec::{self, Encoded, LUA_ABSOLUTE_OFFSET, LUA_VERSION_OFFSET};
use super::config::RedisConfig;
use super::error::StoreError;
use super::id::SessionId;
use super::record::{
    Session, SessionData, SessionPolicy, UserId, deadlines_at_creation, extended_idle_deadline,
};
use super::{SaveOutcome, SessionStore, clock::now_millis};
use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster_async::ClusterConnection;
use std::sync::Arc;

/// The connection a Redis store talks through: one node, or a cluster.
#[derive(Clone)]
pub enum Link {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

/// Commands go to whichever connection this is (the cluster one routes them by slot).
impl ConnectionLike for Link {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Link::Node(connection) => connection.req_packed_command(cmd),
            Link::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Link::Node(connection) => connection.req_packed_commands(cmd, offset, count),
            Link::Cluster(connection) => connection.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Link::Node(connection) => connection.get_db(),
            Link::Cluster(connection) => connection.get_db(),
        }
    }
}

/// Sessions in Redis: a single node or a cluster.
#[derive(Clone)]
pub struct RedisStore {
    connection: Link,
    prefix: Arc<[u8]>,
    policy: SessionPolicy,
    extend_script: Arc<redis::Script>,
    save_script: Arc<redis::Script>,
    retire_script: Arc<redis::Script>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("backend", &self.backend_name())
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(error: redis::RedisError) -> Self {
        StoreError::Unavailable(format!("redis: {error}"))
    }
}

/// Load-and-extend in one round trip: read the value, cap the new TTL by the absolute deadline
/// stored in the header, and delete the key if that deadline has passed.
fn extend_script() -> redis::Script {
    redis::Script::new(&format!(
        r"
local value = redis.call('GET', KEYS[1])
if not value then return false end
local absolute = struct.unpack('<I8', value, {LUA_ABSOLUTE_OFFSET})
local now = tonumber(ARGV[1])
if now >= absolute then
  redis.call('DEL', KEYS[1])
  return false
end
local deadline = now + tonumber(ARGV[2])
if deadline > absolute then deadline = absolute end
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', deadline))
return value
"
    ))
}

/// Compare-and-swap save: write only if the stored version bytes equal the caller's; keep the
/// TTL, so a save neither extends nor shortens the session.
fn save_script() -> redis::Script {
    redis::Script::new(&format!(
        r"
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
if string.sub(value, {LUA_VERSION_OFFSET}, {end}) ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
",
        end = LUA_VERSION_OFFSET + 7
    ))
}

/// The last step of a rotation: delete the old key only if its value is still the one copied
/// (byte for byte); otherwise a save landed in between and the rotation starts over.
fn retire_script() -> redis::Script {
    redis::Script::new(
        r"
local value = redis.call('GET', KEYS[1])
if not value then return -1 end
if value ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
",
    )
}

impl RedisStore {
    /// Connects to the node at `config.url`, or to the cluster of `config.cluster_nodes` when
    /// there are any (failing fast if Redis is not there), and prepares the scripts.
    pub async fn connect(config: &RedisConfig, policy: SessionPolicy) -> Result<Self, StoreError> {
        let connection = if config.cluster_nodes.is_empty() {
            let client = redis::Client::open(config.url.as_str())
                .map_err(|error| StoreError::Config(format!("redis_url: {error}")))?;
            let manager_config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(config.connection_timeout))
                .set_response_timeout(Some(config.response_timeout))
                .set_pipeline_buffer_size(config.pipeline_buffer)
                .set_number_of_retries(config.reconnect_retries)
                .set_max_delay(config.max_reconnect_delay);
            Link::Node(ConnectionManager::new_with_config(client, manager_config).await?)
        } else {
            // Retries are few and short: while a replica takes over, a request should fail
            // (503, Retry-After) within about a second rather than hang for the whole failover.
            let client = redis::cluster::ClusterClientBuilder::new(config.cluster_nodes.clone())
                .connection_timeout(config.connection_timeout)
                .response_timeout(config.response_timeout)
                .retries(u32::try_from(config.reconnect_retries).unwrap_or(u32::MAX))
                .min_retry_wait(10)
                .max_retry_wait(
                    u64::try_from(config.max_reconnect_delay.as_millis()).unwrap_or(u64::MAX),
                )
                .build()
                .map_err(|error| StoreError::Config(format!("redis cluster urls: {error}")))?;
            Link::Cluster(client.get_async_connection().await?)
        };
        Ok(RedisStore {
            connection,
            prefix: Arc::from(config.key_prefix.as_bytes()),
            policy,
            extend_script: Arc::new(extend_script()),
            save_script: Arc::new(save_script()),
            retire_script: Arc::new(retire_script()),
        })
    }

    /// Runs `op` on the shared connection, once more if the connection had dropped: the manager
    /// reconnects when a command fails on a dead connection, so without this retry the first
    /// request after Redis comes back would fail although Redis is up. Every operation here is
    /// safe to repeat (reads, NX writes under a fresh ID, compare-and-swap, idempotent deletes).
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(Link) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        match op(self.connection.clone()).await {
            Err(error)
                if error.is_connection_dropped()
                    || error.is_io_error()
                    || error.is_connection_refusal() =>
            {
                Ok(op(self.connection.clone()).await?)
            }
            result => Ok(result?),
        }
    }

    fn key(&self, id: &SessionId) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.prefix.len() + 16);
        key.extend_from_slice(&self.prefix);
        key.extend_from_slice(id.as_bytes());
        key
    }

    fn session_from(
        &self,
        id: SessionId,
        bytes: &[u8],
        last_seen: u64,
        idle_expires_at: u64,
    ) -> Result<Session, StoreError> {
        let stored = codec::decode(bytes)?;
        Ok(Session {
            id,
            user_id: UserId::new(stored.user_id),
            created_at: stored.created_at,
            last_seen,
            idle_expires_at: idle_expires_at.min(stored.absolute_expires_at),
            absolute_expires_at: stored.absolute_expires_at,
            version: stored.version,
            data: Arc::new(stored.data),
        })
    }
}

impl SessionStore for RedisStore {
    fn backend_name(&self) -> &'static str {
        match self.connection {
            Link::Node(_) => vocabulary::Backend::Redis.name(),
            Link::Cluster(_) => vocabulary::Backend::RedisCluster.name(),
        }
    }

    fn policy(&self) -> SessionPolicy {
        self.policy
    }

    async fn create(&self, user_id: &str, data: SessionData) -> Result<Session, StoreError> {
        let now = now_millis();
        let (idle_deadline, absolute_deadline) = deadlines_at_creation(now, &self.policy);
        let value = codec::encode(&Encoded {
            version: 0,
            created_at: now,
            absolute_expires_at: absolute_deadline,
            user_id,
            data: &data,
        })?;
        // NX: never overwrite; a collision of 128-bit random IDs just draws again.
        for _ in 0..4 {
            let id = SessionId::generate();
            let mut command = redis::cmd("SET");
            command
                .arg(self.key(&id))
                .arg(&value)
                .arg("PXAT")
                .arg(idle_deadline)
                .arg("NX");
            let command = &command;
            let written: Option<String> = self
                .run(|mut c| async move { command.query_async(&mut c).await })
                .await?;
            if written.is_some() {
                return Ok(Session {
                    id,
                    user_id: UserId::new(user_id),
                    created_at: now,
                    last_seen: now,
                    idle_expires_at: idle_deadline,
                    absolute_expires_at: absolute_deadline,
                    version: 0,
                    data: Arc::new(data),
                });
            }
        }
        Err(StoreError::Unavailable(
            "could not mint an unused session ID".into(),
        ))
    }

    async fn load(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        let key = self.key(id);
        let mut pipeline = redis::pipe();
        pipeline.cmd("GET").arg(&key).cmd("PEXPIRETIME").arg(&key);
        let pipeline = &pipeline;
        let (value, expire_time): (Option<Vec<u8>>, i64) = self
            .run(|mut c| async move { pipeline.query_async(&mut c).await })
            .await?;
        let now = now_millis();
        let (Some(value), Ok(deadline)) = (value, u64::try_from(expire_time)) else {
            return Ok(None);
        };
        if deadline <= now {
            return Ok(None);
        }
        // Redis keeps no last-seen: the TTL was set to last_seen + idle at the last use.
        let last_seen = deadline.saturating_sub(self.policy.idle_millis());
        let session = self.session_from(*id, &value, last_seen, deadline)?;
        Ok(Some(Session {
            last_seen: session.last_seen.max(session.created_at),
            ..session
        }))
    }

    async fn load_and_extend(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        let now = now_millis();
        let mut invocation = self.extend_script.key(self.key(id));
        invocation.arg(now).arg(self.policy.idle_millis());
        let invocation = &invocation;
        let value: Option<Vec<u8>> = self
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        let Some(value) = value else { return Ok(None) };
        let session = self.session_from(*id, &value, now, u64::MAX)?;
        Ok(Some(Session {
            idle_expires_at: extended_idle_deadline(now, session.absolute_expires_at, &self.policy),
            ..session
        }))
    }

    async fn save(&self, session: &mut Session) -> Result<SaveOutcome, StoreError> {
        let value = codec::encode(&Encoded {
            version: session.version + 1,
            created_at: session.created_at,
            absolute_expires_at: session.absolute_expires_at,
            user_id: &session.user_id,
            data: &session.data,
        })?;
        let mut invocation = self.save_script.key(self.key(&session.id));
        invocation
            .arg(&session.version.to_le_bytes()[..])
            .arg(value);
        let invocation = &invocation;
        let outcome: i64 = self
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await?;
        Ok(match outcome {
            1 => {
                session.version += 1;
                SaveOutcome::Saved
            }
            -1 => SaveOutcome::Conflict,
            _ => SaveOutcome::Gone,
        })
    }

    /// Rotation in three single-key steps, so that it works on a cluster, where the two IDs
    /// live in different slots: read the old key and its expiry time; write its value under the
    /// new ID with the same expiry (NX); delete the old key only if its value is unchanged.
    /// In between, both IDs load the same session; afterwards only the new one. A save through
    /// the old ID in between changes its value, so the old key is kept, the new one dropped, and
    /// the rotation starts over from the saved value: no save is lost. An extension through the
    /// old ID in between is lost (the new key keeps the expiry read in step one): at most the
    /// idle time one request would have added.
    async fn rotate(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        let old_key = self.key(id);
        // Each restart follows a save that landed meanwhile; a session saved this often while
        // rotating is rare, and a few dozen attempts outlast any such burst.
        for _ in 0..32 {
            let mut read = redis::pipe();
            read.cmd("GET")
                .arg(&old_key)
                .cmd("PEXPIRETIME")
                .arg(&old_key);
            let read = &read;
            let (value, deadline): (Option<Vec<u8>>, i64) = self
                .run(|mut c| async move { read.query_async(&mut c).await })
                .await?;
            let (Some(value), Ok(deadline)) = (value, u64::try_from(deadline)) else {
                return Ok(None);
            };
            if deadline <= now_millis() {
                return Ok(None);
            }
            let new_id = SessionId::generate();
            let new_key = self.key(&new_id);
            let mut write = redis::cmd("SET");
            write
                .arg(&new_key)
                .arg(&value)
                .arg("PXAT")
                .arg(deadline)
                .arg("NX");
            let write = &write;
            let written: Option<String> = self
                .run(|mut c| async move { write.query_async(&mut c).await })
                .await?;
            if written.is_none() {
                continue; // the fresh ID was taken (never expected): draw another
            }
            let mut retire = self.retire_script.key(&old_key);
            retire.arg(&value);
            let retire = &retire;
            let retired: i64 = self
                .run(|mut c| async move { retire.invoke_async(&mut c).await })
                .await?;
            match retired {
                1 => {
                    let last_seen = deadline.saturating_sub(self.policy.idle_millis());
                    let session = self.session_from(new_id, &value, last_seen, deadline)?;
                    return Ok(Some(Session {
                        last_seen: session.last_seen.max(session.created_at),
                        ..session
                    }));
                }
                outcome => {
                    let mut drop_new = redis::cmd("DEL");
                    drop_new.arg(&new_key);
                    let drop_new = &drop_new;
                    let _: i64 = self
                        .run(|mut c| async move { drop_new.query_async(&mut c).await })
                        .await?;
                    // -1: the old session ended (deleted or expired) meanwhile.
                    if outcome < 0 {
                        return Ok(None);
                    }
                }
            }
        }
        Err(StoreError::Unavailable(
            "rotation kept racing concurrent saves".into(),
        ))
    }

    async fn delete(&self, id: &SessionId) -> Result<bool, StoreError> {
        let mut command = redis::cmd("DEL");
        command.arg(self.key(id));
        let command = &command;
        let deleted: i64 = self
            .run(|mut c| async move { command.query_async(&mut c).await })
            .await?;
        Ok(deleted > 0)
    }

    /// Counts this store's keys with SCAN (Redis filters expired keys out), on a cluster once
    /// per primary and summed. O(N) in the number of keys: for reports sampled now and then,
    /// never for the hot path.
    async fn live_count(&self) -> Result<u64, StoreError> {
        match &self.connection {
            Link::Node(_) => scan_count(self.connection.clone(), &self.prefix).await,
            Link::Cluster(cluster) => {
                let mut total = 0;
                for connection in primary_connections(cluster).await? {
                    total += scan_count(connection, &self.prefix).await?;
                }
                Ok(total)
            }
        }
    }
}

impl RedisStore {
    /// The memory Redis holds for its data (`INFO memory`'s `used_memory`), summed over the
    /// primaries of a cluster: every key on the server counts, the IdP's SSO sessions among
    /// them. For reports sampled now and then.
    pub async fn used_memory(&self) -> Result<u64, StoreError> {
        match &self.connection {
            Link::Node(connection) => node_used_memory(connection.clone()).await,
            Link::Cluster(cluster) => {
                let mut total = 0;
                for connection in primary_connections(cluster).await? {
                    total += node_used_memory(connection).await?;
                }
                Ok(total)
            }
        }
    }
}

/// One node's `used_memory`.
async fn node_used_memory(mut connection: impl ConnectionLike + Send) -> Result<u64, StoreError> {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut connection)
        .await?;
    info_field(&info, "used_memory")
        .ok_or_else(|| StoreError::Unavailable("redis: INFO memory names no used_memory".into()))
}

/// A numeric field of an `INFO` answer (`name:value` lines).
fn info_field(info: &str, name: &str) -> Option<u64> {
    info.lines().find_map(|line| {
        let (key, value) = line.trim_end().split_once(':')?;
        (key == name).then(|| value.parse().ok()).flatten()
    })
}

/// Keys under `prefix` on one node, by SCAN.
async fn scan_count(
    mut connection: impl ConnectionLike + Send,
    prefix: &[u8],
) -> Result<u64, StoreError> {
    let mut pattern = prefix.to_vec();
    pattern.push(b'*');
    let mut cursor: u64 = 0;
    let mut count: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await?;
        count += keys.len() as u64;
        if next == 0 {
            return Ok(count);
        }
        cursor = next;
    }
}

/// A connection of its own to each primary serving slots: what a count or a sum over a
/// cluster's keys visits (the cluster connection routes by key, never to every node).
async fn primary_connections(
    cluster: &ClusterConnection,
) -> Result<Vec<MultiplexedConnection>, StoreError> {
    let mut connections = Vec::new();
    for primary in primaries(cluster.clone()).await? {
        let client = redis::Client::open(primary.as_str())
            .map_err(|error| StoreError::Unavailable(format!("redis: {error}")))?;
        connections.push(client.get_multiplexed_async_connection().await?);
    }
    Ok(connections)
}

/// The URLs of a cluster's healthy primaries, from `CLUSTER NODES`.
async fn primaries(mut cluster: ClusterConnection) -> Result<Vec<String>, StoreError> {
    let nodes: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut cluster)
        .await?;
    slot_primaries(&nodes).map_err(StoreError::Unavailable)
}

/// The addresses of the primaries serving slots, from `CLUSTER NODES`; an error while one of
/// them is failing (before a replica takes its slots over): a count or a sum over the others
/// would be short by that node's share, and a gauge had better say "unknown" than be wrong.
fn slot_primaries(nodes: &str) -> Result<Vec<String>, String> {
    let mut addresses = Vec::new();
    for line in nodes.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(address), Some(flags)) = (fields.get(1), fields.get(2)) else {
            continue;
        };
        let serves_slots = fields.len() > 8;
        if !flags.contains("master") || !serves_slots {
            continue;
        }
        let address = address.split('@').next().unwrap_or(address);
        if flags.contains("fail") || flags.contains("noaddr") {
            return Err(format!(
                "redis cluster: the primary at {address} serving slots is failing ({flags})"
            ));
        }
        addresses.push(format!("redis://{address}/"));
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::{info_field, slot_primaries};

    #[test]
    fn a_failing_primary_that_serves_slots_makes_the_primaries_unknown() {
        let healthy = "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-8191\n\
                       b2 127.0.0.1:7001@17001 master - 0 0 2 connected 8192-16383\n\
                       c3 127.0.0.1:7002@17002 slave a1 0 0 1 connected\n";
        assert_eq!(
            slot_primaries(healthy).expect("healthy"),
            ["redis://127.0.0.1:7000/", "redis://127.0.0.1:7001/"]
        );
        let failing = healthy.replace(
            "b2 127.0.0.1:7001@17001 master",
            "b2 127.0.0.1:7001@17001 master,fail",
        );
        let error = slot_primaries(&failing).expect_err("a failing primary");
        assert!(error.contains("127.0.0.1:7001"), "{error}");
        // Once its replica has taken the slots over, the failed node serves none: counted out.
        let failed_over = "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-8191\n\
                           b2 127.0.0.1:7001@17001 master,fail - 0 0 2 disconnected\n\
                           c3 127.0.0.1:7002@17002 master - 0 0 3 connected 8192-16383\n";
        assert_eq!(
            slot_primaries(failed_over).expect("failed over"),
            ["redis://127.0.0.1:7000/", "redis://127.0.0.1:7002/"]
        );
    }

    #[test]
    fn a_field_of_info_is_read_by_its_whole_name() {
        let info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\n\
                    used_memory_rss:4194304\r\n";
        assert_eq!(info_field(info, "used_memory"), Some(1_048_576));
        assert_eq!(info_field(info, "used_memory_rss"), Some(4_194_304));
        assert_eq!(info_field(info, "used_memory_human"), None, "not a number");
        assert_eq!(info_field(info, "used_memory_peak"), None, "absent");
    }
}
