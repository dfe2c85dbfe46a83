//! One behaviour suite for the `SessionStore` contract, instantiated for every backend, so the
//! test names (`conformance::<backend>::<case>`) show the backend matrix.
//!
//! Timing cases let time pass through [`TestTime`]: the in-memory stores run on a manual clock,
//! so their cases move time exactly and sleep not at all; Redis expires keys by its own clock,
//! so its cases really wait, with timeouts of a few hundred milliseconds and wide margins.

use crate::support::{TestStore, TestTime, policy_ms};
use mock_services::session::{
    CartItem, SaveOutcome, Session, SessionData, SessionId, SessionPolicy, SessionStore,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Long enough that nothing expires during a case that is not about expiry.
fn long() -> SessionPolicy {
    policy_ms(60_000, 600_000)
}

fn sample_data() -> SessionData {
    let mut data = SessionData::default();
    data.cart.push(CartItem {
        sku: "sku-1".into(),
        quantity: 2,
    });
    data.attributes.insert("theme".into(), "dark".into());
    data
}

/// A well-formed ID the store never issued.
fn made_up_id() -> SessionId {
    SessionId::from_bytes(rand_bytes())
}

fn rand_bytes() -> [u8; 16] {
    // Distinct per call without pulling a RNG into the tests: time and a counter, hashed.
    use std::hash::{BuildHasher, RandomState};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let state = RandomState::new();
    let a = state.hash_one(n).to_le_bytes();
    let b = state.hash_one(!n).to_le_bytes();
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a);
    out[8..].copy_from_slice(&b);
    out
}

async fn must_load<S: SessionStore>(store: &S, id: &SessionId) -> Session {
    store
        .load(id)
        .await
        .expect("load must not fail")
        .expect("session must be live")
}

pub async fn create_then_load<S: SessionStore>(store: &S) {
    let created = store
        .create("user1@example.com", sample_data())
        .await
        .expect("create");
    assert_eq!(created.version, 0);
    assert!(created.idle_expires_at > created.created_at);
    assert!(created.absolute_expires_at >= created.idle_expires_at);
    let loaded = must_load(store, &created.id).await;
    assert_eq!(&*loaded.user_id, "user1@example.com");
    assert_eq!(*loaded.data, sample_data());
    assert_eq!(loaded.created_at, created.created_at);
    assert_eq!(loaded.absolute_expires_at, created.absolute_expires_at);
    assert_eq!(loaded.version, 0);
    assert_eq!(store.live_count().await.expect("count"), 1);
}

pub async fn ids_are_fresh_url_safe_and_fixed_length<S: SessionStore>(store: &S) {
    let mut seen = HashSet::new();
    for n in 0..500 {
        let session = store
            .create(&format!("user{n}"), SessionData::default())
            .await
            .expect("create");
        let text = session.id.to_string();
        assert_eq!(text.len(), SessionId::ENCODED_LEN, "{text}");
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(SessionId::parse(&text), Some(session.id));
        assert!(seen.insert(session.id), "duplicate id {text}");
    }
    // Two stores, or two users, never share an ID: the same user twice gets two sessions.
    let a = store
        .create("same", SessionData::default())
        .await
        .expect("create");
    let b = store
        .create("same", SessionData::default())
        .await
        .expect("create");
    assert_ne!(a.id, b.id);
}

pub async fn unknown_id_is_never_adopted<S: SessionStore>(store: &S) {
    store
        .create("someone", SessionData::default())
        .await
        .expect("create");
    let id = made_up_id();
    assert_eq!(store.load(&id).await.expect("load"), None);
    assert_eq!(store.load_and_extend(&id).await.expect("extend"), None);
    let mut forged = Session {
        id,
        user_id: "attacker".into(),
        created_at: 0,
        last_seen: 0,
        idle_expires_at: u64::MAX,
        absolute_expires_at: u64::MAX,
        version: 0,
        data: Arc::new(SessionData::default()),
    };
    assert_eq!(
        store.save(&mut forged).await.expect("save"),
        SaveOutcome::Gone
    );
    assert!(!store.delete(&id).await.expect("delete"));
    assert_eq!(
        store.load(&id).await.expect("load"),
        None,
        "save must not create"
    );
    assert_eq!(store.live_count().await.expect("count"), 1);
}

