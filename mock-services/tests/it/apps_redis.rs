//! What only a shared store can show: two store instances serving and writing one session (on
//! Redis and on a Redis Cluster), and the apps answering 503 while Redis is down, then
//! recovering by themselves.

use crate::stack_support::{Browser, Stack, store_login};
use crate::support::{free_port, start_redis};
use mock_services::cli::{Backend, BackendArgs};
use mock_services::stack::{Role, StackConfig, start};
use reqwest::StatusCode;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_created_on_one_store_instance_is_served_by_another_on_redis() {
    let redis = start_redis();
    served_by_another(BackendArgs {
        backend: Backend::Redis,
        redis_url: Some(redis.url()),
        redis_persistence: Default::default(),
        redis_cluster_urls: Vec::new(),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_created_on_one_store_instance_is_served_by_another_on_redis_cluster() {
    let cluster = tokio::task::spawn_blocking(crate::support::shared_cluster)
        .await
        .expect("cluster");
    served_by_another(BackendArgs {
        backend: Backend::RedisCluster,
        redis_url: None,
        redis_persistence: Default::default(),
        redis_cluster_urls: cluster.urls(),
    })
    .await;
}

/// A login through store A; B serves the session (same browser cookie, shared store) and
/// writes the cart; A sees B's write.
async fn served_by_another(backend: BackendArgs) {
    let port_a = free_port("127.0.0.2");
    let store_a = format!("127.0.0.2:{port_a}");
    let idp_port = free_port("127.0.0.1");
    let idp_addr = format!("127.0.0.1:{idp_port}");
    let idp_url = format!("http://{idp_addr}");
    let store_url = format!("http://{store_a}");
    let with = |configure: &dyn Fn(&mut StackConfig)| -> StackConfig {
        let mut config = StackConfig::ephemeral(backend.clone());
        config.idp.users = 10;
        configure(&mut config);
        config
    };
    let idp = start(&with(&|c| {
        c.role = Role::Idp;
        c.idp.addr = idp_addr.parse().expect("address");
        c.idp.store_url = store_url.clone();
    }))
    .await
    .expect("idp");
    let a = start(&with(&|c| {
        c.role = Role::Store;
        c.apps.store_addr = store_a.parse().expect("address");
        c.apps.idp_url = idp_url.clone();
    }))
    .await
    .expect("store A");
    let b = start(&with(&|c| {
        c.role = Role::Store;
        c.apps.idp_url = idp_url.clone();
    }))
    .await
    .expect("store B");
    let b_url = b.store_url.clone().expect("B url");

    let browser = Browser::new();
    let hops = browser.walk(&format!("{store_url}/login")).await;
    let hops = browser
        .submit_login(hops.last().expect("form"), "user1@example.com", "password")
        .await;
    assert!(hops.last().expect("hop").has_marker("cart"), "{hops:?}");
    // Same host, other port: the browser sends the same cookie to B, which finds the session.
    let on_b = browser.get(&format!("{b_url}/shopping-cart")).await;
    assert!(
        on_b.has_marker("cart") && on_b.body.contains("user1@example.com"),
        "{on_b:?}"
    );
    let written = browser
        .post(
            &format!("{b_url}/shopping-cart/items"),
            &[("sku", "from-b"), ("quantity", "3")],
        )
        .await;
    assert_eq!(written.status, StatusCode::SEE_OTHER);
    let on_a = browser.get(&format!("{store_url}/shopping-cart")).await;
    assert!(
        on_a.body.contains("from-b"),
        "a write on B is seen on A: {}",
        on_a.body
    );
    for running in [idp, a, b] {
        running.shutdown().await.expect("shutdown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_gives_503_and_the_apps_recover() {
    let mut stack = Stack::start("redis", |_| {}).await;
    let browser = Browser::new();
    store_login(&browser, &stack, "user1@example.com").await;
    let cart = format!("{}/shopping-cart", stack.store());

    stack.redis.as_mut().expect("redis").kill();
    let down = browser.get(&cart).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE, "{down:?}");
    assert!(down.body.contains("unavailable"));
    let login = browser.get(&format!("{}/login", stack.store())).await;
    assert_eq!(login.status, StatusCode::SERVICE_UNAVAILABLE, "{login:?}");
    // The gauges cannot be read either, and say so rather than a count of none.
    let gauges = browser
        .get(&format!(
            "{}{}",
            stack.store(),
            vocabulary::gauges::SESSIONS_ROUTE
        ))
        .await;
    assert_eq!(gauges.status, StatusCode::SERVICE_UNAVAILABLE, "{gauges:?}");

    stack
        .redis
        .as_mut()
        .expect("redis")
        .restart()
        .expect("restart");
    // Sessions died with the server; the apps themselves come back without a restart.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let hop = browser.get(&cart).await;
        if hop.status == StatusCode::FOUND {
            assert_eq!(hop.location.as_deref(), Some("/login"));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no recovery: {hop:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = Browser::new();
    store_login(&again, &stack, "user2@example.com").await;
    stack.running.shutdown().await.expect("shutdown");
}
