//! The Redis backend: one multiplexed connection (redis-rs `ConnectionManager`), native key
//! TTLs, and one round trip per operation.
//!
//! Why redis-rs's `ConnectionManager` rather than a pool: a multiplexed connection pipelines
//! concurrent commands from every task for free, reconnects by itself after Redis comes back,
//! and needs no checkout; pools with exclusive checkout (bb8, deadpool) serialise each connection
//! and add a PING per checkout.
//!
//! Keys are `prefix` + the 16 raw ID bytes. The key's TTL is the session's idle deadline (capped
//! by the absolute one), so Redis itself forgets expired sessions.

use super::codec::{self, Encoded, LUA_ABSOLUTE_OFFSET, LUA_VERSION_OFFSET};
use super::config::RedisConfig;
use super::error::StoreError;
use super::id::SessionId;
use super::record::{
    Session, SessionData, SessionPolicy, UserId, deadlines_at_creation, extended_idle_deadline,
};
use super::{SaveOutcome, SessionStore, clock::now_millis};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;

/// Sessions in Redis (single node; every command touches one key, so Redis Cluster works too).
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: Arc<[u8]>,
    policy: SessionPolicy,
    extend_script: Arc<redis::Script>,
    save_script: Arc<redis::Script>,
    rotate_script: Arc<redis::Script>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
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

/// Rotation: copy the value to the new key with the same expiry time (NX), then delete the old
/// key, in one script. Touches two keys: on Redis Cluster the two IDs would need one hash slot,
/// so rotation is for single-node Redis.
fn rotate_script() -> redis::Script {
    redis::Script::new(
        r"
local value = redis.call('GET', KEYS[1])
if not value then return false end
local deadline = redis.call('PEXPIRETIME', KEYS[1])
if deadline < 0 then return false end
if not redis.call('SET', KEYS[2], value, 'PXAT', deadline, 'NX') then return 0 end
redis.call('DEL', KEYS[1])
return {value, deadline}
",
    )
}

impl RedisStore {
    /// Connects (failing fast if Redis is not there) and prepares the scripts.
    pub async fn connect(config: &RedisConfig, policy: SessionPolicy) -> Result<Self, StoreError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|error| StoreError::Config(format!("redis_url: {error}")))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connection_timeout))
            .set_response_timeout(Some(config.response_timeout))
            .set_pipeline_buffer_size(config.pipeline_buffer)
            .set_number_of_retries(config.reconnect_retries)
            .set_max_delay(config.max_reconnect_delay);
        let connection = ConnectionManager::new_with_config(client, manager_config).await?;
        Ok(RedisStore {
            connection,
            prefix: Arc::from(config.key_prefix.as_bytes()),
            policy,
            extend_script: Arc::new(extend_script()),
            save_script: Arc::new(save_script()),
            rotate_script: Arc::new(rotate_script()),
        })
    }

    /// Runs `op` on the shared connection, once more if the connection had dropped: the manager
    /// reconnects when a command fails on a dead connection, so without this retry the first
    /// request after Redis comes back would fail although Redis is up. Every operation here is
    /// safe to repeat (reads, NX writes under a fresh ID, compare-and-swap, idempotent deletes).
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(ConnectionManager) -> Fut,
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
        "redis"
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

    async fn rotate(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        for _ in 0..4 {
            let new_id = SessionId::generate();
            let mut invocation = self.rotate_script.key(self.key(id));
            invocation.key(self.key(&new_id));
            let invocation = &invocation;
            let moved: redis::Value = self
                .run(|mut c| async move { invocation.invoke_async(&mut c).await })
                .await?;
            match moved {
                redis::Value::Array(parts) => {
                    let (Some(redis::Value::BulkString(value)), Some(redis::Value::Int(deadline))) =
                        (parts.first(), parts.get(1))
                    else {
                        return Err(StoreError::Corrupt("rotate script answered oddly".into()));
                    };
                    let deadline = u64::try_from(*deadline).unwrap_or(0);
                    let last_seen = deadline.saturating_sub(self.policy.idle_millis());
                    let session = self.session_from(new_id, value, last_seen, deadline)?;
                    return Ok(Some(Session {
                        last_seen: session.last_seen.max(session.created_at),
                        ..session
                    }));
                }
                // 0: the fresh ID was taken (never expected); draw another.
                redis::Value::Int(0) => continue,
                _ => return Ok(None),
            }
        }
        Err(StoreError::Unavailable(
            "could not mint an unused session ID".into(),
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

    /// Counts this store's keys with SCAN (Redis filters expired keys out). O(N) in the number
    /// of keys in the database: for reports sampled now and then, never for the hot path.
    async fn live_count(&self) -> Result<u64, StoreError> {
        let mut pattern = self.prefix.to_vec();
        pattern.push(b'*');
        let mut cursor: u64 = 0;
        let mut count: u64 = 0;
        loop {
            let mut command = redis::cmd("SCAN");
            command
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000);
            let command = &command;
            let (next, keys): (u64, Vec<Vec<u8>>) = self
                .run(|mut c| async move { command.query_async(&mut c).await })
                .await?;
            count += keys.len() as u64;
            if next == 0 {
                return Ok(count);
            }
            cursor = next;
        }
    }
}