pub async fn malformed_ids_do_not_parse<S: SessionStore>(store: &S) {
    let session = store
        .create("someone", SessionData::default())
        .await
        .expect("create");
    let good = session.id.to_string();
    let cases = [
        String::new(),
        good[..21].to_string(),
        format!("{good}A"),
        good.replace(|_: char| true, "*"),
        format!("{}==", &good[..20]),
        good.to_uppercase().replace('-', "+"),
    ];
    for text in cases {
        if text == good {
            continue;
        }
        // Either it does not parse, or it parses to an ID this store never issued.
        if let Some(id) = SessionId::parse(&text) {
            assert_ne!(id, session.id, "{text:?}");
            assert_eq!(store.load(&id).await.expect("load"), None, "{text:?}");
        }
    }
    assert_eq!(SessionId::parse(&format!("{good} ")), None);
}

pub async fn idle_expiry<S: SessionStore>(store: &S, time: &TestTime) {
    let session = store
        .create("idle", SessionData::default())
        .await
        .expect("create");
    time.pass(450).await;
    assert_eq!(store.load(&session.id).await.expect("load"), None);
    assert_eq!(
        store.load_and_extend(&session.id).await.expect("extend"),
        None
    );
    let mut stale = session.clone();
    assert_eq!(
        store.save(&mut stale).await.expect("save"),
        SaveOutcome::Gone
    );
}

pub async fn extension_slides_idle_deadline<S: SessionStore>(store: &S, time: &TestTime) {
    // Idle 600 ms; touched every 150 ms for 1.2 s: it must outlive two idle periods.
    let session = store
        .create("busy", SessionData::default())
        .await
        .expect("create");
    let mut last_deadline = session.idle_expires_at;
    for _ in 0..8 {
        time.pass(150).await;
        let extended = store
            .load_and_extend(&session.id)
            .await
            .expect("extend")
            .expect("a session used every 150 ms must stay live with a 600 ms idle timeout");
        assert!(extended.idle_expires_at >= last_deadline);
        assert!(extended.last_seen >= session.created_at);
        last_deadline = extended.idle_expires_at;
    }
    assert!(last_deadline >= session.idle_expires_at + 1_000);
    // Left alone, it expires.
    time.pass(900).await;
    assert_eq!(
        store.load_and_extend(&session.id).await.expect("extend"),
        None
    );
}

pub async fn plain_load_does_not_extend<S: SessionStore>(store: &S, time: &TestTime) {
    let session = store
        .create("reader", SessionData::default())
        .await
        .expect("create");
    for _ in 0..3 {
        time.pass(100).await;
        let _ = store.load(&session.id).await.expect("load");
    }
    time.pass(200).await;
    assert_eq!(store.load(&session.id).await.expect("load"), None);
}

pub async fn extension_is_capped_by_absolute_timeout<S: SessionStore>(store: &S, time: &TestTime) {
    // Idle 600 ms, absolute 1.5 s: touching every 150 ms cannot keep it past 1.5 s.
    let session = store
        .create("capped", SessionData::default())
        .await
        .expect("create");
    assert_eq!(session.absolute_expires_at, session.created_at + 1_500);
    for touch in 0..6 {
        time.pass(150).await;
        let extended = store
            .load_and_extend(&session.id)
            .await
            .expect("extend")
            .unwrap_or_else(|| panic!("expired before its absolute deadline (touch {touch})"));
        assert!(extended.idle_expires_at <= extended.absolute_expires_at);
        assert_eq!(extended.absolute_expires_at, session.absolute_expires_at);
    }
    // Keep touching past the absolute deadline: it still ends there.
    for _ in 0..7 {
        time.pass(150).await;
        let _ = store.load_and_extend(&session.id).await.expect("extend");
    }
    assert_eq!(
        store.load_and_extend(&session.id).await.expect("extend"),
        None
    );
    assert_eq!(store.load(&session.id).await.expect("load"), None);
}

