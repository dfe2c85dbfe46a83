//! Bytes per live session at 1M sessions: RSS growth per session for the in-memory backends, and
//! for Redis the encoded value, the key, and the server's own `used_memory` growth per session;
//! and, for the in-memory backends, what a sweep costs: with nothing due (every tick of a
//! healthy store), and freeing all of them at once in the background sweeper's batches.
//!
//! `cargo run --release -p bench --bin memory [-- SESSIONS [dashmap|scc|redis]]`
//!
//! Measure one backend per process for exact figures: memory freed by one backend is reused by
//! the next without showing in RSS.

use mock_services::local_redis::LocalRedis;
use mock_services::session::{
    self, Backend, Clock, ManualClock, MemoryConfig, RedisConfig, SWEEP_BATCH, SessionData,
    SessionPolicy, SessionStore, StoreConfig, build_store,
};
use std::io::{Read as _, Write as _};
use std::time::Duration;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let resident: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    resident * 4096
}

fn redis_used_memory(port: u16) -> Option<u64> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(b"INFO memory\r\n").ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut buffer = vec![0u8; 8192];
    let read = stream.read(&mut buffer).ok()?;
    let text = String::from_utf8_lossy(&buffer[..read]);
    text.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Sessions idle out after an hour: nothing expires while the map is filled.
const IDLE: Duration = Duration::from_secs(3600);

async fn fill(config: &StoreConfig, count: u64) -> session::AnyStore {
    let policy = SessionPolicy {
        idle: IDLE,
        absolute: 2 * IDLE,
    };
    let store = build_store(config, policy).await.expect("store");
    session::prefill(&store, count as usize, 64)
        .await
        .expect("prefill");
    assert_eq!(
        store.live_count().await.expect("count"),
        count,
        "every session must be stored"
    );
    store
}

#[tokio::main]
async fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let only = std::env::args().nth(2);
    let wanted = |name: &str| only.as_deref().is_none_or(|only| only == name);
    let empty = SessionData::default();
    let sample = session::Encoded {
        version: 0,
        created_at: session::now_millis(),
        absolute_expires_at: session::now_millis(),
        user_id: "user-500000",
        data: &empty,
    };
    let encoded = session::encode(&sample).expect("encode").len();
    println!(
        "sessions: {count}; a session of user-500000 with an empty cart encodes to {encoded} bytes, its ID is 16"
    );
    // A manual clock, so that every session can be made to expire at once; the store reads it
    // as it reads the ticked one (an atomic).
    let clock = ManualClock::new();
    let memory = MemoryConfig {
        sweep_interval: None,
        clock: Clock::Manual(clock.clone()),
        ..MemoryConfig::default()
    };
    for (name, config) in Backend::ALL.into_iter().filter_map(|backend| {
        StoreConfig::in_memory(backend, memory.clone()).map(|config| (backend.name(), config))
    }) {
        if !wanted(name) {
            continue;
        }
        let before = rss_bytes();
        let store = fill(&config, count).await;
        let after = rss_bytes();
        println!(
            "{name}: {:.1} bytes per live session (RSS {} → {} MiB); (key + encoded payload) = {} bytes",
            (after.saturating_sub(before)) as f64 / count as f64,
            before >> 20,
            after >> 20,
            16 + encoded
        );
        // A tick with nothing due: what every tick of a healthy store costs.
        let started = std::time::Instant::now();
        let idle = store.sweep_some(SWEEP_BATCH).unwrap_or_default();
        println!(
            "{name}: a sweep with nothing due over {count} live sessions took {:.3} ms ({} visited)",
            started.elapsed().as_secs_f64() * 1e3,
            idle.visited
        );
        // Every session expired at once, freed batch by batch as the background sweeper does.
        clock.advance(IDLE + Duration::from_secs(1));
        let started = std::time::Instant::now();
        let (mut removed, mut batches, mut longest) = (0, 0, Duration::ZERO);
        loop {
            let batch = std::time::Instant::now();
            let swept = store.sweep_some(SWEEP_BATCH).unwrap_or_default();
            longest = longest.max(batch.elapsed());
            removed += swept.removed;
            batches += 1;
            if !swept.more {
                break;
            }
        }
        println!(
            "{name}: freeing all {removed} expired took {:.1} ms in {batches} batches of {SWEEP_BATCH} (longest {:.2} ms); {} left, RSS {} MiB",
            started.elapsed().as_secs_f64() * 1e3,
            longest.as_secs_f64() * 1e3,
            store.live_count().await.expect("count"),
            rss_bytes() >> 20
        );
        drop(store);
    }
    if !wanted("redis") {
        return;
    }
    match LocalRedis::start() {
        Ok(redis) => {
            let before = redis_used_memory(redis.port()).unwrap_or(0);
            let store = fill(
                &StoreConfig::Redis(RedisConfig::new(redis.url(), "s:")),
                count,
            )
            .await;
            let after = redis_used_memory(redis.port()).unwrap_or(0);
            println!(
                "redis: {:.1} bytes per live session in used_memory; key {} bytes (prefix `s:` + 16), value {encoded} bytes",
                (after.saturating_sub(before)) as f64 / count as f64,
                2 + 16
            );
            drop(store);
        }
        Err(error) => println!("redis: skipped: {error}"),
    }
}