pub async fn save_is_compare_and_swap<S: SessionStore>(store: &S) {
    let mut session = store
        .create("writer", SessionData::default())
        .await
        .expect("create");
    let mut stale = session.clone();
    Arc::make_mut(&mut session.data).cart.push(CartItem {
        sku: "book".into(),
        quantity: 1,
    });
    assert_eq!(
        store.save(&mut session).await.expect("save"),
        SaveOutcome::Saved
    );
    assert_eq!(session.version, 1);
    let loaded = must_load(store, &session.id).await;
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.data.cart.len(), 1);
    // A writer holding the version-0 copy loses, and changes nothing.
    Arc::make_mut(&mut stale.data)
        .attributes
        .insert("x".into(), "y".into());
    assert_eq!(
        store.save(&mut stale).await.expect("save"),
        SaveOutcome::Conflict
    );
    assert_eq!(stale.version, 0);
    assert_eq!(*must_load(store, &session.id).await.data, *loaded.data);
    // Saving does not move the deadlines.
    let after = must_load(store, &session.id).await;
    assert_eq!(after.absolute_expires_at, session.absolute_expires_at);
}

pub async fn delete_revokes_at_once<S: SessionStore>(store: &S) {
    let mut session = store.create("leaver", sample_data()).await.expect("create");
    let other = store.create("stayer", sample_data()).await.expect("create");
    assert!(store.delete(&session.id).await.expect("delete"));
    assert_eq!(store.load(&session.id).await.expect("load"), None);
    assert_eq!(
        store.load_and_extend(&session.id).await.expect("extend"),
        None
    );
    assert_eq!(
        store.save(&mut session).await.expect("save"),
        SaveOutcome::Gone
    );
    assert!(!store.delete(&session.id).await.expect("second delete"));
    assert!(store.load(&other.id).await.expect("load").is_some());
    assert_eq!(store.live_count().await.expect("count"), 1);
}

pub async fn rotation_moves_the_session_and_keeps_its_deadlines<S: SessionStore>(store: &S) {
    let mut session = store
        .create("rotating", sample_data())
        .await
        .expect("create");
    assert_eq!(
        store.save(&mut session).await.expect("save"),
        SaveOutcome::Saved
    );
    let other = store
        .create("bystander", sample_data())
        .await
        .expect("create");
    let rotated = store
        .rotate(&session.id)
        .await
        .expect("rotate")
        .expect("live session rotates");
    assert_ne!(rotated.id, session.id);
    assert_eq!(
        store.load(&session.id).await.expect("load"),
        None,
        "the old ID must stop at once"
    );
    let loaded = must_load(store, &rotated.id).await;
    assert_eq!(&*loaded.user_id, "rotating");
    assert_eq!(*loaded.data, sample_data());
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.created_at, session.created_at);
    assert_eq!(
        loaded.absolute_expires_at, session.absolute_expires_at,
        "rotation must not lengthen a session"
    );
    assert!(loaded.expires_at() <= session.expires_at() + 5);
    assert_eq!(store.live_count().await.expect("count"), 2);
    assert_eq!(
        store.rotate(&session.id).await.expect("rotate"),
        None,
        "a rotated-away ID cannot rotate"
    );
    assert_eq!(store.rotate(&made_up_id()).await.expect("rotate"), None);
    assert!(store.load(&other.id).await.expect("load").is_some());
}

/// The guarantee for concurrent writers of one session: load, modify, save, and on `Conflict`
/// reload and retry. No increment is lost.
pub async fn concurrent_writers_of_one_session_lose_nothing<S: SessionStore + Clone>(store: &S) {
    const WRITERS: u64 = 16;
    const INCREMENTS: u64 = 10;
    let session = store
        .create("shared", SessionData::default())
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let store = store.clone();
        let id = session.id;
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0u64;
            for _ in 0..INCREMENTS {
                loop {
                    let mut current = store
                        .load_and_extend(&id)
                        .await
                        .expect("load")
                        .expect("live");
                    let data = Arc::make_mut(&mut current.data);
                    let count: u64 = data
                        .attributes
                        .get("count")
                        .map_or(0, |v| v.parse().expect("number"));
                    data.attributes
                        .insert("count".into(), (count + 1).to_string());
                    match store.save(&mut current).await.expect("save") {
                        SaveOutcome::Saved => break,
                        SaveOutcome::Conflict => conflicts += 1,
                        SaveOutcome::Gone => panic!("session vanished"),
                    }
                }
            }
            conflicts
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    let last = must_load(store, &session.id).await;
    assert_eq!(
        last.data.attributes.get("count").map(String::as_str),
        Some("160")
    );
    assert_eq!(last.version, WRITERS * INCREMENTS);
}

pub async fn concurrent_sessions_are_independent<S: SessionStore + Clone>(store: &S) {
    let mut tasks = Vec::new();
    for task_number in 0..32u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut session = store
                .create(&format!("user{task_number}"), SessionData::default())
                .await
                .expect("create");
            for item in 0..20u32 {
                let mut current = store
                    .load_and_extend(&session.id)
                    .await
                    .expect("load")
                    .expect("live");
                assert_eq!(&*current.user_id, format!("user{task_number}"));
                Arc::make_mut(&mut current.data).cart.push(CartItem {
                    sku: format!("{task_number}-{item}"),
                    quantity: item,
                });
                assert_eq!(
                    store.save(&mut current).await.expect("save"),
                    SaveOutcome::Saved
                );
                session = current;
            }
            session.id
        }));
    }
    for (task_number, task) in tasks.into_iter().enumerate() {
        let id = task.await.expect("task");
        let session = must_load(store, &id).await;
        assert_eq!(session.data.cart.len(), 20);
        assert!(
            session
                .data
                .cart
                .iter()
                .all(|line| line.sku.starts_with(&format!("{task_number}-")))
        );
    }
}

pub async fn hundred_thousand_sessions_all_found<S: SessionStore + Clone>(store: &S) {
    const SESSIONS: usize = 100_000;
    const TASKS: usize = 64;
    let mut tasks = Vec::new();
    for task_number in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(SESSIONS / TASKS + 1);
            for n in (task_number..SESSIONS).step_by(TASKS) {
                let session = store
                    .create(&format!("u{n}"), SessionData::default())
                    .await
                    .expect("create");
                ids.push((n, session.id));
            }
            ids
        }));
    }
    let mut all = Vec::with_capacity(SESSIONS);
    for task in tasks {
        all.extend(task.await.expect("create task"));
    }
    assert_eq!(all.len(), SESSIONS);
    assert_eq!(store.live_count().await.expect("count"), SESSIONS as u64);
    let all = Arc::new(all);
    let mut checks = Vec::new();
    for task_number in 0..TASKS {
        let store = store.clone();
        let all = Arc::clone(&all);
        checks.push(tokio::spawn(async move {
            let mut found = 0usize;
            for (n, id) in all.iter().skip(task_number).step_by(TASKS) {
                let session = store
                    .load_and_extend(id)
                    .await
                    .expect("load")
                    .expect("every session must be found");
                assert_eq!(&*session.user_id, format!("u{n}"));
                found += 1;
            }
            found
        }));
    }
    let mut found = 0;
    for check in checks {
        found += check.await.expect("check task");
    }
    assert_eq!(found, SESSIONS);
}

pub async fn expired_sessions_are_freed<S: SessionStore + Clone>(store: &S, time: &TestTime) {
    const SESSIONS: u64 = 1_000;
    // Created concurrently, well inside the 2 s idle timeout, so all are live when counted.
    let mut tasks = Vec::new();
    for n in 0..SESSIONS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create(&format!("u{n}"), SessionData::default())
                .await
                .expect("create");
        }));
    }
    for task in tasks {
        task.await.expect("create task");
    }
    assert_eq!(store.live_count().await.expect("count"), SESSIONS);
    // Past the idle timeout, nobody reads them: only the sweeper (or Redis's own expiry) can
    // free them. The poll waits for that background work, not for time to pass.
    time.pass(2_100).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let count = store.live_count().await.expect("count");
        if count == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{count} expired sessions still held 20 s after they expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A save through the old ID racing a rotation is never lost: it either lands before the
/// rotation copies the session, or makes the rotation start over from it (on Redis, where the
/// two IDs may live on different cluster nodes and the rotation takes three steps), or finds
/// the old ID gone.
pub async fn a_save_racing_a_rotation_is_never_lost<S: SessionStore + Clone + 'static>(store: &S) {
    for round in 0..10 {
        let old = store
            .create("u", SessionData::default())
            .await
            .expect("create")
            .id;
        let saver = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut saved = 0usize;
                loop {
                    let Some(mut session) = store.load(&old).await.expect("load") else {
                        return saved;
                    };
                    Arc::make_mut(&mut session.data).cart.push(CartItem {
                        sku: format!("line-{saved}"),
                        quantity: 1,
                    });
                    match store.save(&mut session).await.expect("save") {
                        SaveOutcome::Saved => saved += 1,
                        SaveOutcome::Conflict => {}
                        SaveOutcome::Gone => return saved,
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        let rotated = store
            .rotate(&old)
            .await
            .expect("rotate")
            .expect("a live session rotates");
        let saved = saver.await.expect("saver");
        let now = store
            .load(&rotated.id)
            .await
            .expect("load")
            .expect("the rotated session");
        assert_eq!(
            now.data.cart.len(),
            saved,
            "round {round}: every acknowledged save is in the rotated session"
        );
        assert!(store.load(&old).await.expect("load").is_none());
    }
}

macro_rules! conformance_suite {
    ($backend:ident, $variant:ident) => {
        mod $backend {
            use super::*;
            use crate::support;

            async fn with_store(policy: SessionPolicy) -> TestStore {
                support::$backend(policy).await
            }

            macro_rules! case {
                ($name:ident, $policy:expr) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let test_store = with_store($policy).await;
                        super::$name(&test_store.store).await;
                        drop(test_store);
                    }
                };
            }

            macro_rules! timed_case {
                ($name:ident, $policy:expr) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let test_store = with_store($policy).await;
                        super::$name(&test_store.store, &test_store.time).await;
                        drop(test_store);
                    }
                };
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn names_itself_as_the_vocabulary_names_it() {
                let test_store = with_store(long()).await;
                assert_eq!(
                    test_store.store.backend_name(),
                    vocabulary::Backend::$variant.name()
                );
                drop(test_store);
            }

            case!(create_then_load, long());
            case!(ids_are_fresh_url_safe_and_fixed_length, long());
            case!(unknown_id_is_never_adopted, long());
            case!(malformed_ids_do_not_parse, long());
            timed_case!(idle_expiry, policy_ms(150, 60_000));
            timed_case!(extension_slides_idle_deadline, policy_ms(600, 60_000));
            timed_case!(plain_load_does_not_extend, policy_ms(300, 60_000));
            timed_case!(
                extension_is_capped_by_absolute_timeout,
                policy_ms(600, 1_500)
            );
            case!(save_is_compare_and_swap, long());
            case!(delete_revokes_at_once, long());
            case!(rotation_moves_the_session_and_keeps_its_deadlines, long());
            case!(a_save_racing_a_rotation_is_never_lost, long());
            case!(concurrent_writers_of_one_session_lose_nothing, long());
            case!(concurrent_sessions_are_independent, long());
            case!(hundred_thousand_sessions_all_found, long());
            timed_case!(expired_sessions_are_freed, policy_ms(2_000, 60_000));
        }
    };
}

conformance_suite!(dashmap, Dashmap);
conformance_suite!(scc, Scc);
conformance_suite!(papaya, Papaya);
conformance_suite!(redis, Redis);
conformance_suite!(redis_cluster, RedisCluster);
